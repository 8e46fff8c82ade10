/*
 * client.c - options, configuration and the client's lifecycle.
 *
 * DESIGN: a client is resolved once, in clew_client_new(): each setting is
 * taken from the options when the code set it, else from its CLEW_*
 * environment variable, else from the built-in default. After that the
 * client is read-only, except for the level threshold, which is an atomic
 * so that clew_enabled() stays one relaxed load from any thread. Strings
 * are copied; nothing keeps a pointer into the options or the environment.
 * Invalid values are never guessed at: they fail with -CLEW_ECONFIG and a
 * diagnostic naming the variable and the value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "async.h"
#include "internal.h"
#include "ring.h"
#include "sink.h"
#include "writer.h"
#include <stdint.h>
#include <time.h>

void clew__strlcpy(char *dst, const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;

	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * Write one byte of every page, so that the kernel maps them all now. Not
 * memset(0): the compiler may turn malloc() + memset(0) into calloc(),
 * which leaves fresh pages unmapped.
 */
void clew__touch(void *p, size_t len)
{
	volatile char *v = p;
	const long page = sysconf(_SC_PAGESIZE);
	const size_t step = page > 0 ? (size_t)page : 4096;

	for (size_t i = 0; i < len; i += step)
		v[i] = 0;
	if (len)
		v[len - 1] = 0;
}

bool clew__is_lhex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
	}
	return true;
}

void clew__diag(const clew_client *c, int level, const char *fmt, ...)
{
	char msg[CLEW__DIAG_MAX];
	va_list ap;

	if (!c || !c->on_diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->on_diag(c->cookie, level, msg);
}

void clew_options_default(struct clew_options *opt)
{
	if (!opt)
		return;
	memset(opt, 0, sizeof(*opt));
}

static const char *const level_names[] = {
	[CLEW_LEVEL_TRACE] = "TRACE", [CLEW_LEVEL_DEBUG] = "DEBUG", [CLEW_LEVEL_INFO] = "INFO",
	[CLEW_LEVEL_WARN] = "WARN",   [CLEW_LEVEL_ERROR] = "ERROR", [CLEW_LEVEL_FATAL] = "FATAL",
	[CLEW_LEVEL_OFF] = "OFF",
};

const char *clew_level_name(int level)
{
	if (level < CLEW_LEVEL_TRACE || level > CLEW_LEVEL_OFF)
		return NULL;
	return level_names[level];
}

int clew_level_parse(const char *s)
{
	if (!s)
		return -CLEW_EINVAL;
	for (int l = CLEW_LEVEL_TRACE; l <= CLEW_LEVEL_OFF; l++)
		if (strcasecmp(s, level_names[l]) == 0)
			return l;
	if (strcasecmp(s, "warning") == 0)
		return CLEW_LEVEL_WARN;
	return -CLEW_EINVAL;
}

static int format_parse(const char *s)
{
	if (strcasecmp(s, "pipe") == 0)
		return CLEW_FORMAT_PIPE;
	if (strcasecmp(s, "json") == 0)
		return CLEW_FORMAT_JSON;
	return -CLEW_EINVAL;
}

/* A port number: 1 to 5 digits, 1..65535. */
static bool port_valid(const char *s)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5)
			return false;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	return n > 0 && v >= 1 && v <= 65535;
}

/*
 * Split an output spec into its kind and argument(s); for udp/tcp,
 * "HOST:PORT" splits at the last ':' and a "[v6]" host loses its brackets.
 * The argument strings are allocated into c->out_arg.
 */
