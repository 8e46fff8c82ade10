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
#include <sys/resource.h>

#include "config.h"
#include "httpd.h"
#include "input/handoff.h"
#include "ops.h"
#include "pipeline.h"
#include "util/proctitle.h"
#include <parsers/envelope.h>
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
	      "Collect log records from files, stdin and sockets, parse them (pipe or JSON\n"
	      "lines), and deliver them at least once to an archive, stdout or a file.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE      read the YAML configuration FILE\n"
	      "  -i, --input SPEC       an input (repeatable; replaces the file's inputs):\n",
	      f);
	cd_registry_usage(f, true);
	fputs("                         network inputs bind 127.0.0.1 unless HOST says otherwise\n"
	      "                         (tcp://:5170 is 127.0.0.1:5170); add ?max_connections=N\n"
	      "  -p, --parser NAME      auto (pipe or JSON per line, default), pipe, json,\n"
	      "                         regex:PATTERN (PCRE2, named groups: time, level,\n"
	      "                         service, trace, span, parent, ids, method, path,\n"
	      "                         message; other groups become attributes), the\n"
	      "                         name of a parser under parsers: in the file, a\n"
	      "                         built-in one (nginx, apache, openstack, spring,\n"
	      "                         envoy); cri[+P] or docker[+P]: container logs,\n"
	      "                         the text inside parsed by P (default auto)\n"
	      "      --time-format FMT  how -p regex: reads its time group: rfc3339 (default),\n"
	      "                         epoch, epoch_ms, epoch_us, epoch_ns, or a pattern such\n"
	      "                         as '%d/%b/%Y:%H:%M:%S %z' (%f fraction, %z zone)\n"
	      "  -o, --output SPEC      an output (repeatable; replaces the file's outputs):\n",
	      f);
	cd_registry_usage(f, false);
	fputs("                         no output: archive:STATE_DIR/archive\n"
	      "  -s, --state-dir DIR    checkpoint and default archive (default /var/lib/clew)\n"
	      "      --read-from WHERE  head|tail: where files without a checkpoint start\n"
	      "                         (for -i tail inputs; default head)\n"
	      "      --no-multiline     do not join continuation lines to the record above\n"
	      "      --multiline-start REGEX  a line matching REGEX starts a record; the\n"
	      "                         others join the record above (every input)\n"
	      "      --log-level LEVEL  debug, info (default), warn, error: clewd's own log\n"
	      "      --http ADDR        serve /health and /metrics on ADDR (e.g. 127.0.0.1:2020)\n"
	      "      --oneshot          read every file of the tail inputs to its end, deliver,\n"
	      "                         exit (0: all delivered; 1: an output failed or chunks\n"
	      "                         wait in a spool); a second run reads nothing twice\n"
	      "      --check-config     check the configuration, print a summary, exit\n"
	      "      --replay-deadletter OUTPUT  send the records OUTPUT rejected for good\n"
	      "                         (STATE_DIR/deadletter/OUTPUT/) to it again, deleting\n"
	      "                         each file once acknowledged; exit 0 when none is left\n"
	      "  -V, --version          print the version and exit\n"
	      "  -h, --help             print this help and exit\n"
	      "\n",
	      f);
	fputs("Environment (overrides the file, overridden by options):\n"
	      "  CLEWD_STATE_DIR, CLEWD_CHECKPOINT, CLEWD_PARSER, CLEWD_LOG_LEVEL,\n"
	      "  CLEWD_MULTILINE (true|false), CLEWD_MULTILINE_TIMEOUT, CLEWD_CHUNK_AGE,\n"
	      "  CLEWD_DRAIN_TIMEOUT (durations: 500ms, 5s, 2m), CLEWD_HTTP_LISTEN,\n"
	      "  CLEWD_SPOOL_MAX_BYTES (0: no disk spool), CLEWD_DEADLETTER_MAX (0: none)\n"
	      "\n"
	      "Examples:\n"
	      "  clewd -c /etc/clew/clewd.yaml\n"
	      "  clewd -i 'tail:/var/log/app/*.log' -o archive:/var/lib/clew/archive\n"
	      "  clewd -i stdin -p auto -o stdout:json < app.log > app.json   # convert a file\n"
	      "  clewd -i tcp://127.0.0.1:5170 -i http://127.0.0.1:8080/ingest -o archive:/tmp/a\n"
	      "  clewd -s /tmp/st -i 'tail:/srv/logs/*.log' -o file:/tmp/all.log:pipe -o stdout\n"
	      "  clewd -c clewd.yaml --check-config\n"
	      "  clewd -c clewd.yaml --replay-deadletter kafka-main   # after raising a limit\n"
	      "  clewd -i stdin -o stdout -p 'regex:^(?<time>\\S+ \\S+) (?<level>\\w+) (?<message>.*)' \\\n"
	      "        --time-format '%Y-%m-%d %H:%M:%S,%f' --multiline-start '^\\d{4}-' < app.log\n"
	      "\n"
	      "Signals: SIGTERM/SIGINT stop reading and deliver what was read (within\n"
	      "drain_timeout; an output that is down gets it in its disk spool); positions\n"
	      "are checkpointed only once every output has the records. SIGHUP reloads the\n"
	      "configuration (an invalid one is reported and the running one kept).\n"
	      "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
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
	printf("configuration ok%s%s\n", c->file ? ": " : "", c->file ? c->file : "");
	printf("  parser: %s%s%s, multiline: %s (%llu ms), chunk age: %llu ms\n",
	       c->envelope ? parse_env_name(c->envelope) : "", c->envelope ? "+" : "",
	       c->parser == CD_PARSER_REGEX ? c->parser_name : cd_config_parser_name(c->parser, NULL),
	       c->multiline ? "on" : "off", (unsigned long long)c->multiline_ms,
	       (unsigned long long)c->chunk_age_ms);
	printf("  state: %s (checkpoint %s)\n", c->state_dir, c->checkpoint);
	if (c->spool_dir)
		printf("  spool: %s (at most %llu bytes per output)\n", c->spool_dir,
		       (unsigned long long)c->spool_bytes);
	if (c->deadletter_dir)
		printf("  dead-letter: %s (at most %llu bytes per output)\n", c->deadletter_dir,
		       (unsigned long long)c->deadletter_bytes);
	for (unsigned i = 0; i < c->nin; i++) {
		const struct cd_input_conf *in = &c->in[i];
		const char *listen = cd_opt_get(&in->opts, "listen");

		/* "tcp 127.0.0.1:5170 max_connections 10": the address, then the other keys in table order */
		printf("  input %u: %s%s%s", i + 1, in->plugin->name, listen ? " " : "",
		       listen ? listen : "");
		for (const struct cd_opt_spec *s = in->plugin->opts; s && s->key; s++) {
			const char *v = cd_opt_get(&in->opts, s->key);
			char shown[1024];

			if (v && strcmp(s->key, "listen") != 0)
				printf(" %s %s", s->key,
				       cd_opt_shown(in->plugin->opts, s->key, v, shown, sizeof(shown)));
		}
		printf("\n");
	}
	for (unsigned i = 0; i < c->nin; i++) {
		const struct cd_parser_conf *rx;
		enum cd_parser p;

		if (!c->in[i].parser_name && !c->in[i].ml_start)
			continue;
		cd_config_input_parser(c, i, &p, &rx);
		printf("  input %u: parser %s%s%s%s%s\n", i + 1,
		       cd_config_input_envelope(c, i) ? parse_env_name(cd_config_input_envelope(c, i)) : "",
		       cd_config_input_envelope(c, i) ? "+" : "", cd_config_parser_name(p, rx),
		       c->in[i].ml_start ? ", multiline_start " : "",
		       c->in[i].ml_start ? c->in[i].ml_start : "");
	}
	for (unsigned i = 0; i < c->nrx; i++)
		printf("  parser %s: regex %s%s%s\n", c->rx[i].name, c->rx[i].regex,
		       c->rx[i].time_format ? ", time_format " : "",
		       c->rx[i].time_format ? c->rx[i].time_format : "");
	for (unsigned i = 0; i < c->nout; i++) {
		const struct cd_output_conf *o = &c->out[i];
		const bool local = !(o->plugin->flags & CD_PLUGIN_URI_OPTS);
		const char *path = local ? cd_opt_get(&o->opts, "path") : NULL;
		const char *fmt = local ? cd_opt_get(&o->opts, "format") : NULL;
		char shown[1024];

		/* a local one as its spec (archive:DIR, stdout (json)), then every other option */
		printf("  output %s: %s%s%s", o->name, o->plugin->name, path ? ":" : "", path ? path : "");
		if (local && cd_opt_spec_find(o->plugin->opts, "format"))
			printf(" (%s)", fmt ? fmt : "json");
		/* secrets as ***, and any password in a URI */
		for (unsigned j = 0; j < o->opts.n; j++)
			if (!local || (strcmp(o->opts.v[j].key, "path") != 0 &&
				       strcmp(o->opts.v[j].key, "format") != 0))
				printf(" %s=%s", o->opts.v[j].key,
				       cd_opt_shown(o->plugin->opts, o->opts.v[j].key, o->opts.v[j].val,
						    shown, sizeof(shown)));
		printf("\n");
	}
}

