/*
 * parsers/envelope.c - the CRI and Docker json-file envelopes, and the
 * Kubernetes metadata of a container log's path (see envelope.h).
 *
 * DESIGN: a CRI line is four fields separated by single spaces, the last
 * one the rest of the line, so it is read with memchr() and no copy. A
 * json-file line is validated whole by the formats library's scanner
 * (fmt_json_validate: RFC 8259, UTF-8 checked, nesting bounded, no
 * recursion), and only then walked for its top-level members, so the walk
 * may trust the JSON and skip values by counting brackets outside
 * strings; "log" is decoded by fmt_str_decode() (the one JSON unescaper).
 */
#include <string.h>

#include "fmt/json.h"
#include "fmt/str.h"
#include "fmt/ts.h"
#include <parsers/envelope.h>

enum parse_env parse_env_by_name(const char *name, const char **rest)
{
	static const struct {
		const char *name;
		size_t len;
		enum parse_env env;
	} names[] = {{"cri", 3, PARSE_ENV_CRI}, {"docker", 6, PARSE_ENV_DOCKER}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strncmp(name, names[i].name, names[i].len) != 0)
			continue;
		if (name[names[i].len] == '\0') {
			if (rest)
				*rest = name + names[i].len;
			return names[i].env;
		}
		if (name[names[i].len] == '+') {
			if (rest)
				*rest = name + names[i].len + 1;
			return names[i].env;
		}
	}
	if (rest)
		*rest = name;
	return PARSE_ENV_NONE;
}

const char *parse_env_name(enum parse_env env)
{
	return env == PARSE_ENV_CRI ? "cri" : env == PARSE_ENV_DOCKER ? "docker" : "none";
}

const char *parse_env_stream_name(uint8_t stream)
{
	return stream == PARSE_ENV_STREAM_STDOUT   ? "stdout"
	       : stream == PARSE_ENV_STREAM_STDERR ? "stderr"
						   : NULL;
}

static uint8_t stream_of(const char *s, size_t n)
{
	if (n == 6 && memcmp(s, "stdout", 6) == 0)
		return PARSE_ENV_STREAM_STDOUT;
	if (n == 6 && memcmp(s, "stderr", 6) == 0)
		return PARSE_ENV_STREAM_STDERR;
	return PARSE_ENV_STREAM_NONE;
}

int parse_cri(const char *s, size_t n, struct parse_env_line *out)
{
	const char *end = s + n, *sp, *st, *tag, *tag_end;

	memset(out, 0, sizeof(*out));
	sp = memchr(s, ' ', n);
	if (!sp || fmt_ts_parse(s, (size_t)(sp - s), &out->ts_ns, NULL) != 0)
		return -1;
	out->has_ts = true;
	st = sp + 1;
	sp = memchr(st, ' ', (size_t)(end - st));
	if (!sp || (out->stream = stream_of(st, (size_t)(sp - st))) == PARSE_ENV_STREAM_NONE)
		return -1;
	/* the tags: P or F, then any further tags after ':' (the spec's "P:..."/"F:...") */
	tag = sp + 1;
	tag_end = tag < end ? memchr(tag, ' ', (size_t)(end - tag)) : NULL;
	if (!tag_end)
		tag_end = end; /* "F" with no text and no space: an empty line */
	if (tag_end == tag || (*tag != 'P' && *tag != 'F') || (tag + 1 < tag_end && tag[1] != ':'))
		return -1;
	out->partial = *tag == 'P';
	out->text = tag_end < end ? tag_end + 1 : end;
	out->len = (size_t)(end - out->text);
	return 0;
}

/* Past the JSON string whose opening quote is at s[i] (trusted: validated). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* Past the JSON value at s[i] (trusted: validated). */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	if (s[i] == '"')
		return skip_string(s, n, i);
	for (; i < n; i++) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i) - 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (c == ',' && depth == 0) {
			return i;
		}
	}
	return n;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

int parse_docker(const char *s, size_t n, char *buf, struct parse_env_line *out)
{
	struct fmt_str log = {NULL, 0, FMT_ENC_JSON};
	size_t i;

	memset(out, 0, sizeof(*out));
	if (fmt_json_validate(s, n, NULL) != 0)
		return -1;
	i = skip_ws(s, n, 0);
	if (i >= n || s[i] != '{')
		return -1;
	i = skip_ws(s, n, i + 1);
	while (i < n && s[i] == '"') {
		size_t ks = i + 1, ke = skip_string(s, n, i) - 1, vs, ve;

		i = skip_ws(s, n, ke + 1) + 1; /* past ':' */
		vs = skip_ws(s, n, i);
		ve = skip_value(s, n, vs);
		if (s[vs] == '"') {
			const char *v = s + vs + 1;
			size_t vl = ve - vs - 2;

			if (ke - ks == 3 && memcmp(s + ks, "log", 3) == 0) {
				log.ptr = v;
				log.len = (uint32_t)vl;
			} else if (ke - ks == 6 && memcmp(s + ks, "stream", 6) == 0) {
				out->stream = stream_of(v, vl);
			} else if (ke - ks == 4 && memcmp(s + ks, "time", 4) == 0) {
				out->has_ts = fmt_ts_parse(v, vl, &out->ts_ns, NULL) == 0;
			}
		}
		i = skip_ws(s, n, ve);
		if (i < n && s[i] == ',')
			i = skip_ws(s, n, i + 1);
	}
	if (!log.ptr) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->len = fmt_str_decode(&log, buf);
	out->text = buf;
	if (out->len && buf[out->len - 1] == '\n')
		out->len--;
	else
		out->partial = true;
	return 0;
}

