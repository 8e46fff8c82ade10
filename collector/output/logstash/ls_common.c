/*
 * output/logstash/ls_common.c - the Logstash outputs' shared queue, counters and
 * sockets (see ls_common.h).
 *
 * DESIGN: the queue is a small sorted array (at most CD_QUEUE_CHUNKS_MAX
 * entries), so insertion and removal are memmoves of a few entries. An
 * outcome decided inside flush() for the chunk being flushed cannot go
 * through pl_out_done() (the pipeline does not know the chunk is pending
 * yet, and would ignore it): it becomes flush()'s answer instead.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "output/logstash/ls_common.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/banned.h"

void ls_queue_init(struct ls_queue *q, struct pipeline *pl, unsigned idx)
{
	memset(q, 0, sizeof(*q));
	q->pl = pl;
	q->idx = idx;
}

struct ls_item *ls_queue_begin(struct ls_queue *q, const struct chunk *c)
{
	uint64_t seq = chunk_seq(c);
	unsigned i = q->n;

	if (q->n == CD_QUEUE_CHUNKS_MAX)
		return NULL;
	while (i > 0 && q->it[i - 1].seq > seq)
		i--;
	memmove(&q->it[i + 1], &q->it[i], (q->n - i) * sizeof(q->it[0]));
	q->it[i] = (struct ls_item){.c = c, .seq = seq, .nrecords = chunk_nrecords(c)};
	q->n++;
	q->held = false;
	q->in_flush = true;
	q->flush_seq = seq;
	q->flush_result = OUT_PENDING;
	return &q->it[i];
}

enum out_result ls_queue_end(struct ls_queue *q, struct cd_err *err)
{
	q->in_flush = false;
	if (q->flush_result == OUT_RETRY || q->flush_result == OUT_FAIL)
		cd_err_set(err, -CD_EIO, 0, "%s", q->flush_why);
	return q->flush_result;
}

void ls_queue_done(struct ls_queue *q, unsigned i, enum out_result r, const char *why)
{
	uint64_t seq = q->it[i].seq;

	if (r == OUT_RETRY && i == 0)
		q->held = true;
	memmove(&q->it[i], &q->it[i + 1], (q->n - i - 1) * sizeof(q->it[0]));
	q->n--;
	if (q->in_flush && seq == q->flush_seq) {
		q->flush_result = r;
		cd_strlcpy(q->flush_why, why ? why : "", sizeof(q->flush_why));
	} else
		pl_out_done(q->pl, q->idx, seq, r, why);
}

void ls_queue_drop(struct ls_queue *q)
{
	q->n = 0;
	q->held = false;
}

const char *ls_u64_str(char *buf, uint64_t v)
{
	snprintf(buf, 21, "%llu", (unsigned long long)v);
	return buf;
}

void ls_metrics(struct metrics *m, const char *label, const struct ls_stats *s, unsigned has,
		const struct ls_queue *q, uint64_t in_flight_bytes)
{
	metrics_add(m, "clewd_output_logstash_events_total", METRICS_COUNTER,
		    "Events the Logstash output delivered (acknowledged).", label, (double)s->events);
	metrics_add(m, "clewd_output_logstash_bytes_total", METRICS_COUNTER,
		    "Payload bytes the Logstash output sent, before compression.", label, (double)s->bytes);
	metrics_add(m, "clewd_output_logstash_errors_total", METRICS_COUNTER,
		    "Failed connects, lost connections and errors answered by the peer.", label,
		    (double)s->errors);
	metrics_add(m, "clewd_output_logstash_retries_total", METRICS_COUNTER,
		    "Chunks the Logstash output gave back to be retried after a backoff.", label,
		    (double)s->retries);
	metrics_add(m, "clewd_output_logstash_connects_total", METRICS_COUNTER,
		    "Connections the Logstash output established.", label, (double)s->connects);
	if (has & LS_HAS_TRUNCATED)
		metrics_add(m, "clewd_output_logstash_truncated_total", METRICS_COUNTER,
			    "Events cut to fit max_datagram (udp).", label, (double)s->truncated);
	if (has & LS_HAS_REFUSED)
		metrics_add(m, "clewd_output_logstash_refused_total", METRICS_COUNTER,
			    "Chunks refused for now because the Redis list was at max_list_length.", label,
			    (double)s->refused);
	if (has & LS_HAS_REJECTED)
		metrics_add(m, "clewd_output_logstash_rejected_total", METRICS_COUNTER,
			    "Events of batches given up because Logstash answered a 4xx (not 429).", label,
			    (double)s->rejected);
	metrics_add(m, "clewd_output_logstash_in_flight_chunks", METRICS_GAUGE,
		    "Chunks the Logstash output holds, sent or waiting to be.", label, (double)q->n);
	metrics_add(m, "clewd_output_logstash_in_flight_bytes", METRICS_GAUGE,
		    "Rendered bytes the Logstash output holds for the chunk it is sending.", label,
		    (double)in_flight_bytes);
}

void ls_log_summary(const char *name, const struct ls_stats *s, unsigned has)
{
	char ev[24], by[24], er[24], re[24], co[24], tr[24], rf[24], rj[24];

	cd_log(FMT_LEVEL_INFO, "logstash output closed", "output", name, "events", ls_u64_str(ev, s->events),
	       "bytes", ls_u64_str(by, s->bytes), "errors", ls_u64_str(er, s->errors), "retries",
	       ls_u64_str(re, s->retries), "connects", ls_u64_str(co, s->connects), "truncated",
	       (has & LS_HAS_TRUNCATED) ? ls_u64_str(tr, s->truncated) : NULL, "refused",
	       (has & LS_HAS_REFUSED) ? ls_u64_str(rf, s->refused) : NULL, "rejected",
	       (has & LS_HAS_REJECTED) ? ls_u64_str(rj, s->rejected) : NULL, NULL);
}

int ls_connect(const char *host, uint16_t port, int socktype, struct cd_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[8];
	int fd = -1, rc, e = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	/* no AI_ADDRCONFIG: on a host with only loopback it would hide 127.0.0.1 */
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0)
		return cd_err_set(err, -CD_EIO, 0, "%s:%u: %s", host, port, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return cd_err_set(err, -CD_EIO, e, "%s:%u: %s", host, port, strerror(e));
	return fd;
}

