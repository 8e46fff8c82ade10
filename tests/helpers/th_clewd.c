/*
 * th_clewd.c - the clewd harness of the test programs (th_clewd.h): start
 * it, read its JSON log, wait for what it says, stop it.
 */
#include "th_clewd.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "th_file.h"
#include "th_proc.h"

void th_clewd_start(struct th_clewd *d, const char *dir, const char *const *args, int out_fd,
		    const char *const *env)
{
	char state[600];
	const char *argv[48];
	size_t n = 0;

	snprintf(d->out, sizeof(d->out), "%s/out.json", dir);
	snprintf(d->err, sizeof(d->err), "%s/clewd.log", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	d->status = -1;
	argv[n++] = th_env_bin("CLEWD_BIN");
	argv[n++] = "-s";
	argv[n++] = state;
	while (*args && n < 47)
		argv[n++] = *args++;
	argv[n] = NULL;
	d->pid = th_spawn(
		argv, &(struct th_io){
			      .out = d->out, .out_fd = out_fd, .err = d->err, .err_trunc = true, .env = env});
}

bool th_clewd_alive(struct th_clewd *d)
{
	if (d->status >= 0)
		return false;
	d->status = th_wait_for(d->pid, 0);
	return d->status < 0;
}

int th_clewd_stop(struct th_clewd *d)
{
	if (d->status >= 0)
		return d->status;
	d->status = th_stop(d->pid);
	return d->status;
}

json_t *th_clewd_log_find(const struct th_clewd *d, const char *msg, const char *input, const char *listen)
{
	char *log = th_slurp_or_empty(d->err, NULL), *p = log, *nl;
	json_t *found = NULL;

	while (!found && (nl = strchr(p, '\n')) != NULL) {
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
		const char *in = j ? json_string_value(json_object_get(j, "input")) : NULL;
		const char *li = j ? json_string_value(json_object_get(j, "listen")) : NULL;
		if (m && strcmp(m, msg) == 0 && (!input || (in && strcmp(in, input) == 0)) &&
		    (!listen || (li && strcmp(li, listen) == 0)))
			found = j;
		else
			json_decref(j);
		p = nl + 1;
	}
	free(log);
	return found;
}

json_t *th_clewd_wait_log(struct th_clewd *d, const char *msg, const char *input)
{
	double until = th_now() + TH_WAIT_BOUND_S;
	json_t *j;

	while (!(j = th_clewd_log_find(d, msg, input, NULL))) {
		ck_assert_msg(th_clewd_alive(d) && th_now() < until, "clewd did not log '%s' (%s)", msg,
			      input);
		th_msleep(20);
	}
	return j;
}

int th_clewd_port(struct th_clewd *d, const char *input, const char *listen)
{
	double until = th_now() + TH_WAIT_BOUND_S;
	json_t *j;
	int port;

	while (!(j = th_clewd_log_find(d, "listening", input, listen)) &&
	       !(j = th_clewd_log_find(d,
				       "listening beyond loopback: any host that reaches it can send records",
				       input, listen))) {
		if (!th_clewd_alive(d) || th_now() > until) {
			char *log = th_slurp_or_empty(d->err, NULL);
			ck_abort_msg("clewd did not start listening (%s), status %d: %s", input, d->status,
				     log);
		}
		th_msleep(20);
	}
	port = atoi(json_string_value(json_object_get(j, "port")));
	json_decref(j);
	return port;
}

int th_clewd_ops_port(struct th_clewd *d)
{
	for (double t0 = th_now(); th_now() - t0 < TH_WAIT_BOUND_S; th_msleep(100)) {
		char *log = th_slurp_or_empty(d->err, NULL), *p = strstr(log, "(port ");
		int port = p ? atoi(p + 6) : 0;

		free(log);
		if (port > 0)
			return port;
		ck_assert_msg(th_clewd_alive(d), "clewd exited before serving /metrics");
	}
	ck_abort_msg("clewd did not say where it serves /metrics");
	return 0;
}

char *th_http_get(int port, const char *path)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	size_t cap = 1 << 20, len = 0;
	char req[256], *buf = malloc(cap), *body = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;
	ssize_t r;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		free(buf);
		return NULL;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (write(fd, req, strlen(req)) == (ssize_t)strlen(req))
		while (len < cap - 1 &&
		       ((r = read(fd, buf + len, cap - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
			if (r > 0)
				len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) == 1 && status == 200 && strstr(buf, "\r\n\r\n"))
		body = strdup(strstr(buf, "\r\n\r\n") + 4);
	free(buf);
	return body;
}

double th_metric(const char *text, const char *family, const char *label)
{
	size_t n = strlen(family);
	double sum = -1;

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *end = strchr(l, '\n'), *v;
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[1024];

		if (len >= sizeof(line) || strncmp(l, family, n) != 0 || (l[n] != '{' && l[n] != ' '))
			continue;
		memcpy(line, l, len);
		line[len] = '\0';
		v = strrchr(line, ' ');
		if (!v || (label && !strstr(line, label)))
			continue;
		sum = (sum < 0 ? 0 : sum) + strtod(v + 1, NULL);
	}
	return sum;
}