int parse_env_decode(enum parse_env env, const char *s, size_t n, char *buf, struct parse_env_line *out)
{
	if (env == PARSE_ENV_CRI)
		return parse_cri(s, n, out);
	if (env == PARSE_ENV_DOCKER)
		return parse_docker(s, n, buf, out);
	return -1;
}

enum parse_env parse_env_detect(const char *s, size_t n)
{
	struct parse_env_line l;

	if (n >= 20 && s[0] >= '0' && s[0] <= '9' && s[4] == '-' && parse_cri(s, n, &l) == 0)
		return PARSE_ENV_CRI;
	/* json-file writes "log" first, a string; the whole line must be JSON (parse_docker() then takes it) */
	if (n >= 9 && memcmp(s, "{\"log\":\"", 8) == 0 && memmem(s, n, "\"stream\":", 9) &&
	    memmem(s, n, "\"time\":", 7) && fmt_json_validate(s, n, NULL) == 0)
		return PARSE_ENV_DOCKER;
	return PARSE_ENV_NONE;
}

/* The last path component before s[end) (end excluded), as [*b, end). */
static size_t comp_start(const char *path, size_t end)
{
	size_t b = end;

	while (b > 0 && path[b - 1] != '/')
		b--;
	return b;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static bool comp_is(const char *path, size_t b, size_t e, const char *name)
{
	return e - b == strlen(name) && memcmp(path + b, name, e - b) == 0;
}

/* .../containers/POD_NAMESPACE_CONTAINER-ID.log */
static bool containers_path(const char *path, size_t len, struct parse_k8s *out)
{
	size_t fb = comp_start(path, len), fe = len - 4, db, u1, u2, dash;
	const char *f = path + fb;

	if (fb == 0 || len - fb < 4 + 1 + 1 + 1 + 1 + 1 + 64 || memcmp(path + fe, ".log", 4) != 0)
		return false;
	db = comp_start(path, fb - 1);
	if (!comp_is(path, db, fb - 1, "containers"))
		return false;
	if (!all_hex(path + fe - 64, 64) || path[fe - 65] != '-')
		return false;
	dash = fe - 65 - fb;
	for (u1 = 0; u1 < dash && f[u1] != '_'; u1++)
		;
	for (u2 = u1 + 1; u2 < dash && f[u2] != '_'; u2++)
		;
	if (u1 == 0 || u2 >= dash || u2 == u1 + 1 || u2 + 1 == dash)
		return false;
	out->pod = f;
	out->pod_len = u1;
	out->ns = f + u1 + 1;
	out->ns_len = u2 - u1 - 1;
	out->container = f + u2 + 1;
	out->container_len = dash - u2 - 1;
	return true;
}

/* .../pods/NAMESPACE_POD_UID/CONTAINER/N.log */
static bool pods_path(const char *path, size_t len, struct parse_k8s *out)
{
	size_t fb = comp_start(path, len), cb, pb, rb, u1, u2;

	if (fb < 2 || len - fb < 5 || memcmp(path + len - 4, ".log", 4) != 0 ||
	    !all_digits(path + fb, len - 4 - fb))
		return false;
	cb = comp_start(path, fb - 1);
	if (cb < 2 || cb == fb - 1)
		return false;
	pb = comp_start(path, cb - 1);
	if (pb < 2)
		return false;
	rb = comp_start(path, pb - 1);
	if (!comp_is(path, rb, pb - 1, "pods"))
		return false;
	for (u1 = pb; u1 < cb - 1 && path[u1] != '_'; u1++)
		;
	for (u2 = cb - 1; u2 > u1 && path[u2 - 1] != '_'; u2--)
		;
	u2--; /* the '_' before the UID */
	if (u1 == pb || u1 >= cb - 1 || u2 <= u1 + 1 || u2 + 1 >= cb - 1)
		return false;
	out->ns = path + pb;
	out->ns_len = u1 - pb;
	out->pod = path + u1 + 1;
	out->pod_len = u2 - u1 - 1;
	out->container = path + cb;
	out->container_len = fb - 1 - cb;
	return true;
}

bool parse_k8s_path(const char *path, struct parse_k8s *out)
{
	size_t len = strlen(path);

	memset(out, 0, sizeof(*out));
	return containers_path(path, len, out) || pods_path(path, len, out);
}
