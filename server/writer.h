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

/*---- a full store ----
 *
 * Before each commit the writer hands room_fn the bytes it is about to
 * write (need_bytes, failed 0), so that room is made ahead while the store
 * can still write the deletions.  When a commit fails for room anyway
 * (-ENOSPC: LMDB map full or disk full) it calls room_fn again (failed 1)
 * and retries, a few times while room_fn deletes something; a group that
 * does not fit is then written batch by batch.  What still finds no room
 * gets -ENOSPC (507 + Retry-After), and for the next second every group
 * does too without trying; room made meanwhile (tm_writer_room_made) or the
 * first commit that succeeds ends that.  room_fn runs on the writer thread
 * and returns how many traces it deleted, or -ENOSPC when the commit must
 * not be tried: it would take room the store keeps for deleting. */
typedef int64_t (*tm_writer_room_fn)(void *ctx, uint64_t need_bytes, int failed);
/* set before the first request; NULL: no eviction, a full store refuses */
void tm_writer_on_full(struct tm_writer *w, tm_writer_room_fn fn, void *ctx);

/* someone freed room: stop refusing for a full store */
void tm_writer_room_made(struct tm_writer *w);

/* refuse every group with -ENOSPC while reason is set (a static string, or
 * NULL to accept again): the disk is below its watermark */
void tm_writer_set_refusal(struct tm_writer *w, const char *reason);

/* 1 with why (a static string) while ingest is refused for room, else 0:
 * for /readyz and /metrics.  Any thread. */
int tm_writer_refusing(struct tm_writer *w, const char **why);

/* writes everything still queued, then stops the thread and frees w. */
void tm_writer_stop(struct tm_writer *w);

#endif
