/*
 * util/drops.h - every record clewd gives up, in one place (drops.c).
 *
 * Whoever drops calls cd_drop() with its kind and name ("output",
 * "kafka#1") and a short reason ("too_large", "spool_corrupt"): the count
 * shows in /metrics as clewd_dropped_total{KIND="NAME",reason="..."},
 * and the daemon's log says so at most once per CD_DROP_LOG_MS per
 * (name, reason) with the count since its last line, never once per
 * record. Thread-safe (outputs' callbacks and the write-ahead log's
 * committer run on threads of their own).
 */
#ifndef CD_UTIL_DROPS_H
#define CD_UTIL_DROPS_H

#include <stdint.h>

struct metrics;

/* Least time between two log lines about the same (name, reason). */
#define CD_DROP_LOG_MS 10000

/*
 * cd_drop() - @n records given up by @name (an input's or output's name;
 * @kind "input" or "output") for @reason (a short snake_case word: the
 * metric's label). @detail (may be NULL) goes into the log line: the
 * peer's error text, a file name. Logged now when the last line about
 * this (name, reason) is older than CD_DROP_LOG_MS, else at a later
 * cd_drops_tick().
 */
void cd_drop(const char *kind, const char *name, const char *reason, uint64_t n, const char *detail);

/* cd_drops_tick() - log the counts held back whose interval has passed (the loop calls it each turn). */
void cd_drops_tick(int64_t now_ns);

/* cd_drops_metrics() - every clewd_dropped_total series into @m. */
void cd_drops_metrics(struct metrics *m);

/* cd_drops_total() - the records given up so far, every reason (for the exit summary and tests). */
uint64_t cd_drops_total(void);

#endif
