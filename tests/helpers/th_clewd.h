/*
 * th_clewd.h - clewd as a real process for the test programs: started
 * from CLEWD_BIN with a state directory under a test's directory, its
 * stdout and log (stderr: JSON lines) in files there, its listening ports
 * read from its own log, stopped by PID.
 *
 * Nothing here asserts on time: waits poll until the condition holds,
 * failing only when clewd has exited or after a generous bound (a hung
 * test should say why rather than be killed by the Check timeout).
 */
#ifndef TH_CLEWD_H
#define TH_CLEWD_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/* Longest any wait polls before it gives up (seconds): a bound against hangs, not a check of speed. */
#define TH_WAIT_BOUND_S 120

struct th_clewd {
	pid_t pid;     /* the daemon */
	char out[600]; /* its stdout (JSON lines), unless out_fd was given */
	char err[600]; /* its stderr: its own log */
	int status;    /* exit status once reaped (-1 before) */
};

/*
 * th_clewd_start() - start CLEWD_BIN -s @dir/state @args... (NULL-ended),
 * stdin /dev/null, stdout to @out_fd when > 0 else to @dir/out.json,
 * stderr to @dir/clewd.log (both files truncated), with the "NAME=VALUE"
 * strings of @env (NULL-ended, may be NULL) in its environment.
 */
void th_clewd_start(struct th_clewd *d, const char *dir, const char *const *args, int out_fd,
		    const char *const *env);

/* Whether clewd still runs (reaps it when not). */
bool th_clewd_alive(struct th_clewd *d);

/* SIGTERM, then its exit status (the status it had when it exited already). */
int th_clewd_stop(struct th_clewd *d);

/*
 * The first line of clewd's log whose JSON has message @msg, and input
 * @input and listen @listen when those are not NULL (json_decref() it);
 * NULL when there is none.
 */
json_t *th_clewd_log_find(const struct th_clewd *d, const char *msg, const char *input, const char *listen);

/* Wait until clewd logs @msg for input @input; the line (json_decref() it). */
json_t *th_clewd_wait_log(struct th_clewd *d, const char *msg, const char *input);

/* Wait until clewd logs "listening" for input @input (and address @listen when not NULL); its port. */
int th_clewd_port(struct th_clewd *d, const char *input, const char *listen);

/* Wait until clewd logs where it serves /health and /metrics (--http 127.0.0.1:0); that port. */
int th_clewd_ops_port(struct th_clewd *d);

/* GET @path over HTTP/1.0 from 127.0.0.1:@port: the body (malloc'd) of a 200, else NULL. */
char *th_http_get(int port, const char *path);

/*
 * th_metric() - the sum of the samples of metric @family in exposition
 * text @text whose labels contain @label (NULL: every sample); -1 when
 * there is none.
 */
double th_metric(const char *text, const char *family, const char *label);

#endif
