/* critical_path.c - self times and the critical path of a trace in
 * O(n log n): every span's children sorted once by end time, descending,
 * serve both the union of child intervals (a sweep from the right) and the
 * backward walk of the path (a cursor that only moves forward, as t only
 * decreases). */
#include "critical_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cp_child {
	uint64_t start_ns;
	uint64_t end_ns;      /* >= start_ns */
	size_t span;
	int is_follows_from;
};

/* children of span p are list[first[p]] .. list[first[p + 1] - 1],
 * by end descending, then start ascending, then index */
struct cp_children {
	size_t *first;        /* n + 1 entries */
	struct cp_child *list;
};

/* a span being walked: the path is inside [lo_ns, t_ns), t_ns going down */
struct cp_frame {
	size_t span;
	uint64_t lo_ns;
	uint64_t t_ns;
	size_t cursor;        /* next candidate child in list */
};

static uint64_t span_end(const struct tm_span *s)
{
	return s->end_ns < s->start_ns ? s->start_ns : s->end_ns;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int tm_cp_is_follows_from(const struct tm_span *span)
{
	return tm_span_follows_from(span);
}

/*---- children, grouped by parent and sorted by end ----*/

static int child_cmp(const void *a, const void *b)
{
	const struct cp_child *x = a, *y = b;
	if (x->end_ns != y->end_ns)
		return x->end_ns > y->end_ns ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->span < y->span ? -1 : x->span > y->span;
}

static int build_children(const struct tm_trace *trace, const size_t *parent,
			  struct tm_arena *arena, struct cp_children *out)
{
	size_t n = trace->n_spans;
	out->first = tm_arena_zalloc(arena, (n + 1) * sizeof(size_t));
	out->list = tm_arena_alloc(arena, n * sizeof(struct cp_child));
	if (!out->first || !out->list)
		return -ENOMEM;
	/* counting sort by parent: first[p + 1] counts, then prefix sums */
	for (size_t i = 0; i < n; i++)
		if (parent[i] != SIZE_MAX)
			out->first[parent[i] + 1]++;
	for (size_t p = 0; p < n; p++)
		out->first[p + 1] += out->first[p];
	size_t *fill = tm_arena_dup(arena, out->first, n * sizeof(size_t));
	if (!fill)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (parent[i] == SIZE_MAX)
			continue;
		const struct tm_span *s = &trace->spans[i];
		out->list[fill[parent[i]]++] = (struct cp_child){
			s->start_ns, span_end(s), i, tm_cp_is_follows_from(s)
		};
	}
	for (size_t p = 0; p < n; p++) {
		size_t k = out->first[p + 1] - out->first[p];
		if (k > 1)
			qsort(&out->list[out->first[p]], k, sizeof(struct cp_child), child_cmp);
	}
	return 0;
}

/*---- self time ----*/

/* length of the union of the children's intervals inside [lo, hi]: blocks
 * are closed from the right, as the children come by end descending */
static uint64_t children_union_ns(const struct cp_child *c, size_t k, uint64_t lo, uint64_t hi)
{
	uint64_t covered = 0, block_lo = 0, block_hi = 0;
	int has_block = 0;
	for (size_t i = 0; i < k; i++) {
		uint64_t s = max_u64(c[i].start_ns, lo), e = min_u64(c[i].end_ns, hi);
		if (s >= e)
			continue;
		if (has_block && e >= block_lo) {
			block_lo = min_u64(block_lo, s);
			continue;
		}
		covered += block_hi - block_lo;
		block_lo = s;
		block_hi = e;
		has_block = 1;
	}
	return covered + (block_hi - block_lo);
}

static void compute_self_times(const struct tm_trace *trace, const struct cp_children *ch,
			       uint64_t *self_ns)
{
	for (size_t p = 0; p < trace->n_spans; p++) {
		const struct tm_span *s = &trace->spans[p];
		uint64_t end = span_end(s);
		size_t k = ch->first[p + 1] - ch->first[p];
		self_ns[p] = end - s->start_ns -
			     children_union_ns(&ch->list[ch->first[p]], k, s->start_ns, end);
	}
}

/*---- critical path ----*/

/* the root that ends last; ties: earliest start, then lowest index */
static size_t pick_root(const struct tm_trace *trace, const size_t *parent)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < trace->n_spans; i++) {
		if (parent[i] != SIZE_MAX)
			continue;
		const struct tm_span *s = &trace->spans[i];
		if (best == SIZE_MAX)
			best = i;
		const struct tm_span *b = &trace->spans[best];
		if (span_end(s) > span_end(b) ||
		    (span_end(s) == span_end(b) && s->start_ns < b->start_ns))
			best = i;
	}
	return best;
}

