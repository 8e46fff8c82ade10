/*
 * api/worker.c - the API's queries run on a thread of their own, so that a
 * search over a large archive (up to CD_API_BUDGET_MS) never holds up the
 * loop that reads the inputs and feeds the outputs.
 *
 * DESIGN: MHD calls cd_api_request() on the loop's thread. The request's
 * URL and GET arguments are copied into a job, its connection suspended,
 * and the job queued (at most CD_API_QUEUE_MAX waiting: past that, a 503
 * at once). The thread answers the jobs one at a time (api_answer(), into
 * the job's api_reply), then resumes the connection with
 * cd_httpd_resume(): MHD's resume takes its own lock, and the kick wakes
 * the loop. MHD then calls the handler again for that connection, and the
 * answer is queued there (MHD queues responses only from its handler).
 * A job is freed by that second call or, when the client went away, by
 * MHD's completion callback (cd_api_completed()); both come only after
 * the thread has let the job go. cd_api_quiesce(), before the server
 * stops, cuts the running query short and answers the waiting ones, so
 * that no job refers to a connection the stopped server has freed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "httpd.h"
#include "util/banned.h"

struct api_job {
	struct api_job *next;
	struct MHD_Connection *c;
	char *url;
	struct api_arg *args;
	size_t nargs, cap;
	bool oom;
	struct api_reply out;
};

struct api_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* a job queued, quit, or (quiesce) the thread idle */
	struct api_job *head; /* waiting, oldest first */
	struct api_job **tail;
	size_t waiting;
	bool busy; /* a job is being answered */
	bool quit;
};

static void job_free(struct api_job *j)
{
	for (size_t i = 0; i < j->nargs; i++) {
		free(j->args[i].key);
		free(j->args[i].value);
	}
	free(j->args);
	free(j->url);
	api_reply_release(&j->out);
	free(j);
}

static enum MHD_Result copy_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct api_job *j = cls;

	(void)kind;
	if (j->nargs == j->cap) {
		size_t ncap = j->cap ? 2 * j->cap : 8;
		struct api_arg *v = realloc(j->args, ncap * sizeof(*v));
		if (!v) {
			j->oom = true;
			return MHD_NO;
		}
		j->args = v;
		j->cap = ncap;
	}
	j->args[j->nargs] = (struct api_arg){strdup(key), value ? strdup(value) : NULL};
	if (!j->args[j->nargs].key || (value && !j->args[j->nargs].value)) {
		free(j->args[j->nargs].key);
		free(j->args[j->nargs].value);
		j->oom = true;
		return MHD_NO;
	}
	j->nargs++;
	return MHD_YES;
}

static struct api_job *job_new(struct MHD_Connection *c, const char *url)
{
	struct api_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->c = c;
	j->url = strdup(url);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_arg, j);
	if (!j->url || j->oom) {
		job_free(j);
		return NULL;
	}
	return j;
}

/*
 * Answer @j and hand it back to the loop, then free what the query read:
 * the summaries of a search over a large archive take a second to free,
 * which its client need not wait for.
 */
static void answer(struct cd_api *api, struct api_job *j)
{
	struct req r = {.api = api, .args = j->args, .nargs = j->nargs, .out = &j->out};

	api_answer(&r, j->url);
	r.out = NULL;
	cd_httpd_resume(api->h, j->c); /* from here the job is the loop's */
	api_req_release(&r);
}

static void *worker_main(void *arg)
{
	struct cd_api *api = arg;
	struct api_worker *w = api->work;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct api_job *j;

		while (!w->quit && !w->head)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = &w->head;
		w->waiting--;
		w->busy = true;
		pthread_mutex_unlock(&w->mu);
		answer(api, j);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The thread, started at the first request. Return: false when it cannot be (answer inline). */
static bool worker_up(struct cd_api *api)
{
	struct api_worker *w;

	if (api->work)
		return true;
	if (!api->h || !(w = calloc(1, sizeof(*w))))
		return false;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->tail = &w->head;
	api->work = w;
	if (pthread_create(&w->thread, NULL, worker_main, api) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		api->work = NULL;
		return false;
	}
	return true;
}

/* Send @j's answer on @c (from MHD's handler) and free it. */
static enum MHD_Result send_answer(struct MHD_Connection *c, struct api_job *j)
{
	enum MHD_Result ret = api_reply_send(c, &j->out);

	job_free(j);
	return ret;
}

enum MHD_Result cd_api_request(struct cd_api *api, struct MHD_Connection *c, const char *url, void **cls)
{
	struct api_job *j = *cls;
	struct api_worker *w;

	if (j) { /* resumed: answered on the thread */
		*cls = NULL;
		return send_answer(c, j);
	}
	if (!(j = job_new(c, url)))
		return MHD_NO; /* out of memory: the connection is closed */
	if (!worker_up(api)) {
		answer(api, j); /* no thread: on the loop, as before there was one */
		return send_answer(c, j);
	}
	w = api->work;
	pthread_mutex_lock(&w->mu);
	if (w->waiting >= CD_API_QUEUE_MAX || atomic_load(&api->stopping)) {
		struct req r = {.api = api, .out = &j->out};

		pthread_mutex_unlock(&w->mu);
		api_fail(&r, MHD_HTTP_SERVICE_UNAVAILABLE, "too many queries waiting: try again");
		return send_answer(c, j);
	}
	MHD_suspend_connection(c);
	*w->tail = j;
	w->tail = &j->next;
	w->waiting++;
	*cls = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return MHD_YES;
}

void cd_api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	if (*con_cls) { /* resumed, and the client went away before its answer was queued */
		job_free(*con_cls);
		*con_cls = NULL;
	}
}

void cd_api_attach(struct cd_api *api, struct cd_httpd *h)
{
	api->h = h;
}

void cd_api_quiesce(struct cd_api *api)
{
	struct api_worker *w = api ? api->work : NULL;

	if (!w)
		return;
	atomic_store(&api->stopping, true); /* the running query stops at its next budget check */
	pthread_mutex_lock(&w->mu);
	while (w->head) {
		struct api_job *j = w->head;
		struct req r = {.api = api, .out = &j->out};

		w->head = j->next;
		w->waiting--;
		api_fail(&r, MHD_HTTP_SERVICE_UNAVAILABLE, "clewd is stopping or reloading: try again");
		cd_httpd_resume(api->h, j->c);
	}
	w->tail = &w->head;
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void cd_api_worker_free(struct cd_api *api)
{
	struct api_worker *w = api->work;

	if (!w)
		return;
	cd_api_quiesce(api);
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	api->work = NULL;
}
