/*
 * input/handoff.c - the table of sockets handed from the old pipeline's
 * inputs to the new one's on a SIGHUP reload (see handoff.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input/handoff.h"
#include "util/util.h"
#include "util/banned.h"

static struct in_handoff *table; /* slots put and not yet taken */

/* Append @s (NULL: "-") length-prefixed, so that no value can pass for two. */
static void key_add(char **k, size_t *len, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	size_t need = *len + n + 24;
	char *p = *k ? realloc(*k, need) : malloc(need);

	if (!p) {
		free(*k);
		*k = NULL;
		return;
	}
	*k = p;
	*len += (size_t)snprintf(p + *len, need - *len, s ? "%zu:%s;" : "-;", n, s);
}

static int by_key(const void *a, const void *b)
{
	return strcmp((*(const struct cd_opt *const *)a)->key, (*(const struct cd_opt *const *)b)->key);
}

/* The configuration of @ic as one string, its options in key order (malloc'd; NULL: out of memory). */
static char *conf_key(const struct cd_input_conf *ic)
{
	const struct cd_opt *v[CD_OUTPUT_OPTS_MAX];
	char *k = NULL;
	size_t len = 0;

	for (unsigned i = 0; i < ic->opts.n; i++)
		v[i] = &ic->opts.v[i];
	qsort(v, ic->opts.n, sizeof(v[0]), by_key); /* keys given in another order are the same input */
	key_add(&k, &len, ic->plugin ? ic->plugin->name : NULL);
	for (unsigned i = 0; i < ic->opts.n && k; i++) {
		key_add(&k, &len, v[i]->key);
		key_add(&k, &len, v[i]->val);
	}
	if (k)
		key_add(&k, &len, ic->parser_name);
	if (k)
		key_add(&k, &len, ic->ml_start);
	return k;
}

bool in_handoff_same(const struct cd_input_conf *a, const struct cd_input_conf *b)
{
	char *ka = conf_key(a), *kb = conf_key(b);
	bool same = ka && kb && strcmp(ka, kb) == 0;

	free(ka);
	free(kb);
	return same;
}

struct in_handoff *in_handoff_put(const struct cd_input_conf *ic)
{
	struct in_handoff *h = calloc(1, sizeof(*h));
	const char *listen = cd_opt_get(&ic->opts, "listen");

	if (!h)
		return NULL;
	h->fd[0] = h->fd[1] = -1;
	h->key = conf_key(ic);
	h->listen = cd_strdup(listen ? listen : "");
	if (!h->key || !h->listen) {
		in_handoff_free(h);
		return NULL;
	}
	h->next = table;
	table = h;
	return h;
}

int in_handoff_add_conn(struct in_handoff *h, int fd, const void *bytes, size_t n, const void *state,
			size_t slen)
{
	struct in_handoff_conn *c;

	if (h->nconns == h->cap) {
		unsigned cap = h->cap ? 2 * h->cap : 16;
		struct in_handoff_conn *p = realloc(h->conns, cap * sizeof(*p));
		if (!p)
			return -CD_ENOMEM;
		h->conns = p;
		h->cap = cap;
	}
	c = &h->conns[h->nconns];
	memset(c, 0, sizeof(*c));
	if (n && !(c->bytes = malloc(n)))
		return -CD_ENOMEM;
	if (n)
		memcpy(c->bytes, bytes, n);
	c->n = n;
	if (slen > sizeof(c->state))
		slen = sizeof(c->state);
	if (slen)
		memcpy(c->state, state, slen);
	c->fd = fd;
	h->nconns++;
	return 0;
}

struct in_handoff *in_handoff_take(const struct cd_input_conf *ic)
{
	char *k = conf_key(ic);

	if (!k)
		return NULL;
	for (struct in_handoff **pp = &table; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, k) == 0) {
			struct in_handoff *h = *pp;
			*pp = h->next;
			h->next = NULL;
			free(k);
			return h;
		}
	}
	free(k);
	return NULL;
}

int in_handoff_listen(struct in_handoff *h, unsigned which, const char *listen, int socktype,
		      struct cd_net_sockfile *sock, struct cd_err *err)
{
	int fd;

	if (h && h->fd[which] >= 0) {
		fd = h->fd[which];
		h->fd[which] = -1;
		if (which == 0)
			*sock = h->sock;
		return fd;
	}
	fd = cd_net_listen(listen, socktype, err);
	if (fd >= 0 && which == 0)
		cd_net_sockfile_note(sock, listen);
	return fd;
}

void in_handoff_put_listener(struct in_handoff *h, unsigned which, int *fd, struct cd_net_sockfile *sock)
{
	h->fd[which] = *fd;
	*fd = -1;
	if (sock) {
		h->sock = *sock;
		memset(sock, 0, sizeof(*sock)); /* the file is the new input's now: not unlinked at close */
	}
}

void in_handoff_free(struct in_handoff *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->nconns; i++) {
		if (h->conns[i].fd >= 0)
			close(h->conns[i].fd);
		free(h->conns[i].bytes);
	}
	for (unsigned i = 0; i < 2; i++)
		if (h->fd[i] >= 0)
			close(h->fd[i]);
	if (h->fd[0] >= 0 && h->listen)
		cd_net_sockfile_remove(&h->sock, h->listen); /* nobody took the listener: its file goes */
	free(h->conns);
	free(h->listen);
	free(h->key);
	free(h);
}

void in_handoff_drop_all(void)
{
	while (table) {
		struct in_handoff *h = table;
		table = h->next;
		in_handoff_free(h);
	}
}
