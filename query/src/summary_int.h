/*
 * query/src/summary_int.h - what summary.c shares with the codec: the
 * span set's insertion (so a decoded summary is a full summary).
 */
#ifndef QUERY_SUMMARY_INT_H
#define QUERY_SUMMARY_INT_H

#include <stdint.h>

#include "query/summary.h"

/* qy__span_add() - add span hash @h (0 stands for 1) to @s's set. Return: 0 or -QY_ENOMEM. */
int qy__span_add(struct qy_summary *s, uint64_t h);

#endif
