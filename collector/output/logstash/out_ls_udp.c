/*
 * output/logstash/out_ls_udp.c - logstash+udp://HOST:PORT: one Logstash event per
 * datagram (Logstash's udp input with codec => json).
 *
 * DESIGN: a connected, non-blocking UDP socket. A chunk is acknowledged
 * when each of its events was handed to the kernel: UDP has no
 * acknowledgement, so an event lost on the way (a full receive buffer
 * at the peer, a dropped fragment) is not known and not retried. When the
 * kernel says the peer's port is closed (ECONNREFUSED, from an ICMP
 * error caused by an earlier datagram), the chunk goes back to the
 * pipeline whole and is sent again after the backoff: the events sent
 * before that are then either lost (the peer was down) or duplicated.
 * A full send buffer (EAGAIN) pauses the chunk where it is until poll().
 *
 * An event longer than max_datagram is cut so that it stays one valid
 * JSON object: its message is shortened (on a character boundary,
 * never inside an escape) and "_truncated": ORIGINAL_BYTES is added; if
 * the other fields alone are too long, the event is replaced by a small
 * one that keeps @version, @timestamp, level, service, trace, span,
 * parent and host (those that fit), the head of the message and
 * "_truncated". Each such event is counted (truncated_total).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "output/lines.h"
#include "output/logstash/ls_common.h"
#include "util/util.h"
#include "util/banned.h"

struct ls_udp_conf {
	char host[256];	       /* peer address */
	uint16_t port;	       /* peer port */
	uint64_t max_datagram; /* largest datagram sent, bytes */
	uint64_t send_buffer;  /* SO_SNDBUF; 0 = kernel default */
};

struct ls_udp {
	char *name;	       /* output label (owned) */
	struct ls_udp_conf cf; /* options */
	int fd;		       /* connected socket, -1 until the first send */
	struct ls_queue q;     /* held chunks (one at a time is sent) */
	struct ls_lines lines; /* the rendered oldest chunk */
	size_t pos;	       /* offset in lines of the next event to send */
	char *small;	       /* max_datagram bytes: a truncated event */
	struct ls_stats st;    /* counters */
};

