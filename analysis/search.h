/* search.h - finding traces: span-level search (Jaeger's and Zipkin's
 * rules) and whole-trace summaries sorted by duration (slow traces).
 *
 * The semantics are those of docs/query.md.  Both read the search index of
 * storage/ (rows per trace per commit, keyed by minute) and never scan
 * beyond the asked window (plus the store's widest piece spread before it,
 * and TM_SEARCH_LATE_NS after it for whole-trace windows).
 * Search narrows candidates with the index (services, operations,
 * duration and start ranges, Bloom filters of attributes) and checks each
 * candidate on its spans, newest first, stopping as soon as `limit` traces
 * are certain.
 *
 * Threads: any; each call uses the caller's reader.  Errors: -ESRCH when
 * the query names a service the store has never seen (a mistyped name
 * deserves to be told, not an empty list), negative errno from the store,
 * -ENOMEM.  Memory: results and everything they
 * point to come from the caller's arena or the reader's snapshot; both
 * must outlive them. */
#ifndef TM_SEARCH_H
#define TM_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "store.h"

/* pieces of a trace that start this long after the window's end are not
 * looked at by whole-trace windows (Zipkin search, slow traces) */
#define TM_SEARCH_LATE_NS (3600ull * 1000000000ull)

enum tm_search_dialect {
	TM_SEARCH_JAEGER,   /* one span meets every condition; window on span start */
	TM_SEARCH_ZIPKIN,   /* each condition met by some span; window on trace start */
};

struct tm_search_tag {
	struct tm_str key;
	struct tm_str value;
	int bare;            /* Zipkin: a word without '=' */
};

struct tm_search_query {
	enum tm_search_dialect dialect;
	struct tm_str service;          /* empty: any (Jaeger requires one) */
	struct tm_str operation;        /* empty: any */
	struct tm_str remote_service;   /* Zipkin; empty: any */
	const struct tm_search_tag *tags;
	size_t n_tags;
	uint64_t min_duration_ns;       /* 0: no bound */
	uint64_t max_duration_ns;       /* UINT64_MAX: no bound */
	uint64_t start_ns, end_ns;      /* inclusive */
	size_t limit;
};

/* matching traces, newest first by trace start (ties: trace ID) */
struct tm_search_result {
	struct tm_trace *traces;
	size_t n;
	uint64_t candidates_checked;   /* how many traces were read to be sure */
};

int tm_search(struct tm_store_reader *rd, const struct tm_search_query *q,
	      struct tm_arena *arena, struct tm_search_result *out);

struct tm_slow_query {
	struct tm_str service;      /* empty: any */
	struct tm_str operation;    /* empty: any */
	uint64_t start_ns, end_ns;  /* trace start window, inclusive */
	size_t limit;
};

struct tm_trace_info {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint64_t start_ns, end_ns;
	uint64_t n_spans, n_errors;
	struct tm_str root_service, root_operation;
	struct tm_str *services;    /* sorted */
	size_t n_services;
};

/* traces sorted by duration, slowest first (ties: later start, trace ID) */
struct tm_slow_result {
	struct tm_trace_info *items;
	size_t n;
	uint64_t total;             /* every matching trace in the window */
};

int tm_slow_traces(struct tm_store_reader *rd, const struct tm_slow_query *q,
		   struct tm_arena *arena, struct tm_slow_result *out);

/* the same answer from the live service map's per-trace profiles and the
 * traces its pairer still holds: one row per trace instead of one per
 * piece (docs/storage.md).  With live NULL it is tm_slow_traces(). */
struct tm_smap;
int tm_slow_traces_live(struct tm_store_reader *rd, struct tm_smap *live,
			const struct tm_slow_query *q, struct tm_arena *arena,
			struct tm_slow_result *out);

#endif
