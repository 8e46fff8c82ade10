/*
 * output/kafka/kafka_payload.c - a record becomes a message: the field its
 * key comes from, the topic a template renders for it, the topic handles,
 * the raw payload (the line as read, or the record written again), and
 * each chunk's arena: the payloads rendered for librdkafka, which points
 * at them (no copy) until their delivery reports are in. The json payload
 * is output/lines.c's, the msgpack one the chunk's own item
 * (kafka_produce.c takes them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/json.h"
#include "fmt/pipe.h"
#include "output/lines.h"
#include "output/kafka/out_kafka_impl.h"
#include "util/util.h"
#include "util/banned.h"

/* The view of field @name (@n bytes) of @r: a fixed field or an attribute. Absent: ptr NULL. */
struct fmt_str kf_field(const struct fmt_record *r, const char *name, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} fixed[] = {
		{"trace", offsetof(struct fmt_record, trace)},
		{"span", offsetof(struct fmt_record, span)},
		{"parent", offsetof(struct fmt_record, parent)},
		{"service", offsetof(struct fmt_record, service)},
		{"method", offsetof(struct fmt_record, method)},
		{"path", offsetof(struct fmt_record, path)},
		{"message", offsetof(struct fmt_record, message)},
	};
	struct fmt_str none = {NULL, 0, FMT_ENC_RAW};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strlen(fixed[i].name) == n && memcmp(fixed[i].name, name, n) == 0)
			return *(const struct fmt_str *)(const void *)((const char *)r + fixed[i].off);
	if (n == 5 && memcmp(name, "level", 5) == 0)
		return r->level_text.ptr ? r->level_text
					 : fmt_str_c(fmt_level_name((enum fmt_level)r->level));
	for (uint16_t i = 0; i < r->nattrs; i++)
		if (r->attrs[i].key.len == n && memcmp(r->attrs[i].key.ptr, name, n) == 0)
			return r->attrs[i].val;
	return none;
}

