/*
 * collector/cd_limits.h - every cap of clewd, with the reason for its value
 * (docs/STYLE.md, Limits). Each can be overridden at build time (-DCD_...=N).
 * Sections belong to the stage that uses them.
 */
#ifndef CD_CD_LIMITS_H
#define CD_CD_LIMITS_H

#include <stdint.h>

/* The chunk codec's and the archive's caps live with them in the store library. */
#include <store/limits.h>

/* --- spool, acks, checkpoint (collector/chunk) ------------------------ */

/*
 * Default byte limit of the disk spool (all its chunk files). Past it
 * spool_push() says -CD_EFULL and the pipeline applies backpressure.
 * 1 GiB: hours of a busy host's logs, compressed, without filling /var.
 */
#ifndef CD_SPOOL_BYTES_DEFAULT
#define CD_SPOOL_BYTES_DEFAULT (1024ull * 1024 * 1024)
#endif

/*
 * Default byte limit of one output's dead-letter files (deadletter_max:
 * records the output rejected for good, chunk/deadletter.h). Past it such
 * records are dropped and counted (deadletter_full). 1 GiB: as the spool,
 * room for a long-unnoticed misconfiguration without filling /var.
 */
#ifndef CD_DEADLETTER_BYTES_DEFAULT
#define CD_DEADLETTER_BYTES_DEFAULT (1024ull * 1024 * 1024)
#endif

/*
 * Largest spool file read back. A file is its header, its metadata (trace
 * IDs and services, together never more than the payload) and the zstd
 * payload (at most ZSTD_compressBound(CD_CHUNK_BYTES_MAX), a little over
 * the chunk): anything larger is corrupt and is not read into memory.
 */
#ifndef CD_SPOOL_FILE_MAX
#define CD_SPOOL_FILE_MAX (3u * CD_CHUNK_BYTES_MAX)
#endif

/* Most outputs that acknowledge one chunk: the ack tracker keeps one bit each. */
#ifndef CD_OUTPUTS_MAX
#define CD_OUTPUTS_MAX 64u
#endif

/*
 * Most inputs (files) in the checkpoint, and the longest input name (a
 * path, so PATH_MAX). A glob over a log directory can match thousands of
 * files; past the cap checkpoint_set() says -CD_ELIMIT rather than grow.
 */
#ifndef CD_CHECKPOINT_INPUTS_MAX
#define CD_CHECKPOINT_INPUTS_MAX 65536u
#endif
#ifndef CD_INPUT_NAME_MAX
#define CD_INPUT_NAME_MAX 4096u
#endif

_Static_assert(CD_SPOOL_FILE_MAX >= 2u * CD_CHUNK_BYTES_MAX + 4096 && CD_SPOOL_FILE_MAX <= UINT32_MAX,
	       "a spool file must hold a chunk's payload and its metadata");
_Static_assert(CD_OUTPUTS_MAX >= 1 && CD_OUTPUTS_MAX <= 64,
	       "the ack tracker keeps one bit per output in a uint64_t");
_Static_assert(CD_INPUT_NAME_MAX >= 256 && CD_INPUT_NAME_MAX <= UINT16_MAX,
	       "an input name's length is stored in 16 bits");

/* --- daemon (collector/main.c, pipeline.c, input/, parse/, output/) --- */

/*
 * Longest line any input hands to the parsers, in bytes. A longer line is
 * cut into pieces of at most this size (on a UTF-8 boundary), each its own
 * record flagged with the attribute _split (the piece's 1-based number):
 * one pathological line can neither stall an input nor take a chunk.
 */
#ifndef CD_LINE_MAX
#define CD_LINE_MAX (64u * 1024)
#endif

/*
 * Read buffer of one source (an open file, stdin). It holds at least one
 * whole line plus a read's worth of bytes, so a line is never copied to
 * be assembled.
 */
#ifndef CD_READ_BUF
#define CD_READ_BUF (4u * CD_LINE_MAX)
#endif