/* What the command line says; applied over the file and the environment, again on every reload. */
struct cli {
	const char *file, *parser, *state_dir, *read_from, *log_level, *http, *time_format, *ml_start;
	const char *ins[CD_INPUTS_MAX], *outs[CD_OUTPUTS_MAX];
	unsigned nins, nouts;
	bool no_ml;
	bool oneshot; /* --oneshot: every input's oneshot: true (tail; stdin is done at EOF anyway) */
};

/* build_config() - the file, then the environment, then @cli, checked. Return: 0 or a negative CD code. */
static int build_config(struct cd_config *cf, const struct cli *cli, struct cd_err *err)
{
	cd_config_init(cf);
	if (cli->file && cd_config_load_file(cf, cli->file, err) < 0)
		return -CD_EINVAL;
	if (cd_config_env(cf, err) < 0)
		return -CD_EINVAL;
	if (cli->nins)
		cd_config_clear_inputs(cf);
	for (unsigned i = 0; i < cli->nins; i++)
		if (cd_config_add_input_spec(cf, cli->ins[i], err) < 0)
			return -CD_EINVAL;
	if (cli->nouts)
		cd_config_clear_outputs(cf);
	for (unsigned i = 0; i < cli->nouts; i++)
		if (cd_config_add_output_spec(cf, cli->outs[i], err) < 0)
			return -CD_EINVAL;
	if (cli->time_format && (!cli->parser || strncmp(cli->parser, "regex:", 6) != 0))
		return cd_err_set(err, -CD_EINVAL, 0, "--time-format goes with -p regex:PATTERN");
	if (cli->parser && strncmp(cli->parser, "regex:", 6) == 0) {
		if (cd_config_set_regex(cf, cli->parser + 6, cli->time_format, err) < 0)
			return -CD_EINVAL;
	} else if (cli->parser && cd_config_set_parser(cf, cli->parser, err) < 0) {
		return -CD_EINVAL;
	}
	if (cli->ml_start && cd_config_set_multiline_start(cf, cli->ml_start, err) < 0)
		return -CD_EINVAL;
	if (cli->state_dir) {
		free(cf->state_dir);
		if (!(cf->state_dir = cd_strdup(cli->state_dir)))
			return cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
	}
	if (cli->http) {
		free(cf->http_listen);
		if (!(cf->http_listen = cd_strdup(cli->http)))
			return cd_err_set(err, -CD_ENOMEM, 0, "out of memory");
	}
	if (cli->read_from) {
		if (strcmp(cli->read_from, "head") != 0 && strcmp(cli->read_from, "tail") != 0)
			return cd_err_set(err, -CD_EINVAL, 0, "--read-from %s: expected head or tail",
					  cli->read_from);
		for (unsigned i = 0; i < cf->nin; i++)
			if (cd_opt_spec_find(cf->in[i].plugin->opts, "read_from") &&
			    cd_opt_set(&cf->in[i].opts, "read_from", cli->read_from, err) < 0)
				return -CD_ENOMEM;
	}
	if (cli->no_ml)
		cf->multiline = false;
	for (unsigned i = 0; cli->oneshot && i < cf->nin; i++) {
		if (cd_opt_spec_find(cf->in[i].plugin->opts, "oneshot")) {
			if (cd_opt_set(&cf->in[i].opts, "oneshot", "true", err) < 0)
				return -CD_ENOMEM;
		} else if (strcmp(cf->in[i].plugin->name, "stdin") != 0) {
			return cd_err_set(err, -CD_EINVAL, 0,
					  "--oneshot: input %s never ends (tail and stdin do)",
					  cf->in[i].plugin->name);
		}
	}
	if (cli->log_level) {
		enum fmt_level l = fmt_level_from_text(cli->log_level, strlen(cli->log_level));
		if (l == FMT_LEVEL_OTHER || l == FMT_LEVEL_NONE)
			return cd_err_set(err, -CD_EINVAL, 0,
					  "--log-level %s: expected debug, info, warn or error",
					  cli->log_level);
		cf->log_level = (int)l;
	}
	if (cd_config_finish(cf, err) < 0 || pipeline_check_outputs(cf, err) < 0)
		return -CD_EINVAL;
	return 0;
}

