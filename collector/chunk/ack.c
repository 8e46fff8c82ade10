/*
 * chunk/ack.c - acknowledged prefixes per input.
 *
 * DESIGN: two structures. The chunks in flight, in a deque sorted by seq
 * (ack_track() enforces increasing seqs, so appends keep it sorted and an
 * ack finds its chunk by binary search); each holds a bitmask of the
 * outputs that acked it and a copy of its sources (one allocation per
 * chunk, not per record). Per input, a deque of (seq, end offset, done)
 * in seq order; when a chunk completes, each of its inputs marks its
 * entry done and pops done entries from the head, moving the committed
 * position to the last one popped. So an input never passes an entry that
 * is not done, whatever order the acks came in. Completed chunks leave
 * the chunk deque once they reach its head.
 */
#include <assert.h>
#include <string.h>

#include "chunk/ack.h"
#include <store/hooks.h>
#include "cd_limits.h"
#include <store/err.h>

struct ack_chunk {
	uint64_t seq;		  /* the chunk's sequence number */
	uint64_t acked;		  /* bit i: output i acked it */
	bool complete;		  /* every output acked it */
	uint32_t nsrc;		  /* entries at src */
	struct chunk_source *src; /* copy of the chunk's sources (NULL when none) */
};

struct ack_entry {
	uint64_t seq; /* chunk */
	uint64_t end; /* the input's end offset in that chunk */
	bool done;    /* the chunk is complete */
};

struct ack_input {
	uint32_t input;	     /* input id */
	bool committed;	     /* pos is meaningful */
	uint64_t pos;	     /* committed end offset */
	struct ack_entry *q; /* ring of entries in flight, seq order */
	size_t head, n, cap; /* ring: first, count, allocated */
};

struct ack_tracker {
	uint64_t all;	      /* mask with one bit per output */
	bool any_tracked;     /* last_seq is meaningful */
	uint64_t last_seq;    /* last tracked seq */
	struct ack_chunk *ch; /* ring of chunks in flight */
	size_t head, n, cap;  /* ring: first, count, allocated */
	size_t incomplete;    /* chunks in ch not complete */
	struct ack_input *in; /* inputs, sorted by id */
	size_t nin, in_cap;   /* used, allocated */
};

#define AT(ring, head, cap, i) ((ring)[((head) + (i)) & ((cap)-1)])

int ack_tracker_new(struct ack_tracker **out, unsigned noutputs)
{
	struct ack_tracker *t;

	if (noutputs < 1 || noutputs > CD_OUTPUTS_MAX)
		return -CD_EINVAL;
	t = chunk__malloc(sizeof(*t));
	if (!t)
		return -CD_ENOMEM;
	memset(t, 0, sizeof(*t));
	t->all = noutputs == 64 ? ~0ull : (1ull << noutputs) - 1;
	*out = t;
	return 0;
}

void ack_tracker_free(struct ack_tracker *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		chunk__free(AT(t->ch, t->head, t->cap, i).src);
	for (size_t i = 0; i < t->nin; i++)
		chunk__free(t->in[i].q);
	chunk__free(t->ch);
	chunk__free(t->in);
	chunk__free(t);
}

/* Grow a power-of-two ring of @size-byte items so one more fits, unrolling it. */
static int ring_reserve(void **ring, size_t *head, size_t n, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	char *nr;

	if (n < *cap)
		return 0;
	nr = chunk__malloc(ncap * size);
	if (!nr)
		return -CD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		memcpy(nr + i * size, (char *)*ring + ((*head + i) & (*cap - 1)) * size, size);
	chunk__free(*ring);
	*ring = nr;
	*head = 0;
	*cap = ncap;
	return 0;
}

static struct ack_input *find_input(const struct ack_tracker *t, uint32_t input, size_t *at)
{
	size_t lo = 0, hi = t->nin;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->in[mid].input < input)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return lo < t->nin && t->in[lo].input == input ? &t->in[lo] : NULL;
}

static struct ack_input *add_input(struct ack_tracker *t, uint32_t input)
{
	size_t at;
	struct ack_input *in = find_input(t, input, &at);

	if (in)
		return in;
	if (t->nin == t->in_cap) {
		size_t cap = t->in_cap ? t->in_cap * 2 : 8;
		struct ack_input *n = chunk__realloc(t->in, cap * sizeof(*n));
		if (!n)
			return NULL;
		t->in = n;
		t->in_cap = cap;
	}
	memmove(&t->in[at + 1], &t->in[at], (t->nin - at) * sizeof(t->in[0]));
	memset(&t->in[at], 0, sizeof(t->in[0]));
	t->in[at].input = input;
	t->nin++;
	return &t->in[at];
}

