/* servicemap.h - the live service map: pairing spans into calls, per-minute
 * rollups of nodes and edges, per-trace critical-path profiles, and the
 * queries over them (docs/servicemap.md has the rules).
 *
 * The pairer is handed the span records of every commit (tm_store_on_commit)
 * and keeps each trace's records until the trace has been quiet for
 * `wait_ns`; then it pairs them, adds the calls to rollups in memory, and
 * writes those to the store every flush.  Each write records how far
 * through the commits it got: after a crash the pairer replays the commits
 * after that point from the store, so nothing is counted twice or lost.  A
 * span whose parent was paired earlier is paired against the stored trace.
 * When more records wait than `max_pending_spans`, the oldest traces are
 * paired early.  If the queue from the writer overflows, the pairer drops
 * it and replays those commits from the store.
 *
 * Threads: tm_smap_offer() from the writing thread (it only queues); every
 * other call from one analysis thread.  Queries (tm_smap_query,
 * tm_smap_bottlenecks) from any thread with their own reader.
 * Errors: negative errno.  Memory: the pairer owns its state; query results
 * come from the caller's arena and reader. */
#ifndef TM_SERVICEMAP_H
#define TM_SERVICEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "histogram.h"
#include "store.h"

struct tm_smap_options {
	uint64_t wait_ns;            /* a trace quiet this long is paired (10 s) */
	uint64_t max_age_ns;         /* ...and one older than this anyway (60 s) */
	size_t max_pending_spans;    /* beyond it the oldest traces are paired early */
	size_t max_queue_spans;      /* beyond it the queue is dropped and replayed */
	uint64_t flush_ns;           /* how often rollups are written (1 s) */
};

struct tm_smap;

int tm_smap_new(struct tm_store *st, const struct tm_smap_options *opt, struct tm_smap **out);
void tm_smap_free(struct tm_smap *m);

/* a tm_store_commit_fn: queues the records of one commit */
void tm_smap_offer(void *smap, uint64_t seq, const struct tm_span_rec *recs, size_t n);

/* replays the commits the store holds beyond the last flush */
int tm_smap_recover(struct tm_smap *m);

/* one round of work at wall time now_ns: takes the queue, pairs the traces
 * that are due, and writes the rollups when a flush is due (or `flush`). */
int tm_smap_step(struct tm_smap *m, uint64_t now_ns, int flush);

/* a trace the pairer still holds (its spans are stored, not yet paired) */
struct tm_pending_trace {
	const uint8_t *trace_id;
	const struct tm_span_rec *recs;   /* its records held */
	size_t n;
	int partial;      /* some of its records were paired before (not in recs) */
};

/* calls fn for every trace the pairer holds, while the pairer waits; fn
 * must be quick and must not call into the pairer.  A non-zero return of
 * fn stops the walk and is returned. */
typedef int (*tm_smap_pending_fn)(void *ctx, const struct tm_pending_trace *t);
/* and for every profile row written lately (the store may hold it too:
 * rows up to the snapshot's PROFILE_MARK are there) */
typedef int (*tm_smap_row_fn)(void *ctx, const void *key, size_t klen, const void *val,
			      size_t vlen);
int tm_smap_pending(struct tm_smap *m, tm_smap_pending_fn fn, tm_smap_row_fn row_fn,
		    void *ctx);

struct tm_smap_stats {
	uint64_t pending_traces, pending_spans;
	uint64_t paired_traces, calls, unpaired_spans;
	uint64_t retracted_calls;   /* taken back when late spans changed a pairing */
	uint64_t stored_reads, early_pairings, queue_overflows;
	uint64_t analyzed_through;
};
void tm_smap_get_stats(struct tm_smap *m, struct tm_smap_stats *out);

/*---- queries ----*/

enum tm_smap_node_kind {
	TM_SMAP_SERVICE,
	TM_SMAP_DATABASE,
	TM_SMAP_MESSAGING,
	TM_SMAP_EXTERNAL,
	TM_SMAP_USER,
};

const char *tm_smap_kind_name(enum tm_smap_node_kind k);

struct tm_smap_stat {
	uint64_t calls, errors, http4xx, http5xx, throttled;
	struct tm_hist *hist;       /* latencies, ns; NULL with percentiles_only */
	uint64_t p50_ns, p90_ns, p99_ns;   /* tm_hist_percentile() of them */
};

struct tm_smap_node {
	struct tm_str id;           /* "svc", "svc:op", a peer name, "user" */
	struct tm_str service;      /* the service of an operation node */
	struct tm_str operation;
	enum tm_smap_node_kind kind;
	struct tm_smap_stat stat;   /* calls = requests */
};

struct tm_smap_edge {
	size_t source, target;      /* indexes into nodes */
	struct tm_smap_stat stat;
};

struct tm_smap_map {
	struct tm_smap_node *nodes;   /* sorted by id */
	size_t n_nodes;
	struct tm_smap_edge *edges;   /* sorted by source id, then target id */
	size_t n_edges;
	uint64_t start_ns, end_ns;    /* the whole minutes it covers */
};

