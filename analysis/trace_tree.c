/* trace_tree.c - parent/child structure of a trace in O(n).
 *
 * A span's parent is the first span in trace order (start order, store.h)
 * other than itself whose span ID is the parent ID: for a Zipkin shared
 * span, whose server record names its own ID as parent, that is the client
 * record.  So a lookup needs no more than the two lowest indexes holding an
 * ID, and those are what an open-addressing table (linear probing, at most
 * half full) keeps per ID.  Repeated IDs share one slot, so a trace whose
 * spans all carry one ID costs no more than any other.
 *
 * The hash is seeded afresh on every build: span IDs come from clients, and
 * with a fixed hash a trace of IDs chosen to collide would make building
 * quadratic.  The seed changes only where IDs sit in the table, never the
 * result. */
#include "trace_tree.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

_Static_assert(TM_SPAN_ID_LEN == sizeof(uint64_t), "span IDs are read as one uint64_t");

struct id_slot {
	uint64_t key;    /* the span ID's bytes */
	size_t first;    /* lowest span index with this ID; SIZE_MAX: slot empty */
	size_t second;   /* the next lowest, or SIZE_MAX */
};

struct id_table {
	struct id_slot *slots;
	size_t mask;     /* slots - 1, a power of two minus one */
	uint64_t seed;
};

/*---- span ID table ----*/

static uint64_t id_key(const uint8_t id[TM_SPAN_ID_LEN])
{
	uint64_t key;
	memcpy(&key, id, sizeof(key));
	return key;
}

/* MurmurHash3's 64-bit finalizer on the seeded key: every input bit
 * reaches the low bits the mask keeps */
static size_t id_hash(const struct id_table *t, uint64_t key)
{
	uint64_t h = key ^ t->seed;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (size_t)h & t->mask;
}

/* unpredictable to whoever sends the spans; no secret needed, only that
 * it is not known in advance */
static uint64_t id_seed(const void *slots)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
	return s ^ (uint64_t)(uintptr_t)slots ^ ((uint64_t)(uintptr_t)&ts << 17);
}

static int id_table_init(struct id_table *t, size_t n, struct tm_arena *arena)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	t->slots = tm_arena_alloc(arena, cap * sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		t->slots[i].first = SIZE_MAX;
	t->mask = cap - 1;
	t->seed = id_seed(t->slots);
	return 0;
}

/* the slot holding key, or the empty slot where it belongs */
static struct id_slot *id_table_slot(const struct id_table *t, uint64_t key)
{
	size_t i = id_hash(t, key);
	while (t->slots[i].first != SIZE_MAX && t->slots[i].key != key)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

/* spans go in in index order, so the first two to arrive are the lowest */
static void id_table_fill(struct id_table *t, const struct tm_trace *trace)
{
	for (size_t i = 0; i < trace->n_spans; i++) {
		uint64_t key = id_key(trace->spans[i].span_id);
		struct id_slot *s = id_table_slot(t, key);
		if (s->first == SIZE_MAX)
			*s = (struct id_slot){ key, i, SIZE_MAX };
		else if (s->second == SIZE_MAX)
			s->second = i;
	}
}

/* the first span (in start order) with this span ID, other than self */
static size_t find_span(const struct id_table *t, const uint8_t *span_id, size_t self)
{
	const struct id_slot *s = id_table_slot(t, id_key(span_id));
	return s->first != self ? s->first : s->second;
}

/*---- tree ----*/

static int is_shared_server_side(const struct tm_span *s)
{
	return s->has_parent && !memcmp(s->parent_span_id, s->span_id, TM_SPAN_ID_LEN);
}

/* a child of a Zipkin shared span belongs to its server record (the one
 * whose parent is its own ID), as in Zipkin, not to the client record */
static size_t parent_of(const struct tm_trace *t, const struct id_table *ids, size_t i)
{
	const struct tm_span *s = &t->spans[i];
	if (!s->has_parent)
		return SIZE_MAX;
	size_t p = find_span(ids, s->parent_span_id, i);
	if (p == SIZE_MAX || is_shared_server_side(s))
		return p;
	const struct id_slot *slot = id_table_slot(ids, id_key(s->parent_span_id));
	size_t other = slot->first == p ? slot->second : slot->first;
	if (other != SIZE_MAX && other != i && is_shared_server_side(&t->spans[other]) &&
	    !is_shared_server_side(&t->spans[p]))
		return other;
	return p;
}

static void link_parents(const struct tm_trace *t, const struct id_table *ids, size_t *parent)
{
	for (size_t i = 0; i < t->n_spans; i++) {
		parent[i] = parent_of(t, ids, i);
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
	struct id_table ids;
	memset(tree, 0, sizeof(*tree));
	tree->n = n;
	if (n == 0)
		return 0;
	tree->order = tm_arena_alloc(arena, n * sizeof(size_t));
	tree->depth = tm_arena_alloc(arena, n * sizeof(unsigned));
	tree->parent = tm_arena_alloc(arena, n * sizeof(size_t));
	size_t *scratch = tm_arena_alloc(arena, 3 * n * sizeof(size_t));
	if (!tree->order || !tree->depth || !tree->parent || !scratch ||
	    id_table_init(&ids, n, arena) < 0)
		return -ENOMEM;
	id_table_fill(&ids, t);
	link_parents(t, &ids, tree->parent);
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
	return 0;
}
