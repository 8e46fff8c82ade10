/*
 * store/src/archive_sumlight.c - the archive's newest-first search
 * (arch_summaries_newest() with a filter qy_light_match() decides): the
 * segments newest first; each summary only peeked at (query/light.h) and
 * its searched fields merged per transaction in a fixed-size table (pass
 * 1), until that table holds the N latest-starting matches no older
 * segment can change; then only those transactions' summaries decoded
 * (pass 2).
 *
 * DESIGN: the summary files read stay in memory compressed; a block is
 * decompressed into one reused buffer, once in pass 1 and again in pass
 * 2 only if it holds a wanted transaction, so a search touches a few MB
 * of new memory, not the files' decompressed size. Segments without a
 * usable file (the open one, a damaged one) are summarised the usual way
 * into a side table whose light fields join the table. A file that turns
 * out damaged half way makes the caller start again the usual way.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "archive_sum_int.h"
#include "query/codec.h"
#include "query/light.h"
#include "query/select.h"

/* A decompressed block of a summary file, kept between the two passes. */
struct lblock {
	const uint8_t *z; /* the compressed block, in one of lrun.files */
	size_t zlen;
	size_t len; /* decompressed */
	uint32_t n;
	size_t kmi; /* its file's keymap: lrun.keymaps[kmi] */
	uint32_t nkeys;
};

struct lrun {
	const struct qy_filter *f;
	const struct qy_keys *keys; /* the query's summary keys (its values' names) */
	struct qy_lights lights;    /* every transaction seen: its merged light fields */
	struct qy_txns side;	    /* full summaries of the segments read by scanning */
	struct lblock *blocks;
	size_t nblocks, cblocks;
	uint32_t *entry; /* per summary of the blocks, in order: its light entry */
	uint32_t *used;	 /* and its encoded length */
	size_t npieces, cpieces;
	int (*keymaps)[QY_KEYS_MAX]; /* per file read */
	size_t nkeymaps;
	uint8_t **files; /* the summary files read (their blocks are decompressed again in pass 2) */
	size_t nfiles;
	struct qy_bytes scratch; /* one block decompressed: reused, so a search touches little new memory */
};

/* Decompress @b into lr->scratch. Return: 0, -CD_ENOMEM, -CD_ECORRUPT. */
static int lblock_open(struct lrun *lr, const struct lblock *b)
{
	if (lr->scratch.cap < b->len + 1) {
		uint8_t *p = realloc(lr->scratch.p, b->len + 1);

		if (!p)
			return -CD_ENOMEM;
		lr->scratch.p = p;
		lr->scratch.cap = b->len + 1;
	}
	return ZSTD_decompress(lr->scratch.p, b->len, b->z, b->zlen) == b->len ? 0 : -CD_ECORRUPT;
}

static int lrun_piece(struct lrun *lr, long entry, size_t used)
{
	if (lr->npieces == lr->cpieces) {
		size_t c = lr->cpieces ? lr->cpieces * 2 : 65536;
		uint32_t *e = realloc(lr->entry, c * sizeof(*e)), *u;

		if (!e)
			return -CD_ENOMEM;
		lr->entry = e;
		if (!(u = realloc(lr->used, c * sizeof(*u))))
			return -CD_ENOMEM;
		lr->used = u;
		lr->cpieces = c;
	}
	lr->entry[lr->npieces] = (uint32_t)entry;
	lr->used[lr->npieces++] = (uint32_t)used;
	return 0;
}

/*
 * Pass 1 of a summary file: decompress its blocks (kept), peek at every
 * summary and merge its light fields into the table.
 * Return: 0, -CD_ENOMEM, -CD_ECORRUPT.
 */
