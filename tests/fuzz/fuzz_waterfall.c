/*
 * fuzz_waterfall.c - the waterfall page (render/) built from arbitrary bytes.
 *
 * The input is cut at NUL bytes into fields, taken in turn as a span (its
 * ID, service and name; its parent the last span or one of its ancestors,
 * so the spans stay in preorder), a tag, a log record, a log field, and
 * the page's heading. Whatever the bytes, the page must hold exactly two
 * <script> elements (the data blob and the page's script), the blob no
 * '<' and no raw U+2028/U+2029 (a log line cannot end or break the
 * script), and the whole page only valid UTF-8 with no control byte but
 * a line break. Any violation abort()s.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render/waterfall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Whether s[0, n) is valid UTF-8 with no control byte but '\n'. */
static bool clean_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;

		if ((s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f || (s[i] >= 0x80 && s[i] < 0xc2) ||
		    s[i] > 0xf4 || i + len > n)
			return false;
		for (size_t j = 1; j < len; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wf_page *p = wf_page_new();
	char *copy = malloc(size + 1), *page = NULL, *blob, *end;
	int parents[64];
	size_t nparents = 0, k = 0, len = 0;
	struct wf_meta m = {.title = "fuzz", .back_url = "/", .json_url = "/api/traces/x"};
	char heading[256] = "";

	check(p && copy);
	memcpy(copy, data, size);
	copy[size] = 0;
	for (size_t at = 0; at <= size; k++) {
		const char *f = copy + at;
		size_t flen = strlen(f);

		switch (k % 5) {
		case 0: {
			int up = flen ? (unsigned char)f[0] % 4 : 0;
			struct wf_span_spec s = {.id = f,
						 .service = f,
						 .name = flen & 1 ? f : NULL,
						 .status = flen & 2 ? f : NULL,
						 .has_time = flen % 3 != 0,
						 .start_ns = (int64_t)k * 1000,
						 .end_ns = (int64_t)(k + flen) * 1000,
						 .error = flen & 4,
						 .critical = flen & 8,
						 .shift_ns = flen & 16 ? 7 : 0};
			int i;

			while (up-- > 0 && nparents > 0)
				nparents--;
			s.parent = nparents ? parents[nparents - 1] : -1;
			i = wf_span(p, &s);
			if (i >= 0 && nparents < 64)
				parents[nparents++] = i;
			break;
		}
		case 1:
			wf_tag(p, f, f, flen);
			break;
		case 2:
			wf_log(p, (int64_t)k * 500, flen & 1 ? f : NULL, f, flen, flen & 2);
			break;
		case 3:
			wf_log_field(p, f, flen, f, flen);
			break;
		default:
			memcpy(heading, f, flen < sizeof(heading) - 1 ? flen : sizeof(heading) - 1);
			m.heading = heading;
			m.trace = heading;
			m.note = heading;
		}
		at += flen + 1;
	}
	check(wf_render(p, &m, &page, &len) == 0);
	check(strlen(page) == len);
	check(count(page, "<script") == 2);
	blob = strstr(page, "id=\"wf-data\">");
	check(blob != NULL);
	end = strstr(blob, "</script>");
	check(end != NULL && strncmp(end, "</script>\n<script>", 18) == 0);
	for (const char *q = strchr(blob, '>') + 1; q < end; q++) {
		check(*q != '<');
		check(!(q[0] == '\xe2' && q[1] == '\x80' && (q[2] == '\xa8' || q[2] == '\xa9')));
	}
	check(clean_utf8((const unsigned char *)page, len));
	free(page);
	free(copy);
	wf_page_free(p);
	return 0;
}