static const struct cd_opt_spec udp_opts[] = {
	{"address", CD_OPT_HOSTPORT, NULL, "HOST:PORT of Logstash's udp input (required)", NULL, 0, 0},
	{"max_datagram", CD_OPT_SIZE, "65000", "largest datagram, 512..65507; longer events are cut", NULL, 0,
	 0},
	{"send_buffer", CD_OPT_SIZE, "the kernel's", "SO_SNDBUF", NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static int udp_conf(const struct cd_output_conf *oc, struct ls_udp_conf *cf, struct cd_err *err)
{
	int rc;

	memset(cf, 0, sizeof(*cf));
	rc = cd_opt_hostport(&oc->opts, "address", 0, cf->host, sizeof(cf->host), &cf->port, err);
	if (rc == -CD_ENOENT || (rc == 0 && cf->port == 0))
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: address HOST:PORT is required", oc->name);
	if (rc < 0)
		return rc;
	if ((rc = cd_opt_size(&oc->opts, "max_datagram", CD_LS_UDP_DATAGRAM_DEFAULT, &cf->max_datagram,
			      err)) < 0 ||
	    (rc = cd_opt_size(&oc->opts, "send_buffer", 0, &cf->send_buffer, err)) < 0)
		return rc;
	if (cf->max_datagram < CD_LS_UDP_DATAGRAM_MIN || cf->max_datagram > CD_LS_UDP_DATAGRAM_MAX)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: max_datagram must be %u..%u bytes",
				  oc->name, CD_LS_UDP_DATAGRAM_MIN, CD_LS_UDP_DATAGRAM_MAX);
	if (cf->send_buffer > INT32_MAX / 2)
		return cd_err_set(err, -CD_EINVAL, 0, "output %s: send_buffer must be < 1G", oc->name);
	return 0;
}

static int udp_check(const struct cd_output_conf *oc, struct cd_err *err)
{
	struct ls_udp_conf cf;

	return udp_conf(oc, &cf, err);
}

/* --- cutting an event to size ------------------------------------------------- */

/* One top-level member of a JSON object: key and value as byte ranges of the line. */
struct member {
	size_t k0, k1; /* the key with its quotes */
	size_t v0, v1; /* the value */
};

#define MEMBERS_MAX 256

/* Past the string that starts at s[i] ('"'); 0 if it does not end. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* Past the value that starts at s[i]; 0 if malformed. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	unsigned depth = 0;

	if (i >= n)
		return 0;
	if (s[i] == '"')
		return skip_string(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ')
			i++;
		return i;
	}
	for (; i < n; i++) {
		if (s[i] == '"') {
			i = skip_string(s, n, i);
			if (!i)
				return 0;
			i--;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

/* The top-level members of the object @s. Return: how many, or -1 if @s is not one we can cut. */
static int members(const char *s, size_t n, struct member *m)
{
	size_t i = skip_ws(s, n, 0);
	int k = 0;

	if (i >= n || s[i] != '{')
		return -1;
	i = skip_ws(s, n, i + 1);
	if (i < n && s[i] == '}')
		return 0;
	for (;;) {
		if (k == MEMBERS_MAX || i >= n || s[i] != '"')
			return -1;
		m[k].k0 = i;
		if (!(i = skip_string(s, n, i)))
			return -1;
		m[k].k1 = i;
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != ':')
			return -1;
		m[k].v0 = i = skip_ws(s, n, i + 1);
		if (!(i = skip_value(s, n, i)))
			return -1;
		m[k++].v1 = i;
		i = skip_ws(s, n, i);
		if (i < n && s[i] == '}')
			return k;
		if (i >= n || s[i] != ',')
			return -1;
		i = skip_ws(s, n, i + 1);
	}
}

static bool key_is(const char *s, const struct member *m, const char *key)
{
	size_t kl = strlen(key);

	return m->k1 - m->k0 == kl + 2 && memcmp(s + m->k0 + 1, key, kl) == 0;
}

/* How many bytes of the JSON string body @p (escaped) to keep, at most @max, on a boundary. */
static size_t cut_point(const char *p, size_t len, size_t max)
{
	size_t j = 0;

	while (j < len) {
		unsigned char c = (unsigned char)p[j];
		size_t step = 1;

		if (c == '\\') {
			step = j + 1 < len && p[j + 1] == 'u' ? 6 : 2;
			/* a high surrogate escape and its low half stay together */
			if (step == 6 && j + 2 < len && (p[j + 2] == 'd' || p[j + 2] == 'D') && j + 3 < len &&
			    strchr("89abAB", p[j + 3]))
				step = 12;
		} else if ((c & 0xe0) == 0xc0) {
			step = 2;
		} else if ((c & 0xf0) == 0xe0) {
			step = 3;
		} else if ((c & 0xf8) == 0xf0) {
			step = 4;
		}
		if (j + step > max || j + step > len)
			break;
		j += step;
	}
	return j;
}

struct obuf {
	char *p;    /* output */
	size_t n;   /* used */
	size_t cap; /* size */
};

static void put(struct obuf *o, const char *s, size_t n)
{
	if (o->n + n <= o->cap)
		memcpy(o->p + o->n, s, n);
	o->n += n;
}

/* A member as KEY:VALUE, with a comma before it unless first. */
static void put_member(struct obuf *o, const char *s, const struct member *m, bool *first)
{
	if (!*first)
		put(o, ",", 1);
	*first = false;
	put(o, s + m->k0, m->k1 - m->k0);
	put(o, ":", 1);
	put(o, s + m->v0, m->v1 - m->v0);
}

