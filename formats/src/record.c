/*
 * record.c - the record's small helpers: clearing, attribute lookup,
 * level names and error texts.
 *
 * Clearing touches only the header fields and the counters: attrs[] and
 * ids[] past nattrs/nids are never read, so a parse loop over millions of
 * lines does not pay for zeroing 3 KB of unused slots per line.
 */
#include <string.h>

#include "fmt/record.h"
#include "fmt/str.h"

void fmt_record_clear(struct fmt_record *r)
{
	/* everything before ids[] is small; the fixed views after it are named */
	memset(r, 0, offsetof(struct fmt_record, ids));
	r->trace = r->span = r->parent = (struct fmt_str){0};
	r->service = r->method = r->path = r->message = r->cont = (struct fmt_str){0};
}

const struct fmt_attr *fmt_record_attr(const struct fmt_record *r, const char *key)
{
	size_t n = strlen(key);

	for (uint16_t i = 0; i < r->nattrs; i++)
		if (fmt_str_eq(&r->attrs[i].key, key, n))
			return &r->attrs[i];
	return NULL;
}

static const char *const level_names[] = {
	[FMT_LEVEL_NONE] = "",	     [FMT_LEVEL_TRACE] = "TRACE", [FMT_LEVEL_DEBUG] = "DEBUG",
	[FMT_LEVEL_INFO] = "INFO",   [FMT_LEVEL_WARN] = "WARN",	  [FMT_LEVEL_ERROR] = "ERROR",
	[FMT_LEVEL_FATAL] = "FATAL", [FMT_LEVEL_OTHER] = "",
};

const char *fmt_level_name(enum fmt_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "";
	return level_names[level];
}

/* Words of the loggers we know, lower case, and the level each one means. */
static const struct {
	const char *word;
	enum fmt_level level;
} level_words[] = {
	{"trace", FMT_LEVEL_TRACE},
	{"debug", FMT_LEVEL_DEBUG},
	{"info", FMT_LEVEL_INFO},
	{"information", FMT_LEVEL_INFO},   /* .NET, Serilog */
	{"informational", FMT_LEVEL_INFO}, /* syslog's name */
	{"verbose", FMT_LEVEL_TRACE},	   /* Serilog */
	{"warn", FMT_LEVEL_WARN},
	{"warning", FMT_LEVEL_WARN},
	{"error", FMT_LEVEL_ERROR},
	{"err", FMT_LEVEL_ERROR},
	{"fatal", FMT_LEVEL_FATAL},
	{"critical", FMT_LEVEL_FATAL},
	{"crit", FMT_LEVEL_FATAL},
	{"panic", FMT_LEVEL_FATAL},
	{"dpanic", FMT_LEVEL_FATAL},
	{"emerg", FMT_LEVEL_FATAL},
	{"emergency", FMT_LEVEL_FATAL},
	{"alert", FMT_LEVEL_FATAL},
	{"notice", FMT_LEVEL_INFO},
	/* pino and bunyan write levels as numbers */
	{"10", FMT_LEVEL_TRACE},
	{"20", FMT_LEVEL_DEBUG},
	{"30", FMT_LEVEL_INFO},
	{"40", FMT_LEVEL_WARN},
	{"50", FMT_LEVEL_ERROR},
	{"60", FMT_LEVEL_FATAL},
};

enum fmt_level fmt_level_from_text(const char *s, size_t len)
{
	char low[16];

	if (len == 0 || len >= sizeof(low))
		return FMT_LEVEL_OTHER;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		low[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	for (size_t i = 0; i < sizeof(level_words) / sizeof(level_words[0]); i++)
		if (strlen(level_words[i].word) == len && memcmp(level_words[i].word, low, len) == 0)
			return level_words[i].level;
	return FMT_LEVEL_OTHER;
}

const char *fmt_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case FMT_OK:
		return "success";
	case FMT_EPARSE:
		return "parse error";
	case FMT_EUTF8:
		return "invalid UTF-8";
	case FMT_EDEPTH:
		return "nesting too deep";
	case FMT_ENUMBER:
		return "number too long";
	case FMT_ETS:
		return "invalid timestamp";
	case FMT_ELIMIT:
		return "limit exceeded";
	case FMT_ETRUNC:
		return "output buffer too small";
	case FMT_EINVAL:
		return "invalid argument";
	}
	return "unknown error";
}
