/*
 * options.h - a plugin's options: what it declares (a table of keys with
 * their type, default and help) and the typed access to what the
 * configuration gave (the YAML keys of an output, or its URI's parts).
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

#include <store/err.h>

struct cd_output_conf;

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

/* One key a plugin takes. Tables end with an entry whose key is NULL. */
struct cd_opt_spec {
	const char *key;       /* "timeout"; "properties." for CD_OPT_PREFIX */
	enum cd_opt_type type; /* how its value is read */
	const char *def;       /* the default as the documentation says it; NULL: none */
	const char *help;      /* one line */
	const char *choices;   /* CD_OPT_ENUM: "json|pipe|logstash" */
	uint64_t max;	       /* CD_OPT_UINT: the largest value (0: UINT64_MAX) */
};

/* cd_opt_type_name() - "string", "bool", "uint", "size", "duration", "host:port", the choices, "prefix". */
const char *cd_opt_type_name(const struct cd_opt_spec *s);

/* cd_opt_spec_find() - the entry of @table that takes @key (a prefix entry takes KEY.NAME), or NULL. */
const struct cd_opt_spec *cd_opt_spec_find(const struct cd_opt_spec *table, const char *key);

/*
 * One option of an output: a YAML key (nested mappings flattened with
 * dots: properties: {linger.ms: 5} is "properties.linger.ms"), or a URI
 * part. A URI SCHEME://[USER[:PASS]@]HOST[:PORT][/PATH][?K=V&...] gives
 * address=HOST[:PORT], path=PATH (no leading '/', percent-decoded), user,
 * password, and each K=V.
 */
struct cd_opt {
	char *key;     /* owned */
	char *val;     /* owned */
	unsigned line; /* config line (0: command line) */
};

/*
 * cd_opt_add() - add option @key (@klen bytes) = @val (@vlen bytes) of
 * config line @line to @oc. Return: 0, -CD_EINVAL (given twice),
 * -CD_ELIMIT, -CD_ENOMEM with @err.
 */
int cd_opt_add(struct cd_output_conf *oc, const char *key, size_t klen, const char *val, size_t vlen,
	       unsigned line, struct cd_err *err);

/* cd_opt_get() - the value of option @key of @oc, or NULL. */
const char *cd_opt_get(const struct cd_output_conf *oc, const char *key);

/*
 * cd_opts_check() - every option of @oc is a key of @table, and its value
 * reads as the key's type. Return: 0, or -CD_EINVAL with @err naming the
 * output, the line and the key, and the valid keys or the expected type.
 */
int cd_opts_check(const struct cd_output_conf *oc, const struct cd_opt_spec *table, struct cd_err *err);

/*
 * cd_opt_fail() - -CD_EINVAL with @err as "output NAME, line N: KEY: WHAT"
 * (the option's own line, else the output's; no line for the command
 * line). @key may be NULL: "output NAME: WHAT".
 */
int cd_opt_fail(const struct cd_output_conf *oc, const char *key, const char *what, struct cd_err *err);

/*
 * cd_opt_one_of() - the value of option @a or of its alias @b into *@out
 * (NULL when neither). Return: 0, or -CD_EINVAL when both are given.
 */
int cd_opt_one_of(const struct cd_output_conf *oc, const char *a, const char *b, const char **out,
		  struct cd_err *err);

/*
 * Typed option readers: @def when the key is absent. Return: 0, or
 * -CD_EINVAL with @err naming the output, key and line.
 * Durations as cd_parse_duration_ms(), sizes as cd_parse_size().
 */
int cd_opt_u64(const struct cd_output_conf *oc, const char *key, uint64_t def, uint64_t max, uint64_t *out,
	       struct cd_err *err);
int cd_opt_ms(const struct cd_output_conf *oc, const char *key, uint64_t def, uint64_t *out,
	      struct cd_err *err);
int cd_opt_size(const struct cd_output_conf *oc, const char *key, uint64_t def, uint64_t *out,
		struct cd_err *err);
int cd_opt_bool(const struct cd_output_conf *oc, const char *key, bool def, bool *out, struct cd_err *err);

/*
 * cd_opt_enum() - the index in @choices ("json|msgpack|raw") of option
 * @key's value; @def when absent. Return: 0, or -CD_EINVAL with @err
 * saying "expected json, msgpack or raw".
 */
int cd_opt_enum(const struct cd_output_conf *oc, const char *key, const char *choices, unsigned def,
		unsigned *out, struct cd_err *err);

/*
 * cd_opt_hostport() - split option @key ("HOST:PORT", "[V6]:PORT", or
 * "HOST" with @def_port) into @host (@cap bytes) and @port.
 * Return: 0, -CD_ENOENT (absent), -CD_EINVAL with @err.
 */
int cd_opt_hostport(const struct cd_output_conf *oc, const char *key, uint16_t def_port, char *host,
		    size_t cap, uint16_t *port, struct cd_err *err);

/* cd_parse_bool() - true|yes|on|1, false|no|off|0 (any case). Return: 0 or -CD_EINVAL. */
int cd_parse_bool(const char *s, bool *out);

#endif