/* "message":"<head of it, in @room bytes of body at most>" */
static void put_message_cut(struct obuf *o, const char *s, const struct member *msg, size_t room, bool *first)
{
	size_t body = msg->v1 - msg->v0 - 2;

	if (!*first)
		put(o, ",", 1);
	*first = false;
	put(o, "\"message\":\"", 11);
	put(o, s + msg->v0 + 1, cut_point(s + msg->v0 + 1, body, room));
	put(o, "\"", 1);
}

/*
 * shrink() - the event @s (@n bytes, over @max) as at most @max bytes into
 * @out (@max bytes), valid JSON. Return: its length.
 */
static size_t shrink(const char *s, size_t n, char *out, size_t max)
{
	static const char *const keep[] = {"@version", "@timestamp", "level",  "service",
					   "trace",    "span",	     "parent", "host"};
	struct member m[MEMBERS_MAX];
	const struct member *msg = NULL;
	struct obuf o = {out, 0, max};
	char flag[48];
	size_t flen, others = 0, room;
	bool first = true;
	int k = members(s, n, m);

	flen = (size_t)snprintf(flag, sizeof(flag), "\"_truncated\":%zu", n);
	if (k < 0) {
		/* not an object we can take apart (cannot happen for our own lines): a marker event */
		o.n = (size_t)snprintf(out, max, "{\"@version\":\"1\",%s}", flag);
		return o.n;
	}
	for (int i = 0; i < k; i++) {
		if (key_is(s, &m[i], "message") && s[m[i].v0] == '"')
			msg = &m[i];
		else if (!key_is(s, &m[i], "_truncated"))
			others += (m[i].k1 - m[i].k0) + 1 + (m[i].v1 - m[i].v0) + 1;
	}
	/* every field, the message cut: "{" others "message":"" , flag "}" */
	if (msg && 2 + others + 14 + flen <= max) {
		room = max - (2 + others + 14 + flen);
		put(&o, "{", 1);
		for (int i = 0; i < k; i++) {
			if (&m[i] == msg)
				put_message_cut(&o, s, msg, room, &first);
			else if (!key_is(s, &m[i], "_truncated"))
				put_member(&o, s, &m[i], &first);
		}
		put(&o, ",", 1);
		put(&o, flag, flen);
		put(&o, "}", 1);
		return o.n;
	}
	/* a small event: the fields that name the record, as far as they fit, then the message's head */
	room = max - 3 - flen - (msg ? 14 : 0); /* "{", "," FLAG "}", and ",\"message\":\"\"" */
	put(&o, "{", 1);
	for (size_t j = 0; j < sizeof(keep) / sizeof(keep[0]); j++) {
		for (int i = 0; i < k; i++) {
			size_t len = (m[i].k1 - m[i].k0) + 1 + (m[i].v1 - m[i].v0) + 1;
			if (!key_is(s, &m[i], keep[j]) || len > room)
				continue;
			put_member(&o, s, &m[i], &first);
			room -= len;
			break;
		}
	}
	if (msg)
		put_message_cut(&o, s, msg, room, &first);
	if (!first)
		put(&o, ",", 1);
	put(&o, flag, flen);
	put(&o, "}", 1);
	return o.n <= max ? o.n : 0;
}

/* --- sending -------------------------------------------------------------------- */

static void udp_fail(struct ls_udp *u, const char *why)
{
	u->pos = 0;
	ls_retry_oldest(u->name, &u->q, &u->st, false, why);
}

static bool udp_socket(struct ls_udp *u)
{
	struct cd_err err = {0, 0, ""};
	int fd;

	if (u->fd >= 0)
		return true;
	fd = ls_connect(u->cf.host, u->cf.port, SOCK_DGRAM, &err);
	if (fd < 0) {
		udp_fail(u, err.msg);
		return false;
	}
	if (u->cf.send_buffer) {
		int sb = (int)u->cf.send_buffer;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	}
	u->fd = fd;
	u->st.connects++;
	return true;
}

