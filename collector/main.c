/*
 * main.c - clewd, the collector daemon: command line, configuration,
 * signals, and the pipeline's run.
 *
 * DESIGN: foreground only (systemd and containers supervise it); its own
 * log is JSON lines on stderr, written by the formats library's emitter.
 * Configuration comes from the YAML file (-c), then the environment
 * (CLEWD_*), then the command line, later winning; -i/-o replace the
 * file's inputs/outputs, so a one-off job needs no file at all. Exit
 * status: 0 when everything read was delivered, 2 for a usage or
 * configuration error, 1 for a failure at run time.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pipeline.h"
#include "util/util.h"
#include "util/banned.h"

#ifndef CLEWD_VERSION
#define CLEWD_VERSION "unknown"
#endif

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fputs("Usage: clewd [OPTIONS]\n"
	      "\n"
	      "Collect log records from files and stdin, parse them (pipe or JSON lines), and\n"
	      "deliver them at least once to an archive, stdout or a file.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE      read the YAML configuration FILE\n"
	      "  -i, --input SPEC       an input (repeatable; replaces the file's inputs):\n"
	      "                           tail:PATH_OR_GLOB   follow files (rotation, truncation)\n"
	      "                           stdin               read to EOF, deliver, exit 0\n"
	      "  -p, --parser NAME      auto (pipe or JSON per line, default), pipe, json\n"
	      "  -o, --output SPEC      an output (repeatable; replaces the file's outputs):\n"
	      "                           archive:DIR         the archive tracegrep searches\n"
	      "                           stdout[:json|pipe]  lines on stdout (default json)\n"
	      "                           file:PATH[:json|pipe]  lines appended to PATH, fdatasync'd\n"
	      "                           kafka://HOST:PORT[,...]/TOPIC[?KEY=VALUE&...]  a Kafka topic,\n"
	      "                             a message per record keyed by its trace (see clewd(8))\n"
	      "                         no output: archive:STATE_DIR/archive\n"
	      "  -s, --state-dir DIR    checkpoint and default archive (default /var/lib/clew)\n"
	      "      --read-from WHERE  head|tail: where files without a checkpoint start\n"
	      "                         (for -i tail inputs; default head)\n"
	      "      --no-multiline     do not join continuation lines to the record above\n"
	      "      --log-level LEVEL  debug, info (default), warn, error: clewd's own log\n"
	      "      --check-config     check the configuration, print a summary, exit\n"
	      "  -V, --version          print the version and exit\n"
	      "  -h, --help             print this help and exit\n"
	      "\n"
	      "Environment (overrides the file, overridden by options):\n"
	      "  CLEWD_STATE_DIR, CLEWD_CHECKPOINT, CLEWD_PARSER, CLEWD_LOG_LEVEL,\n"
	      "  CLEWD_MULTILINE (true|false), CLEWD_MULTILINE_TIMEOUT, CLEWD_CHUNK_AGE,\n"
	      "  CLEWD_DRAIN_TIMEOUT (durations: 500ms, 5s, 2m)\n"
	      "\n"
	      "Examples:\n"
	      "  clewd -c /etc/clew/clewd.yaml\n"
	      "  clewd -i 'tail:/var/log/app/*.log' -o archive:/var/lib/clew/archive\n"
	      "  clewd -i stdin -p auto -o stdout:json < app.log > app.json   # convert a file\n"
	      "  clewd -s /tmp/st -i 'tail:/srv/logs/*.log' -o file:/tmp/all.log:pipe -o stdout\n"
	      "  clewd -c clewd.yaml --check-config\n"
	      "\n"
	      "Signals: SIGTERM/SIGINT stop reading and deliver what was read (within\n"
	      "drain_timeout); positions are checkpointed only once every output has the\n"
	      "records. Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
	      "See clewd(8).\n",
	      f);
}

static int fail_usage(bool plain, const char *what)
{
	if (plain)
		fprintf(stderr, "clewd: %s\n", what);
	else
		cd_log(FMT_LEVEL_ERROR, "configuration error", "error", what, NULL);
	return EXIT_USAGE;
}

static void summary(const struct cd_config *c)
{
	static const char *const parsers[] = {"auto", "pipe", "json"};

	printf("configuration ok%s%s\n", c->file ? ": " : "", c->file ? c->file : "");
	printf("  parser: %s, multiline: %s (%llu ms), chunk age: %llu ms\n", parsers[c->parser],
	       c->multiline ? "on" : "off", (unsigned long long)c->multiline_ms,
	       (unsigned long long)c->chunk_age_ms);
	printf("  state: %s (checkpoint %s)\n", c->state_dir, c->checkpoint);
	for (unsigned i = 0; i < c->nin; i++)
		printf("  input %u: %s%s%s%s\n", i + 1, c->in[i].type == CD_IN_TAIL ? "tail:" : "stdin",
		       c->in[i].path ? c->in[i].path : "", c->in[i].type == CD_IN_TAIL ? " read_from " : "",
		       c->in[i].type == CD_IN_TAIL ? (c->in[i].from_tail ? "tail" : "head") : "");
	for (unsigned i = 0; i < c->nout; i++) {
		const struct cd_output_conf *o = &c->out[i];
		printf("  output %s: %s%s%s%s", o->name, cd_out_type_name(o->type), o->path ? ":" : "",
		       o->path ? o->path : "",
		       o->type == CD_OUT_STDOUT || o->type == CD_OUT_FILE
			       ? (o->format == CD_OUTFMT_PIPE ? " (pipe)" : " (json)")
			       : "");
		for (unsigned j = 0; j < o->nopts; j++)
			printf(" %s=%s", o->opts[j].key,
			       strcmp(o->opts[j].key, "password") == 0 || strstr(o->opts[j].key, "token") ||
					       strstr(o->opts[j].key, "sasl.password")
				       ? "***"
				       : o->opts[j].val);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_READ_FROM, OPT_NO_ML, OPT_LOG_LEVEL };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"input", required_argument, NULL, 'i'},
		{"parser", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"state-dir", required_argument, NULL, 's'},
		{"read-from", required_argument, NULL, OPT_READ_FROM},
		{"no-multiline", no_argument, NULL, OPT_NO_ML},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *parser = NULL, *state_dir = NULL, *read_from = NULL, *log_level = NULL;
	const char *ins[CD_INPUTS_MAX], *outs[CD_OUTPUTS_MAX];
	unsigned nins = 0, nouts = 0;
	bool check = false, no_ml = false;
	struct cd_config cf;
	struct cd_err err = {0, 0, ""};
	struct pipeline *pl = NULL;
	sigset_t set;
	int c, rc, status;

	while ((c = getopt_long(argc, argv, "c:i:p:o:s:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'i':
			if (nins == CD_INPUTS_MAX)
				return fail_usage(true, "too many -i");
			ins[nins++] = optarg;
			break;
		case 'o':
			if (nouts == CD_OUTPUTS_MAX)
				return fail_usage(true, "too many -o");
			outs[nouts++] = optarg;
			break;
		case 'p':
			parser = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case OPT_READ_FROM:
			read_from = optarg;
			break;
		case OPT_NO_ML:
			no_ml = true;
			break;
		case OPT_LOG_LEVEL:
			log_level = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case 'V':
			printf("clewd %s\n", CLEWD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "clewd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	cd_config_init(&cf);
	status = EXIT_USAGE;
	if (file && cd_config_load_file(&cf, file, &err) < 0)
		goto out_usage;
	if (cd_config_env(&cf, &err) < 0)
		goto out_usage;
	if (nins)
		cd_config_clear_inputs(&cf);
	for (unsigned i = 0; i < nins; i++)
		if (cd_config_add_input_spec(&cf, ins[i], &err) < 0)
			goto out_usage;
	if (nouts)
		cd_config_clear_outputs(&cf);
	for (unsigned i = 0; i < nouts; i++)
		if (cd_config_add_output_spec(&cf, outs[i], &err) < 0)
			goto out_usage;
	if (parser && cd_config_set_parser(&cf, parser, &err) < 0)
		goto out_usage;
	if (state_dir) {
		free(cf.state_dir);
		cf.state_dir = cd_strdup(state_dir);
	}
	if (read_from) {
		if (strcmp(read_from, "head") != 0 && strcmp(read_from, "tail") != 0) {
			cd_err_set(&err, -CD_EINVAL, 0, "--read-from %s: expected head or tail", read_from);
			goto out_usage;
		}
		for (unsigned i = 0; i < cf.nin; i++)
			if (cf.in[i].type == CD_IN_TAIL)
				cf.in[i].from_tail = strcmp(read_from, "tail") == 0;
	}
	if (no_ml)
		cf.multiline = false;
	if (log_level) {
		enum fmt_level l = fmt_level_from_text(log_level, strlen(log_level));
		if (l == FMT_LEVEL_OTHER || l == FMT_LEVEL_NONE) {
			cd_err_set(&err, -CD_EINVAL, 0, "--log-level %s: expected debug, info, warn or error",
				   log_level);
			goto out_usage;
		}
		cf.log_level = (int)l;
	}
	if (cd_config_finish(&cf, &err) < 0 || pipeline_check_outputs(&cf, &err) < 0)
		goto out_usage;
	cd_log_level((enum fmt_level)cf.log_level);
	if (check) {
		summary(&cf);
		cd_config_release(&cf);
		return 0;
	}

	status = EXIT_RUNTIME;
	if (cd_config_needs_state(&cf) && cd_mkdir_p(cf.state_dir, &err) < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot create the state directory", "error", err.msg, NULL);
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = pipeline_new(&pl, &cf, &err);
	if (rc < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot start", "error", err.msg, NULL);
		goto out;
	}
	rc = pipeline_run(pl, &err);
	if (rc < 0)
		cd_log(FMT_LEVEL_ERROR, "stopped on an error", "error", err.msg, NULL);
	else
		status = 0;
	pipeline_free(pl);
out:
	cd_config_release(&cf);
	return status;

out_usage:
	fail_usage(check, err.msg);
	cd_config_release(&cf);
	return EXIT_USAGE;
}
