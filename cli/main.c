/*
 * main.c - tracegrep: the order of the stages, and the exit status.
 *
 * DESIGN: options (options.c) -> inputs (files: source.c; with no PATH
 * the collector's archive, --archive, $CLEW_ARCHIVE or the default:
 * archive.c; --kafka BROKERS --topic T: kafka.c) -> the transaction's
 * records (resolve.c) -> its tree (tree.c) -> the output mode's renderer
 * (render.c). --find (find.c) summarises every record of the files by
 * transaction instead, and lists those that pass its filters. Exit
 * status as grep's: 0 found, 1 not found, 2 an error (even when
 * something was found).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineparse.h"
#include "options.h"
#include "tg.h"
#include "banned.h"

/* Add every input the options name. Return: 0, 1 (some failed: go on, status 2), or 2 (stop). */
static int add_inputs(struct tg_inputs *ins, const struct tg_options *o)
{
	struct tg_err err = {0};
	int status = 0;

	for (size_t i = 0; i < o->npaths; i++) {
		memset(&err, 0, sizeof(err));
		if (tg_inputs_add(ins, o->paths[i], &err) < 0) {
			fprintf(stderr, "tracegrep: %s\n", err.msg);
			status = 1;
		}
	}
	memset(&err, 0, sizeof(err));
	if (o->archive && tg_inputs_add_archive(ins, o->archive, o->since, o->until, o->stats, &err) < 0) {
		fprintf(stderr, "tracegrep: %s\n", err.msg);
		if (o->npaths == 0) {
			fputs("tracegrep: no PATH was given, so the collector's archive is read: name log "
			      "files or directories (PATH), or the archive (--archive DIR or CLEW_ARCHIVE)\n",
			      stderr);
			return 2;
		}
		status = 1;
	}
	memset(&err, 0, sizeof(err));
	if (o->kafka && tg_inputs_add_kafka(ins, o->kafka, o->topic, o->kprops, o->nkprops, o->since,
					    o->until, o->stats, &err) < 0) {
		fprintf(stderr, "tracegrep: %s\n", err.msg);
		if (ins->n == 0)
			return 2;
		status = 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct tg_options o;
	struct tg_err err = {0};
	struct tg_inputs ins = {0};
	struct tg_recs recs = {0};
	struct tg_resolution res = {0};
	struct qy_tree tree = {0};
	bool found = false, had_error = false;
	int rc = tg_options_parse(&o, argc, argv, stdout, &err);

	if (rc != TG_OPTIONS_RUN) {
		if (rc < 0) {
			if (err.msg[0])
				fprintf(stderr, "tracegrep: %s\n", err.msg);
			fputs("Try 'tracegrep --help' for more information.\n", stderr);
		}
		tg_options_release(&o);
		return rc < 0 ? 2 : 0;
	}
	if (tg_lp_setup(&o.lp, &err) < 0) {
		fprintf(stderr, "tracegrep: %s\n", err.msg);
		tg_lp_release();
		tg_options_release(&o);
		return 2;
	}
	rc = add_inputs(&ins, &o);
	if (rc == 2) {
		tg_inputs_release(&ins);
		tg_options_release(&o);
		return 2;
	}
	had_error = rc != 0;
	if (o.find) {
		if (tg_find_run(&ins, &o, &found) < 0)
			had_error = true;
		tg_inputs_release(&ins);
		tg_options_release(&o);
		tg_lp_release();
		return had_error ? 2 : found ? 0 : 1;
	}
	if (tg_resolve(&ins, &o.query, o.threads, stderr, &recs, &res) < 0)
		had_error = true;
	if (recs.n) {
		tg_tree_build(&tree, &recs, res.trace, o.skew);
		found = tg_tree_select(&tree, &recs, res.select, o.query.elems, o.query.nelems);
	}
	if (found && !o.quiet) {
		struct tg_view v = {
			.query = &o.query,
			.tree = &tree,
			.recs = &recs,
			.inputs = &ins,
			.tty = isatty(1),
			.width = o.width ? o.width : tg_term_width(),
		};

		v.color = tg_color_wanted(o.color, v.tty);
		if (tg_output(&v, o.mode, o.html) < 0)
			had_error = true;
	}
	tg_tree_release(&tree);
	tg_recs_free(&recs);
	tg_resolution_release(&res);
	tg_inputs_release(&ins);
	tg_options_release(&o);
	tg_lp_release();
	return had_error ? 2 : found ? 0 : 1;
}
