/*
 * keys.c - the summary keys: which attributes' values a summary keeps
 * (summary_keys), with the defaults documented in formats/tracegrep-find.md.
 */
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

void qy_keys_release(struct qy_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	memset(k, 0, sizeof(*k));
}
