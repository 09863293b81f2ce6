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
#include "search_hash.h"
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

/* reads every span of one trace, each with the commit that stored it
 * (tm_span.seq); of exact copies (client retries) the first stored.
 * Returns -ENOENT when the store holds none. */
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

/*---- what the service map reads of every stored span (store_replay.c) ----*/

enum {
	TM_REC_ERROR = 1,          /* status ERROR */
	TM_REC_HAS_PARENT = 2,
	TM_REC_FOLLOWS_FROM = 4,   /* its parent reference is FOLLOWS_FROM */
};

struct tm_span_rec {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t span_id[TM_SPAN_ID_LEN];
	uint8_t parent_span_id[TM_SPAN_ID_LEN];
	uint64_t seq;              /* the commit that stored it */
	uint64_t start_ns, end_ns;
	uint32_t svc, op;          /* name ids (0: a name too long to index) */
	uint32_t node;             /* the peer it names (tm_span_node), name id or 0 */
	uint16_t http_status;
	uint8_t kind, flags, node_kind;
};

/* called by the writing thread after each commit, with its spans (sorted
 * by trace ID); recs is valid for the call only.  Set it before the first
 * write; NULL turns it off. */
typedef void (*tm_store_commit_fn)(void *ctx, uint64_t seq, const struct tm_span_rec *recs,
				   size_t n);
void tm_store_on_commit(struct tm_store *st, tm_store_commit_fn fn, void *ctx);

/*---- reading the search index (store_query.c) ----
 *
 * A reader is one consistent snapshot (an LMDB read transaction) for a
 * series of reads; it never blocks the writer, but a reader kept open for
 * long keeps old pages from being reused, so end it when the query is done.
 * Strings and arrays handed out through a reader point into the store's
 * memory map or the iterator and stay valid until tm_store_reader_end()
 * (iterators: until their next call). */

#define TM_NS_PER_MINUTE 60000000000ull

struct tm_store_reader;

int tm_store_reader_begin(struct tm_store *st, struct tm_store_reader **out);
void tm_store_reader_end(struct tm_store_reader *rd);

/* tm_store_trace_get() within the reader's snapshot */
int tm_store_reader_trace(struct tm_store_reader *rd, const uint8_t trace_id[TM_TRACE_ID_LEN],
			  struct tm_arena *arena, struct tm_trace *out);

/* the widest spread of span starts within one stored piece: a span that
 * starts at t is in a piece whose minute is at least minute(t - spread). */
uint64_t tm_store_reader_max_spread(const struct tm_store_reader *rd);

/* names: services, operations (kind = span kind), remote services */
struct tm_name {
	uint32_t id;
	uint8_t kind;
	uint8_t space;     /* tm_store_name(): TM_NAME_SERVICE, _OPERATION or _PEER */
	uint32_t svc;
	struct tm_str name;
};

enum { TM_NAME_SERVICE = 'S', TM_NAME_OPERATION = 'O', TM_NAME_PEER = 'P' };

/* every service, sorted by name (byte order) */
int tm_store_services(struct tm_store_reader *rd, struct tm_arena *arena,
		      struct tm_name **out, size_t *n);
/* -ENOENT when the store has never seen it */
int tm_store_service_id(struct tm_store_reader *rd, struct tm_str name, uint32_t *id);
/* the operations of a service, sorted by kind then name */
int tm_store_operations(struct tm_store_reader *rd, uint32_t svc, struct tm_arena *arena,
			struct tm_name **out, size_t *n);
/* the remote services a service called, sorted by name */
int tm_store_remote_services(struct tm_store_reader *rd, uint32_t svc,
			     struct tm_arena *arena, struct tm_name **out, size_t *n);
int tm_store_peer_id(struct tm_store_reader *rd, struct tm_str name, uint32_t *id);
int tm_store_operation_id(struct tm_store_reader *rd, uint32_t svc, uint8_t kind,
			  struct tm_str name, uint32_t *id);
/* the name behind an id (of a service, an operation or a peer); for an
 * operation, kind is its span kind and svc its service's id */
