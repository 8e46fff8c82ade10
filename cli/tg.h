/*
 * tg.h - tracegrep's modules and what they share.
 *
 * The program is a pipeline: options (options.h: the command line) ->
 * source (inputs: files, directories, compressed files, stdin, the
 * archive, Kafka) -> prefilter (a literal search for the ID, then the
 * record around each hit) -> match (the ID as a whole element of the
 * record's IDs), run once or twice by resolve (which transaction the ID
 * means) -> tree (spans, parents, clock skew, critical path) -> render
 * (the output mode's renderer: terminal, lines, JSON, Chrome, Jaeger,
 * HTML). Everything here is internal to tracegrep: the prefix is tg_.
 */
#ifndef TG_H
#define TG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fmt/record.h"
#include "query/spantree.h"

#define TG_VERSION "0.1.0"

/*
 * Latest timestamp tracegrep computes with (2065-01-24, ns since the epoch);
 * earlier than 1970 counts as 1970. Offsets, durations and skew shifts are
 * differences and sums of timestamps, and log text is untrusted: within
 * [0, TG_TS_MAX] none of them can overflow int64 (3e18 + 3e18 + a duration
 * < 9.2e18). Real logs are far inside it.
 */
#define TG_TS_MAX INT64_C(3000000000000000000)
/* Longest span duration taken from a dur_us attribute: 115 days, in microseconds. */
#define TG_DUR_US_MAX INT64_C(10000000000000)
_Static_assert(TG_TS_MAX * 2 + TG_DUR_US_MAX * 1000 < INT64_MAX, "time arithmetic must fit int64");

/* Error codes: functions return 0 or one of these negated. */
enum tg_code {
	TG_OK = 0,
	TG_EINVAL, /* bad argument or query */
	TG_ENOMEM, /* out of memory */
	TG_EIO,	   /* a file could not be read */
	TG_EDATA,  /* a compressed file is corrupt */
};

/* An error with context, for messages the user reads (docs/STYLE.md, Errors). */
struct tg_err {
	int code;      /* -TG_Exxx, 0 when unset */
	int sys_errno; /* errno at the failure site, 0 if none */
	char msg[256]; /* always NUL-terminated; truncated, never allocated */
};

