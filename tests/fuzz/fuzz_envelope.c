/*
 * fuzz_envelope.c - the container envelope decoders (parsers/envelope.c)
 * and the Kubernetes path reader on arbitrary bytes.
 *
 * Beyond "does not crash" (ASan/UBSan watch the reads): the input is
 * copied to a heap block of exactly its size, so a read past it is caught;
 * a CRI line's text is a view inside the input and ends where it does; a
 * json-file line's text fits the caller's buffer of @size bytes; a decoder
 * that fails leaves nothing set; parse_env_detect() names only an
 * envelope whose decoder takes the line. The first byte picks the
 * decoder's input or the path reader (a NUL-terminated copy). Any
 * violation abort()s, which libFuzzer and the regress driver report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <parsers/envelope.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_line(const char *s, size_t n)
{
	struct parse_env_line l;
	char *buf = malloc(n ? n : 1);
	enum parse_env env = parse_env_detect(s, n);

	if (!buf)
		return;
	if (parse_cri(s, n, &l) == 0) {
		check(l.text >= s && l.text <= s + n && l.text + l.len == s + n);
		check(l.stream == PARSE_ENV_STREAM_STDOUT || l.stream == PARSE_ENV_STREAM_STDERR);
		check(l.has_ts);
	} else {
		check(l.text == NULL && l.len == 0 && !l.partial);
		check(env != PARSE_ENV_CRI);
	}
	if (parse_docker(s, n, buf, &l) == 0) {
		check(l.text == buf && l.len <= n);
		check(l.stream <= PARSE_ENV_STREAM_STDERR);
	} else {
		check(l.text == NULL && l.len == 0);
		check(env != PARSE_ENV_DOCKER);
	}
	free(buf);
}

static void check_path(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	struct parse_k8s k;

	if (!p)
		return;
	memcpy(p, s, n);
	p[n] = '\0';
	if (parse_k8s_path(p, &k)) {
		size_t len = strlen(p);

		check(k.pod >= p && k.pod + k.pod_len <= p + len && k.pod_len > 0);
		check(k.ns >= p && k.ns + k.ns_len <= p + len && k.ns_len > 0);
		check(k.container >= p && k.container + k.container_len <= p + len && k.container_len > 0);
		check(!memchr(k.pod, '/', k.pod_len) && !memchr(k.ns, '/', k.ns_len));
	}
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size == 0)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] == 'k')
		check_path(copy, size - 1);
	else
		check_line(copy, size - 1);
	free(copy);
	return 0;
}