int tm_store_name(struct tm_store_reader *rd, uint32_t id, struct tm_name *out);
/* the values seen for one of the tm_batch_set_value_keys() keys, sorted */
int tm_store_values(struct tm_store_reader *rd, struct tm_str key, struct tm_arena *arena,
		    struct tm_str **out, size_t *n);

/* one piece: what one commit stored of one trace */
struct tm_piece {
	uint32_t minute;            /* of its earliest span start */
	uint64_t seq;
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint64_t start_ns, end_ns;  /* earliest start, latest end of its spans */
	uint64_t n_spans, n_errors;
	int root_is_root;           /* the naming span has no parent */
	uint64_t root_start_ns;
	uint32_t root_svc, root_op;
	const uint32_t *svcs;       /* distinct service ids */
	size_t n_svcs;
	const uint32_t *ops;        /* distinct operation ids */
	size_t n_ops;
};

struct tm_piece_op {
	uint32_t op;
	uint64_t min_dur_ns, max_dur_ns;
	uint64_t min_start_ns, max_start_ns;
	int has_error;
};

/* the spans of one service within a piece */
struct tm_piece_group {
	uint32_t svc;
	struct tm_bloom bloom;
	const struct tm_piece_op *ops;
	size_t n_ops;
	const uint32_t *peers;
	size_t n_peers;
};

struct tm_search_piece {
	uint32_t minute;
	uint64_t seq;
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint64_t start_ns;
	const struct tm_piece_group *groups;
	size_t n_groups;
};

enum tm_piece_rows {
	TM_PIECES_SUMMARY,   /* tm_piece_iter_next() */
	TM_PIECES_SEARCH,    /* tm_piece_iter_next_search() */
};

struct tm_piece_iter;

/* iterates the pieces whose minute lies in [from_minute, to_minute], newest
 * minute first, and within a minute in commit order. */
int tm_piece_iter_open(struct tm_store_reader *rd, enum tm_piece_rows rows,
		       uint32_t from_minute, uint32_t to_minute, struct tm_piece_iter **out);
/* 1 with the next piece, 0 at the end, or an error */
int tm_piece_iter_next(struct tm_piece_iter *it, struct tm_piece *out);
int tm_piece_iter_next_search(struct tm_piece_iter *it, struct tm_search_piece *out);
void tm_piece_iter_close(struct tm_piece_iter *it);

/* the newest commit in the reader's snapshot */
uint64_t tm_store_reader_last_seq(const struct tm_store_reader *rd);

/* calls fn, commit by commit, with the span records of the commits in
 * [from_seq, to_seq] (as tm_store_on_commit() would have): for an analysis
 * that restarts, or that fell behind and dropped what it was handed. */
int tm_store_replay(struct tm_store_reader *rd, uint64_t from_seq, uint64_t to_seq,
		    tm_store_commit_fn fn, void *ctx);

/*---- tables of derived data (store_aux.c) ----
 *
 * The service map keeps rollups and per-trace profiles beside the spans.
 * They are written by one analysis thread in its own transactions (LMDB
 * serializes them with the span writer's), together with how far through
 * the commits the analysis got, so that after a crash it resumes exactly
 * where its last write ended.
 * Retention deletes the rows about minutes before the earliest span start
 * still stored, so their keys must begin with time: TM_AUX_ROLLUPS keys
 * with res[1] period[4] (big-endian; res 'm', 't', 'h' for periods of 1, 10
 * and 60 minutes since the epoch), TM_AUX_PROFILES keys with minute[4]. */

enum tm_aux_table { TM_AUX_ROLLUPS, TM_AUX_PROFILES };

struct tm_aux_txn;

int tm_store_aux_begin(struct tm_store *st, struct tm_aux_txn **out);
/* -ENOENT when absent; *val is valid until the next put or the end */
int tm_store_aux_get(struct tm_aux_txn *w, enum tm_aux_table t, const void *key, size_t klen,
		     const void **val, size_t *vlen);
int tm_store_aux_put(struct tm_aux_txn *w, enum tm_aux_table t, const void *key, size_t klen,
		     const void *val, size_t vlen);
/* removes a row; 0 also when there was none */
int tm_store_aux_del(struct tm_aux_txn *w, enum tm_aux_table t, const void *key, size_t klen);
/* commits, recording that every commit up to through_seq is analyzed */
int tm_store_aux_commit(struct tm_aux_txn *w, uint64_t through_seq);
void tm_store_aux_abort(struct tm_aux_txn *w);