/* tg_err_set() - record the first error only; later ones are dropped. */
void tg_err_set(struct tg_err *err, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Allocation that ends the program with status 2 on failure (a CLI has nothing to unwind). */
void *tg_xmalloc(size_t n);
void *tg_xcalloc(size_t n, size_t size);
void *tg_xrealloc(void *p, size_t n);
char *tg_xstrndup(const char *s, size_t n);

/* A growing byte buffer. */
struct tg_buf {
	char *data; /* malloc'd; NULL until the first append */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

void tg_buf_put(struct tg_buf *b, const void *s, size_t n);
void tg_buf_puts(struct tg_buf *b, const char *s);
void tg_buf_putc(struct tg_buf *b, char c);
void tg_buf_printf(struct tg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tg_buf_free(struct tg_buf *b);
/* Append @s as the inside of a JSON string (always valid JSON, see fmt_json_escape()). */
void tg_buf_json_str(struct tg_buf *b, const char *s, size_t n);
/* Append @s as a quoted JSON string ("" for NULL). */
void tg_buf_json_cstr(struct tg_buf *b, const char *s);
/* Append the decoded value of a view as a quoted JSON string, or null when absent. */
void tg_buf_json_view(struct tg_buf *b, const struct fmt_str *v);
/*
 * tg_buf_put_safe() - append untrusted text for a terminal: C0 and C1
 * controls (ESC included) and DEL become visible escapes (\e, \x07,
 * \u009b), invalid UTF-8 bytes become \xNN; tab stays a tab when @keep_tab.
 */
void tg_buf_put_safe(struct tg_buf *b, const char *s, size_t n, bool keep_tab);
/* tg_buf_put_safe_lines() - tg_buf_put_safe() (tabs kept) of each line of @s, the line breaks kept. */
void tg_buf_put_safe_lines(struct tg_buf *b, const char *s, size_t n);
/* Append @s with &, <, >, " and ' escaped, and controls/invalid UTF-8 made visible, for HTML. */
void tg_buf_put_html(struct tg_buf *b, const char *s, size_t n);
/*
 * tg_record_text() - @r (a decoded record) as the line(s) of a log file
 * into @out: pipe, or a JSON object (ids only where trace, parent and span
 * do not imply them) with the continuation lines after it, which
 * fmt_json_emit() would fold into the message. @scratch: a record the
 * caller owns (large), overwritten. Return: 0 or -FMT_*.
 */
struct fmt_record;
int tg_record_text(struct tg_buf *out, const struct fmt_record *r, struct fmt_record *scratch);

/* tg_buf_put_dur() - a duration in a short human form: 850us, 12.345ms, 1.234s (render_term.c). */
void tg_buf_put_dur(struct tg_buf *b, int64_t ns);
/* tg_buf_pad_to() - pad @b from @start with spaces to @w display columns, or cut it there ending in '~'. */
void tg_buf_pad_to(struct tg_buf *b, size_t start, size_t w);

/* tg_buf_write() - write all of @b to @f; Return: 0 or -TG_EIO. */
int tg_buf_write(const struct tg_buf *b, FILE *f);

/* A view's decoded value in a new NUL-terminated string (NULL for an absent view). */
char *tg_view_dup(const struct fmt_str *v);

/* ---- search.c: the literal prefilter's inner loop ---- */

/* A needle prepared for fast search: two rare bytes of it are looked for first. */
struct tg_finder {
	const char *needle; /* not owned */
	size_t len;	    /* bytes of needle, >= 1 */
	size_t i1, i2;	    /* offsets of the two rarest bytes in the needle (i1 < i2 when len > 1) */
	bool avx2;	    /* the CPU has AVX2 (checked once, at init) */
};

void tg_finder_init(struct tg_finder *f, const char *needle, size_t len);
/* tg_find() - first occurrence of the needle in s[0, n), or NULL. Thread-safe. */
const char *tg_find(const struct tg_finder *f, const char *s, size_t n);

/* ---- records: what a scan keeps ---- */

/* One record that matched, owned by the record list. */
struct tg_rec {
	char *text;    /* the record: first line + continuation lines, without the last '\n' */
	size_t len;    /* bytes in text */
	uint32_t src;  /* index of its input (see struct tg_inputs) */
	uint64_t off;  /* byte offset of the record in its (decompressed) input */
	int64_t ts_ns; /* its timestamp (within [0, TG_TS_MAX]), or the one before it in its input */
	bool has_ts;   /* ts_ns came from the record itself */
	uint8_t level; /* enum fmt_level */
	uint8_t event; /* enum fmt_event */
	char *trace;   /* decoded transaction ID, or NULL */
	char *span;    /* decoded span ID, or NULL (a record of the transaction itself) */
	char *parent;  /* decoded parent span ID, or NULL */
	char **ids;    /* decoded NDC path (nids strings) */
	uint16_t nids; /* entries in ids */
	int node;      /* index of its span in the tree, -1 before tree building */
};

/* A list of records. */
struct tg_recs {
	struct tg_rec *v;  /* malloc'd array */
	size_t n;	   /* used */
	size_t cap;	   /* allocated */
	void *visit_state; /* a visiting scan's per-worker state (see struct tg_visitor), else NULL */
};

void tg_recs_free(struct tg_recs *r);
/* tg_recs_push() - append @rec (moved: @r owns its strings from now on). */
void tg_recs_push(struct tg_recs *r, const struct tg_rec *rec);
/* tg_recs_append() - move @src's records to the end of @dst; @src becomes empty. */
void tg_recs_append(struct tg_recs *dst, struct tg_recs *src);
/* tg_recs_sort() - sort by time (ties by input, offset), filling in missing timestamps first. */
void tg_recs_sort(struct tg_recs *r);
/* tg_rec_parse() - parse r->text again into @out (views into r->text). Return: 0 or -FMT_*. */
int tg_rec_parse(const struct tg_rec *r, struct fmt_record *out);

/* ---- match.c: the query and matching by structure ---- */

/* What a record must hold to be kept by a scan. */
enum tg_want {
	TG_WANT_ELEMENT, /* the needle is a whole element of ids[], or the trace/span/parent */
	TG_WANT_TRACE,	 /* the needle is the record's trace (transaction) ID */
};

/* The ID the user asked for. */
struct tg_query {
	char *text;    /* as given */
	char **elems;  /* split at ':' (a path T:S... when more than one) */
	size_t nelems; /* >= 1 */
};

/* tg_query_parse() - split and check @s (IDs are [A-Za-z0-9._-]+). Return: 0 or -TG_EINVAL. */
int tg_query_parse(struct tg_query *q, const char *s, struct tg_err *err);
void tg_query_release(struct tg_query *q);
/* tg_record_matches() - whether @r holds @id the way @want says. */
bool tg_record_matches(const struct fmt_record *r, const char *id, size_t len, enum tg_want want);
/* tg_rec_from_parsed() - fill @out's IDs and summary from @r (views into out->text). */
void tg_rec_from_parsed(struct tg_rec *out, const struct fmt_record *r);

/* ---- prefilter.c: from bytes to candidate records ---- */

/*
 * A visiting scan (tracegrep --find): every record of every unit is
 * parsed and handed to visit(), instead of a search for one needle.
 * Each worker thread gets its own state from start(); at the end of the
 * scan finish() takes each worker's state, in worker order, on the
 * calling thread.
 */
struct tg_visitor {
	void *(*start)(void *arg);
	/*
	 * NULL, or a test of a record's raw text (first line and continuation
	 * lines, at @off of input @src) before it is parsed: false skips it
	 * unparsed. Not asked of OTLP/JSON lines, whose records are each
	 * parsed and visited.
	 */
	bool (*want)(void *state, const char *text, size_t len, uint32_t src, uint64_t off);
	/* @r, which starts at @off of input @src (an OTLP line's records: at the line's) */
	void (*visit)(void *state, const struct fmt_record *r, uint32_t src, uint64_t off);
	void (*finish)(void *arg, void *state);
	void *arg;
};

struct tg_input;

/* One scan: the needle and what a record must hold; or, with a visitor, every record. */
struct tg_scan {
	struct tg_finder finder;	  /* the needle (unused by a visiting scan) */
	enum tg_want want;		  /* the structural test a candidate must pass */
	const struct tg_visitor *visitor; /* NULL, or: visit every record (nothing goes to @out) */
	/* NULL, or: whether unit @unit of @in is scanned at all (false: skipped) */
	bool (*unit_wanted)(const struct tg_input *in, size_t unit, void *arg);
	void *unit_arg; /* unit_wanted()'s */
};

/*
 * Bytes of a plain file per unit of work (source.c): big enough that the
 * per-unit cost (a thread hand-off, the partial line read twice at each
 * cut) vanishes, small enough that a 1 GB file keeps every core busy to
 * the end. A unit owns the records whose first line starts in it.
 */
#define TG_UNIT_BYTES ((size_t)16 << 20)

/*
 * tg_scan_region() - find the records of buf[0, len) whose first line
 * starts in [from, to) and holds the needle, keep those that match, and
 * append them (copied) to @out. Records may extend past @to (their
 * continuation lines), up to @len. @from and @to are line starts (or len).
 * When !@final, buf ends before the input does: a kept record that runs
 * to len might have more continuation lines, so it is left alone.
 * @base is the offset of buf[0] in the input; @src the input's index.
 * Return: the offset from which the caller must keep the bytes for the
 * next call (to, or the start of the record left alone).
 * With s->visitor, every record is parsed and visited instead (with
 * out->visit_state), and nothing is appended.
 * Thread-safe (touches only @out).
 */
size_t tg_scan_region(const struct tg_scan *s, const char *buf, size_t len, size_t from, size_t to,
		      bool final, uint32_t src, uint64_t base, struct tg_recs *out);

/* ---- source.c: inputs ---- */

struct tg_input;

/*
 * An input kind: how a unit of work is scanned. New sources (the archive,
 * Kafka) plug in by adding an ops table and a way to create units.
 */
struct tg_input_ops {
	const char *kind; /* "file", "gzip", "zstd", "archive" */
	/* Scan unit @unit of @in with @s, appending matches to @out. Thread-safe per unit. */
	int (*scan)(struct tg_input *in, size_t unit, const struct tg_scan *s, struct tg_recs *out,
		    struct tg_err *err);
	void (*release)(struct tg_input *in); /* free what the input holds */
};

/* One input: a file (plain or compressed) or stdin. */
struct tg_input {
	const struct tg_input_ops *ops; /* how to scan it */
	char *name;			/* path as shown to the user ("-" for stdin) */
	int fd;				/* open file, -1 when none */
	const char *map;		/* the in-memory data (stdin), else NULL */
	size_t size;			/* bytes of the file or at map, or the compressed size */
	size_t *cuts;			/* in-memory data: line-aligned unit boundaries, nunits + 1 */
	size_t nunits;			/* units of work this input splits into */
	bool owned;			/* map is malloc'd memory (stdin) */
	uint32_t src;			/* its index in struct tg_inputs */
	void *priv;			/* the source's own state (the archive's), or NULL */
};

/* Every input of a run. */
struct tg_inputs {
	struct tg_input *v; /* malloc'd */
	size_t n;	    /* used */
	size_t cap;	    /* allocated */
};

/*
 * tg_inputs_add() - add a path: a file, a directory (walked recursively,
 * in name order), or "-" for stdin. Unreadable paths are reported through
 * @err and skipped (the run goes on, exit status 2 at the end).
 * Return: 0, or -TG_EIO when the path could not be added.
 */
int tg_inputs_add(struct tg_inputs *in, const char *path, struct tg_err *err);
void tg_inputs_release(struct tg_inputs *in);
/* tg__inputs_push() - append a zeroed input named @name (copied), fd -1; the caller sets ops. */
struct tg_input *tg__inputs_push(struct tg_inputs *in, const char *name);

/* ---- archive.c: the collector's archive ---- */

/*
 * tg_inputs_add_archive() - add the archive at @dir (read-only) as one
 * input. Lookups are limited to chunks whose time span meets
 * [@since_ns, @until_ns] (INT64_MIN / INT64_MAX: no bound). With @stats,
 * each lookup's counters (segments, examined, opened, frames read) go to
 * stderr. Return: 0, or -TG_EIO (no such directory, unreadable, another
 * error of arch_open()) with @err set.
 */
int tg_inputs_add_archive(struct tg_inputs *in, const char *dir, int64_t since_ns, int64_t until_ns,
			  bool stats, struct tg_err *err);

/*
 * tg_archive_summaries() - take the transaction summaries of archive input
 * @in (its window, widened a little so transactions across an edge stay
 * whole) into @out: from the segments' summary files, the open segment's
 * frames otherwise (store/archive_sum.h). @newest: 0, or only that many
 * latest-starting matches are wanted (sorted by start, nothing else
 * searched): older segments are then read only while they may hold one.
 * Return: 0, 1 (older segments were not read: @out lacks their matches),
 * or -TG_EIO with @err set.
 */
struct qy_txns;
int tg_archive_summaries(struct tg_input *in, size_t newest, struct qy_txns *out, struct tg_err *err);

/* ---- kafka.c: a Kafka topic clewd writes to ---- */

/*
 * tg_inputs_add_kafka() - add topic @topic of the cluster at @brokers
 * (a bootstrap list) as one input; @props are NAME=VALUE librdkafka
 * properties (SASL, SSL). A transaction lookup reads only the partition
 * the ID's key maps to (murmur2, as clewd's Kafka output partitions);
 * a span lookup reads every partition. Only messages timestamped within
 * [@since_ns, @until_ns] count (INT64_MIN / INT64_MAX: no bound). With
 * @stats, each lookup's partitions and messages go to stderr.
 * Return: 0, or -TG_EINVAL (a bad property) / -TG_EIO (no such topic,
 * brokers unreachable) with @err set.
 */
int tg_inputs_add_kafka(struct tg_inputs *in, const char *brokers, const char *topic, char *const *props,
			size_t nprops, int64_t since_ns, int64_t until_ns, bool stats, struct tg_err *err);

/*
 * tg_run_scan() - run @s over every input on @threads threads and return
 * the matches in @out, sorted by time. Errors of single inputs are
 * reported on stderr and make the return -TG_EIO; the matches found are
 * still returned.
 */
int tg_run_scan(struct tg_inputs *in, const struct tg_scan *s, unsigned threads, struct tg_recs *out);

/* ---- resolve.c: from the ID to the records of one transaction ---- */

/* What tg_resolve() found. */
struct tg_resolution {
	const char *trace;  /* the transaction whose records were kept (the query's own element or
			       trace_own), or NULL when nothing matched */
	const char *select; /* the span whose sub-tree the query selects, or NULL: the transaction */
	size_t ntraces;	    /* for a span ID: how many transactions its records belong to */
	char *trace_own;    /* the transaction found through a span ID (malloc'd), or NULL */
};

/*
 * tg_resolve() - scan @ins (@threads threads) for the records of the
 * transaction query @q names, into @recs (sorted by time). A transaction
 * ID or a path T:..:S takes one scan; a span ID a first scan for the
 * records that name it, whose commonest transaction (on a tie, the
 * smallest ID) is then read whole; when that span is in several
 * transactions a note goes to @note (NULL: none). Records that name the
 * span but no transaction are kept as they are (trace: the span ID, no
 * select). @res points into @q: release @res before @q.
 * Return: 0, or -TG_EIO when an input could not be read (reported on
 * stderr by tg_run_scan(); the records found are still returned).
 */
int tg_resolve(struct tg_inputs *ins, const struct tg_query *q, unsigned threads, FILE *note,
	       struct tg_recs *recs, struct tg_resolution *res);
void tg_resolution_release(struct tg_resolution *res);

/* ---- tree.c: spans, parents, skew, critical path (query/spantree.h's tree) ---- */

/*
 * tg_tree_build() - build the span tree of transaction @trace from @recs
 * (all of its records) with qy_tree_build(). When @skew, children of
 * another service that lie outside their parent's window are moved into
 * it. Sets recs->v[i].node. Out of memory ends the program (status 2).
 */
void tg_tree_build(struct qy_tree *t, struct tg_recs *recs, const char *trace, bool skew);
/*
 * tg_tree_select() - select the sub-tree under span @id (NULL: the whole
 * transaction), check that the spans of @path[0..npath) (outermost first)
 * are its ancestors, mark the critical path and compute the render order.
 * Return: true when the span exists (and the path holds).
 */
bool tg_tree_select(struct qy_tree *t, const struct tg_recs *recs, const char *id, char *const *path,
		    size_t npath);
void tg_tree_release(struct qy_tree *t);
/* tg_tree_first_of_service() - whether order[@i] is the first selected span of its service (NULL too). */
bool tg_tree_first_of_service(const struct qy_tree *t, size_t i);
/* tg_tree_service_index() - @service's place among the selected spans' services, from 1 (0: none). */
int tg_tree_service_index(const struct qy_tree *t, const char *service);

/* ---- renderers ---- */

/* What every renderer gets. */
struct tg_view {
	const struct tg_query *query;	/* what the user asked for */
	struct qy_tree *tree;		/* the selected tree */
	const struct tg_recs *recs;	/* records; only those of selected spans are shown */
	const struct tg_inputs *inputs; /* for file names */
	bool color;			/* ANSI colours */
	bool tty;			/* output is a terminal */
	int width;			/* terminal columns */
};

/* Whether record @i belongs to the selection. */
bool tg_view_rec_selected(const struct tg_view *v, size_t i);

/* What a run writes to standard output. */
enum tg_mode {
	TG_MODE_TERM,	   /* the waterfall (default) */
	TG_MODE_LINES,	   /* --lines */
	TG_MODE_JSON,	   /* --json */
	TG_MODE_CHROME,	   /* --chrome */
	TG_MODE_JAEGER,	   /* --jaeger */
	TG_MODE_HTML_ONLY, /* --html FILE alone: nothing on standard output */
	TG_MODE_COUNT
};

/* A renderer: write @v to @f. Return: 0 or -TG_EIO. */
typedef int (*tg_render_fn)(const struct tg_view *v, FILE *f);

/* render.c: each mode's renderer of standard output (NULL: none). */
extern const tg_render_fn tg_renderers[TG_MODE_COUNT];

/*
 * tg_output() - write @v to standard output as @mode says, then, when
 * @html, the HTML page to that file ("-": standard output; never in
 * colour). Errors (the file, a write) are reported on stderr.
 * Return: 0, or -TG_EIO.
 */
int tg_output(const struct tg_view *v, enum tg_mode mode, const char *html);
/* tg_color_wanted() - colour on standard output? @when: -1 auto (a terminal, unless NO_COLOR or TERM=dumb), 0, 1. */
bool tg_color_wanted(int when, bool tty);
/* tg_term_width() - standard output's columns: the terminal's, else $COLUMNS (40-4096), else 120. */
int tg_term_width(void);

int tg_render_term(const struct tg_view *v, FILE *f);
int tg_render_lines(const struct tg_view *v, FILE *f);
int tg_render_json(const struct tg_view *v, FILE *f);
int tg_render_chrome(const struct tg_view *v, FILE *f);
int tg_render_jaeger(const struct tg_view *v, FILE *f);
int tg_render_html(const struct tg_view *v, FILE *f);

/* ---- find.c, render_find.c: tracegrep --find ---- */

struct tg_options;
struct qy_summary;
struct qy_keys;

/*
 * tg_find_run() - summarise every record of @ins by transaction (@o's threads),
 * keep those that pass @o's filter, sorted and limited, and list them on
 * standard output (or, with --open, show the first as @o's mode says).
 * *@found: some transaction passed. Return: 0, or -TG_EIO (an input could
 * not be read, or a write failed; reported on stderr).
 */
int tg_find_run(struct tg_inputs *ins, const struct tg_options *o, bool *found);
/*
 * tg_render_find() - write summaries @v[0, n) (made with @keys) to @f: a
 * table @width columns wide (@color: ANSI colours), or with @json one
 * JSON object per line. Return: 0 or -TG_EIO.
 */
int tg_render_find(const struct qy_summary *const *v, size_t n, const struct qy_keys *keys, bool json,
		   bool color, int width, FILE *f);

/* ---- find_pre.c: --find's pre-pass on raw files ---- */

/* A set of 64-bit trace hashes (qy_span_hash() of the decoded ID), open addressing. */
struct tg_traceset {
	uint64_t *v; /* cap slots, 0: empty (a hash of 0 is kept as 1) */
	size_t n;    /* hashes in the set */
	size_t cap;  /* a power of two, > 2 * n; 0 before the first add */
};

void tg_traceset_add(struct tg_traceset *t, uint64_t h);
bool tg_traceset_has(const struct tg_traceset *t, uint64_t h);
/* tg_traceset_merge() - add @src's hashes to @dst; @src is left empty or holding what was in @dst. */
void tg_traceset_merge(struct tg_traceset *dst, struct tg_traceset *src);
void tg_traceset_release(struct tg_traceset *t);
/* Units (input << 16 | unit of a plain file) a bound remembers; a trace in more is read everywhere. */
#define TG_BOUND_UNITS 4

/*
 * The time bounds of some transactions: the earliest and latest
 * timestamp of their records, which its start lies between (a span
 * record's start is its timestamp; without any timestamp it is 0), and
 * the units of work their records are in.
 */
struct tg_bound {
	uint64_t h;			/* the trace's hash, 0: an empty slot */
	int64_t lo, hi;			/* earliest and latest record time (lo > hi: none had one) */
	uint32_t units[TG_BOUND_UNITS]; /* where its records are (see tg_bound_unit()) */
	uint8_t nunits;			/* entries in units */
	bool anywhere;			/* in more units, or one that has no number */
};

struct tg_bounds {
	struct tg_bound *v; /* cap slots */
	size_t n;	    /* traces */
	size_t cap;	    /* a power of two, >= 4/3 * n */
};

/* tg_bound_unit() - the number of the unit a record at @off of input @src is in; false: none fits. */
bool tg_bound_unit(uint32_t src, uint64_t off, uint32_t *unit);
/* tg_bounds_add() - widen the bounds of @e's trace by @e's (a trace's time, units). */
void tg_bounds_add(struct tg_bounds *b, const struct tg_bound *e);
/* tg_bounds_merge() - widen @dst by @src's bounds; @src is left empty or holding what was in @dst. */
void tg_bounds_merge(struct tg_bounds *dst, struct tg_bounds *src);
void tg_bounds_release(struct tg_bounds *b);
/*
 * tg_bounds_top() - add to @out every trace of @b that may be among the @k
 * latest-starting ones (all of them when @k is 0 or >= their number), and
 * to @units (as unit + 1) the units their records are in; *@anywhere: some
 * of them may be anywhere.
 */
void tg_bounds_top(const struct tg_bounds *b, size_t k, struct tg_traceset *out, struct tg_traceset *units,
		   bool *anywhere);

/* tg_rec_trace_hash() - the hash of @r's trace as qy_txns_add() keys it; false: it has none. */
bool tg_rec_trace_hash(const struct fmt_record *r, uint64_t *h);

/*
 * tg_find_maybe_failed() - whether the record text s[0, n) (as a visitor's
 * want() gets it) may be one qy_record_failed() says failed: false only
 * when its bytes show it is not (a plain pipe or JSON line whose level and
 * status are seen and fine). Pure.
 */
bool tg_find_maybe_failed(const char *s, size_t n);
/*
 * tg_find_raw_trace() - the trace ID of the record text s[0, n), read from
 * its bytes when they are plain (a pipe head, a JSON "trace" string).
 * Return: 1 (*@id, *@len: the decoded ID, a view into @s), 0 (the record
 * has no trace), -1 (cannot tell without parsing). Pure.
 */
int tg_find_raw_trace(const char *s, size_t n, const char **id, size_t *len);
/*
 * tg_find_raw_ts() - the timestamp of the record text s[0, n), read from
 * its bytes when they are plain (a pipe head's, a JSON object's first
 * member "timestamp"). Return: 1 (*@ts set), 0 (the record has none),
 * -1 (cannot tell without parsing). Pure.
 */
int tg_find_raw_ts(const char *s, size_t n, int64_t *ts);

/* Format @ns as RFC 3339 with 6 fraction digits into @out (FMT_TS_MAX bytes). */
void tg_ts(int64_t ns, char *out);

#endif
