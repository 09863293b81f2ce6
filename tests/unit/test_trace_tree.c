/* test_trace_tree.c - the parent/child structure of hand-built traces
 * (Zipkin shared spans, orphans, parent cycles, repeated span IDs), random
 * traces against the definition computed naively, chains and cycles
 * 100,000 long, and the time 10,000- and 100,000-span traces take
 * (printed, not checked). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "critical_path.h"
#include "trace_tree.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NONE SIZE_MAX

static const uint8_t TRACE_ID[TM_TRACE_ID_LEN] = { 0x7e, 1, 2, 3 };

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return p;
}

/*---- building traces ----*/

/* one span: parent 0 means none; a parent ID no span has makes an orphan */
struct span_spec {
	uint64_t id, parent;
};

static void put_id(uint8_t out[TM_SPAN_ID_LEN], uint64_t id)
{
	for (int i = TM_SPAN_ID_LEN - 1; i >= 0; i--, id >>= 8)
		out[i] = (uint8_t)id;
}

/* specs are in start order, as a trace read from the store is */
static void make_trace(const struct span_spec *specs, size_t n, struct tm_arena *a,
		       struct tm_trace *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->trace_id, TRACE_ID, TM_TRACE_ID_LEN);
	t->spans = must(tm_arena_zalloc(a, (n ? n : 1) * sizeof(struct tm_span)));
	t->n_spans = n;
	for (size_t i = 0; i < n; i++) {
		struct tm_span *s = &t->spans[i];
		memcpy(s->trace_id, TRACE_ID, TM_TRACE_ID_LEN);
		put_id(s->span_id, specs[i].id);
		if (specs[i].parent) {
			s->has_parent = 1;
			put_id(s->parent_span_id, specs[i].parent);
		}
		s->start_ns = 1000 * (uint64_t)i;
		s->end_ns = s->start_ns + 500;
	}
}

/*---- hand-worked trees ----*/

struct expect {
	const char *name;
	const size_t *parent, *order;
	const unsigned *depth;
	size_t n_roots;
};

static void check_tree(const struct tm_trace_tree *tree, size_t n, const struct expect *e)
{
	int ok = tree->n == n && tree->n_roots == e->n_roots;
	for (size_t i = 0; ok && i < n; i++)
		ok = tree->parent[i] == e->parent[i] && tree->order[i] == e->order[i] &&
		     tree->depth[i] == e->depth[i];
	if (!ok) {
		fprintf(stderr, "%s: %zu roots; span: parent depth | order\n", e->name,
			tree->n_roots);
		for (size_t i = 0; i < tree->n; i++)
			fprintf(stderr, "  %zu: %jd %u | %zu\n", i,
				tree->parent[i] == NONE ? -1 : (intmax_t)tree->parent[i],
				tree->depth[i], tree->order[i]);
	}
	CHECK(ok);
}

static void check_case(const struct span_spec *specs, size_t n, const struct expect *e)
{
	struct tm_arena arena;
	struct tm_trace t;
	struct tm_trace_tree tree;
	tm_arena_init(&arena, 0);
	make_trace(specs, n, &arena, &t);
	int rc = tm_trace_tree_build(&t, &arena, &tree);
	CHECK_INT_EQ(rc, 0);
	if (rc == 0)
		check_tree(&tree, n, e);
	tm_arena_clear(&arena);
}

