/*
 * options.h - a plugin's options: what it declares (a table of keys with
 * their type, default and help) and the typed access to what the
 * configuration gave (the YAML keys of an input or an output, the parts
 * of its -i/-o spec or URI), as one generic list, struct cd_opts.
 *
 * The table is the one truth about a plugin's keys: the configuration is
 * checked against it (unknown keys, values of the wrong type), and
 * clewd --help-config, clewd(8) and the README's reference are checked
 * against it by a test (tests/collector/config).
 */
#ifndef CD_OPTIONS_H
#define CD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cd_limits.h"
#include <store/err.h>

/* What an option's value is; how cd_opts_check() reads it. */
enum cd_opt_type {
	CD_OPT_STRING = 0, /* any text */
	CD_OPT_BOOL,	   /* true|false (yes|no, on|off, 1|0) */
	CD_OPT_UINT,	   /* a number 0..max */
	CD_OPT_SIZE,	   /* bytes: 4096, 64k, 10M */
	CD_OPT_DURATION,   /* 500ms, 5s, 2m */
	CD_OPT_HOSTPORT,   /* HOST:PORT, [V6]:PORT or HOST */
	CD_OPT_ENUM,	   /* one of choices */
	CD_OPT_PREFIX,	   /* key ends in '.': every KEY.NAME, passed through as text */
};

/* Flags of a table entry. */
enum {
	/*
	 * A secret (a password, a token): shown as *** wherever options are
	 * printed (--check-config, logs, URIs). Keys under a prefix entry
	 * (properties.NAME) are secret when NAME says pass, secret, token, auth or
	 * key (cd_opt_secret()).
	 */
	CD_OPT_SECRET = 1 << 0,
	/*
	 * Not a key of this plugin, though a sibling takes it: refused with
	 * the entry's help as the message ("a datagram socket has none"), and
	 * listed nowhere (--help-config, the valid keys of an error).
	 */
	CD_OPT_REFUSED = 1 << 1,
};

/* One key a plugin takes. Tables end with an entry whose key is NULL. */
struct cd_opt_spec {
	const char *key;       /* "timeout"; "properties." for CD_OPT_PREFIX */
	enum cd_opt_type type; /* how its value is read */
	const char *def;       /* the default as the documentation says it; NULL: none */
	const char *help;      /* one line (CD_OPT_REFUSED: why not) */
	const char *choices;   /* CD_OPT_ENUM: "json|pipe|logstash" */
	uint64_t max;	       /* CD_OPT_UINT: the largest value (0: UINT64_MAX) */
	unsigned flags;	       /* CD_OPT_SECRET, CD_OPT_REFUSED */
};

/* CD_OPT_REFUSE() - the table entry of a key refused with message @why. */
#define CD_OPT_REFUSE(key, why)                                            \
	{                                                                  \
		(key), CD_OPT_STRING, NULL, (why), NULL, 0, CD_OPT_REFUSED \
	}

/* cd_opt_type_name() - "string", "bool", "uint", "size", "duration", "host:port", the choices, "prefix". */
const char *cd_opt_type_name(const struct cd_opt_spec *s);

/* cd_opt_spec_find() - the entry of @table that takes @key (a prefix entry takes KEY.NAME), or NULL. */
const struct cd_opt_spec *cd_opt_spec_find(const struct cd_opt_spec *table, const char *key);

/*
 * One option of an input or an output: a YAML key (nested mappings
 * flattened with dots: properties: {linger.ms: 5} is
 * "properties.linger.ms"), or a part of its -i/-o spec. An output's URI
 * SCHEME://[USER[:PASS]@]HOST[:PORT][/PATH][?K=V&...] gives
 * address=HOST[:PORT], path=PATH (no leading '/', percent-decoded), user,
 * password, and each K=V; an input's spec gives listen, path and K=V.
 */
struct cd_opt {
	char *key;	    /* owned */
	char *val;	    /* owned */
	unsigned line, col; /* config line and column of the value (0: command line) */
};

/*
 * The options of one input or output, and who they belong to, so that
 * every error names its place: "OWNER, line N: KEY: WHAT", or with
 * @file "FILE:LINE:COL: OWNER: KEY: WHAT".
 */
struct cd_opts {
	struct cd_opt v[CD_OUTPUT_OPTS_MAX]; /* in the order given */
	unsigned n;			     /* used entries of v[] */
	char owner[128];		     /* "output kafka#1", "input tcp#2", "input 'tcp://:5170'" */
	const char *file;		     /* the config file errors name (not owned); NULL: none */
	unsigned line, col;		     /* of the owner's entry (0: command line) */
};

