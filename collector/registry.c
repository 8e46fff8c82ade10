/*
 * registry.c - the list of clewd's inputs and outputs (see registry.h),
 * and what is derived from it: lookups, --help's plugin lines, the
 * configuration reference of --help-config.
 *
 * Adding a plugin: its source file (with its struct cd_plugin_desc), a
 * line in each list below, and a line in meson.build.
 */
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "util/banned.h"

extern const struct cd_plugin_desc in_stdin_desc, in_tail_desc, in_tcp_desc, in_udp_desc, in_unix_desc,
	in_unixgram_desc, in_http_desc, in_syslog_desc, in_forward_desc, in_forward_unix_desc, in_otlp_desc,
	in_kafka_desc;
extern const struct cd_plugin_desc out_archive_desc, out_stdout_desc, out_file_desc, out_null_desc,
	out_kafka_desc, out_ls_tcp_desc, out_ls_udp_desc, out_ls_http_desc, out_ls_redis_desc,
	out_influxdb_desc, out_influxdb2_desc, out_forward_desc;
extern const struct cd_plugin_desc out_otlp_desc, out_otlps_desc; /* output/otlp/out_otlp.c */

const struct cd_plugin_desc *const cd_inputs[] = {
	&in_stdin_desc,	       /* input/in_stdin.c */
	&in_tail_desc,	       /* input/in_tail.c */
	&in_tcp_desc,	       /* input/in_tcp.c */
	&in_udp_desc,	       /* input/in_udp.c */
	&in_unix_desc,	       /* input/in_tcp.c */
	&in_unixgram_desc,     /* input/in_udp.c */
	&in_http_desc,	       /* input/in_http.c */
	&in_syslog_desc,       /* input/in_syslog.c */
	&in_forward_desc,      /* input/in_forward.c */
	&in_forward_unix_desc, /* input/in_forward.c */
	&in_otlp_desc,	       /* input/in_otlp.c */
	&in_kafka_desc,	       /* input/in_kafka.c */
	NULL,
};

const struct cd_plugin_desc *const cd_outputs[] = {
	&out_archive_desc,   /* output/local/out_archive.c */
	&out_stdout_desc,    /* output/local/out_stdout.c */
	&out_file_desc,	     /* output/local/out_file.c */
	&out_null_desc,	     /* output/local/out_null.c */
	&out_kafka_desc,     /* output/kafka/out_kafka.c */
	&out_ls_tcp_desc,    /* output/logstash/out_ls_tcp.c */
	&out_ls_udp_desc,    /* output/logstash/out_ls_udp.c */
	&out_ls_http_desc,   /* output/logstash/out_ls_http.c */
	&out_ls_redis_desc,  /* output/logstash/out_ls_redis.c */
	&out_influxdb_desc,  /* output/influxdb/out_influxdb.c */
	&out_influxdb2_desc, /* output/influxdb/out_influxdb.c */
	&out_otlp_desc,	     &out_otlps_desc, &out_forward_desc, NULL,
};

const struct cd_opt_spec cd_input_common_opts[] = {
	{"type", CD_OPT_STRING, NULL, "the input's plugin (required)", NULL, 0, 0},
	{"parser", CD_OPT_STRING, "the global parser",
	 "auto, pipe, json or the name of a parser under parsers:", NULL, 0, 0},
	{"multiline_start", CD_OPT_STRING, NULL, "a line matching this regex starts a record; others join it",
	 NULL, 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

const struct cd_opt_spec cd_output_common_opts[] = {
	{"type", CD_OPT_STRING, NULL, "the output's plugin (required)", NULL, 0, 0},
	{"name", CD_OPT_STRING, "TYPE#N", "its label in logs and metrics, and its spool's directory", NULL, 0,
	 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct cd_plugin_desc *by_name(const struct cd_plugin_desc *const *list, const char *name,
					    size_t n)
{
	for (; *list; list++)
		if (strlen((*list)->name) == n && strncmp((*list)->name, name, n) == 0)
			return *list;
	return NULL;
}

const struct cd_plugin_desc *cd_input_named(const char *name, size_t n)
{
	return by_name(cd_inputs, name, n);
}

const struct cd_plugin_desc *cd_output_named(const char *name, size_t n)
{
	return by_name(cd_outputs, name, n);
}

char *cd_plugin_list(const struct cd_plugin_desc *const *list, unsigned flags, bool usage, char *buf,
		     size_t cap)
{
	size_t n = 0, count = 0, i = 0;

	buf[0] = '\0';
	for (const struct cd_plugin_desc *const *d = list; *d; d++)
		count += !flags || ((*d)->flags & flags);
	for (; *list && n < cap; list++) {
		if (flags && !((*list)->flags & flags))
			continue;
		i++;
		n += (size_t)snprintf(buf + n, cap - n, "%s%s",
				      i == 1	   ? ""
				      : i == count ? " or "
						   : ", ",
				      usage ? (*list)->usage : (*list)->name);
	}
	return buf;
}

void cd_registry_usage(FILE *f, bool inputs)
{
	for (const struct cd_plugin_desc *const *d = inputs ? cd_inputs : cd_outputs; *d; d++) {
		const char *u = (*d)->usage;

		/* the summary beside a short usage, else on the next line */
		if (strlen(u) <= 19)
			fprintf(f, "                           %-19s %s\n", u, (*d)->summary);
		else
			fprintf(f, "                           %s\n                             %s\n", u,
				(*d)->summary);
	}
}

static void reference_keys(FILE *f, const struct cd_opt_spec *s)
{
	char key[64];

	for (; s && s->key; s++) {
		if (s->flags & CD_OPT_REFUSED)
			continue;
		snprintf(key, sizeof(key), "%s%s", s->key, s->type == CD_OPT_PREFIX ? "NAME" : "");
		fprintf(f, "    %-22s %-22s %-16s %s\n", key, cd_opt_type_name(s), s->def ? s->def : "-",
			s->help);
	}
}

void cd_registry_reference(FILE *f)
{
	static const char *const kinds[] = {"input", "output"};

	for (int k = 0; k < 2; k++) {
		fprintf(f, "%s%ss (keys of every %s: ", k ? "\n" : "", kinds[k], kinds[k]);
		for (const struct cd_opt_spec *s = k ? cd_output_common_opts : cd_input_common_opts; s->key;
		     s++)
			fprintf(f, "%s%s", s->key, s[1].key ? ", " : ")\n");
		reference_keys(f, k ? cd_output_common_opts : cd_input_common_opts);
		for (const struct cd_plugin_desc *const *d = k ? cd_outputs : cd_inputs; *d; d++) {
			fprintf(f, "\n%s %s: %s\n  -%c %s\n", kinds[k], (*d)->name, (*d)->summary,
				k ? 'o' : 'i', (*d)->usage);
			reference_keys(f, (*d)->opts);
		}
	}
}