/*
 * Bytes asked of one read(2): the lines are parsed while the bytes the
 * kernel just copied are still in the core's first-level cache (a read of
 * the whole buffer, 256 KiB, leaves them in the second: the parser's first
 * touch of a line then cost ~6 % more CPU per record end to end).
 */
#ifndef CD_READ_STEP
#define CD_READ_STEP CD_LINE_MAX
#endif

/*
 * Bytes read from one source before the loop turns to the others: a busy
 * file cannot starve the rest, nor the delivery of sealed chunks.
 */
#ifndef CD_READ_BURST
#define CD_READ_BURST (1024u * 1024)
#endif

/*
 * Largest record a multiline join builds (first line + continuation
 * lines). A stack trace is a few KiB; past this the record is closed and
 * the next continuation line starts a record of its own (kept raw).
 */
#ifndef CD_MULTILINE_MAX
#define CD_MULTILINE_MAX (4u * CD_LINE_MAX)
#endif

/*
 * Sealed chunks held in memory until every output has taken them. Past
 * it the inputs stop reading (backpressure): nothing is dropped, and with
 * 2 MiB chunks memory stays bounded.
 */
#ifndef CD_QUEUE_CHUNKS_MAX
#define CD_QUEUE_CHUNKS_MAX 8u
#endif

/*
 * Longest an output with chunks pending (OUT_PENDING) waits for its
 * poll(), in milliseconds: delivery reports and acks are collected at
 * least this often even when no fd wakes the loop.
 */
#ifndef CD_OUT_POLL_MS
#define CD_OUT_POLL_MS 5u
#endif

/*
 * How long an output may fail without a break before /health says
 * "degraded" (HTTP 503): longer than a peer's restart, short enough for
 * an orchestrator's probe to notice a real outage.
 */
#ifndef CD_HEALTH_FAIL_MS
#define CD_HEALTH_FAIL_MS 60000u
#endif

/* Inputs one configuration may declare (each a file glob, stdin, ...). */
#ifndef CD_INPUTS_MAX
#define CD_INPUTS_MAX 64u
#endif

/*
 * Files one tail input follows (a glob over a node's container logs,
 * rotated files still being drained included): each costs a few hundred
 * bytes and a checkpoint entry while it is closed, so the cap is the
 * checkpoint's. Past it new files are reported (once per
 * CD_TAIL_WARN_INTERVAL_MS, counted) and left until a slot frees.
 */
#ifndef CD_TAIL_FILES_MAX
#define CD_TAIL_FILES_MAX CD_CHECKPOINT_INPUTS_MAX
#endif

/*
 * Files one tail input holds open by default (max_open_files): files past
 * it are closed at EOF, their position kept, and opened again when they
 * change; busy files take turns. Lowered at start to what RLIMIT_NOFILE
 * leaves (clewd raises its soft limit to the hard one first).
 */
#ifndef CD_TAIL_OPEN_DEFAULT
#define CD_TAIL_OPEN_DEFAULT 1024u
#endif

/* Descriptors left to everything else (outputs, sockets, the spool) when max_open_files meets RLIMIT_NOFILE. */
#ifndef CD_FD_RESERVE
#define CD_FD_RESERVE 64u
#endif

/*
 * Bytes a tail input reads in one turn of the loop, over all its files
 * (each file at most CD_READ_BURST of it, then the next file's turn): the
 * loop seals and delivers between turns, so thousands of files with data
 * do not all land in memory before the first chunk goes out.
 */
#ifndef CD_TAIL_TURN_BYTES
#define CD_TAIL_TURN_BYTES (4u * 1024 * 1024)
#endif

/* A warning a tail input would repeat (no free descriptor, cannot open) is logged this often, with its count. */
#ifndef CD_TAIL_WARN_INTERVAL_MS
#define CD_TAIL_WARN_INTERVAL_MS 60000u
#endif

/*
 * Rotated files of one path read at the same time (each keeps its position
 * in the checkpoint under "rotated:K:PATH", K = 1..this). A writer rotating
 * faster than clewd reads is far past any real logrotate schedule.
 */
