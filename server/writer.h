/* writer.h - the single writer thread: group commit of queued batches.
 *
 * HTTP threads submit decoded batches; the writer takes everything queued,
 * writes it in one LMDB transaction, commits (and syncs), and only then
 * calls each request's done callback with the result.  The queue is bounded
 * in bytes so that memory stays bounded under overload: a full queue refuses
 * at once and the caller answers 503 with Retry-After.
 * Threads: submit from any thread; done callbacks run on the writer thread
 * and must not block.
 * Memory: the writer borrows each request (and its batch) from submit until
 * its done callback has been called. */
#ifndef TM_WRITER_H
#define TM_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "metrics.h"
#include "store.h"

struct tm_write_req {
	struct tm_batch *batch;
	size_t bytes;                     /* counted against the queue bound */
	void (*done)(struct tm_write_req *req, int result);   /* 0 or -errno */
	struct tm_write_req *next;        /* the writer's */
};

struct tm_writer;

/* starts the writer thread; the store must outlive the writer. */
int tm_writer_start(struct tm_store *store, size_t max_queue_bytes, struct tm_writer **out);

/* reserves room for a request of bytes.  Returns 0, -EAGAIN when the queue
 * is full, or -ESHUTDOWN once stopping has begun.  A reservation must be
 * followed by exactly one tm_writer_submit(); the writer does not stop while
 * one is outstanding.  (Two steps, so that a caller can suspend its HTTP
 * connection between knowing the request is taken and handing it over.) */
int tm_writer_reserve(struct tm_writer *w, size_t bytes);

/* queues req, whose req->bytes were reserved; cannot fail. */
void tm_writer_submit(struct tm_writer *w, struct tm_write_req *req);

struct tm_writer_stats {
	uint64_t queued_bytes;       /* queued and reserved */
	uint64_t max_queue_bytes;
	uint64_t queued_requests;    /* queued and reserved */
	uint64_t commits, failed_commits;
	int last_result;             /* of the newest commit: 0 or -errno */
	int stopping;
	/* live histograms, valid while the writer runs: commit time (ns), and
	 * the batches and spans of each group commit */
	const struct tm_mhist *commit_seconds, *group_batches, *group_spans;
};

/* a snapshot for /metrics and /readyz; from any thread */
void tm_writer_get_stats(struct tm_writer *w, struct tm_writer_stats *out);

/* writes everything still queued, then stops the thread and frees w. */
void tm_writer_stop(struct tm_writer *w);

#endif