int ls_connect_poll(int fd, struct cd_err *err)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int n, soerr = 0;

	n = poll(&p, 1, 0);
	if (n < 0)
		return errno == EINTR ? 0 : cd_err_set(err, -CD_EIO, errno, "poll: %s", strerror(errno));
	if (n == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr)
		return cd_err_set(err, -CD_EIO, soerr, "connect: %s", strerror(soerr));
	return 1;
}

int ls_render(struct ls_lines *l, const struct ls_item *it, struct cd_err *err)
{
	int rc;

	if (l->valid && l->seq == it->seq)
		return 0;
	l->valid = false;
	if ((rc = out_lines_render(&l->out, it->c, CD_OUTFMT_LOGSTASH, err)) < 0)
		return rc;
	l->valid = true;
	l->seq = it->seq;
	return 1;
}

int ls_connect_wait(int fd, int64_t now, int64_t deadline_ns, const char *name, struct ls_stats *s,
		    struct cd_err *err)
{
	int rc = ls_connect_poll(fd, err);

	if (rc == 0 && now >= deadline_ns)
		return cd_err_set(err, -CD_EIO, 0, "connect timeout");
	if (rc <= 0)
		return rc;
	s->connects++;
	cd_log(FMT_LEVEL_INFO, "logstash output: connected", "output", name, NULL);
	return 1;
}

void ls_retry_oldest(const char *name, struct ls_queue *q, struct ls_stats *s, bool conn_lost,
		     const char *why)
{
	s->errors++;
	if (conn_lost)
		cd_log(FMT_LEVEL_WARN, "logstash output: connection lost", "output", name, "error", why,
		       NULL);
	if (!q->n)
		return;
	s->retries++;
	ls_queue_done(q, 0, OUT_RETRY, why);
}

bool ls_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *p, *nl;

	if (*pos >= len)
		return false;
	p = buf + *pos;
	nl = memchr(p, '\n', len - *pos);
	*line = p;
	*n = nl ? (size_t)(nl - p) : len - *pos;
	*pos += *n + (nl ? 1 : 0);
	return true;
}