struct tm_smap_query {
	uint64_t start_ns, end_ns;
	int operation_level;
	struct tm_str focus;          /* empty: the whole map */
	unsigned hops;
};

int tm_smap_query(struct tm_store_reader *rd, const struct tm_smap_query *q,
		  struct tm_arena *arena, struct tm_smap_map *out);

/* merged rollups kept between queries of one store (smap_cache.c):
 * max_bytes 0 takes the default (64 MB).  Threads: any. */
struct tm_smap_cache;
int tm_smap_cache_new(size_t max_bytes, struct tm_smap_cache **out);
void tm_smap_cache_free(struct tm_smap_cache *c);

struct tm_smap_cache_stats {
	uint64_t hits, misses, evictions;   /* runs of blocks looked up */
	uint64_t answer_hits;               /* whole answers found */
	uint64_t bytes;                     /* held now */
};
void tm_smap_cache_get_stats(struct tm_smap_cache *c, struct tm_smap_cache_stats *out);

/* the cache of the pairer's store (owned by the pairer); NULL for NULL */
struct tm_smap_cache *tm_smap_cache_of(struct tm_smap *m);

/* what a query may use, and what it may leave out */
struct tm_smap_query_opts {
	int percentiles_only;         /* stat.hist NULL: p50/p90/p99 are all it wants */
	struct tm_smap_cache *cache;  /* NULL: none; else of the reader's store */
};

/* tm_smap_query() with options (NULL: as tm_smap_query) */
int tm_smap_query_with(struct tm_store_reader *rd, const struct tm_smap_query *q,
		       const struct tm_smap_query_opts *opts, struct tm_arena *arena,
		       struct tm_smap_map *out);

struct tm_bottleneck_query {
	struct tm_str service, operation;
	uint64_t start_ns, end_ns;
	uint64_t threshold_ns;        /* 0: the p90 of trace durations */
};

struct tm_bottleneck_row {
	struct tm_str service, operation;
	double slow_mean_ns, typical_mean_ns, excess_ns, share;
	uint8_t (*examples)[TM_TRACE_ID_LEN];
	size_t n_examples;
};

struct tm_bottlenecks {
	uint64_t slow_threshold_ns;
	uint64_t slow_traces, typical_traces;
	struct tm_bottleneck_row *rows;   /* by excess, descending */
	size_t n_rows;
};

/* -ESRCH when the service was never seen */
int tm_smap_bottlenecks(struct tm_store_reader *rd, const struct tm_bottleneck_query *q,
			struct tm_arena *arena, struct tm_bottlenecks *out);

/*---- totals since start, for self-metrics (smap_totals.c) ----
 *
 * Every call the pairer counts on a service edge is also added to a total
 * per (caller, callee, connection type) that only ever grows: the
 * Prometheus counters of Tempo's service graphs are made from it.  A call
 * taken back later (late spans changed a pairing) stays counted there; the
 * take-back is counted in tm_smap_stats.retracted_calls, and the corrected
 * call is added on its own edge. */

#define TM_SMAP_SECONDS_BUCKETS 8   /* upper bounds 0.1 s x 2^n, n = 0..7 (Tempo's) */

/* Tempo's connection_type */
enum tm_smap_conn {
	TM_SMAP_CONN_NONE = 0,        /* "": client/server, or parent/child */
	TM_SMAP_CONN_MESSAGING = 1,   /* "messaging_system" */
	TM_SMAP_CONN_DATABASE = 2,    /* "database" */
	TM_SMAP_CONN_VIRTUAL = 3,     /* "virtual_node": one side sent no span */
};

const char *tm_smap_conn_name(enum tm_smap_conn c);

/* the upper bound of bucket i in ns (i < TM_SMAP_SECONDS_BUCKETS) */
uint64_t tm_smap_seconds_bound_ns(unsigned i);

struct tm_smap_seconds {
	uint64_t counts[TM_SMAP_SECONDS_BUCKETS + 1];   /* per bucket, the last above all */
	uint64_t sum_ns;
};

struct tm_smap_edge_total {
	uint32_t client, server;     /* node ids: a service's or a peer's name id; 0 user */
	uint8_t conn;                /* enum tm_smap_conn */
	uint64_t requests, failed;
	struct tm_smap_seconds client_s;   /* the caller span's duration */
	struct tm_smap_seconds server_s;   /* the callee span's duration */
};

/* a copy of every edge's totals, in a malloc'd array the caller frees;
 * *dropped counts calls on edges beyond the table's bound.  From any
 * thread. */
int tm_smap_edge_totals(struct tm_smap *m, struct tm_smap_edge_total **out, size_t *n,
			uint64_t *dropped);

/* the node name an edge's id stands for ("user" for 0), valid as long as
 * the reader */
int tm_smap_node_name(struct tm_store_reader *rd, uint32_t id, struct tm_str *out);

#endif