#ifndef CD_TAIL_ROTATED_MAX
#define CD_TAIL_ROTATED_MAX 16u
#endif

/*
 * Connections a tcp, unix or http input holds open by default
 * (max_connections). Each is a source with a CD_READ_BUF read buffer
 * (allocated, touched only as data comes) and an fd; one collector per
 * host serves that host's services, which rarely open more than a few
 * each. Past it a new connection is accepted and closed at once (the
 * client sees the close and can retry) and counted as rejected.
 */
#ifndef CD_NET_CONNECTIONS_DEFAULT
#define CD_NET_CONNECTIONS_DEFAULT 256u
#endif

/* Largest max_connections accepted: far past the fd limits of a normal service. */
#ifndef CD_NET_CONNECTIONS_MAX
#define CD_NET_CONNECTIONS_MAX 65536u
#endif

/*
 * Connections accepted per loop turn: a connection storm cannot keep the
 * loop from reading the connections it has and delivering chunks.
 */
#ifndef CD_NET_ACCEPT_BURST
#define CD_NET_ACCEPT_BURST 64u
#endif

/*
 * Largest datagram a udp or unixgram input receives whole. 64 KiB + 1
 * would hold any UDP datagram (65507 bytes at most); twice CD_LINE_MAX
 * also lets a unix datagram carry an overlong line, which is then split
 * like any other. A larger (unix) datagram is cut here, its first
 * CD_DGRAM_MAX bytes kept as lines, and counted as truncated.
 */
#ifndef CD_DGRAM_MAX
#define CD_DGRAM_MAX (2u * CD_LINE_MAX)
#endif

/*
 * Largest body the http input accepts (after gzip decoding): answered
 * 413 past it. A body is held whole in memory until it is in the
 * pipeline, so this times max_connections bounds the input's memory;
 * 4 MiB is a generous batch for any shipper (they send ~1 MiB).
 */
#ifndef CD_HTTP_BODY_MAX
#define CD_HTTP_BODY_MAX (4u * 1024 * 1024)
#endif

/*
 * Largest output buffer of the stdout/file outputs for one record: a
 * multiline record escaped as JSON (up to 6 bytes per byte for control
 * characters) with its attributes.
 */
#ifndef CD_EMIT_MAX
#define CD_EMIT_MAX (8u * CD_MULTILINE_MAX + 64u * 1024)
#endif

/*
 * Options one input or output may carry (its YAML keys or its spec's and
 * URI's parts, librdkafka properties included): more than any real
 * configuration.
 */
#ifndef CD_OUTPUT_OPTS_MAX
#define CD_OUTPUT_OPTS_MAX 64u
#endif

/* Longest configuration file read (YAML): far above any real one. */
#ifndef CD_CONFIG_BYTES_MAX
#define CD_CONFIG_BYTES_MAX (1024u * 1024)
#endif

/* --- regex parsers (parsers/src/regex.c, timefmt.c: the parsers library) --------------- */

/*
 * Named parsers one configuration may declare (parsers: in the file, plus
 * -p regex:). Each holds a compiled pattern and its match data; 64 is far
 * more formats than one host writes.
 */
#ifndef CD_PARSERS_MAX
#define CD_PARSERS_MAX 64u
#endif

/* The regex parsers' and time formats' caps live with them in the parsers library. */
#include <parsers/limits.h>

_Static_assert(CD_PARSERS_MAX >= 1 && CD_PARSERS_MAX <= 1024, "CD_PARSERS_MAX out of range");

_Static_assert(CD_LINE_MAX >= 1024 && CD_LINE_MAX <= CD_CHUNK_BYTES_MAX / 4,
	       "a line must fit a chunk several times over");
_Static_assert(CD_READ_BUF >= 2 * CD_LINE_MAX, "the read buffer must hold a whole line plus a read");
_Static_assert(CD_MULTILINE_MAX >= CD_LINE_MAX && CD_MULTILINE_MAX <= CD_CHUNK_BYTES_MAX / 2,
	       "a joined record must hold one line and fit a chunk");