#define CASE(specs, parent, depth, order, n_roots) \
	check_case(specs, N(specs), &(struct expect){ #specs, parent, order, depth, n_roots })

/* depth first, children in start order whatever order their IDs are in */
static void test_basic(void)
{
	static const struct span_spec basic[] = {
		{ 10, 0 }, { 2, 10 }, { 30, 2 }, { 4, 10 }, { 1, 2 },
	};
	static const size_t parent[] = { NONE, 0, 1, 0, 1 };
	static const unsigned depth[] = { 0, 1, 2, 1, 2 };
	static const size_t order[] = { 0, 1, 2, 4, 3 };
	CASE(basic, parent, depth, order, 1);
}

/* parent 99 never arrived: its child is a root, with its own subtree */
static void test_orphans(void)
{
	static const struct span_spec orphans[] = { { 1, 0 }, { 2, 99 }, { 3, 2 }, { 4, 1 } };
	static const size_t parent[] = { NONE, NONE, 1, 0 };
	static const unsigned depth[] = { 0, 0, 1, 1 };
	static const size_t order[] = { 0, 3, 1, 2 };
	CASE(orphans, parent, depth, order, 2);
}

/* Zipkin shared span: client and server records both have ID 2, and the
 * server record names its own ID as parent (ingest_zipkin.c).  It hangs
 * under the other record; a child naming 2 belongs to the server record,
 * as in Zipkin. */
static void test_shared_span(void)
{
	static const struct span_spec shared[] = { { 1, 0 }, { 2, 1 }, { 2, 2 }, { 3, 2 } };
	static const size_t parent[] = { NONE, 0, 1, 2 };
	static const unsigned depth[] = { 0, 1, 2, 3 };
	static const size_t order[] = { 0, 1, 2, 3 };
	CASE(shared, parent, depth, order, 1);

	/* clock skew: the server record starts before the client record */
	static const struct span_spec skewed[] = { { 1, 0 }, { 2, 2 }, { 2, 1 }, { 3, 2 } };
	static const size_t parent2[] = { NONE, 2, 0, 1 };
	static const unsigned depth2[] = { 0, 2, 1, 3 };
	static const size_t order2[] = { 0, 2, 1, 3 };
	CASE(skewed, parent2, depth2, order2, 1);
}

/* a span naming itself as parent, without a twin record, is a root */
static void test_self_parent(void)
{
	static const struct span_spec self[] = { { 1, 1 }, { 2, 1 }, { 3, 3 } };
	static const size_t parent[] = { NONE, 0, NONE };
	static const unsigned depth[] = { 0, 1, 0 };
	static const size_t order[] = { 0, 1, 2 };
	CASE(self, parent, depth, order, 2);
}

/* 1 and 2 are each other's parent: the later one becomes the root */
static void test_two_cycle(void)
{
	static const struct span_spec two[] = { { 1, 2 }, { 2, 1 }, { 3, 1 } };
	static const size_t parent[] = { 1, NONE, 0 };
	static const unsigned depth[] = { 1, 0, 2 };
	static const size_t order[] = { 1, 0, 2 };
	CASE(two, parent, depth, order, 1);
}

/* 1 -> 3 -> 2 -> 1: no root reaches them, so they and the span hanging
 * off them come last, in trace order, at depth 0, keeping their parents */
static void test_long_cycle(void)
{
	static const struct span_spec cycle[] = {
		{ 9, 0 }, { 1, 3 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 9 },
	};
	static const size_t parent[] = { NONE, 3, 1, 2, 2, 0 };
	static const unsigned depth[] = { 0, 0, 0, 0, 0, 1 };
	static const size_t order[] = { 0, 5, 1, 2, 3, 4 };
	CASE(cycle, parent, depth, order, 1);
}

/* two records of ID 5 that are not a shared span: children get the first */
static void test_repeated_ids(void)
{
	static const struct span_spec dup[] = { { 1, 0 }, { 5, 1 }, { 5, 1 }, { 6, 5 } };
	static const size_t parent[] = { NONE, 0, 0, 1 };
	static const unsigned depth[] = { 0, 1, 1, 2 };
	static const size_t order[] = { 0, 1, 3, 2 };
	CASE(dup, parent, depth, order, 1);
}

/* every span has ID 7 and names 7 as parent: span 0 hangs under span 1
 * (its twin), span 1 under span 0, a two-cycle cut at span 1; all others
 * hang under span 0.  One table slot serves them all. */
static void test_one_id(void)
{
	enum { N_SPANS = 20000 };
	struct span_spec *specs = must(malloc(N_SPANS * sizeof(*specs)));
	struct tm_arena arena;
	struct tm_trace t;
	struct tm_trace_tree tree;
	for (size_t i = 0; i < N_SPANS; i++)
		specs[i] = (struct span_spec){ 7, 7 };
	tm_arena_init(&arena, 0);
	make_trace(specs, N_SPANS, &arena, &t);
	CHECK_INT_EQ(tm_trace_tree_build(&t, &arena, &tree), 0);
	CHECK_INT_EQ(tree.n_roots, 1);
	CHECK(tree.parent[0] == 1 && tree.parent[1] == NONE);
	CHECK(tree.order[0] == 1 && tree.order[1] == 0 && tree.depth[0] == 1);
	size_t bad = 0;
	for (size_t i = 2; i < N_SPANS; i++)
		bad += tree.parent[i] != 0 || tree.order[i] != i || tree.depth[i] != 2;
	CHECK_INT_EQ(bad, 0);
	tm_arena_clear(&arena);
	free(specs);
}

static void test_empty_and_errors(void)
{
	static const struct span_spec two[] = { { 1, 0 }, { 2, 1 } };
	struct tm_arena spans, small;
	struct tm_trace t;
	struct tm_trace_tree tree;
	tm_arena_init(&spans, 0);
	tm_arena_init(&small, 1);   /* refuses every allocation */
	make_trace(two, 0, &spans, &t);
	CHECK_INT_EQ(tm_trace_tree_build(&t, &small, &tree), 0);   /* allocates nothing */
	CHECK(tree.n == 0 && tree.n_roots == 0);
	make_trace(two, 2, &spans, &t);
	CHECK_INT_EQ(tm_trace_tree_build(&t, &small, &tree), -ENOMEM);
	tm_arena_clear(&small);
	tm_arena_clear(&spans);
}

/*---- long chains, stars and cycles: nothing recursive ----*/

enum shape { CHAIN_DOWN, CHAIN_UP, STAR, RING };

static const char *const shape_names[] = { "chain", "reversed chain", "star", "ring" };

/* CHAIN_DOWN: span i is the parent of span i + 1.  CHAIN_UP: of span i - 1
 * (the root starts last).  STAR: span 0 is everyone's parent.  RING: a
 * chain whose root names the last span as parent. */
static struct span_spec *shape_specs(enum shape shape, size_t n)
{
	struct span_spec *s = must(malloc(n * sizeof(*s)));
	for (size_t i = 0; i < n; i++) {
		s[i].id = 0x1000 + i;
		switch (shape) {
		case CHAIN_DOWN:
			s[i].parent = i ? 0x1000 + i - 1 : 0;
			break;
		case CHAIN_UP:
			s[i].parent = i + 1 < n ? 0x1000 + i + 1 : 0;
			break;
		case STAR:
			s[i].parent = i ? 0x1000 : 0;
			break;
		case RING:
			s[i].parent = 0x1000 + (i ? i - 1 : n - 1);
			break;
		}
	}
	return s;
}

static size_t shape_mismatches(enum shape shape, const struct tm_trace_tree *tree, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		switch (shape) {
		case CHAIN_DOWN:
			bad += tree->order[i] != i || tree->depth[i] != i;
			break;
		case CHAIN_UP:
			bad += tree->order[i] != n - 1 - i || tree->depth[i] != n - 1 - i;
			break;
		case STAR:
			bad += tree->order[i] != i || tree->depth[i] != (i != 0);
			break;
		case RING:
			bad += tree->order[i] != i || tree->depth[i] != 0 ||
			       tree->parent[i] != (i ? i - 1 : n - 1);
			break;
		}
	}
	return bad;
}

static void test_shapes(void)
{
	enum { LONG = 100000 };
	for (enum shape sh = CHAIN_DOWN; sh <= RING; sh++) {
		struct span_spec *specs = shape_specs(sh, LONG);
		struct tm_arena arena;
		struct tm_trace t;
		struct tm_trace_tree tree;
		tm_arena_init(&arena, 0);
		make_trace(specs, LONG, &arena, &t);
		int rc = tm_trace_tree_build(&t, &arena, &tree);
		CHECK_INT_EQ(rc, 0);
		if (rc == 0) {
			size_t bad = shape_mismatches(sh, &tree, LONG);
			if (bad)
				fprintf(stderr, "%s: %zu spans wrong\n", shape_names[sh], bad);
			CHECK_INT_EQ(bad, 0);
			CHECK_INT_EQ(tree.n_roots, sh == RING ? 0 : 1);
		}
		tm_arena_clear(&arena);
		free(specs);
	}
}

/*---- random traces against the definition ----*/

static uint64_t rng_state = 7;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct naive_tree {
	size_t *parent, *order;
	unsigned *depth;
	size_t n_roots, n_out;
};

static int naive_shared_side(const struct tm_span *s)
{
	return s->has_parent && !memcmp(s->parent_span_id, s->span_id, TM_SPAN_ID_LEN);
}

/* the first span in trace order, other than self, with this span ID */
static size_t naive_find(const struct tm_trace *t, const uint8_t *id, size_t self)
{
	for (size_t j = 0; j < t->n_spans; j++)
		if (j != self && !memcmp(t->spans[j].span_id, id, TM_SPAN_ID_LEN))
			return j;
	return NONE;
}

static void naive_visit(const struct tm_trace *t, struct naive_tree *nt, size_t span,
			unsigned depth)
{
	nt->order[nt->n_out++] = span;
	nt->depth[span] = depth;
	for (size_t c = 0; c < t->n_spans; c++)
		if (nt->parent[c] == span)
			naive_visit(t, nt, c, depth + 1);
}

/* parents by linear search, a two-cycle cut at its later span, then
 * recursive DFS from each root; spans no root reaches come last */
static void naive_build(const struct tm_trace *t, struct naive_tree *nt)
{
	size_t n = t->n_spans;
	for (size_t i = 0; i < n; i++) {
		const struct tm_span *s = &t->spans[i];
		nt->parent[i] = s->has_parent ? naive_find(t, s->parent_span_id, i) : NONE;
		size_t p = nt->parent[i];
		if (p != NONE && !naive_shared_side(s)) {
			/* a child of a shared span belongs to its server record */
			size_t other = NONE;
			for (size_t j = 0; j < n && other == NONE; j++)
				if (j != p && !memcmp(t->spans[j].span_id, s->parent_span_id,
						      TM_SPAN_ID_LEN))
					other = j;
			if (other != NONE && other != i && naive_shared_side(&t->spans[other]) &&
			    !naive_shared_side(&t->spans[p]))
				nt->parent[i] = p = other;
		}
		if (p != NONE && p < i && nt->parent[p] == i)
			nt->parent[i] = NONE;
		nt->depth[i] = UINT32_MAX;
	}
	nt->n_roots = nt->n_out = 0;
	for (size_t i = 0; i < n; i++) {
		if (nt->parent[i] == NONE) {
			nt->n_roots++;
			naive_visit(t, nt, i, 0);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (nt->depth[i] == UINT32_MAX) {
			nt->order[nt->n_out++] = i;
			nt->depth[i] = 0;
		}
}

/* IDs from a pool about the trace's size, so that repeats, shared spans,
 * self parents, orphans and cycles of every length all turn up */
static struct span_spec *random_specs(size_t n)
{
	struct span_spec *s = must(malloc(n * sizeof(*s)));
	uint64_t pool = 1 + n / 2 + rng_next() % (2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		s[i].id = 1 + rng_next() % pool;
		unsigned r = (unsigned)(rng_next() % 100);
		if (r < 10)
			s[i].parent = 0;
		else if (r < 15)
			s[i].parent = s[i].id;
		else if (r < 60 && i)
			s[i].parent = s[rng_next() % i].id;   /* an earlier span */
		else
			s[i].parent = 1 + rng_next() % (pool + pool / 4);
	}
	return s;
}

static void check_random(size_t n)
{
	struct tm_arena arena;
	struct tm_trace t;
	struct tm_trace_tree tree;
	struct span_spec *specs = random_specs(n);
	struct naive_tree nt = {
		must(malloc(n * sizeof(size_t))), must(malloc(n * sizeof(size_t))),
		must(malloc(n * sizeof(unsigned))), 0, 0
	};
	tm_arena_init(&arena, 0);
	make_trace(specs, n, &arena, &t);
	naive_build(&t, &nt);
	int rc = tm_trace_tree_build(&t, &arena, &tree);
	CHECK_INT_EQ(rc, 0);
	if (rc == 0)
		check_tree(&tree, n, &(struct expect){ "random", nt.parent, nt.order, nt.depth,
						       nt.n_roots });
	tm_arena_clear(&arena);
	free(nt.parent);
	free(nt.order);
	free(nt.depth);
	free(specs);
}

static void test_random(void)
{
	for (int round = 0; round < 500; round++)
		check_random(1 + rng_next() % 300);
}

/*---- timing (printed, not checked) ----*/

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* a tree like a real trace: random 64-bit IDs, mostly recent parents so it
 * is deep as well as wide, and spread-out start times for the analysis */
static void make_realistic(size_t n, struct tm_arena *a, struct tm_trace *t)
{
	struct span_spec *specs = must(malloc(n * sizeof(*specs)));
	for (size_t i = 0; i < n; i++) {
		specs[i].id = rng_next() | 1;
		size_t back = 1 + rng_next() % (i < 20 ? (i ? i : 1) : 20);
		specs[i].parent = i ? specs[i - back].id : 0;
	}
	make_trace(specs, n, a, t);
	for (size_t i = 0; i < n; i++)
		t->spans[i].end_ns = t->spans[i].start_ns + rng_next() % (200 * (n - i) + 1);
	free(specs);
}

/* the first run (cold) and the best of five, tree and analysis apart */
static void time_trace(size_t n)
{
	enum { RUNS = 5 };
	double tree_ms[RUNS], cp_ms[RUNS], best_tree = 1e9, best_total = 1e9;
	struct tm_arena spans, work;
	struct tm_trace t;
	tm_arena_init(&spans, 0);
	make_realistic(n, &spans, &t);
	for (int run = 0; run < RUNS; run++) {
		struct tm_trace_tree tree;
		struct tm_cp_analysis cp;
		tm_arena_init(&work, 0);
		double t0 = now_ms();
		int rc = tm_trace_tree_build(&t, &work, &tree);
		double t1 = now_ms();
		if (!rc)
			rc = tm_cp_analyze(&t, &tree, &work, &cp);
		double t2 = now_ms();
		CHECK_INT_EQ(rc, 0);
		tree_ms[run] = t1 - t0;
		cp_ms[run] = t2 - t1;
		best_tree = tree_ms[run] < best_tree ? tree_ms[run] : best_tree;
		best_total = t2 - t0 < best_total ? t2 - t0 : best_total;
		tm_arena_clear(&work);
	}
	printf("%zu spans: tree %.2f ms (best of %d %.2f ms); tree + critical path "
	       "%.2f ms (best %.2f ms)\n", n, tree_ms[0], RUNS, best_tree,
	       tree_ms[0] + cp_ms[0], best_total);
	tm_arena_clear(&spans);
}

int main(void)
{
	test_basic();
	test_orphans();
	test_shared_span();
	test_self_parent();
	test_two_cycle();
	test_long_cycle();
	test_repeated_ids();
	test_one_id();
	test_empty_and_errors();
	test_shapes();
	test_random();
	time_trace(10000);
	time_trace(100000);
	return TEST_DONE();
}
