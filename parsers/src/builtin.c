/*
 * parsers/builtin.c - the table of built-in named parsers (see builtin.h).
 *
 * DESIGN: each layout is the one its program documents as its default (or
 * its default plus the request ID, for the web servers whose defaults
 * carry none), written as a regex parser so it goes through the same code
 * as a user's: no parser of its own to fuzz, and a user can copy a line of
 * this table into parsers: to change it. The ID lands in the trace group.
 */
#include <string.h>

#include <parsers/builtin.h>

/*
 * The request ID: the trace when it is made of ID bytes ([A-Za-z0-9._-]: an NDC element, no ':');
 * "-" (Apache's %{X-Request-ID}i without the header) or any other text: no trace, the line is read.
 */
#define ID_CHARS "[A-Za-z0-9._-]"
#define REQ_ID "(?:-(?=\\s|$)|(?<trace>" ID_CHARS "+)(?=\\s|$)|\\S+)"
/* [10/Oct/2000:13:55:36 -0700]: nginx's $time_local and Apache's %t */
#define CLF_TIME "%d/%b/%Y:%H:%M:%S %z"
/* "GET /path HTTP/1.1" and the combined fields after it */
#define CLF_REQUEST                                                                              \
	"\\[(?<time>[^\\]]+)\\] \"(?<method>[A-Z]+) (?<path>[^ \"]*)[^\"]*\" (?<status>\\d{3}) " \
	"(?<bytes>\\d+|-) \"(?<referer>[^\"]*)\" \"(?<agent>[^\"]*)\" "

static const struct parse_builtin builtins[] = {
	{"nginx", "^(?<client>\\S+) - (?<user>\\S+) " CLF_REQUEST REQ_ID, CLF_TIME,
	 "nginx combined log format with a request ID ($request_id) appended"},
	{"apache", "^(?<client>\\S+) \\S+ (?<user>\\S+) " CLF_REQUEST REQ_ID, CLF_TIME,
	 "Apache combined LogFormat with %{UNIQUE_ID}e (or a request ID header) appended"},
	{"openstack",
	 "^(?<time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) (?<pid>\\d+) (?<level>[A-Z]+) "
	 "(?<service>\\S+) \\[(?:None )?(?<trace>req-[0-9a-f-]{36})(?: (?<span>req-[0-9a-f-]{36}))?[^\\]]*\\] "
	 "?(?<message>.*)",
	 "%Y-%m-%d %H:%M:%S.%f",
	 "OpenStack oslo.log lines with a [global_request_id request_id ...] context"},
	{"spring",
	 "^(?<time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+)\\s+(?<level>[A-Z]+)\\s+"
	 "\\[(?<service>[^,\\]]*),(?<trace>[0-9a-f]*),(?<span>[0-9a-f]*)(?:,[^\\]]*)?\\]\\s+(?<pid>\\d+)\\s+---\\s+"
	 "\\[\\s*(?<thread>[^\\]]*)\\]\\s+(?<logger>\\S+)\\s*:\\s(?<message>.*)",
	 "%Y-%m-%d %H:%M:%S.%f", "Spring Boot (Sleuth) lines with [app,traceId,spanId]"},
	{"envoy",
	 "^\\[(?<time>[^\\]]+)\\] \"(?<method>\\S+) (?<path>\\S+) (?<protocol>[^\"]*)\" (?<status>\\d+) "
	 "(?<flags>\\S+) (?<bytes_received>\\d+) (?<bytes_sent>\\d+) (?<duration_ms>\\d+) (?<upstream_ms>\\S+) "
	 "\"(?<forwarded_for>[^\"]*)\" \"(?<agent>[^\"]*)\" \"(?:-|(?<trace>" ID_CHARS
	 "+)|[^\"]*)\" \"(?<authority>[^\"]*)\" "
	 "\"(?<upstream>[^\"]*)\"",
	 "rfc3339", "Envoy's default access log format, x-request-id as the trace"},
};

const struct parse_builtin *parse_builtin_find(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

const struct parse_builtin *parse_builtin_at(unsigned i)
{
	return i < sizeof(builtins) / sizeof(builtins[0]) ? &builtins[i] : NULL;
}