_Static_assert(CD_QUEUE_CHUNKS_MAX >= 2, "one chunk in delivery and one filling at least");
_Static_assert(CD_INPUTS_MAX >= 1 && CD_INPUTS_MAX <= 1024, "CD_INPUTS_MAX out of range");
_Static_assert(CD_TAIL_FILES_MAX >= 1, "a tail input follows at least one file");
_Static_assert(CD_TAIL_TURN_BYTES >= CD_READ_BURST, "a turn holds at least one file's burst");
_Static_assert(CD_NET_CONNECTIONS_DEFAULT >= 1 && CD_NET_CONNECTIONS_DEFAULT <= CD_NET_CONNECTIONS_MAX,
	       "the default max_connections must be a valid max_connections");
_Static_assert(CD_DGRAM_MAX >= 65507 && CD_DGRAM_MAX <= CD_READ_BUF,
	       "a datagram buffer must hold any UDP datagram and fit a source's read buffer");
_Static_assert(CD_HTTP_BODY_MAX >= CD_LINE_MAX, "an http body must hold at least one whole line");

/* --- Logstash outputs (collector/output/out_ls_*.c) ------------------ */

/*
 * Largest datagram of logstash+udp, by default and at most. 65000 fits
 * Logstash's udp input buffer (buffer_size, 65536 by default) and the
 * largest IPv4 UDP payload (65507); on a network with a 1500-byte MTU a
 * big datagram travels as fragments, and losing one loses the event, so
 * max_datagram may be lowered. Below 512 bytes an event could not keep
 * even its IDs and timestamp.
 */
#ifndef CD_LS_UDP_DATAGRAM_DEFAULT
#define CD_LS_UDP_DATAGRAM_DEFAULT 65000u
#endif
#define CD_LS_UDP_DATAGRAM_MIN 512u
#define CD_LS_UDP_DATAGRAM_MAX 65507u

/*
 * Default max_list_length of logstash+redis: with Logstash not popping
 * the list, this many events (~0.5 GB of Redis memory at 500 bytes an
 * event) wait there before clewd holds back and spools instead.
 */
#ifndef CD_LS_REDIS_LIST_DEFAULT
#define CD_LS_REDIS_LIST_DEFAULT 1000000u
#endif

/*
 * Events in one RPUSH of logstash+redis by default: big enough that the
 * per-command cost vanishes, small enough that one command stays well
 * under Redis's 512 MB bulk and query-buffer limits; commands are
 * pipelined, one in clewd's send buffer at a time.
 */
#ifndef CD_LS_REDIS_BATCH_DEFAULT
#define CD_LS_REDIS_BATCH_DEFAULT 1000u
#endif

_Static_assert(CD_LS_UDP_DATAGRAM_DEFAULT >= CD_LS_UDP_DATAGRAM_MIN &&
		       CD_LS_UDP_DATAGRAM_DEFAULT <= CD_LS_UDP_DATAGRAM_MAX,
	       "the default datagram size must be allowed");
_Static_assert(CD_LS_REDIS_BATCH_DEFAULT >= 1 && CD_LS_REDIS_BATCH_DEFAULT <= 100000,
	       "an RPUSH carries at least one event and stays far below Redis's limits");

/* --- Kafka output (collector/output/kafka/out_kafka.c) ------------------------ */

/*
 * Chunks the Kafka output tracks at once (taken with OUT_PENDING, not yet
 * reported). The pipeline keeps about CD_QUEUE_CHUNKS_MAX in flight but
 * may seal one more per read burst; past this the output answers
 * OUT_RETRY, so the table never grows.
 */
#ifndef CD_KAFKA_CHUNKS_MAX
#define CD_KAFKA_CHUNKS_MAX (2u * CD_QUEUE_CHUNKS_MAX)
#endif

/*
 * Default bound on the bytes (payloads and keys) handed to librdkafka and
 * not yet acknowledged (option max_inflight). Past it the output stops
 * producing until delivery reports come back: memory stays bounded when a
 * broker is slow, while a few chunks' worth keeps batches full.
 */