/* Send the oldest chunk's events from where it stopped. Return: false to stop for now. */
static bool udp_send_oldest(struct ls_udp *u)
{
	struct ls_item *it = &u->q.it[0];
	struct cd_err err = {0, 0, ""};
	const char *line;
	size_t n, next;
	int rc = ls_render(&u->lines, it, &err);

	if (rc < 0) {
		u->st.errors++;
		ls_queue_done(&u->q, 0, OUT_FAIL, err.msg);
		return false;
	}
	if (rc == 1)
		u->pos = 0;
	for (next = u->pos; ls_next_line(u->lines.out.buf, u->lines.out.len, &next, &line, &n);
	     u->pos = next) {
		const char *p = line;
		size_t len = n;
		ssize_t w;

		if (n == 0)
			continue;
		if (n > u->cf.max_datagram) {
			len = shrink(line, n, u->small, u->cf.max_datagram);
			p = u->small;
		}
		w = send(u->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR))
			return false; /* the send buffer is full: go on at the next poll() */
		if (w < 0) {
			udp_fail(u, strerror(errno));
			return false;
		}
		if (p == u->small)
			u->st.truncated++;
		u->st.bytes += (uint64_t)w;
	}
	u->st.events += it->nrecords;
	u->pos = 0;
	u->lines.valid = false;
	ls_queue_done(&u->q, 0, OUT_OK, NULL);
	return true;
}

static void udp_progress(struct ls_udp *u)
{
	while (u->q.n && !u->q.held) {
		if (!udp_socket(u) || !udp_send_oldest(u))
			return;
	}
}

static int udp_open(void **state, struct pipeline *pl, unsigned idx, const struct cd_output_conf *oc,
		    struct cd_err *err)
{
	struct ls_udp *u = calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	if ((rc = udp_conf(oc, &u->cf, err)) < 0)
		goto err_free;
	rc = cd_err_set(err, -CD_ENOMEM, ENOMEM, "out of memory");
	u->name = strdup(oc->name ? oc->name : "logstash+udp");
	u->small = malloc(u->cf.max_datagram);
	if (!u->name || !u->small)
		goto err_free;
	u->fd = -1;
	ls_queue_init(&u->q, pl, idx);
	*state = u;
	return 0;

err_free:
	free(u->small);
	free(u->name);
	free(u);
	return rc;
}

static enum out_result udp_flush(void *state, const struct chunk *c, struct cd_err *err)
{
	struct ls_udp *u = state;

	if (!ls_queue_begin(&u->q, c)) {
		cd_err_set(err, -CD_EFULL, 0, "%s: too many chunks in flight", u->name);
		return OUT_RETRY;
	}
	udp_progress(u);
	return ls_queue_end(&u->q, err);
}

static void udp_poll(void *state, int64_t now)
{
	(void)now;
	udp_progress(state);
}

static void udp_metrics(void *state, struct metrics *m, const char *label)
{
	struct ls_udp *u = state;

	ls_metrics(m, label, &u->st, LS_HAS_TRUNCATED, &u->q, u->lines.valid ? u->lines.out.len - u->pos : 0);
}

static void udp_close(void *state)
{
	struct ls_udp *u = state;

	if (!u)
		return;
	ls_log_summary(u->name, &u->st, LS_HAS_TRUNCATED);
	if (u->fd >= 0)
		close(u->fd);
	ls_queue_drop(&u->q);
	out_lines_release(&u->lines.out);
	free(u->small);
	free(u->name);
	free(u);
}

static const struct out_plugin out_ls_udp = {
	.check = udp_check,
	.open = udp_open,
	.flush = udp_flush,
	.poll = udp_poll,
	.metrics = udp_metrics,
	.close = udp_close,
};

const struct cd_plugin_desc out_ls_udp_desc = {
	.name = "logstash+udp",
	.scheme = "logstash+udp",
	.usage = "logstash+udp://HOST:PORT",
	.summary = "Logstash events, one per UDP datagram",
	.opts = udp_opts,
	.flags = CD_PLUGIN_URI_OPTS,
	.out = &out_ls_udp,
};
