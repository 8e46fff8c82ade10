/*
 * keys.c - the summary keys: which attributes' values a summary keeps
 * (summary_keys), with the defaults documented in formats/tracegrep-find.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/summary.h"

_Static_assert(QY_KEYS_MAX <= 16, "struct qy_keys' masks hold one bit a key");

const char *const qy_default_keys[] = {"user", "tenant", "customer", "order"};
const size_t qy_default_nkeys = sizeof(qy_default_keys) / sizeof(qy_default_keys[0]);

int qy_keys_add(struct qy_keys *k, const char *key)
{
	if (!key || !*key)
		return -QY_EINVAL;
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i], key) == 0)
			return 0;
	if (k->n == QY_KEYS_MAX)
		return -QY_EINVAL;
	k->v[k->n] = strdup(key);
	if (!k->v[k->n])
		return -QY_ENOMEM;
	k->len[k->n] = strlen(key);
	if (k->len[k->n] < 64)
		k->by_len[k->len[k->n]] |= (uint16_t)(1u << k->n);
	else
		k->long_keys |= (uint16_t)(1u << k->n);
	k->n++;
	return 0;
}

int qy_keys_defaults(struct qy_keys *k)
{
	for (size_t i = 0; i < qy_default_nkeys; i++) {
		int rc = qy_keys_add(k, qy_default_keys[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int qy_keys_parse(struct qy_keys *k, const char *list, char *msg, size_t cap)
{
	const char *p = list ? list : "";

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char key[256];
		int rc;

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(key)) {
			snprintf(msg, cap, "'%s': expected KEY, KEY, ... (each 1 to %zu bytes)",
				 list ? list : "", sizeof(key) - 1);
			return -QY_EINVAL;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		if ((rc = qy_keys_add(k, key)) < 0) {
			snprintf(msg, cap, rc == -QY_ENOMEM ? "out of memory" : "at most %d keys",
				 QY_KEYS_MAX);
			return rc;
		}
		if (!end)
			return 0;
		p = end + 1;
	}
}

int qy_keys_copy(struct qy_keys *dst, const struct qy_keys *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int rc = qy_keys_add(dst, src->v[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

void qy_keys_release(struct qy_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	memset(k, 0, sizeof(*k));
}
