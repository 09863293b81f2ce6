/* critical_path.h - self time and critical path of one trace.
 *
 * Self time of a span: its duration minus the length of the union of its
 * children's intervals, each clipped to the span's own interval.  Every
 * child counts here, FOLLOWS_FROM ones too: the span was not working on its
 * own while any child ran inside it.
 *
 * Critical path: the chain of work that set the trace's end-to-end latency
 * (Uber's CRISP, as the Jaeger UI draws it).  It starts at the root that
 * ends last (ties: the earliest start, then the first in the trace) and
 * walks back in time from its end with a cursor t.  At t, a span hands the
 * path to the child that ran latest before t: the one of largest end among
 * children that started before t, its interval clipped to [parent start, t].
 * That child is walked the same way inside its clipped interval, then the
 * parent goes on from the child's start; the gaps are the parent's own.
 * Never on the path: FOLLOWS_FROM children (tm_cp_is_follows_from), and
 * children that start at or after their parent's (clipped) end.  Children
 * that overrun the parent are cut at its end, those starting before it at
 * its start.  Unlike the Jaeger UI, which drops a child that ends after the
 * start of the child found before it, a child still running at t takes the
 * path up to t: the parent was waiting on it then, not working.
 * The segments cover the root's interval exactly once, in time order.
 *
 * A span whose end is before its start is taken as lasting 0 ns.
 * Runs in O(n log n): one sort of each span's children by end time.
 *
 * Threads: pure.  Errors: -ENOMEM (arena exhausted), -EINVAL (a tree of
 * another size than the trace).
 * Memory:  results and scratch come from the caller's arena and index into
 *          trace->spans; nothing is kept after the call. */
#ifndef TM_CRITICAL_PATH_H
#define TM_CRITICAL_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "store.h"
#include "trace_tree.h"

/* one piece of the critical path: span `span` was on it in [start_ns, end_ns). */
struct tm_cp_segment {
	size_t span;          /* index into trace->spans */
	uint64_t start_ns;
	uint64_t end_ns;
};

struct tm_cp_analysis {
	size_t root;                     /* where the path starts; SIZE_MAX if no span is a root */
	struct tm_cp_segment *segments;  /* in time order, none empty, no overlap or gap;
					  * none at all for a 0 ns root or no root */
	size_t n_segments;
	uint64_t *self_ns;               /* [trace->n_spans]: self time of each span */
	uint64_t *path_ns;               /* [trace->n_spans]: time each span is on the path */
};

/* computes self times and the critical path of trace.  tree is
 * tm_trace_tree_build()'s result for this trace, or NULL to build it here.
 * Returns 0, -ENOMEM or -EINVAL (see above); *out is then unusable. */
int tm_cp_analyze(const struct tm_trace *trace, const struct tm_trace_tree *tree,
		  struct tm_arena *arena, struct tm_cp_analysis *out);

/* 1 when span refers to its parent as FOLLOWS_FROM: it has a link to its
 * parent span (same trace) whose opentracing.ref_type is not "child_of".
 * That is how ingest_jaeger.c stores a FOLLOWS_FROM reference that is also
 * the parent, and the rule trace_json.c uses to show it to the Jaeger UI.
 * Zipkin, X-Ray and OTLP spans never are, except OTLP spans linking their
 * own parent. */
int tm_cp_is_follows_from(const struct tm_span *span);

#endif