#ifndef CD_KAFKA_INFLIGHT_BYTES
#define CD_KAFKA_INFLIGHT_BYTES (64ull * 1024 * 1024)
#endif

/*
 * Topic handles a templated topic (topic: logs-${service}) keeps open.
 * Past it every handle is released and the cache starts again: a field
 * with unbounded values cannot grow the daemon without bound.
 */
#ifndef CD_KAFKA_TOPICS_MAX
#define CD_KAFKA_TOPICS_MAX 256u
#endif

/* Longest topic name: Kafka's own limit (249 characters). */
#ifndef CD_KAFKA_TOPIC_LEN_MAX
#define CD_KAFKA_TOPIC_LEN_MAX 249u
#endif

/*
 * Longest the output waits at close for delivery reports of messages
 * already produced, in milliseconds; the rest is purged (not
 * acknowledged, so read again). The SIGTERM drain has already waited.
 */
#ifndef CD_KAFKA_CLOSE_MS
#define CD_KAFKA_CLOSE_MS 5000u
#endif

_Static_assert(CD_KAFKA_CHUNKS_MAX >= CD_QUEUE_CHUNKS_MAX, "the Kafka output must take every queued chunk");
_Static_assert(CD_KAFKA_TOPICS_MAX >= 1, "a fixed topic needs one handle");

/* --- Kafka input (collector/input/in_kafka.c, kafka_consume.c) -------------- */

/*
 * Messages the kafka input hands on per turn of the loop: enough to fill
 * chunks at full speed, few enough that timeouts, delivery and the other
 * inputs get their turn (the loop comes straight back when more wait).
 */
#ifndef CD_KAFKA_IN_BURST
#define CD_KAFKA_IN_BURST 4096u
#endif

/*
 * Longest the kafka input waits at close for the answers to its last
 * offset commits, in milliseconds (a broker that is down must not hold
 * the exit; an offset not committed is read again: duplicates, no loss).
 */
#ifndef CD_KAFKA_IN_CLOSE_MS
#define CD_KAFKA_IN_CLOSE_MS 5000u
#endif

/*
 * How often the kafka input polls its queue while paused (backpressure,
 * drain), in milliseconds: rebalances are answered and the member stays
 * alive for its group (max.poll.interval.ms) without a busy loop.
 */
#ifndef CD_KAFKA_IN_HELD_POLL_MS
#define CD_KAFKA_IN_HELD_POLL_MS 200u
#endif

/*
 * After a failed offset commit (a coordinator moving, a rebalance), the
 * kafka input commits again no sooner than this, in milliseconds: soon
 * enough that little is read twice after a crash, rare enough that a
 * coordinator that is away costs no busy loop and no flood of warnings.
 */
#ifndef CD_KAFKA_IN_COMMIT_RETRY_MS
#define CD_KAFKA_IN_COMMIT_RETRY_MS 1000u
#endif

_Static_assert(CD_KAFKA_IN_BURST >= 1, "a turn hands on at least one message");
_Static_assert(CD_KAFKA_IN_HELD_POLL_MS >= 1 && CD_KAFKA_IN_HELD_POLL_MS < 60000,
	       "a rebalance is answered well within the group's timeouts");

/* --- influxdb output (collector/output/influxdb/out_influxdb.c, lineproto.c, red.c) --- */

/*
 * Longest measurement, tag key, tag value or field key written, in bytes
 * (longer ones are cut on a UTF-8 boundary). InfluxDB keeps a series key
 * (measurement and every tag) under 64 KiB; names this long are already
 * mistakes (an ID in a metric name), and an index entry per value costs
 * the server memory.
 */
#ifndef CD_INFLUX_NAME_MAX
#define CD_INFLUX_NAME_MAX 1024u
#endif

/* Longest string field value written: InfluxDB 1.x refuses strings of 64 KiB and more. */
#ifndef CD_INFLUX_STRING_MAX
#define CD_INFLUX_STRING_MAX (64u * 1024 - 1)
#endif