int ack_track(struct ack_tracker *t, const struct chunk *c)
{
	uint32_t nsrc = chunk_nsources(c);
	struct ack_chunk *e;
	struct chunk_source *src = NULL;

	if (t->any_tracked && chunk_seq(c) <= t->last_seq)
		return -CD_EINVAL;
	/* every allocation first: a failure must leave nothing half-tracked */
	if (ring_reserve((void **)&t->ch, &t->head, t->n, &t->cap, sizeof(t->ch[0])) < 0)
		return -CD_ENOMEM;
	if (nsrc) {
		src = chunk__malloc(nsrc * sizeof(*src));
		if (!src)
			return -CD_ENOMEM;
	}
	for (uint32_t i = 0; i < nsrc; i++) {
		struct ack_input *in;
		src[i] = chunk_source(c, i);
		in = add_input(t, src[i].input);
		if (!in || ring_reserve((void **)&in->q, &in->head, in->n, &in->cap, sizeof(in->q[0])) < 0) {
			chunk__free(src); /* inputs added stay, empty: harmless */
			return -CD_ENOMEM;
		}
	}
	for (uint32_t i = 0; i < nsrc; i++) {
		struct ack_input *in = find_input(t, src[i].input, NULL);
		AT(in->q, in->head, in->cap, in->n) =
			(struct ack_entry){.seq = chunk_seq(c), .end = src[i].end_offset, .done = false};
		in->n++;
	}
	e = &AT(t->ch, t->head, t->cap, t->n);
	*e = (struct ack_chunk){.seq = chunk_seq(c), .acked = 0, .complete = false, .nsrc = nsrc, .src = src};
	t->n++;
	t->incomplete++;
	t->any_tracked = true;
	t->last_seq = chunk_seq(c);
	return 0;
}

/* Binary search a ring sorted by seq. */
#define RING_FIND(ring, head, cap, n, key, out)                    \
	do {                                                       \
		size_t lo_ = 0, hi_ = (n);                         \
		while (lo_ < hi_) {                                \
			size_t mid_ = lo_ + (hi_ - lo_) / 2;       \
			if (AT(ring, head, cap, mid_).seq < (key)) \
				lo_ = mid_ + 1;                    \
			else                                       \
				hi_ = mid_;                        \
		}                                                  \
		(out) = lo_;                                       \
	} while (0)

static void complete_input(struct ack_input *in, uint64_t seq)
{
	size_t i;

	RING_FIND(in->q, in->head, in->cap, in->n, seq, i);
	assert(i < in->n && AT(in->q, in->head, in->cap, i).seq == seq);
	AT(in->q, in->head, in->cap, i).done = true;
	while (in->n > 0 && AT(in->q, in->head, in->cap, 0).done) {
		in->pos = AT(in->q, in->head, in->cap, 0).end;
		in->committed = true;
		in->head = (in->head + 1) & (in->cap - 1);
		in->n--;
	}
}

int ack_done(struct ack_tracker *t, uint64_t seq, unsigned output, bool *complete)
{
	struct ack_chunk *e;
	size_t i;

	if (complete)
		*complete = false;
	if (output >= CD_OUTPUTS_MAX || !((t->all >> output) & 1))
		return -CD_EINVAL;
	RING_FIND(t->ch, t->head, t->cap, t->n, seq, i);
	if (i >= t->n || AT(t->ch, t->head, t->cap, i).seq != seq || AT(t->ch, t->head, t->cap, i).complete)
		return -CD_ENOENT;
	e = &AT(t->ch, t->head, t->cap, i);
	e->acked |= 1ull << output;
	if (e->acked != t->all)
		return 0;
	e->complete = true;
	t->incomplete--;
	for (uint32_t k = 0; k < e->nsrc; k++)
		complete_input(find_input(t, e->src[k].input, NULL), seq);
	while (t->n > 0 && AT(t->ch, t->head, t->cap, 0).complete) {
		chunk__free(AT(t->ch, t->head, t->cap, 0).src);
		t->head = (t->head + 1) & (t->cap - 1);
		t->n--;
	}
	if (complete)
		*complete = true;
	return 0;
}

bool ack_position(const struct ack_tracker *t, uint32_t input, uint64_t *offset)
{
	const struct ack_input *in = find_input(t, input, NULL);

	if (!in || !in->committed)
		return false;
	*offset = in->pos;
	return true;
}

void ack_forget(struct ack_tracker *t, uint32_t input)
{
	size_t at;
	struct ack_input *in = t ? find_input(t, input, &at) : NULL;

	if (!in || in->n > 0)
		return;
	chunk__free(in->q);
	memmove(&t->in[at], &t->in[at + 1], (t->nin - at - 1) * sizeof(t->in[0]));
	t->nin--;
}

size_t ack_inflight(const struct ack_tracker *t)
{
	return t->incomplete;
}