/*
 * The hash `ps` shows: of the configuration file's bytes and the command
 * line, so two clewd processes run the same configuration exactly when
 * their titles agree (FNV-1a, 48 bits shown).
 */
static uint64_t config_hash(const char *file, int argc, char **argv)
{
	uint64_t h = 1469598103934665603ull;
	char buf[4096];
	size_t n;
	FILE *f = file ? fopen(file, "rb") : NULL;

	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
	if (f)
		fclose(f);
	for (int i = 1; i < argc; i++)
		for (const char *p = argv[i];; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
			if (!*p)
				break;
		}
	return h & 0xffffffffffffull;
}

static void set_title(const struct cli *cli, int argc, char **argv)
{
	char title[256];

	snprintf(title, sizeof(title), "clewd: config %s %012llx", cli->file ? cli->file : "(command line)",
		 (unsigned long long)config_hash(cli->file, argc, argv));
	cd_set_proctitle(title);
}

/*
 * A running pipeline and its operations endpoint (/health, /metrics, when
 * http_listen is set): started and stopped together, the endpoint after
 * the pipeline whose counters it serves, and stopped before it.
 */
struct running {
	struct pipeline *pl;  /* NULL: none */
	struct cd_httpd *ops; /* NULL: no endpoint */
};

static void stop_running(struct running *r)
{
	ops_stop(r->ops);
	r->ops = NULL;
	pipeline_free(r->pl);
	r->pl = NULL;
}

