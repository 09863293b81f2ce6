/* trace_tree.c - parent/child structure of a trace, in O(n log n). */
#include "trace_tree.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct id_index {
	const uint8_t *span_id;
	size_t index;
};

static int id_index_cmp(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;
	int c = memcmp(x->span_id, y->span_id, TM_SPAN_ID_LEN);
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* the first span (in start order) with this span ID, other than self */
static size_t find_span(const struct id_index *ids, size_t n, const uint8_t *span_id,
			size_t self)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(ids[mid].span_id, span_id, TM_SPAN_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !memcmp(ids[lo].span_id, span_id, TM_SPAN_ID_LEN); lo++)
		if (ids[lo].index != self)
			return ids[lo].index;
	return SIZE_MAX;
}

static void link_parents(const struct tm_trace *t, const struct id_index *ids, size_t *parent)
{
	for (size_t i = 0; i < t->n_spans; i++) {
		const struct tm_span *s = &t->spans[i];
		parent[i] = s->has_parent ? find_span(ids, t->n_spans, s->parent_span_id, i)
					  : SIZE_MAX;
		/* a cycle of two (corrupt or odd input) must not hide both spans */
		if (parent[i] != SIZE_MAX && parent[i] < i && parent[parent[i]] == i)
			parent[i] = SIZE_MAX;
	}
}

/* iterative DFS: spans are sorted by start time, so children come out in order */
static void walk(struct tm_trace_tree *tree, const size_t *first_child, const size_t *next_sibling,
		 size_t *stack)
{
	size_t n_out = 0;
	for (size_t root = 0; root < tree->n; root++) {
		if (tree->parent[root] != SIZE_MAX)
			continue;
		tree->n_roots++;
		size_t top = 0;
		stack[top++] = root;
		tree->depth[root] = 0;
		while (top) {
			size_t i = stack[--top];
			tree->order[n_out++] = i;
			/* push children in reverse so the earliest pops first */
			size_t start = top;
			for (size_t c = first_child[i]; c != SIZE_MAX; c = next_sibling[c]) {
				tree->depth[c] = tree->depth[i] + 1;
				stack[top++] = c;
			}
			for (size_t a = start, b = top; a + 1 < b; a++, b--) {
				size_t tmp = stack[a];
				stack[a] = stack[b - 1];
				stack[b - 1] = tmp;
			}
		}
	}
	/* spans in a parent cycle were never reached (depth still unset):
	 * show them as roots rather than lose them */
	for (size_t i = 0; i < tree->n && n_out < tree->n; i++) {
		if (tree->depth[i] == UINT32_MAX) {
			tree->order[n_out++] = i;
			tree->depth[i] = 0;
		}
	}
}

int tm_trace_tree_build(const struct tm_trace *t, struct tm_arena *arena,
			struct tm_trace_tree *tree)
{
	size_t n = t->n_spans;
	memset(tree, 0, sizeof(*tree));
	tree->n = n;
	if (n == 0)
		return 0;
	tree->order = tm_arena_alloc(arena, n * sizeof(size_t));
	tree->depth = tm_arena_alloc(arena, n * sizeof(unsigned));
	tree->parent = tm_arena_alloc(arena, n * sizeof(size_t));
	struct id_index *ids = malloc(n * sizeof(*ids));
	size_t *scratch = malloc(3 * n * sizeof(size_t));
	if (!tree->order || !tree->depth || !tree->parent || !ids || !scratch) {
		free(ids);
		free(scratch);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ids[i] = (struct id_index){ t->spans[i].span_id, i };
	qsort(ids, n, sizeof(*ids), id_index_cmp);
	link_parents(t, ids, tree->parent);
	size_t *first_child = scratch, *next_sibling = scratch + n, *stack = scratch + 2 * n;
	for (size_t i = 0; i < n; i++) {
		first_child[i] = next_sibling[i] = SIZE_MAX;
		tree->depth[i] = UINT32_MAX;
	}
	/* build child lists back to front so each list is in start order */
	for (size_t i = n; i-- > 0;) {
		size_t p = tree->parent[i];
		if (p != SIZE_MAX) {
			next_sibling[i] = first_child[p];
			first_child[p] = i;
		}
	}
	walk(tree, first_child, next_sibling, stack);
	free(ids);
	free(scratch);
	return 0;
}
