/*
 * spdlog_baseline.h - the C interface of spdlog_baseline.cpp (bench_client's
 * spdlog baseline). One logger at a time.
 */
#ifndef CLEW_BENCH_SPDLOG_BASELINE_H
#define CLEW_BENCH_SPDLOG_BASELINE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Open a logger writing to @path (truncated); @async: spdlog's async logger. Return: 0 or -1. */
int spdlog_baseline_open(const char *path, int async);
/* Write the benchmark record @i with NDC path @ids (any thread). */
void spdlog_baseline_log(const char *ids, long long i);
/* Flush and drop the logger (waits for the async queue). */
void spdlog_baseline_close(void);

#ifdef __cplusplus
}
#endif

#endif
