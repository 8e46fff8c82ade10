// spdlog_baseline.cpp - the spdlog side of bench_client: the same record
// bench_client writes with libclew and fprintf, written by spdlog (Debian's
// libspdlog-dev) to a file, synchronously (basic_file_sink_mt, spdlog's own
// buffered FILE*) or through spdlog's async logger (a thread pool with a
// bounded queue that blocks when full, spdlog's default policy).
// A C interface, so bench_client.c stays C.
#include <memory>
#include <string>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "spdlog_baseline.h"

namespace
{
std::shared_ptr<spdlog::logger> logger;
}

extern "C" int spdlog_baseline_open(const char *path, int async)
{
	try {
		spdlog::drop_all();
		if (async) {
			// 8192 queued messages, one worker thread.
			spdlog::init_thread_pool(8192, 1);
			logger = spdlog::basic_logger_mt<spdlog::async_factory>("bench", path, true);
		} else {
			logger = spdlog::basic_logger_mt("bench", path, true);
		}
		// The pipe format's prefix: RFC 3339 UTC with microseconds, the level.
		logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%L%$ %v", spdlog::pattern_time_type::utc);
		logger->set_level(spdlog::level::info);
		return 0;
	} catch (const spdlog::spdlog_ex &) {
		return -1;
	}
}

extern "C" void spdlog_baseline_log(const char *ids, long long i)
{
	logger->info("{}|orders|GET|/api/v1/orders/42|msg=order {} fetched|status={}|dur_us={}|user={}|amount={}|"
		     "cached={}",
		     ids, i, 200, 12500, "u42", 12.5, true);
}

extern "C" void spdlog_baseline_close(void)
{
	if (logger)
		logger->flush();
	logger.reset();
	spdlog::shutdown();
}
