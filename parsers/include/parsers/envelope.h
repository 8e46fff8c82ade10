/*
 * parsers/envelope.h - container log envelopes: the line a container
 * runtime writes around each line a program printed, and the Kubernetes
 * metadata in a container log's path.
 *
 *   cri     containerd / CRI-O (kubernetes/cri-api, "CRI logging"):
 *           <RFC3339Nano time> <stdout|stderr> <P|F>[:tags] <text>
 *           P: a partial line, continued by the next line of the same
 *           stream; F: the line's last (or only) part.
 *   docker  Docker's json-file driver: {"log":"...","stream":"...","time":"..."}
 *           (other members, such as "attrs", skipped); a "log" value
 *           without a trailing "\n" is a partial line (the daemon splits
 *           lines at 16 KiB), continued by the next line.
 *
 * A decoder turns one envelope line into its inner text (without the
 * trailing newline), its stream, its time and whether it is partial.
 * Joining partial lines is the caller's: it knows what came before.
 * Pure functions over (buf, len): no I/O, no allocation; the CRI text is a
 * view into the line, Docker's (JSON escapes undone) is written to a
 * caller's buffer of at least @n bytes (undoing escapes never grows text).
 */
#ifndef PARSERS_ENVELOPE_H
#define PARSERS_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum parse_env {
	PARSE_ENV_NONE = 0, /* the line is the text */
	PARSE_ENV_CRI,	    /* containerd / CRI-O */
	PARSE_ENV_DOCKER,   /* Docker json-file */
};

enum parse_env_stream {
	PARSE_ENV_STREAM_NONE = 0,
	PARSE_ENV_STREAM_STDOUT,
	PARSE_ENV_STREAM_STDERR,
};

/* One decoded envelope line. */
struct parse_env_line {
	const char *text; /* the inner text, without its newline (a view, or the caller's buffer) */
	size_t len;	  /* its bytes */
	int64_t ts_ns;	  /* the runtime's time, UTC ns since the epoch (when has_ts) */
	bool has_ts;	  /* the time was read */
	bool partial;	  /* more of this line follows in the next envelope line */
	uint8_t stream;	  /* enum parse_env_stream */
};

/*
 * parse_env_by_name() - "cri" or "docker" at the start of @name, followed
 * by '\0' or '+'. Return: the envelope, or PARSE_ENV_NONE; *@rest (if not
 * NULL) points past the name and its '+' (at "" when none).
 */
enum parse_env parse_env_by_name(const char *name, const char **rest);

/* parse_env_name() - "cri", "docker" (or "none"). */
const char *parse_env_name(enum parse_env env);

/* parse_env_stream_name() - "stdout", "stderr", or NULL for none. */
const char *parse_env_stream_name(uint8_t stream);

/*
 * parse_cri() - decode one CRI line s[0..n) (no trailing '\n'; a trailing
 * '\r' is part of the text). The text is a view into @s.
 * Return: 0, or -1 when @s is not a CRI line.
 */
int parse_cri(const char *s, size_t n, struct parse_env_line *out);

/*
 * parse_docker() - decode one json-file line s[0..n): a JSON object whose
 * "log" member is a string. The text (escapes undone, the trailing "\n"
 * removed) is written to @buf, which must hold @n bytes; "stream" and
 * "time" (RFC 3339) are read when present.
 * Return: 0, or -1 when @s is not such a line (invalid JSON, no "log").
 */
int parse_docker(const char *s, size_t n, char *buf, struct parse_env_line *out);

/*
 * parse_env_decode() - parse_cri() or parse_docker() by @env (@buf as for
 * parse_docker(), unused by CRI). Return: 0 or -1.
 */
int parse_env_decode(enum parse_env env, const char *s, size_t n, char *buf, struct parse_env_line *out);

/*
 * parse_env_detect() - the envelope of a line, when it can be only that:
 * a CRI line (the whole RFC 3339 time, a stream, P or F), or a JSON
 * object that starts with the "log" member and has "stream" and "time"
 * (a clew JSON record never has "log" first). PARSE_ENV_NONE otherwise.
 */
enum parse_env parse_env_detect(const char *s, size_t n);

/* Kubernetes metadata from a container log's path: views into the path. */
struct parse_k8s {
	const char *pod, *ns, *container;
	size_t pod_len, ns_len, container_len;
};

/*
 * parse_k8s_path() - read the pod, namespace and container from @path:
 *   .../containers/POD_NAMESPACE_CONTAINER-ID.log   (ID: 64 hex digits)
 *   .../pods/NAMESPACE_POD_UID/CONTAINER/N.log       (N: digits)
 * (kubelet's layouts: /var/log/containers holds links to /var/log/pods).
 * Return: true and @out set, or false for any other path.
 */
bool parse_k8s_path(const char *path, struct parse_k8s *out);

#endif