static int light_file(struct lrun *lr, struct sumfile *f)
{
	const uint8_t *p = f->body, *end = f->body + f->body_len;
	int(*km)[QY_KEYS_MAX] = realloc(lr->keymaps, (lr->nkeymaps + 1) * sizeof(*km));
	uint8_t **files = realloc(lr->files, (lr->nfiles + 1) * sizeof(*files));
	uint64_t total = 0;
	size_t kmi;
	int rc;

	if (files)
		lr->files = files;
	if (km)
		lr->keymaps = km;
	if (!km || !files)
		return -CD_ENOMEM;
	lr->files[lr->nfiles++] = f->buf; /* owned by @lr from here */
	f->buf = NULL;
	if (qy_lights_reserve(&lr->lights, lr->lights.n + f->n) < 0)
		return -CD_ENOMEM;
	memcpy(km[lr->nkeymaps], f->keymap, sizeof(f->keymap));
	kmi = lr->nkeymaps++;
	while (p < end) {
		uint32_t n, zlen;
		unsigned long long rlen;
		struct lblock *b;
		size_t off = 0;

		if (end - p < 8 || (size_t)(end - p - 8) < (zlen = le_get32(p + 4)))
			return -CD_ECORRUPT;
		n = le_get32(p);
		rlen = ZSTD_getFrameContentSize(p + 8, zlen);
		if (rlen == ZSTD_CONTENTSIZE_ERROR || rlen == ZSTD_CONTENTSIZE_UNKNOWN ||
		    rlen > ARCH_SUM_BLOCK_MAX)
			return -CD_ECORRUPT;
		if (lr->nblocks == lr->cblocks) {
			size_t c = lr->cblocks ? lr->cblocks * 2 : 64;
			struct lblock *v = realloc(lr->blocks, c * sizeof(*v));

			if (!v)
				return -CD_ENOMEM;
			lr->blocks = v;
			lr->cblocks = c;
		}
		b = &lr->blocks[lr->nblocks];
		*b = (struct lblock){
			.z = p + 8, .zlen = zlen, .len = (size_t)rlen, .n = n, .kmi = kmi, .nkeys = f->nkeys};
		lr->nblocks++;
		if ((rc = lblock_open(lr, b)) < 0)
			return rc;
		for (uint32_t i = 0; i < n; i++) {
			struct qy_light l;
			const char *trace;
			size_t tlen, used;
			long e;

			if (qy_light_peek(lr->scratch.p + off, b->len - off, lr->f, lr->keymaps[kmi],
					  lr->keys, &l, &trace, &tlen, &used) < 0)
				return -CD_ECORRUPT;
			if ((e = qy_lights_add(&lr->lights, trace, tlen, &l)) < 0 ||
			    lrun_piece(lr, e, used) < 0)
				return -CD_ENOMEM;
			off += used;
		}
		if (off != b->len)
			return -CD_ECORRUPT;
		total += n;
		p += 8 + zlen;
	}
	return total == f->n ? 0 : -CD_ECORRUPT;
}

/* Merge the light fields of the scanned summaries into the table (merging again changes nothing). */
static int light_side(struct lrun *lr)
{
	for (size_t k = 0; k < lr->side.n; k++) {
		struct qy_light l;

		qy_light_of(&lr->side.v[k], lr->keys, lr->f, &l);
		if (qy_lights_add(&lr->lights, lr->side.v[k].trace, strlen(lr->side.v[k].trace), &l) < 0)
			return -CD_ENOMEM;
	}
	return 0;
}

/* Decode the pieces of the entries marked 1 in @want into @out, and mark them 2. */
static int light_decode(struct lrun *lr, uint8_t *want, struct qy_txns *out)
{
	size_t piece = 0, nkeys = out->ctx.keys ? out->ctx.keys->n : 0;

	for (size_t b = 0; b < lr->nblocks; b++) {
		const struct lblock *bl = &lr->blocks[b];
		size_t off = 0;
		bool any = false;
		int rc;

		for (uint32_t i = 0; i < bl->n && !any; i++)
			any = want[lr->entry[piece + i]] == 1;
		if (!any) {
			piece += bl->n; /* nothing wanted here: not decompressed again */
			continue;
		}
		if ((rc = lblock_open(lr, bl)) < 0)
			return rc;
		for (uint32_t i = 0; i < bl->n; i++, piece++) {
			struct qy_summary s;
			size_t used = 0;

			if (want[lr->entry[piece]] != 1) {
				off += lr->used[piece];
				continue;
			}
			rc = qy_summary_decode(lr->scratch.p + off, bl->len - off, &used,
					       lr->keymaps[bl->kmi], bl->nkeys, nkeys, &s);
			if (rc < 0) {
				qy_summary_release(&s);
				return rc == -QY_ENOMEM ? -CD_ENOMEM : -CD_ECORRUPT;
			}
			off += used;
			if (qy_txns_take(out, &s) < 0)
				return -CD_ENOMEM;
		}
	}
	for (size_t k = 0; k < lr->side.n; k++) {
		struct qy_summary *s = &lr->side.v[k];
		struct qy_light l;
		long e;

		if (!s->trace)
			continue; /* taken before */
		qy_light_of(s, lr->keys, lr->f, &l);
		if ((e = qy_lights_add(&lr->lights, s->trace, strlen(s->trace), &l)) < 0)
			return -CD_ENOMEM;
		if (want[e] == 1 && qy_txns_take(out, s) < 0)
			return -CD_ENOMEM;
	}
	for (size_t k = 0; k < lr->lights.n; k++)
		want[k] = want[k] == 1 ? 2 : want[k];
	return 0;
}

struct cand {
	int64_t start;
	uint32_t entry;
};

static int by_start_desc(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	return a->start > b->start ? -1 : a->start < b->start;
}

/*
 * Pass 2: the whole summaries of the latest-starting transactions that
 * may match, into @out: the @newest latest first (with every tie), more
 * while fewer than @newest of them pass the full filter (the light test
 * may take a few the full one refuses). *@partial: some that may match
 * were left out (a count of matches is then a lower bound).
 */
