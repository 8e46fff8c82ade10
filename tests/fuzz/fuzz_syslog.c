/*
 * fuzz_syslog.c - the syslog decoder (RFC 5424 and RFC 3164), the record
 * it makes, and RFC 6587 stream framing, on arbitrary bytes.
 *
 * The whole input is one message: it must decode or say why, every view
 * must lie inside the input, and the record (body parsed as auto, then
 * as JSON) must hold views inside the input or the scratch buffer. Then
 * the input is a stream, fed in reads whose sizes come from its first
 * byte, with a small max frame (so that pieces happen): every frame and
 * piece must lie inside the buffer, no longer than the max, and the
 * stream must be consumed to its end (nothing stalls). Any violation
 * abort()s.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lo, *hi, *slo, *shi;

static volatile unsigned sink;

/* A view inside the message or the scratch (or a short static text); its bytes read, for ASan. */
static void inside(const struct fmt_str *v)
{
	if (!v->ptr)
		return;
	for (uint32_t i = 0; i < v->len; i++)
		sink += (unsigned char)v->ptr[i];
	if (!((v->ptr >= lo && v->ptr + v->len <= hi) || (v->ptr >= slo && v->ptr + v->len <= shi) ||
	      v->len < 64 /* static texts: facility, severity, "" */))
		abort();
}

static void check_record(const struct fmt_record *r)
{
	inside(&r->message);
	inside(&r->service);
	inside(&r->trace);
	inside(&r->span);
	inside(&r->ts_text);
	if (r->nattrs > FMT_ATTRS_MAX || r->nids > FMT_IDS_MAX)
		abort();
	for (uint16_t i = 0; i < r->nattrs; i++) {
		inside(&r->attrs[i].key);
		inside(&r->attrs[i].val);
	}
	for (uint16_t i = 0; i < r->nids; i++)
		inside(&r->ids[i]);
}

static void one_message(const char *s, size_t n)
{
	static struct fmt_record r;
	struct syslog_msg m;
	struct syslog_sd_iter it = {0, {NULL, 0, 0}};
	struct fmt_str name, value;
	size_t cap = 2 * n + 256;
	char *scratch = malloc(cap);
	bool esc;
	int rc = syslog_parse(s, n, 1070236800LL * 1000000000, &m);

	if (!scratch)
		return;
	lo = s;
	hi = s + n;
	slo = scratch;
	shi = scratch + cap;
	if (rc > 0 || rc <= -SYSLOG_E_NREASONS)
		abort();
	if (rc == 0) {
		if (m.severity > 7 || m.facility > 23)
			abort();
		inside(&m.ts);
		inside(&m.host);
		inside(&m.app);
		inside(&m.procid);
		inside(&m.msgid);
		inside(&m.sd);
		inside(&m.body);
		while (syslog_sd_next(&m, &it, &name, &value, &esc)) {
			inside(&it.id);
			inside(&name);
			inside(&value);
		}
		syslog_record(&m, CD_PARSER_AUTO, NULL, &r, scratch, cap);
		check_record(&r);
		syslog_record(&m, CD_PARSER_JSON, NULL, &r, scratch, cap);
		check_record(&r);
		syslog_record(&m, CD_PARSER_PIPE, NULL, &r, scratch, 16); /* too small: flagged, safe */
		check_record(&r);
	}
	free(scratch);
}

static void stream(const uint8_t *data, size_t size)
{
	const size_t max = 32 + (size ? data[0] % 64 : 0), cap = max + 16;
	const size_t step = 1 + (size > 1 ? data[1] % 17 : 0);
	struct syslog_framer f;
	struct syslog_frame fr;
	char *buf = malloc(cap);
	size_t have = 0, fed = 0, taken = 0;

	if (!buf)
		return;
	memset(&f, 0, sizeof(f));
	for (;;) {
		size_t room = cap - have, n = size - fed < step ? size - fed : step;
		bool eof;
		n = n < room ? n : room;
		memcpy(buf + have, data + fed, n);
		have += n;
		fed += n;
		eof = fed == size;
		for (;;) {
			int rc = syslog_frame_next(&f, buf, have, max, eof, &fr);
			if (fr.consumed > have)
				abort();
			if (rc) {
				if (fr.ptr < buf || fr.ptr + fr.len > buf + have || fr.len > max)
					abort();
				one_message(fr.ptr, fr.len);
			}
			memmove(buf, buf + fr.consumed, have - fr.consumed);
			have -= fr.consumed;
			taken += fr.consumed;
			if (!rc)
				break;
		}
		if (eof)
			break;
		if (have == cap)
			abort(); /* a full buffer must always yield a frame or a piece */
	}
	/* at the end everything is consumed: nothing left unread (blanks included) */
	if (have != 0 || taken != size)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	one_message(copy, size);
	stream(data, size);
	free(copy);
	return 0;
}