/* Make k->buf hold at least @need bytes. Return: 0 or -CD_ENOMEM. */
static int grow(struct out_kafka_state *k, size_t need)
{
	size_t c = k->cap ? k->cap : 4096;
	char *n;

	if (need <= k->cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(k->buf, c);
	if (!n)
		return -CD_ENOMEM;
	k->buf = n;
	k->cap = c;
	return 0;
}

/* Render the topic template for @r into k->topic_buf. */
const char *kf_render_topic(struct out_kafka_state *k, const struct fmt_record *r)
{
	char *o = k->topic_buf;
	size_t n = 0;

	for (const char *p = k->set.topic; *p && n < CD_KAFKA_TOPIC_LEN_MAX;) {
		const char *end;
		struct fmt_str v;
		char dec[CD_KAFKA_TOPIC_LEN_MAX];
		size_t vlen;

		if (!(p[0] == '$' && p[1] == '{')) {
			o[n++] = *p++;
			continue;
		}
		end = strchr(p + 2, '}'); /* check() made sure it is there */
		v = kf_field(r, p + 2, (size_t)(end - p - 2));
		p = end + 1;
		if (!v.ptr || v.len == 0) {
			v = fmt_str_c(KF_TOPIC_NONE);
		} else if (v.enc != FMT_ENC_RAW && v.len <= sizeof(dec)) {
			vlen = fmt_str_decode(&v, dec);
			v = fmt_str_n(dec, vlen);
		}
		/* a value may hold anything: what a topic name cannot is written '_' */
		for (uint32_t i = 0; i < v.len && n < CD_KAFKA_TOPIC_LEN_MAX; i++)
			o[n++] = kf_topic_char(v.ptr[i]) ? v.ptr[i] : '_';
	}
	o[n] = '\0';
	return o;
}

void kf_topics_release(struct out_kafka_state *k)
{
	for (unsigned i = 0; i < k->ntopics; i++) {
		rd_kafka_topic_destroy(k->topics[i].rkt);
		free(k->topics[i].name);
	}
	k->ntopics = 0;
	k->fixed_rkt = NULL;
}

/* The handle of topic @name, opened on first use. */
rd_kafka_topic_t *kf_topic_get(struct out_kafka_state *k, const char *name)
{
	struct kf_topic *t;

	for (unsigned i = 0; i < k->ntopics; i++)
		if (strcmp(k->topics[i].name, name) == 0)
			return k->topics[i].rkt;
	if (k->ntopics == CD_KAFKA_TOPICS_MAX)
		kf_topics_release(k); /* messages in flight keep their own references */
	t = &k->topics[k->ntopics];
	t->name = cd_strdup(name);
	if (!t->name)
		return NULL;
	t->rkt = rd_kafka_topic_new(k->rk, name, NULL);
	if (!t->rkt) {
		free(t->name);
		return NULL;
	}
	k->ntopics++;
	return t->rkt;
}

/*
 * The raw payload of a record: the line as read when the chunk kept it,
 * else the record in its own format (as cli/archive.c writes it: a pipe
 * line, or a JSON object and then its continuation lines).
 */
int kf_raw_payload(struct out_kafka_state *k, const struct fmt_record *r, const struct record_src *src,
		   const char **out, size_t *len)
{
	size_t need = 4096, n = 0;
	int rc;

	if (src->line.ptr) {
		*out = src->line.ptr;
		*len = src->line.len;
		return 0;
	}
	if (r->format == FMT_JSON) {
		k->again = *r;
		k->again.cont = (struct fmt_str){NULL, 0, FMT_ENC_RAW};
		k->again.flags &= ~(uint32_t)FMT_F_CONT;
	}
	for (;;) {
		if (grow(k, need) < 0)
			return -CD_ENOMEM;
		if (r->format == FMT_JSON)
			rc = fmt_json_emit(&k->again, FMT_JSON_IDS, k->buf, k->cap, &n);
		else
			rc = fmt_pipe_emit(r, k->buf, k->cap, &n);
		if (rc == 0)
			break;
		if (rc != -FMT_ETRUNC || k->cap > CD_EMIT_MAX)
			return -CD_ECORRUPT;
		need = k->cap * 2;
	}
	if (r->format == FMT_JSON && r->cont.ptr) {
		if (grow(k, n + 1 + r->cont.len) < 0)
			return -CD_ENOMEM;
		k->buf[n++] = '\n';
		memcpy(k->buf + n, r->cont.ptr, r->cont.len);
		n += r->cont.len;
	}
	*out = k->buf;
	*len = n;
	return 0;
}

/* --- a chunk's arena ------------------------------------------------------ */

char *kf_arena_room(struct out_kafka_state *k, struct kf_chunk *s, size_t need, size_t *room)
{
	struct kf_block *b = s->arena;

	if (!b || b->cap - b->len < need) {
		if (need <= KF_BLOCK && k->free_blocks) {
			b = k->free_blocks;
			k->free_blocks = b->next;
			k->nfree--;
		} else {
			size_t cap = need > KF_BLOCK ? need : KF_BLOCK;

			if (!(b = malloc(sizeof(*b) + cap)))
				return NULL;
			b->cap = cap;
		}
		b->len = 0;
		b->next = s->arena;
		s->arena = b;
	}
	*room = b->cap - b->len;
	return b->data + b->len;
}

void kf_arena_add(struct kf_chunk *s, size_t n)
{
	s->arena->len += n;
}

void kf_arena_free(struct out_kafka_state *k, struct kf_chunk *s)
{
	struct kf_block *b;

	while ((b = s->arena)) {
		s->arena = b->next;
		if (b->cap == KF_BLOCK && k->nfree < KF_BLOCKS_KEPT) {
			b->next = k->free_blocks;
			k->free_blocks = b;
			k->nfree++;
		} else {
			free(b);
		}
	}
}

void kf_blocks_release(struct out_kafka_state *k)
{
	struct kf_block *b;

	while ((b = k->free_blocks)) {
		k->free_blocks = b->next;
		free(b);
	}
	k->nfree = 0;
}

/* The json payload: out_lines_emit() straight into the arena, a larger place when it does not fit. */
int kf_render(struct out_kafka_state *k, struct kf_chunk *s, struct fmt_record *r,
	      const struct record_src *src, const char **out, size_t *len)
{
	size_t need = 1024, room, n = 0;

	for (;;) {
		char *p = kf_arena_room(k, s, need, &room);
		int rc;

		if (!p)
			return -CD_ENOMEM;
		rc = out_lines_emit(r, src, CD_OUTFMT_LOGSTASH, p, room, &n);
		if (rc == 0) {
			kf_arena_add(s, n);
			*out = p;
			*len = n;
			return 0;
		}
		if (rc != -FMT_ETRUNC || room > CD_EMIT_MAX)
			return -CD_ECORRUPT;
		need = room * 2;
	}
}
