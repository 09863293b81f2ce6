/* store.h - durable span and trace storage on LMDB.
 *
 * One struct tm_store owns one LMDB environment in a directory.  Spans are
 * written in commit order (append-only, so a commit dirties only new pages)
 * as one chunk per trace per commit; a trace is found again through sealed
 * per-bucket indexes and a short scan of the commits not yet sealed.
 * docs/storage.md has the layout and the measurements that chose it.
 *
 * Threads: tm_store_write() must be called from one thread at a time (LMDB
 *          has one writer); every read function may be called from any
 *          thread at any time and never blocks the writer.
 * Errors:  functions return 0 or a negative errno: -ENOENT not found,
 *          -ENOSPC store full (LMDB map full or disk full), -EBADMSG a
 *          record that does not decode, -ENOMEM, -EIO and others from
 *          the system.  tm_store_strerror() gives the text.
 * Memory:  results are allocated from the caller's arena and stay valid
 *          after the call returns; the store keeps no pointer passed in. */
#ifndef TM_STORE_H
#define TM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "batch.h"
#include "span.h"

struct tm_store;

enum tm_sync_mode {
	TM_SYNC_FULL = 0,   /* fsync every commit: a commit survives a crash */
	TM_SYNC_NONE = 1,   /* leave it to the OS: survives a process crash only */
};

struct tm_store_options {
	const char *dir;          /* created if missing */
	enum tm_sync_mode sync;
	uint64_t map_size;        /* 0 = default */
	int read_only;            /* open beside a running server (CLI tools) */
};

struct tm_trace_summary {
	uint64_t start_ns;        /* earliest span start */
	uint64_t end_ns;          /* latest span end */
	uint64_t span_count;
	uint64_t error_count;
	int has_root;             /* root_* name a span without parent */
	struct tm_str root_service;
	struct tm_str root_operation;
};

struct tm_trace {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	struct tm_span *spans;    /* sorted by start time; resource/scope resolved */
	size_t n_spans;
	size_t n_duplicates;      /* identical copies dropped (client retries) */
	struct tm_trace_summary summary;
};

struct tm_store_stats {
	uint64_t spans;           /* spans written since the store was created */
	uint64_t chunks;
	uint64_t commits;
	uint64_t sealed_buckets;
	uint64_t open_commits;    /* commits not yet in a sealed bucket */
	uint64_t map_size;
	uint64_t used_bytes;      /* pages in use times page size */
};

int tm_store_open(const struct tm_store_options *opt, struct tm_store **out);

/* closes the environment; no other call may be running.  NULL is a no-op. */
void tm_store_close(struct tm_store *st);

/* writes n batches in one transaction and commits it (group commit).
 * Returns only after the commit (and, with TM_SYNC_FULL, the sync) is done;
 * on error nothing of the batches is stored. */
int tm_store_write(struct tm_store *st, struct tm_batch *const *batches, size_t n);

/* reads every span of one trace.  Returns -ENOENT when the store holds none. */
int tm_store_trace_get(struct tm_store *st, const uint8_t trace_id[TM_TRACE_ID_LEN],
		       struct tm_arena *arena, struct tm_trace *out);

int tm_store_stats(struct tm_store *st, struct tm_store_stats *out);

/* result of tm_store_check(): counts, and the first problem found. */
struct tm_store_check {
	uint64_t traces;
	uint64_t spans;
	uint64_t chunks;
	uint64_t duplicate_spans;   /* identical records of one span (retries) */
	uint64_t problems;
	char first_problem[256];
};

/* verifies the whole store: every chunk decodes, every trace is found through
 * the index with exactly the spans its chunks hold, and its summary agrees
 * with its spans.  Reads only.  Returns 0 (see out->problems) or an error. */
int tm_store_check(struct tm_store *st, struct tm_store_check *out);

const char *tm_store_strerror(int err);

#endif
