/*
 * render.c - the output stage: each output mode's renderer, the --html
 * page beside it, and what the view takes from the terminal (colour, width).
 *
 * DESIGN: a mode is an index into tg_renderers[]; a new output format is
 * a renderer, a row here and a row in the option table (options.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tg.h"
#include "banned.h"

const tg_render_fn tg_renderers[TG_MODE_COUNT] = {
	[TG_MODE_TERM] = tg_render_term,     [TG_MODE_LINES] = tg_render_lines,
	[TG_MODE_JSON] = tg_render_json,     [TG_MODE_CHROME] = tg_render_chrome,
	[TG_MODE_JAEGER] = tg_render_jaeger, [TG_MODE_HTML_ONLY] = NULL,
};

int tg_output(const struct tg_view *v, enum tg_mode mode, const char *html)
{
	int rc = tg_renderers[mode] ? tg_renderers[mode](v, stdout) : 0;
	bool failed = false;

	if (rc == 0 && html) {
		struct tg_view plain = *v;
		FILE *f = strcmp(html, "-") == 0 ? stdout : fopen(html, "w");

		plain.color = false;
		if (!f) {
			/* Its own message: the output written so far is fine. */
			fprintf(stderr, "tracegrep: %s: %s\n", html, strerror(errno));
			failed = true;
		} else {
			rc = tg_render_html(&plain, f);
			if (f != stdout && fclose(f) != 0)
				rc = -TG_EIO;
		}
	}
	if (rc < 0 || fflush(stdout) != 0 || ferror(stdout)) {
		fputs("tracegrep: write error\n", stderr);
		failed = true;
	}
	return failed ? -TG_EIO : 0;
}

bool tg_color_wanted(int when, bool tty)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	return when == 1 || (when == -1 && tty && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0));
}

int tg_term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (c) {
		long v = strtol(c, NULL, 10);

		if (v >= 40 && v <= 4096)
			return (int)v;
	}
	return 120;
}
