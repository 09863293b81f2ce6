/* ingest.h - what every span decoder shares.
 *
 * A decoder turns one request body (or one UDP datagram) of its wire format
 * into a tm_batch (storage/batch.h): the common span model, whatever the
 * format.  Invalid spans are rejected one by one (counted in the report, the
 * first reason kept), the rest are kept; a body that cannot be read at all
 * is refused whole.
 * Threads: decoders are reentrant.
 * Errors: 0; -EBADMSG for a body that is not valid in the format, -E2BIG when
 * decoding it would pass the arena's limit (both with report->message saying
 * what and where); -ENOMEM.
 * Memory: the batch and everything in it live in the arena; the body may be
 * freed once the decoder returns. */
#ifndef TM_INGEST_H
#define TM_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "batch.h"

struct tm_ingest_report {
	size_t accepted;
	size_t rejected;
	char message[256];   /* why the body or the first rejected span was refused */
};

typedef int (*tm_ingest_decode_fn)(const void *body, size_t len, struct tm_arena *arena,
				   struct tm_batch *batch, struct tm_ingest_report *report);

/* the -E2BIG answer for a body whose decoded form passed the arena's limit
 * (a few bytes of a wire format can stand for a struct of fifty): fills the
 * message and returns -E2BIG. */
int tm_ingest_too_big(const struct tm_arena *arena, struct tm_ingest_report *report);

/* records the first reason a span was rejected and counts it. */
void tm_ingest_reject(struct tm_ingest_report *report, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
