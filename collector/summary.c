/*
 * summary.c - the one line clewd logs when it stops: what each input read,
 * what each output acknowledged, what was left raw, given up or still
 * spooled, and the time spent (wall and CPU).
 *
 * DESIGN: the counters are the pipeline's own (those /metrics serves), read
 * once after the drain; nothing here counts. Duplicates are not known to
 * the daemon: after a crash, chunks the outputs had received but not
 * acknowledged are read again from the checkpoint, and clewd cannot tell
 * which the outputs kept. The line says what it does count: chunks
 * delivered from the spool (kept across a restart, not sent twice) and,
 * on a clean stop such as this one, nothing is left to send again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "chunk/spool.h"
#include "pipeline_impl.h"
#include "util/drops.h"
#include "util/util.h"
#include "util/banned.h"

/* Append "NAME=N" to @buf (comma-separated), cut short rather than overflow. */
static void add_count(char *buf, size_t cap, const char *name, uint64_t n)
{
	size_t at = strlen(buf);

	if (at < cap)
		snprintf(buf + at, cap - at, "%s%s=%" PRIu64, at ? "," : "", name, n);
}

bool pipeline_log_summary(const struct pipeline *pl, int64_t started_ns)
{
	char in[1024] = "", out[1024] = "", n_unparsed[24], n_dropped[24], n_spooled[24], n_replayed[24],
	     n_errors[24], wall[32], cpu[32];
	uint64_t unparsed = 0, dropped = cd_drops_total(), spooled = 0, replayed = 0, errors = 0;
	struct rusage ru;
	double cpu_s = 0;

	for (unsigned i = 0; i < pl->nin; i++) {
		add_count(in, sizeof(in), pl_in_name(pl, i), pl->in[i].stats.records);
		unparsed += pl->in[i].stats.unparsed;
	}
	for (unsigned k = 0; k < pl->nout; k++) {
		const struct pl_out *o = &pl->out[k];

		add_count(out, sizeof(out), o->conf->name, o->records);
		errors += o->errors;
		replayed += o->replayed;
		if (o->spool)
			spooled += spool_count(o->spool);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	snprintf(n_unparsed, sizeof(n_unparsed), "%" PRIu64, unparsed);
	snprintf(n_dropped, sizeof(n_dropped), "%" PRIu64, dropped);
	snprintf(n_spooled, sizeof(n_spooled), "%" PRIu64, spooled);
	snprintf(n_replayed, sizeof(n_replayed), "%" PRIu64, replayed);
	snprintf(n_errors, sizeof(n_errors), "%" PRIu64, errors);
	snprintf(wall, sizeof(wall), "%.3f", (double)(cd_mono_ns() - started_ns) / 1e9);
	snprintf(cpu, sizeof(cpu), "%.3f", cpu_s);
	cd_log(FMT_LEVEL_INFO, "summary", "records_in", in, "delivered", out, "unparsed", n_unparsed,
	       "dropped", n_dropped, "spooled_chunks", n_spooled, "replayed_chunks", n_replayed,
	       "output_errors", n_errors, "wall_s", wall, "cpu_s", cpu, NULL);
	return spooled == 0;
}