/* Return: 0, or a negative CD code with @err (nothing left running). */
static int start_running(struct running *r, const struct cd_config *cf, struct cd_err *err)
{
	int rc;

	r->ops = NULL;
	if ((rc = pipeline_new(&r->pl, cf, err)) < 0) {
		r->pl = NULL;
		return rc;
	}
	if (cf->http_listen) {
		const char *archive = NULL, *keys = NULL;

		for (unsigned i = 0; i < cf->nout && !archive; i++)
			if (strcmp(cf->out[i].plugin->name, "archive") == 0) { /* the API reads the first */
				archive = cd_opt_get(&cf->out[i].opts, "path");
				keys = cd_opt_get(&cf->out[i].opts, "summary_keys");
			}
		if ((rc = ops_start(&r->ops, r->pl, cf->http_listen, archive, keys, err)) < 0) {
			r->ops = NULL;
			stop_running(r);
			return rc;
		}
		cd_logf(FMT_LEVEL_INFO, "serving /health, /metrics and /api/ on %s (port %u)",
			cf->http_listen, cd_httpd_port(r->ops));
	}
	return 0;
}

static int64_t started_ns; /* monotonic ns at start: the summary's wall time */

/*
 * Thousands of tailed files want descriptors: the soft RLIMIT_NOFILE goes
 * to the hard one (systemd's LimitNOFILE=, a container's ulimit); the tail
 * input still holds at most max_open_files open.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			cd_log(FMT_LEVEL_WARN, "cannot raise RLIMIT_NOFILE to its hard limit", "error",
			       strerror(errno), NULL);
	}
}

/*
 * The daemon's life: run; on SIGHUP build the new configuration and, when
 * it is valid, stop the running pipeline (draining it) and start one on
 * the new configuration; when it is not, say why and go on with the old.
 * Return: the exit status.
 */