static int output_parse(clew_client *c, const char *spec)
{
	static const struct {
		const char *prefix;
		int kind;
	} kinds[] = {
		{"file:", CLEW__OUT_FILE},
		{"unix:", CLEW__OUT_UNIX},
		{"udp:", CLEW__OUT_UDP},
		{"tcp:", CLEW__OUT_TCP},
	};
	const char *arg = NULL;
	char *colon, *host;

	if (strcmp(spec, "stderr") == 0) {
		c->out_kind = CLEW__OUT_STDERR;
		return 0;
	}
	if (strcmp(spec, "stdout") == 0) {
		c->out_kind = CLEW__OUT_STDOUT;
		return 0;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(spec, kinds[i].prefix, n) == 0) {
			c->out_kind = kinds[i].kind;
			arg = spec + n;
			break;
		}
	}
	if (!arg || !*arg)
		return -CLEW_ECONFIG;
	if (c->out_kind == CLEW__OUT_UNIX && strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -CLEW_ECONFIG;
	c->out_arg = strdup(arg);
	if (!c->out_arg)
		return -CLEW_ENOMEM;
	if (c->out_kind != CLEW__OUT_UDP && c->out_kind != CLEW__OUT_TCP)
		return 0;

	colon = strrchr(c->out_arg, ':');
	if (!colon || colon == c->out_arg || !port_valid(colon + 1))
		return -CLEW_ECONFIG;
	*colon = '\0';
	c->out_port = colon + 1;
	host = c->out_arg;
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return -CLEW_ECONFIG;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	return 0;
}

/* The value for a setting: the option when set, else the environment (unless ignored). */
static const char *from_env(const clew_client *c, const char *name)
{
	if (c->flags & CLEW_OPT_IGNORE_ENV)
		return NULL;
	return getenv(name);
}

/* A boolean environment value: 1 true yes on / 0 false no off (any case). */
static int bool_parse(const char *s)
{
	static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
										    "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -CLEW_EINVAL;
}

/* The async mode, the ring size and the metrics period. */
static int resolve_output_mode(clew_client *c, const struct clew_options *opt)
{
	const char *s;
	char *end;

	if (opt->flags & CLEW_OPT_ASYNC) {
		c->async = true;
	} else if (!(opt->flags & CLEW_OPT_SYNC) && (s = from_env(c, "CLEW_ASYNC")) && *s) {
		int v = bool_parse(s);

		if (v < 0) {
			clew__diag(c, CLEW_LEVEL_ERROR, "CLEW_ASYNC=%s: not 1 or 0", s);
			return -CLEW_ECONFIG;
		}
		c->async = v;
	}

	c->ring_bytes = opt->ring_bytes;
	if (c->ring_bytes == 0 && (s = from_env(c, "CLEW_RING_BYTES")) && *s) {
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || *end || v < CLEW__RING_MIN || v > CLEW__RING_MAX) {
			clew__diag(c, CLEW_LEVEL_ERROR, "CLEW_RING_BYTES=%s: not a size from %u to %u", s,
				   CLEW__RING_MIN, CLEW__RING_MAX);
			return -CLEW_ECONFIG;
		}
		c->ring_bytes = (uint32_t)v;
	}
	if (c->ring_bytes == 0)
		c->ring_bytes = CLEW__RING_DEFAULT;
	if (c->ring_bytes < CLEW__RING_MIN || c->ring_bytes > CLEW__RING_MAX)
		return -CLEW_EINVAL;

	if (opt->metrics_interval_ms == CLEW_INTERVAL_NEVER) {
		c->interval_ms = 0;
	} else if (opt->metrics_interval_ms) {
		c->interval_ms = opt->metrics_interval_ms;
	} else if ((s = from_env(c, "CLEW_METRICS_INTERVAL")) && *s) {
		double v;

		errno = 0;
		v = strtod(s, &end);
		if (errno || *end || !(v >= 0) || v > 86400) {
			clew__diag(c, CLEW_LEVEL_ERROR,
				   "CLEW_METRICS_INTERVAL=%s: not seconds from 0 to 86400", s);
			return -CLEW_ECONFIG;
		}
		c->interval_ms = (uint32_t)(v * 1000);
		if (v > 0 && c->interval_ms == 0)
			c->interval_ms = 1;
	} else {
		c->interval_ms = CLEW__METRICS_INTERVAL_DEFAULT;
	}
	return 0;
}

