/*
 * find_corpus.h - logs of many transactions with known summaries, for
 * tracegrep --find's tests.
 *
 * fcorpus_write() writes the logs of a gateway (pipe, rotated: a gzip
 * file and a plain one) and four services (orders and search in JSON,
 * billing in pipe with a gzip file, inventory in JSON) under a directory,
 * and returns each transaction's truth: what its summary must say, and
 * what each filter must decide about it.
 */
#ifndef TG_TEST_FIND_CORPUS_H
#define TG_TEST_FIND_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FC_MAX_SERVICES 5
#define FC_MAX_ROUTES 6

struct fc_txn {
	char trace[40];
	int64_t start_us;    /* as --json's start (µs since the epoch) */
	int64_t dur_us;	     /* as dur_us */
	const char *service; /* the root's */
	const char *method;
	char path[48];
	int status; /* worst */
	bool error;
	char first_error[64];		       /* "" for none */
	const char *services[FC_MAX_SERVICES]; /* sorted */
	size_t nservices;
	int spans;
	int records;
	char user[16]; /* attrs: "" when absent */
	char tenant[16];
	char order[16];
	bool timeout_text; /* a message or continuation line says "timeout" */
	struct {
		const char *method;
		char path[48];
	} routes[FC_MAX_ROUTES]; /* every span's (method, path) */
	size_t nroutes;
	bool hostile; /* the transaction with control bytes in its values */
};

struct fcorpus {
	struct fc_txn *txns; /* malloc'd */
	size_t ntxns;
};

/* fcorpus_write() - @n transactions (>= 30) and a hostile one into @dir (exists). Return: 0 or -1. */
int fcorpus_write(struct fcorpus *c, const char *dir, int n);
void fcorpus_free(struct fcorpus *c);

#endif