/* the child that takes the path at f->t_ns, or NULL.  A child passed over
 * can never qualify later: t only decreases and lo is fixed. */
static const struct cp_child *next_child_on_path(const struct cp_children *ch,
						 struct cp_frame *f)
{
	size_t end = ch->first[f->span + 1];
	while (f->cursor < end) {
		const struct cp_child *c = &ch->list[f->cursor++];
		if (c->end_ns <= f->lo_ns) {
			f->cursor = end;   /* every later child ends even earlier */
			return NULL;
		}
		if (!c->is_follows_from &&
		    max_u64(c->start_ns, f->lo_ns) < min_u64(c->end_ns, f->t_ns))
			return c;
	}
	return NULL;
}

struct cp_walk {
	struct cp_frame *stack;
	size_t top;
	struct tm_cp_segment *seg;   /* filled from the back: the walk goes back in time */
	size_t n_free;
};

static void emit(struct cp_walk *w, size_t span, uint64_t start_ns, uint64_t end_ns)
{
	if (start_ns < end_ns)
		w->seg[--w->n_free] = (struct tm_cp_segment){ span, start_ns, end_ns };
}

/* one step of the walk: hand the path to the next child, or finish the span */
static void walk_step(const struct cp_children *ch, struct cp_walk *w)
{
	struct cp_frame *f = &w->stack[w->top - 1];
	const struct cp_child *c = next_child_on_path(ch, f);
	if (!c) {
		emit(w, f->span, f->lo_ns, f->t_ns);
		w->top--;
		return;
	}
	uint64_t start = max_u64(c->start_ns, f->lo_ns), end = min_u64(c->end_ns, f->t_ns);
	emit(w, f->span, end, f->t_ns);
	f->t_ns = start;   /* where the parent resumes once the child is walked */
	w->stack[w->top++] = (struct cp_frame){ c->span, start, end, ch->first[c->span] };
}

/* each span is entered at most once, and emits at most one segment more
 * than the children it hands the path to: 2n segments are enough */
static int walk_critical_path(const struct tm_trace *trace, const struct cp_children *ch,
			      size_t root, struct tm_arena *arena, struct tm_cp_analysis *out)
{
	size_t n = trace->n_spans, cap = 2 * n;
	struct cp_walk w = { tm_arena_alloc(arena, n * sizeof(struct cp_frame)), 0,
			     tm_arena_alloc(arena, cap * sizeof(struct tm_cp_segment)), cap };
	if (!w.stack || !w.seg)
		return -ENOMEM;
	const struct tm_span *r = &trace->spans[root];
	w.stack[w.top++] = (struct cp_frame){ root, r->start_ns, span_end(r), ch->first[root] };
	while (w.top)
		walk_step(ch, &w);
	out->segments = w.seg + w.n_free;
	out->n_segments = cap - w.n_free;
	for (size_t i = 0; i < out->n_segments; i++) {
		const struct tm_cp_segment *s = &out->segments[i];
		out->path_ns[s->span] += s->end_ns - s->start_ns;
	}
	return 0;
}

int tm_cp_analyze(const struct tm_trace *trace, const struct tm_trace_tree *tree,
		  struct tm_arena *arena, struct tm_cp_analysis *out)
{
	size_t n = trace->n_spans;
	struct tm_trace_tree own_tree;
	struct cp_children ch;
	int rc;

	memset(out, 0, sizeof(*out));
	out->root = SIZE_MAX;
	if (n == 0)
		return 0;
	if (!tree) {
		if ((rc = tm_trace_tree_build(trace, arena, &own_tree)) < 0)
			return rc;
		tree = &own_tree;
	}
	if (tree->n != n)
		return -EINVAL;
	out->self_ns = tm_arena_alloc(arena, n * sizeof(uint64_t));
	out->path_ns = tm_arena_zalloc(arena, n * sizeof(uint64_t));
	if (!out->self_ns || !out->path_ns)
		return -ENOMEM;
	if ((rc = build_children(trace, tree->parent, arena, &ch)) < 0)
		return rc;
	compute_self_times(trace, &ch, out->self_ns);
	out->root = pick_root(trace, tree->parent);
	if (out->root == SIZE_MAX)   /* every span in a parent cycle */
		return 0;
	return walk_critical_path(trace, &ch, out->root, arena, out);
}