static int serve(struct cd_config *cf, const struct cli *cli, int argc, char **argv)
{
	struct cd_err err = {0, 0, ""};
	struct running run = {NULL, NULL};
	int rc;

	if (start_running(&run, cf, &err) < 0) {
		cd_log(FMT_LEVEL_ERROR, "cannot start", "error", err.msg, NULL);
		return EXIT_RUNTIME;
	}
	while ((rc = pipeline_run(run.pl, &err)) == PL_RELOAD) {
		static struct cd_config next, old; /* large; one reload at a time */
		struct cd_err nerr = {0, 0, ""};

		if (build_config(&next, cli, &nerr) < 0) {
			cd_log(FMT_LEVEL_ERROR,
			       "SIGHUP: the new configuration is invalid; keeping the running one", "error",
			       nerr.msg, NULL);
			cd_config_release(&next);
			continue;
		}
		cd_log(FMT_LEVEL_INFO, "SIGHUP: reloading the configuration", "config", next.file, NULL);
		/* unchanged inputs keep their sockets: what clients write meanwhile waits in the kernel */
		pipeline_hand_over(run.pl, &next);
		if (pipeline_stop(run.pl, &err) < 0)
			cd_log(FMT_LEVEL_WARN,
			       "reload: the old pipeline did not drain (read again from the checkpoint)",
			       "error", err.msg, NULL);
		stop_running(&run);
		/* the pipeline keeps a pointer to its configuration: the new one moves into *cf */
		old = *cf;
		*cf = next;
		if (cd_config_needs_state(cf) && cd_mkdir_p(cf->state_dir, &nerr) < 0)
			rc = -CD_EIO;
		else
			rc = start_running(&run, cf, &nerr);
		if (rc < 0) {
			cd_log(FMT_LEVEL_ERROR,
			       "reload: cannot start the new configuration; restarting the old one", "error",
			       nerr.msg, NULL);
			cd_config_release(cf);
			*cf = old;
			rc = start_running(&run, cf, &err);
			in_handoff_drop_all();
			if (rc < 0) {
				cd_log(FMT_LEVEL_ERROR, "cannot restart the old configuration", "error",
				       err.msg, NULL);
				return EXIT_RUNTIME;
			}
			continue;
		}
		in_handoff_drop_all(); /* sockets no new input took (none, unless an open failed) */
		cd_config_release(&old);
		cd_log_level((enum fmt_level)cf->log_level);
		set_title(cli, argc, argv);
	}
	if (rc < 0)
		cd_log(FMT_LEVEL_ERROR, "stopped on an error", "error", err.msg, NULL);
	if (!pipeline_log_summary(run.pl, started_ns) && cli->oneshot && rc >= 0) {
		cd_log(FMT_LEVEL_ERROR, "--oneshot: not everything was delivered (chunks wait in a spool)",
		       NULL);
		rc = -CD_EIO;
	}
	stop_running(&run);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

/* clewd --replay-deadletter OUTPUT. Return: the exit status (0: every file delivered and deleted). */
static int replay_deadletter(const struct cd_config *cf, const char *name)
{
	struct cd_err err = {0, 0, ""};
	size_t left = 0;
	int rc = pipeline_replay_deadletter(cf, name, &left, &err);

	if (rc == -CD_EINVAL) {
		cd_log(FMT_LEVEL_ERROR, "cannot replay", "error", err.msg, NULL);
		return EXIT_USAGE;
	}
	if (rc < 0)
		cd_log(FMT_LEVEL_ERROR, "replay stopped on an error", "error", err.msg, NULL);
	if (left)
		cd_logf(FMT_LEVEL_WARN,
			"replay: %zu dead-letter files of output %s left (rejected again, or not acknowledged)",
			left, name);
	else if (rc == 0)
		cd_logf(FMT_LEVEL_INFO, "replay: every dead-letter record of output %s was delivered", name);
	return rc < 0 || left ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_CHECK = 256,
		OPT_READ_FROM,
		OPT_NO_ML,
		OPT_LOG_LEVEL,
		OPT_HTTP,
		OPT_TIME_FORMAT,
		OPT_ML_START,
		OPT_HELP_CONFIG,
		OPT_REPLAY_DL,
		OPT_ONESHOT
	};
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"input", required_argument, NULL, 'i'},
		{"parser", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"state-dir", required_argument, NULL, 's'},
		{"read-from", required_argument, NULL, OPT_READ_FROM},
		{"no-multiline", no_argument, NULL, OPT_NO_ML},
		{"time-format", required_argument, NULL, OPT_TIME_FORMAT},
		{"multiline-start", required_argument, NULL, OPT_ML_START},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"http", required_argument, NULL, OPT_HTTP},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"oneshot", no_argument, NULL, OPT_ONESHOT},
		{"help-config", no_argument, NULL, OPT_HELP_CONFIG},
		{"replay-deadletter", required_argument, NULL, OPT_REPLAY_DL},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli;
	const char *replay = NULL;
	bool check = false;
	struct cd_config cf;
	struct cd_err err = {0, 0, ""};
	sigset_t set;
	int c, status;

	started_ns = cd_mono_ns();
	cd_proctitle_init(argc, argv);
	memset(&cli, 0, sizeof(cli));
	while ((c = getopt_long(argc, argv, "c:i:p:o:s:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.file = optarg;
			break;
		case 'i':
			if (cli.nins == CD_INPUTS_MAX)
				return fail_usage(true, "too many -i");
			cli.ins[cli.nins++] = optarg;
			break;
		case 'o':
			if (cli.nouts == CD_OUTPUTS_MAX)
				return fail_usage(true, "too many -o");
			cli.outs[cli.nouts++] = optarg;
			break;
		case 'p':
			cli.parser = optarg;
			break;
		case 's':
			cli.state_dir = optarg;
			break;
		case OPT_READ_FROM:
			cli.read_from = optarg;
			break;
		case OPT_NO_ML:
			cli.no_ml = true;
			break;
		case OPT_TIME_FORMAT:
			cli.time_format = optarg;
			break;
		case OPT_ML_START:
			cli.ml_start = optarg;
			break;
		case OPT_LOG_LEVEL:
			cli.log_level = optarg;
			break;
		case OPT_HTTP:
			cli.http = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_REPLAY_DL:
			replay = optarg;
			break;
		case OPT_ONESHOT:
			cli.oneshot = true;
			break;
		case 'V':
			printf("clewd %s\n", CLEWD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_HELP_CONFIG:
			cd_registry_reference(stdout);
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

	if (build_config(&cf, &cli, &err) < 0) {
		fail_usage(check, err.msg);
		cd_config_release(&cf);
		return EXIT_USAGE;
	}
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
	raise_nofile();
	if (replay) {
		status = replay_deadletter(&cf, replay);
		goto out;
	}
	set_title(&cli, argc, argv);
	status = serve(&cf, &cli, argc, argv);
out:
	cd_config_release(&cf);
	return status;
}
