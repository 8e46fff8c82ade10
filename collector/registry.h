/*
 * registry.h - every input and output clewd is built with, by descriptor.
 *
 * A plugin declares, in one place in its own source file, a struct
 * cd_plugin_desc: its name (the YAML type:), its command-line spec
 * (scheme and usage), a one-line summary, its option table, flags and its
 * implementation. registry.c lists the descriptors; the configuration
 * (spec parsing, YAML, validation) keeps a pointer to the descriptor as an
 * input's or output's plugin and its keys as a generic option list
 * (struct cd_opts) checked against the table; the plugin reads its values
 * itself (options.h getters) in its check() and open(); the pipeline
 * opens the descriptor's vtable; clewd --help and --help-config print the
 * list. Nothing else names a plugin.
 * Adding a plugin: its file, one line in registry.c, one in meson.build.
 *
 * Layering: options.h (option lists, tables, typed access) <- registry.h
 * (descriptors) <- config.h (the configuration) <- pipeline.h.
 */
#ifndef CD_REGISTRY_H
#define CD_REGISTRY_H

#include <stdbool.h>
#include <stdio.h>

#include "options.h"

struct in_plugin;
struct out_plugin;

/* Flags of a descriptor. */
enum {
	CD_PLUGIN_NET = 1 << 0,	     /* input: listens on a socket (listen:, SCHEME://ADDR) */
	CD_PLUGIN_DGRAM = 1 << 1,    /* input: datagrams (no connections, no max_connections) */
	CD_PLUGIN_URI_OPTS = 1 << 2, /* output: -o SCHEME://URI (else -o NAME[:PATH][:FORMAT]) */
	CD_PLUGIN_ONESHOT = 1 << 3,  /* input: read to its end, then exit (stdin): no state, once only */
	CD_PLUGIN_UNIX = 1 << 4,     /* input: on a unix socket (listen: unix:PATH, or path:) */
};

struct cd_plugin_desc {
	const char *name;		/* the YAML type:, metrics' label, "kafka" */
	const char *scheme;		/* -i/-o SCHEME://...; NULL: none (the usage says the spec) */
	const char *usage;		/* the -i/-o spec: "kafka://HOST:PORT[,...]/TOPIC[?K=V&...]" */
	const char *summary;		/* one line, for --help */
	const struct cd_opt_spec *opts; /* its keys (beyond the common ones), NULL key last */
	unsigned flags;			/* CD_PLUGIN_* */
	/*
	 * An input's check(): its options @o (already checked against its
	 * table) read and checked as a whole, and completed: defaults that
	 * --check-config shows, addresses normalized. Errors through
	 * cd_opt_fail(). NULL: nothing to check. (An output's check() is in
	 * its vtable.)
	 */
	int (*check)(struct cd_opts *o, struct cd_err *err);
	const struct in_plugin *in;   /* an input's implementation */
	const struct out_plugin *out; /* an output's implementation */
};

/* The built-in inputs and outputs, in --help's order, each list ending with NULL. */
extern const struct cd_plugin_desc *const cd_inputs[];
extern const struct cd_plugin_desc *const cd_outputs[];

/* Keys every input / every output takes, whatever its type. */
extern const struct cd_opt_spec cd_input_common_opts[];
extern const struct cd_opt_spec cd_output_common_opts[];

/* cd_input_named()/cd_output_named() - the descriptor called @name (@n bytes), or NULL. */
const struct cd_plugin_desc *cd_input_named(const char *name, size_t n);
const struct cd_plugin_desc *cd_output_named(const char *name, size_t n);

/*
 * cd_plugin_list() - the names of @list's descriptors with @flags (0:
 * all) as "a, b, c or d" into buf[0..cap); @usage: their usages instead.
 * Return: @buf.
 */
char *cd_plugin_list(const struct cd_plugin_desc *const *list, unsigned flags, bool usage, char *buf,
		     size_t cap);

/* cd_registry_usage() - the -i or -o lines of clewd --help, from the descriptors. */
void cd_registry_usage(FILE *f, bool inputs);

/* cd_registry_reference() - every plugin with its keys, types, defaults and help (clewd --help-config). */
void cd_registry_reference(FILE *f);

#endif