/*
 * cd_opt_add() - add option @key (@klen bytes) = @val (@vlen bytes) of
 * config line @line, column @col to @o. Return: 0, -CD_EINVAL (given
 * twice), -CD_ELIMIT, -CD_ENOMEM with @err.
 */
int cd_opt_add(struct cd_opts *o, const char *key, size_t klen, const char *val, size_t vlen, unsigned line,
	       unsigned col, struct cd_err *err);

/* cd_opt_set() - option @key of @o becomes @val (added, or replaced keeping its place). Return: 0 or -CD_ENOMEM. */
int cd_opt_set(struct cd_opts *o, const char *key, const char *val, struct cd_err *err);

/* cd_opt_del() - drop option @key of @o (if there). */
void cd_opt_del(struct cd_opts *o, const char *key);

/* cd_opts_release() - free @o's options (it is then empty, its owner kept). */
void cd_opts_release(struct cd_opts *o);

/* cd_opt_get() - the value of option @key of @o, or NULL. */
const char *cd_opt_get(const struct cd_opts *o, const char *key);

/*
 * cd_opts_check() - every option of @o is a key of @table, and its value
 * reads as the key's type. Return: 0, or -CD_EINVAL with @err naming the
 * owner, the line and the key, and the valid keys or the expected type
 * (a CD_OPT_REFUSED key: its message).
 */
int cd_opts_check(const struct cd_opts *o, const struct cd_opt_spec *table, struct cd_err *err);

/*
 * cd_opt_fail() - -CD_EINVAL with @err as "OWNER, line N: KEY: WHAT"
 * (the option's own line, else the owner's; no line for the command
 * line). @key may be NULL: "OWNER: WHAT".
 */
int cd_opt_fail(const struct cd_opts *o, const char *key, const char *what, struct cd_err *err);

/*
 * cd_opt_secret() - whether option @key is a secret under @table
 * (CD_OPT_SECRET, or a prefix entry's NAME saying pass, secret, token, auth or
 * key). cd_opt_shown() - @val as it may be printed: "***" for a secret,
 * else @val with any URI password (SCHEME://USER:PASS@) masked, into
 * buf[0..cap). Return: @buf.
 */
bool cd_opt_secret(const struct cd_opt_spec *table, const char *key);
const char *cd_opt_shown(const struct cd_opt_spec *table, const char *key, const char *val, char *buf,
			 size_t cap);

/*
 * cd_uri_masked() - @s with the password of any SCHEME://USER:PASS@ in it
 * as ***, and the value of any secret query parameter (p=, a name saying
 * pass, secret or token) too, into buf[0..cap). Return: @buf.
 */
const char *cd_uri_masked(const char *s, char *buf, size_t cap);

/*
 * cd_opt_one_of() - the value of option @a or of its alias @b into *@out
 * (NULL when neither). Return: 0, or -CD_EINVAL when both are given.
 */
int cd_opt_one_of(const struct cd_opts *o, const char *a, const char *b, const char **out,
		  struct cd_err *err);

/*
 * Typed option readers: @def when the key is absent. Return: 0, or
 * -CD_EINVAL with @err naming the output, key and line.
 * Durations as cd_parse_duration_ms(), sizes as cd_parse_size().
 */
int cd_opt_u64(const struct cd_opts *o, const char *key, uint64_t def, uint64_t max, uint64_t *out,
	       struct cd_err *err);
int cd_opt_ms(const struct cd_opts *o, const char *key, uint64_t def, uint64_t *out, struct cd_err *err);
int cd_opt_size(const struct cd_opts *o, const char *key, uint64_t def, uint64_t *out, struct cd_err *err);
int cd_opt_bool(const struct cd_opts *o, const char *key, bool def, bool *out, struct cd_err *err);

/*
 * cd_opt_enum() - the index in @choices ("json|msgpack|raw") of option
 * @key's value; @def when absent. Return: 0, or -CD_EINVAL with @err
 * saying "expected json, msgpack or raw".
 */
int cd_opt_enum(const struct cd_opts *o, const char *key, const char *choices, unsigned def, unsigned *out,
		struct cd_err *err);

/*
 * cd_opt_hostport() - split option @key ("HOST:PORT", "[V6]:PORT", or
 * "HOST" with @def_port) into @host (@cap bytes) and @port.
 * Return: 0, -CD_ENOENT (absent), -CD_EINVAL with @err.
 */
int cd_opt_hostport(const struct cd_opts *o, const char *key, uint16_t def_port, char *host, size_t cap,
		    uint16_t *port, struct cd_err *err);

/* cd_parse_bool() - true|yes|on|1, false|no|off|0 (any case). Return: 0 or -CD_EINVAL. */
int cd_parse_bool(const char *s, bool *out);

#endif