/*
 * Default and largest uncompressed body of one write request. A chunk
 * becomes one request per this many bytes of line protocol. 1 MiB is
 * some 5,000-10,000 points (what InfluxDB's docs suggest per write) and
 * far below the server's max-body-size (25 MB by default).
 */
#ifndef CD_INFLUX_BATCH_BYTES
#define CD_INFLUX_BATCH_BYTES (1024u * 1024)
#endif
#ifndef CD_INFLUX_BATCH_BYTES_MAX
#define CD_INFLUX_BATCH_BYTES_MAX (16u * 1024 * 1024)
#endif

/*
 * Most write requests of one chunk: each request's outcome is one bit of
 * a 64-bit mask, so a retried chunk sends again only the requests that
 * failed. With the smallest batch_bytes allowed (64 KiB) a chunk of
 * CD_CHUNK_BYTES_MAX rarely needs more than 40; a chunk that would is
 * sent in fewer, larger requests.
 */
#ifndef CD_INFLUX_PARTS_MAX
#define CD_INFLUX_PARTS_MAX 64u
#endif

/* Default and most write requests in flight at once (connections to the server). */
#ifndef CD_INFLUX_INFLIGHT
#define CD_INFLUX_INFLIGHT 4u
#endif
#ifndef CD_INFLUX_INFLIGHT_MAX
#define CD_INFLUX_INFLIGHT_MAX 32u
#endif

/*
 * Most RED series (service x method x route x kind, per interval) held
 * at once. Each costs about 2.5 KiB (a latency histogram), so the cap
 * bounds the aggregator near 10 MiB; past it new series of an interval
 * are folded into one overflow series (service "_other"), so a path
 * full of IDs cannot grow memory or the server's index.
 */
#ifndef CD_INFLUX_RED_SERIES_MAX
#define CD_INFLUX_RED_SERIES_MAX 4096u
#endif

/*
 * How long after an interval's end (plus one interval) its RED sums are
 * written, in milliseconds: a record reaches the output up to a chunk age
 * (CD_CHUNK_AGE_MS), a tail rescan and a retry after it was written.
 * Records later than that are counted as late (event time), or update a
 * point already written (wall clock; see output/influxdb/red.h).
 */
#ifndef CD_INFLUX_RED_LATENESS_MS
#define CD_INFLUX_RED_LATENESS_MS 5000u
#endif

/*
 * Bytes of derived points (RED, the collector's health, log counts)
 * waiting for the server when it is down. They are not acknowledged
 * records (they are rebuilt from nothing after a restart), so past this
 * the oldest are dropped and counted rather than holding memory.
 */
#ifndef CD_INFLUX_DERIVED_BYTES_MAX
#define CD_INFLUX_DERIVED_BYTES_MAX (8u * 1024 * 1024)
#endif

_Static_assert(CD_INFLUX_NAME_MAX >= 64 && CD_INFLUX_NAME_MAX * 4 < 65535,
	       "names must be useful and a series key (measurement + tags) stay under 64 KiB");
_Static_assert(CD_INFLUX_STRING_MAX < 64u * 1024, "InfluxDB 1.x refuses string fields of 64 KiB");
_Static_assert(CD_INFLUX_BATCH_BYTES >= 64u * 1024 && CD_INFLUX_BATCH_BYTES <= CD_INFLUX_BATCH_BYTES_MAX,
	       "the default batch must be within the allowed range");
_Static_assert(CD_INFLUX_PARTS_MAX >= 1 && CD_INFLUX_PARTS_MAX <= 64, "one bit per request in a uint64_t");
_Static_assert(CD_INFLUX_INFLIGHT >= 1 && CD_INFLUX_INFLIGHT <= CD_INFLUX_INFLIGHT_MAX,
	       "CD_INFLUX_INFLIGHT out of range");
_Static_assert(CD_INFLUX_RED_SERIES_MAX >= 16, "room for a few services' series and the overflow");

#endif
