/* trace_tree.h - the parent/child structure of one trace.
 *
 * Spans arrive in any order and a trace may be incomplete (a parent never
 * sent), so a span whose parent is not in the trace becomes a root of its
 * own.  Zipkin-style shared spans (same span ID on both sides of a call)
 * keep both copies.  Threads: pure.  Errors: -ENOMEM.
 * Memory: arrays come from the caller's arena and index into trace->spans,
 * which must outlive the tree. */
#ifndef TM_TRACE_TREE_H
#define TM_TRACE_TREE_H

#include <stddef.h>

#include "arena.h"
#include "store.h"

struct tm_trace_tree {
	size_t n;
	size_t *order;        /* depth-first order, children by start time */
	unsigned *depth;      /* depth[i] of span i (roots are 0) */
	size_t *parent;       /* parent[i], or SIZE_MAX for a root */
	size_t n_roots;
};

int tm_trace_tree_build(const struct tm_trace *trace, struct tm_arena *arena,
			struct tm_trace_tree *out);

#endif
