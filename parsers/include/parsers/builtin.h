/*
 * parsers/builtin.h - the named parsers clewd and tracegrep know without a
 * configuration: regex parsers (parsers/regex.h) for common layouts that
 * carry a request ID, each with its time format. A user's parser of the
 * same name (parsers: in clewd.yaml) takes precedence.
 *
 *   nginx      nginx's "combined" layout with a request ID appended:
 *              log_format clew '$remote_addr - $remote_user [$time_local] '
 *                  '"$request" $status $body_bytes_sent "$http_referer" '
 *                  '"$http_user_agent" $request_id';
 *              (or a variable holding X-Request-ID when the client sent one)
 *   apache     Apache's combined LogFormat with "%{UNIQUE_ID}e" appended
 *              (mod_unique_id), or any request ID header, e.g. %{X-Request-ID}i
 *   openstack  oslo.log's default: TIME PID LEVEL LOGGER [GLOBAL REQ USER ...] MESSAGE, where
 *              GLOBAL is the global request ID (req-UUID, the same across services:
 *              the trace; REQ, this service's request ID, the span) or "None" (then
 *              REQ is the trace)
 *   spring     Spring Boot with Sleuth: TIME LEVEL [app,traceId,spanId] PID --- [thread] logger : MESSAGE
 *   envoy      Envoy's default access log format, x-request-id as the trace
 *
 * The request ID becomes the record's trace, so tracegrep finds it.
 */
#ifndef PARSERS_BUILTIN_H
#define PARSERS_BUILTIN_H

struct parse_builtin {
	const char *name;	 /* what parser: / -p names */
	const char *regex;	 /* PCRE2 pattern with named groups */
	const char *time_format; /* parsers/timefmt.h */
	const char *summary;	 /* one line for --help and the docs */
};

/* parse_builtin_find() - the built-in parser called @name, or NULL. */
const struct parse_builtin *parse_builtin_find(const char *name);

/* parse_builtin_at() - the @i-th built-in parser (0..), NULL past the last. */
const struct parse_builtin *parse_builtin_at(unsigned i);

#endif
