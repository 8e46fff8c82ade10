/*
 * config.h - clewd's configuration: what the YAML file, the environment
 * and the command line say, merged in that order (later wins).
 *
 * A struct cd_config is filled by cd_config_init() (the defaults), then
 * cd_config_load_file(), cd_config_env() and the cd_config_add_*_spec()
 * of the command line, then checked and completed by cd_config_finish().
 * Every string in it is owned by it (freed by cd_config_release()).
 * Errors name the file and the line (libyaml's marks are 0-based; we
 * print 1-based lines and columns).
 */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cd_limits.h"
#include "util/err.h"

enum cd_parser { CD_PARSER_AUTO = 0, CD_PARSER_PIPE, CD_PARSER_JSON };
enum cd_in_type { CD_IN_STDIN = 0, CD_IN_TAIL };
enum cd_out_type { CD_OUT_ARCHIVE = 0, CD_OUT_STDOUT, CD_OUT_FILE };
enum cd_out_format { CD_OUTFMT_JSON = 0, CD_OUTFMT_PIPE };

struct cd_input_conf {
	enum cd_in_type type; /* which input plugin */
	char *path;	      /* tail: a file path or glob (owned); NULL for stdin */
	bool from_tail;	      /* tail: files without a checkpoint start at their end */
	unsigned line;	      /* config line that declared it (0: command line) */
};

struct cd_output_conf {
	enum cd_out_type type;	   /* which output plugin */
	char *path;		   /* archive: directory; file: path (owned); NULL for stdout */
	enum cd_out_format format; /* stdout/file: line format */
	uint64_t max_bytes;	   /* archive retention by size; 0 = none */
	uint64_t max_age_ms;	   /* archive retention by age; 0 = none */
	uint64_t segment_bytes;	   /* archive segment size; 0 = CD_SEGMENT_BYTES */
	unsigned line;		   /* config line that declared it (0: command line) */
};

struct cd_config {
	char *file;				   /* the config file read (owned), NULL for none */
	char *state_dir;			   /* checkpoint and default archive live here (owned) */
	char *checkpoint;			   /* checkpoint file; default STATE_DIR/checkpoint */
	enum cd_parser parser;			   /* auto | pipe | json */
	bool multiline;				   /* join continuation lines (default on) */
	uint64_t multiline_ms;			   /* flush a held record after this (default 1000) */
	uint64_t chunk_age_ms;			   /* seal a chunk this old (default CD_CHUNK_AGE_MS) */
	uint64_t drain_ms;			   /* SIGTERM: deliver what was read within this */
	uint64_t rotate_wait_ms;		   /* keep reading a rotated file this long after EOF */
	uint64_t poll_ms;			   /* tail: rescan globs and files this often */
	int log_level;				   /* enum fmt_level: lowest level of our own log */
	struct cd_input_conf in[CD_INPUTS_MAX];	   /* inputs, in order */
	unsigned nin;				   /* used entries of in[] */
	struct cd_output_conf out[CD_OUTPUTS_MAX]; /* outputs, in order */
	unsigned nout;				   /* used entries of out[] */
};

/* cd_config_init() - the defaults; cd_config_release() frees every string. */
void cd_config_init(struct cd_config *c);
void cd_config_release(struct cd_config *c);

/*
 * cd_config_load_file() - read the YAML file @path into @c (its inputs and
 * outputs replace any already there). Unknown keys are errors.
 * Return: 0, or -CD_EINVAL / -CD_EIO / -CD_ENOMEM with @err as
 * "PATH:LINE:COL: what".
 */
int cd_config_load_file(struct cd_config *c, const char *path, struct cd_err *err);

/*
 * cd_config_env() - apply CLEWD_STATE_DIR, CLEWD_CHECKPOINT, CLEWD_PARSER,
 * CLEWD_LOG_LEVEL, CLEWD_MULTILINE, CLEWD_MULTILINE_TIMEOUT,
 * CLEWD_CHUNK_AGE, CLEWD_DRAIN_TIMEOUT. Return: 0 or -CD_EINVAL.
 */
int cd_config_env(struct cd_config *c, struct cd_err *err);

/*
 * cd_config_add_input_spec() - "stdin", "tail:GLOB" (command line -i).
 * cd_config_add_output_spec() - "archive:DIR", "stdout[:json|pipe]",
 * "file:PATH[:json|pipe]" (-o). cd_config_set_parser() - "auto|pipe|json".
 * Return: 0, -CD_EINVAL, -CD_ELIMIT, -CD_ENOMEM.
 */
int cd_config_add_input_spec(struct cd_config *c, const char *spec, struct cd_err *err);
int cd_config_add_output_spec(struct cd_config *c, const char *spec, struct cd_err *err);
int cd_config_set_parser(struct cd_config *c, const char *name, struct cd_err *err);

/* cd_config_clear_inputs()/_outputs() - drop the file's lists (the command line replaces them). */
void cd_config_clear_inputs(struct cd_config *c);
void cd_config_clear_outputs(struct cd_config *c);

/*
 * cd_config_finish() - check @c and fill what depends on other settings:
 * no outputs = one archive at STATE_DIR/archive; the checkpoint path.
 * Return: 0 or -CD_EINVAL (no input, ...), -CD_ENOMEM.
 */
int cd_config_finish(struct cd_config *c, struct cd_err *err);

/* cd_config_needs_state() - whether any input keeps positions (tail). */
bool cd_config_needs_state(const struct cd_config *c);

#endif
