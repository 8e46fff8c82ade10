/*
 * chunk/ack.h - which input positions every output has acknowledged.
 *
 * The checkpoint of an input may move to the end of a chunk only when
 * that chunk and every earlier chunk carrying the same input have been
 * acknowledged by every output. Outputs ack in any order (a retried Kafka
 * batch, a slow HTTP output); the tracker keeps, per input, the chunks in
 * flight in sequence order and advances the input's committed position
 * to the end of the longest fully acknowledged prefix.
 * Not thread-safe: owned by the pipeline thread (outputs report to it).
 */
#ifndef CD_CHUNK_ACK_H
#define CD_CHUNK_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <store/chunk.h>

struct ack_tracker;

/*
 * ack_tracker_new() - a tracker for @noutputs outputs (1..CD_OUTPUTS_MAX).
 * @out: set on success; untouched on failure.
 * Return: 0, -CD_EINVAL, -CD_ENOMEM.
 */
int ack_tracker_new(struct ack_tracker **out, unsigned noutputs);

/* ack_tracker_free() - free @t; NULL is a no-op. */
void ack_tracker_free(struct ack_tracker *t);

/*
 * ack_track() - start tracking sealed chunk @c (its seq and sources are
 * copied; @c may be freed afterwards). Chunks must be tracked in
 * increasing seq order.
 * Return: 0; -CD_EINVAL when c's seq is not above the last tracked one;
 * -CD_ENOMEM (nothing tracked).
 */
int ack_track(struct ack_tracker *t, const struct chunk *c);

/*
 * ack_done() - output @output acknowledges chunk @seq. Acking twice is
 * harmless. When this was the last output missing, *complete is set
 * (may be NULL) and the inputs of the chunk advance as far as their
 * acknowledged prefix allows: read them with ack_position().
 * Return: 0; -CD_ENOENT for a seq not in flight (never tracked, or
 * already complete); -CD_EINVAL for an output out of range.
 */
int ack_done(struct ack_tracker *t, uint64_t seq, unsigned output, bool *complete);

/*
 * ack_position() - the committed position of @input: the end offset of
 * the last chunk of its fully acknowledged prefix.
 * Return: false when nothing of @input has been committed yet.
 */
bool ack_position(const struct ack_tracker *t, uint32_t input, uint64_t *offset);

/*
 * ack_forget() - drop what the tracker keeps of @input (its committed
 * position and its ring) once nothing of it is in flight: called when the
 * input's source is freed, so a tracker serving one source per HTTP
 * request, connection or rotated file does not grow with their number.
 * An input with chunks in flight is kept (a no-op).
 */
void ack_forget(struct ack_tracker *t, uint32_t input);

/* ack_inflight() - chunks tracked and not yet acknowledged by every output. */
size_t ack_inflight(const struct ack_tracker *t);

#endif