/* how far the last tm_store_aux_commit() got (0: never) */
uint64_t tm_store_reader_analyzed_through(const struct tm_store_reader *rd);

/* iterates the keys of a table in [lo, hi) in key order */
struct tm_aux_iter;
int tm_aux_iter_open(struct tm_store_reader *rd, enum tm_aux_table t, const void *lo,
		     size_t lolen, const void *hi, size_t hilen, struct tm_aux_iter **out);
/* 1 with the next row, 0 at the end, or an error */
int tm_aux_iter_next(struct tm_aux_iter *it, const void **key, size_t *klen, const void **val,
		     size_t *vlen);
void tm_aux_iter_close(struct tm_aux_iter *it);

/*---- retention and room (store_retention.c, store_space.c) ----
 *
 * Old traces are deleted from the front of the store (oldest commit first)
 * in small steps, each one short write transaction, so that the span
 * writer's commits interleave with them.  A trace goes whole: with the
 * piece that made it old go its later pieces (docs/storage.md, "Retention").
 * The store's clock (commit times, and so ages) is the wall clock plus an
 * offset that tests may set. */

struct tm_retention_req {
	uint64_t cutoff_ns;   /* delete traces first stored before this (store clock); 0: none */
	int evict;            /* delete the oldest traces whatever their age */
	size_t max_pieces;    /* bound of one step; 0: 256 */
};

struct tm_retention_result {
	uint64_t traces, pieces, spans;
	uint64_t aux_rows;    /* service-map rows older than every stored span */
	int more;             /* the front still holds what the request deletes */
};

/* deletes one step's worth of old traces in one write transaction.  May be
 * called from any thread (steps are serialized with each other; LMDB
 * serializes them with tm_store_write).  Returns 0 or a negative errno. */
int tm_store_retention_step(struct tm_store *st, const struct tm_retention_req *req,
			    struct tm_retention_result *out);

/* what every step of this process deleted (counters; any thread) */
struct tm_retention_stats {
	uint64_t steps;
	uint64_t traces, pieces, spans, aux_rows;
	uint64_t evicted_traces;   /* of traces: deleted for room, not for age */
};
void tm_store_retention_stats(struct tm_store *st, struct tm_retention_stats *out);

/* the store's notion of now: wall clock plus offset_ns (for tests) */
void tm_store_set_clock_offset(struct tm_store *st, uint64_t offset_ns);
uint64_t tm_store_now(struct tm_store *st);

struct tm_store_space {
	uint64_t used_bytes;   /* pages in use by every table (free pages not counted) */
	uint64_t file_bytes;   /* pages the file has grown to (LMDB never shrinks it) */
	uint64_t map_bytes;    /* the map size: the store cannot grow past it */
};
int tm_store_space(struct tm_store *st, struct tm_store_space *out);

/* the watermark rule, a pure function: the store may use up to limit_bytes
 * (the smaller of max_bytes and what the disk allows beside the file while
 * leaving min_free_disk_bytes); above the high watermark (90% of it, or
 * 4 MiB below it but at most 25%, whichever is lower) old traces are
 * evicted down to the low one (as far again below). */
struct tm_space_input {
	uint64_t used_bytes, file_bytes;
	uint64_t max_bytes;             /* 0: no bound but the disk */
	uint64_t disk_free_bytes, min_free_disk_bytes;
};
struct tm_space_plan {
	uint64_t limit_bytes, high_bytes, low_bytes;
	int evict;        /* used above the high watermark */
	int low_disk;     /* the disk is below min_free_disk and the file would have to grow */
};
void tm_space_plan(const struct tm_space_input *in, struct tm_space_plan *out);

/* writes a compacted copy of the store in dir (mdb_env_copy2 with
 * MDB_CP_COMPACT) and puts it in place of the old file.  -EBUSY when a
 * process has the store open; a server started meanwhile waits for it.
 * before/after: the file's size. */
int tm_store_compact(const char *dir, uint64_t *before_bytes, uint64_t *after_bytes);

#endif