static int light_take(struct lrun *lr, size_t newest, struct qy_txns *out, bool *partial)
{
	struct cand *c = malloc((lr->lights.n + 1) * sizeof(*c));
	uint8_t *want = calloc(lr->lights.n + 1, 1);
	size_t nc = 0, upto = 0;
	int rc = 0;

	if (!c || !want) {
		rc = -CD_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < lr->lights.n; k++)
		if (qy_light_match(lr->f, &lr->lights.v[k]))
			c[nc++] = (struct cand){qy_light_start(&lr->lights.v[k]), (uint32_t)k};
	qsort(c, nc, sizeof(*c), by_start_desc);
	/* newest == SIZE_MAX: every one, in one round */
	for (size_t k = newest; rc == 0 && upto < nc;) {
		size_t matched = 0;

		while (upto < nc && (upto < k || c[upto].start == c[upto - 1].start))
			want[c[upto++].entry] = 1;
		if ((rc = light_decode(lr, want, out)) < 0)
			break;
		for (size_t i = 0; upto < nc && i < out->n && matched < newest; i++)
			matched += qy_filter_match(lr->f, &out->v[i], out->ctx.keys);
		if (matched >= newest)
			break;
		k = k > SIZE_MAX / 4 ? SIZE_MAX : k * 4;
	}
	*partial = upto < nc;
out:
	free(c);
	free(want);
	return rc;
}

static void lrun_release(struct lrun *lr)
{
	for (size_t k = 0; k < lr->nfiles; k++)
		free(lr->files[k]);
	free(lr->files);
	free(lr->scratch.p);
	free(lr->blocks);
	free(lr->entry);
	free(lr->used);
	free(lr->keymaps);
	qy_lights_release(&lr->lights);
	qy_txns_release(&lr->side);
}

/* How many transactions of the table may match and start after @after. */
static size_t light_count_after(const struct lrun *lr, int64_t after)
{
	size_t n = 0;

	for (size_t k = 0; k < lr->lights.n; k++)
		if (qy_light_start(&lr->lights.v[k]) > after && qy_light_match(lr->f, &lr->lights.v[k]))
			n++;
	return n;
}

/*
 * arch_summaries_newest() for a filter qy_light_match() decides: the
 * segments newest first, each file's summaries only peeked at (pass 1),
 * until the table holds @newest matches that older segments cannot
 * change; then only the summaries of transactions that match are decoded
 * (pass 2). @hi, @older: as arch_summaries_newest() computes them.
 * Return: 0, 1 (a file was damaged: the caller reads the usual way,
 * @out untouched), -CD_ENOMEM, -CD_EIO.
 */
int arch__sum_light_newest(arch *a, int64_t since, int64_t until, size_t newest, int64_t slack_ns,
			   const int64_t *hi, const int64_t *older, const struct qy_filter *f,
			   struct qy_txns *out, struct arch_sum_stats *st, struct cd_err *err)
{
	static const struct qy_keys none;
	struct lrun lr = {.f = f, .keys = out->ctx.keys};
	int rc = 0;

	qy_lights_init(&lr.lights);
	qy_txns_init(&lr.side, &out->ctx);
	for (size_t i = a->nsegs; i-- > 0 && rc == 0;) {
		bool open = a->have_open && i == a->nsegs - 1;
		struct sumfile sf;
		enum sum_state ss;

		if (hi[i] == INT64_MIN)
			continue;
		if ((rc = arch__sum_stopped(out, err)) < 0)
			break;
		ss = open ? SUM_BAD
			  : arch__sum_load(a, &a->segs[i], out->ctx.keys ? out->ctx.keys : &none, since,
					   until, &sf, st);
		if (ss == SUM_LOADED) {
			rc = light_file(&lr, &sf);
			free(sf.buf);
			if (rc == -CD_ECORRUPT) {
				rc = 1; /* the usual way will scan that segment */
				break;
			}
			st->examined++;
			st->from_file++;
		} else if (ss == SUM_BAD) {
			if ((rc = arch__sum_segment(a, i, since, until, &lr.side, st, err)) == 0)
				rc = light_side(&lr);
		}
		if (rc == 0 && i > 0 && older[i] != INT64_MIN &&
		    light_count_after(&lr, older[i] > INT64_MAX - slack_ns ? INT64_MAX
									   : older[i] + slack_ns) >= newest) {
			for (size_t j = 0; j < i; j++)
				st->partial |= hi[j] != INT64_MIN;
			break;
		}
	}
	if (rc == 0) {
		bool partial = false;

		/* all that may match when every segment of the window was read: the count stays exact */
		rc = light_take(&lr, st->partial ? newest : SIZE_MAX, out, &partial);
		st->partial |= partial;
	}
	if (rc == -CD_ENOMEM)
		cd_err_set(err, rc, 0, "archive: out of memory");
	else if (rc == -CD_ECORRUPT)
		rc = 1;
	lrun_release(&lr);
	return rc;
}