static int resolve(clew_client *c, const struct clew_options *opt)
{
	const char *s;
	int v, rc;

	s = opt->service ? opt->service : from_env(c, "CLEW_SERVICE");
	if (!s || !*s)
		s = program_invocation_short_name;
	if (!s || !*s)
		s = "unknown";
	c->service = strdup(s);
	if (!c->service)
		return -CLEW_ENOMEM;

	c->format = opt->format;
	if (c->format == CLEW_FORMAT_UNSET) {
		c->format = CLEW_FORMAT_PIPE;
		s = from_env(c, "CLEW_FORMAT");
		if (s && *s) {
			v = format_parse(s);
			if (v < 0) {
				clew__diag(c, CLEW_LEVEL_ERROR, "CLEW_FORMAT=%s: not pipe or json", s);
				return -CLEW_ECONFIG;
			}
			c->format = v;
		}
	}

	v = opt->level;
	if (v == CLEW_LEVEL_UNSET) {
		v = CLEW_LEVEL_INFO;
		s = from_env(c, "CLEW_LEVEL");
		if (s && *s) {
			v = clew_level_parse(s);
			if (v < 0) {
				clew__diag(c, CLEW_LEVEL_ERROR,
					   "CLEW_LEVEL=%s: not trace, debug, info, warn, error, fatal or off",
					   s);
				return -CLEW_ECONFIG;
			}
		}
	}
	atomic_init(&c->level, v);

	c->id_kind = opt->id_kind == CLEW_ID_UNSET ? CLEW_ID_HEX : opt->id_kind;

	s = opt->output ? opt->output : from_env(c, "CLEW_OUTPUT");
	if (!s || !*s)
		s = "stderr";
	c->output = strdup(s);
	if (!c->output)
		return -CLEW_ENOMEM;
	rc = output_parse(c, s);
	if (rc == -CLEW_ECONFIG)
		clew__diag(c, CLEW_LEVEL_ERROR,
			   "%s%s: not stderr, stdout, file:PATH, unix:PATH, udp:HOST:PORT or tcp:HOST:PORT",
			   opt->output ? "output " : "CLEW_OUTPUT=", s);
	if (rc < 0)
		return rc;
	return resolve_output_mode(c, opt);
}

static void client_release(clew_client *c)
{
	free(c->service);
	free(c->output);
	free(c->out_arg);
}

int clew_client_new(clew_client **out, const struct clew_options *opt)
{
	struct clew_options defaults;
	clew_client *c;
	int rc;

	if (!out)
		return -CLEW_EINVAL;
	if (!opt) {
		clew_options_default(&defaults);
		opt = &defaults;
	}
	for (size_t i = 0; i < sizeof(opt->reserved); i++)
		if (opt->reserved[i])
			return -CLEW_EINVAL;
	if (opt->format < CLEW_FORMAT_UNSET || opt->format > CLEW_FORMAT_JSON ||
	    opt->level < CLEW_LEVEL_UNSET || opt->level > CLEW_LEVEL_OFF || opt->id_kind < CLEW_ID_UNSET ||
	    opt->id_kind > CLEW_ID_BASE62 || (opt->flags & ~(uint32_t)CLEW__OPT_ALL) ||
	    (opt->flags & CLEW_OPT_ASYNC && opt->flags & CLEW_OPT_SYNC))
		return -CLEW_EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -CLEW_ENOMEM;
	c->flags = opt->flags;
	c->on_diag = opt->on_diag;
	c->cookie = opt->cookie;
	c->fd = -1;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return -CLEW_ENOMEM;
	}
	atomic_init(&c->stop, false);
	atomic_init(&c->wake, 0);
	atomic_init(&c->sleeping, false);
	atomic_init(&c->restart, false);

	rc = resolve(c, opt);
	if (rc < 0)
		goto err_release;
	rc = clew__sink_open(c);
	if (rc < 0)
		goto err_release;
	if (c->async) {
		clew__async_init();
		rc = clew__ring_new(c, c->ring_bytes);
		if (rc < 0)
			goto err_close;
		rc = clew__writer_new(c);
		if (rc < 0)
			goto err_ring;
		pthread_mutex_lock(&c->lock);
		rc = clew__worker_start(c);
		pthread_mutex_unlock(&c->lock);
		if (rc < 0)
			goto err_ring;
	}
	if (!clew__register(c))
		clew__diag(c, CLEW_LEVEL_WARN,
			   "too many clients: this one is not flushed at exit or on a signal");
	*out = c;
	return 0;

err_ring:
	clew__writer_free(c);
	clew__ring_free(c);
err_close:
	clew__sink_close(c);
err_release:
	client_release(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return rc;
}

void clew_client_free(clew_client *c)
{
	if (!c)
		return;
	clew__unregister(c);
	clew__worker_stop(c);
	if (c->metrics || c->ring || atomic_load(&c->dropped))
		clew__metrics_flush(c);
	if (c->ring) {
		/* The worker is gone: nobody else drains, so this takes everything committed. */
		clew__ring_drain_ex(c, 1000, false);
		clew__writer_free(c);
		clew__ring_free(c);
	}
	clew__metrics_free(c);
	clew__sink_close(c);
	client_release(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Milliseconds left until @deadline (CLOCK_MONOTONIC ns); never negative. */
static int ms_left(int64_t deadline)
{
	int64_t left = deadline - clew__mono_ns();

	return left <= 0 ? 0 : left / 1000000 > INT32_MAX ? INT32_MAX : (int)(left / 1000000);
}

/*
 * Drain the ring until every record committed before the call has been
 * written, or @deadline (CLOCK_MONOTONIC ns; INT64_MAX = none) passes.
 */
static int wait_drained(clew_client *c, int64_t deadline)
{
	uint64_t *heads = malloc(CLEW__LANES_MAX * sizeof(*heads));
	const struct timespec nap = {.tv_sec = 0, .tv_nsec = 100000};
	unsigned n;
	int rc = 0;

	if (!heads)
		return -CLEW_ENOMEM;
	n = clew__ring_heads(c, heads);
	for (;;) {
		clew__ring_drain_ex(c, ms_left(deadline) < 1000 ? ms_left(deadline) : 1000, false);
		if (clew__ring_passed(c, heads, n))
			break;
		if (clew__mono_ns() >= deadline) {
			rc = -CLEW_ETIMEDOUT;
			break;
		}
		nanosleep(&nap, NULL);
	}
	free(heads);
	return rc;
}

int clew_flush(clew_client *c, int timeout_ms)
{
	const int64_t deadline = timeout_ms < 0 ? INT64_MAX : clew__mono_ns() + (int64_t)timeout_ms * 1000000;
	int rc;

	if (!c)
		return -CLEW_EINVAL;
	/* The records logged before the call first, so that clew.dropped counts what they lost. */
	if (c->ring && (rc = wait_drained(c, deadline)) < 0)
		return rc;
	clew__metrics_flush(c);
	return c->ring ? wait_drained(c, deadline) : 0;
}
const char *clew_client_service(const clew_client *c)
{
	return c ? c->service : NULL;
}

const char *clew_client_output(const clew_client *c)
{
	return c ? c->output : NULL;
}

int clew_client_format(const clew_client *c)
{
	return c ? c->format : -CLEW_EINVAL;
}

int clew_client_level(const clew_client *c)
{
	return c ? atomic_load_explicit(&c->level, memory_order_relaxed) : -CLEW_EINVAL;
}

int clew_client_id_kind(const clew_client *c)
{
	return c ? c->id_kind : -CLEW_EINVAL;
}

int clew_client_set_level(clew_client *c, int level)
{
	if (!c || level < CLEW_LEVEL_TRACE || level > CLEW_LEVEL_OFF)
		return -CLEW_EINVAL;
	atomic_store_explicit(&c->level, level, memory_order_relaxed);
	return 0;
}

bool clew_enabled(const clew_client *c, int level)
{
	return c && level >= atomic_load_explicit(&c->level, memory_order_relaxed) &&
	       level < CLEW_LEVEL_OFF && level >= CLEW_LEVEL_TRACE;
}
