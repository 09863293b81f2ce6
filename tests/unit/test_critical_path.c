/* test_critical_path.c - self times and critical paths of hand-built traces
 * (answers worked out by hand), random traces against a naive reference,
 * and the time a 10,000-span trace takes (printed, not checked). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "critical_path.h"
#include "testutil.h"

/*---- building traces ----*/

enum link_kind { NO_LINK, FOLLOWS_FROM, CHILD_OF_LINK, BARE_LINK, OTHER_SPAN_LINK };

/* ids start at 1; parent 0 means a root, an id not in the trace an orphan */
struct span_spec {
	unsigned id, parent;
	uint64_t start_ns, end_ns;
	enum link_kind link;
};

static const uint8_t TRACE_ID[TM_TRACE_ID_LEN] = { 0xab, 1, 2, 3 };

static void put_id(uint8_t out[TM_SPAN_ID_LEN], unsigned id)
{
	memset(out, 0, TM_SPAN_ID_LEN);
	for (int i = 7; i >= 4; i--, id >>= 8)
		out[i] = (uint8_t)id;
}

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return p;
}

static void add_link(struct tm_arena *a, struct tm_span *s, enum link_kind kind)
{
	struct tm_link *l = must(tm_arena_zalloc(a, sizeof(*l)));
	memcpy(l->trace_id, TRACE_ID, TM_TRACE_ID_LEN);
	if (kind == OTHER_SPAN_LINK)
		put_id(l->span_id, 999999);
	else
		memcpy(l->span_id, s->parent_span_id, TM_SPAN_ID_LEN);
	if (kind == FOLLOWS_FROM || kind == CHILD_OF_LINK) {
		struct tm_attr *attr = must(tm_arena_zalloc(a, sizeof(*attr)));
		attr->key = tm_str_from("opentracing.ref_type");
		attr->value.type = TM_VAL_STRING;
		attr->value.u.str = tm_str_from(kind == FOLLOWS_FROM ? "follows_from" : "child_of");
		l->attrs.items = attr;
		l->attrs.n = 1;
	}
	s->links = l;
	s->n_links = 1;
}

/* specs must be in start order, as a trace read from the store is */
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
		s->start_ns = specs[i].start_ns;
		s->end_ns = specs[i].end_ns;
		if (specs[i].link != NO_LINK)
			add_link(a, s, specs[i].link);
		if (i && specs[i].start_ns < specs[i - 1].start_ns)
			fprintf(stderr, "spec %zu out of start order\n", i);
	}
}

/*---- checking hand-worked answers ----*/

struct expect {
	const char *name;
	size_t root;
	const struct tm_cp_segment *path;   /* in time order */
	size_t n_path;
	const uint64_t *self_ns;            /* one per span */
};

static void check_case(const struct span_spec *specs, size_t n, const struct expect *e)
{
	struct tm_arena arena;
	struct tm_trace t;
	struct tm_cp_analysis cp;
	tm_arena_init(&arena, 0);
	make_trace(specs, n, &arena, &t);
	int rc = tm_cp_analyze(&t, NULL, &arena, &cp);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(cp.root, e->root);
	CHECK_INT_EQ(cp.n_segments, e->n_path);
	int path_ok = cp.n_segments == e->n_path;
	for (size_t i = 0; path_ok && i < e->n_path; i++)
		path_ok = cp.segments[i].span == e->path[i].span &&
			  cp.segments[i].start_ns == e->path[i].start_ns &&
			  cp.segments[i].end_ns == e->path[i].end_ns;
	if (!path_ok) {
		fprintf(stderr, "%s: path is", e->name);
		for (size_t i = 0; i < cp.n_segments; i++)
			fprintf(stderr, " %zu[%ju,%ju)", cp.segments[i].span,
				(uintmax_t)cp.segments[i].start_ns, (uintmax_t)cp.segments[i].end_ns);
		fprintf(stderr, "\n");
	}
	CHECK(path_ok);
	uint64_t *on_path = must(calloc(n ? n : 1, sizeof(uint64_t)));
	for (size_t i = 0; i < e->n_path; i++)
		on_path[e->path[i].span] += e->path[i].end_ns - e->path[i].start_ns;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (cp.self_ns[i] != e->self_ns[i] || cp.path_ns[i] != on_path[i])
			fprintf(stderr, "%s: span %zu self %ju (want %ju), on path %ju (want %ju)\n",
				e->name, i, (uintmax_t)cp.self_ns[i], (uintmax_t)e->self_ns[i],
				(uintmax_t)cp.path_ns[i], (uintmax_t)on_path[i]);
		CHECK(cp.self_ns[i] == e->self_ns[i]);
		CHECK(cp.path_ns[i] == on_path[i]);
	}
	free(on_path);
	tm_arena_clear(&arena);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CASE(specs, root, path, self) \
	check_case(specs, N(specs), &(struct expect){ #specs, root, path, N(path), self })

/* segments: {span index, start, end} */

static void test_sequential(void)
{
	static const struct span_spec seq[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 30, 0 }, { 3, 1, 40, 70, 0 }, { 4, 1, 75, 90, 0 },
	};
	static const struct tm_cp_segment path[] = {
		{ 0, 0, 10 }, { 1, 10, 30 }, { 0, 30, 40 }, { 2, 40, 70 },
		{ 0, 70, 75 }, { 3, 75, 90 }, { 0, 90, 100 },
	};
	static const uint64_t self[] = { 35, 20, 30, 15 };
	CASE(seq, 0, path, self);
}

/* only the last to finish is on the path; the others ran beside it */
static void test_parallel(void)
{
	static const struct span_spec par[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 60, 0 }, { 3, 1, 10, 80, 0 }, { 4, 1, 20, 50, 0 },
	};
	static const struct tm_cp_segment path[] = { { 0, 0, 10 }, { 2, 10, 80 }, { 0, 80, 100 } };
	static const uint64_t self[] = { 30, 50, 70, 30 };
	CASE(par, 0, path, self);
}

/* A still runs when B starts: A holds the path until then */
static void test_overlapping(void)
{
	static const struct span_spec overlap[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 60, 0 }, { 3, 1, 40, 90, 0 },
	};
	static const struct tm_cp_segment path[] = {
		{ 0, 0, 10 }, { 1, 10, 40 }, { 2, 40, 90 }, { 0, 90, 100 },
	};
	static const uint64_t self[] = { 20, 50, 50 };
	CASE(overlap, 0, path, self);
}

/* A overruns the root and is cut at 100; its child AA is cut to [90, 100) */
static void test_overrun(void)
{
	static const struct span_spec overrun[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 20, 130, 0 }, { 3, 2, 90, 120, 0 }, { 4, 2, 110, 125, 0 },
	};
	static const struct tm_cp_segment path[] = { { 0, 0, 20 }, { 1, 20, 90 }, { 2, 90, 100 } };
	/* A's self time is against its own interval: 110 - (90..125) */
	static const uint64_t self[] = { 20, 75, 30, 15 };
	CASE(overrun, 0, path, self);
}

/* B starts before its parent A (clock skew): cut at A's start */
static void test_child_before_parent(void)
{
	static const struct span_spec early[] = {
		{ 1, 0, 0, 100, 0 }, { 3, 2, 5, 40, 0 }, { 2, 1, 10, 50, 0 },
	};
	static const struct tm_cp_segment path[] = {
		{ 0, 0, 10 }, { 1, 10, 40 }, { 2, 40, 50 }, { 0, 50, 100 },
	};
	static const uint64_t self[] = { 60, 35, 10 };
	CASE(early, 0, path, self);
}

/* F follows from the root: never on the path, but it is not root's own work */
static void test_follows_from(void)
{
	static const struct span_spec ff[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 40, 0 }, { 3, 1, 50, 95, FOLLOWS_FROM },
		{ 4, 3, 60, 90, 0 },
	};
	static const struct tm_cp_segment path[] = { { 0, 0, 10 }, { 1, 10, 40 }, { 0, 40, 100 } };
	static const uint64_t self[] = { 25, 30, 15, 30 };
	CASE(ff, 0, path, self);

	/* a CHILD_OF link to the parent, or a link elsewhere, is an ordinary child */
	static const struct span_spec not_ff[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 40, CHILD_OF_LINK }, { 3, 1, 50, 95, OTHER_SPAN_LINK },
	};
	static const struct tm_cp_segment path2[] = {
		{ 0, 0, 10 }, { 1, 10, 40 }, { 0, 40, 50 }, { 2, 50, 95 }, { 0, 95, 100 },
	};
	static const uint64_t self2[] = { 25, 30, 45 };
	CASE(not_ff, 0, path2, self2);
}

static void test_follows_from_rule(void)
{
	struct tm_arena arena;
	struct tm_trace t;
	static const struct span_spec specs[] = {
		{ 1, 0, 0, 10, 0 }, { 2, 1, 1, 2, FOLLOWS_FROM }, { 3, 1, 2, 3, CHILD_OF_LINK },
		{ 4, 1, 3, 4, BARE_LINK }, { 5, 1, 4, 5, OTHER_SPAN_LINK }, { 6, 1, 5, 6, NO_LINK },
		{ 7, 0, 6, 7, BARE_LINK },
	};
	static const int expected[] = { 0, 1, 0, 1, 0, 0, 0 };
	tm_arena_init(&arena, 0);
	make_trace(specs, N(specs), &arena, &t);
	for (size_t i = 0; i < N(specs); i++)
		CHECK_INT_EQ(tm_cp_is_follows_from(&t.spans[i]), expected[i]);
	tm_arena_clear(&arena);
}

/* Async starts after its parent ended: a fire-and-forget call */
static void test_after_parent_end(void)
{
	static const struct span_spec async[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 50, 0 }, { 3, 1, 120, 200, 0 },
	};
	static const struct tm_cp_segment path[] = { { 0, 0, 10 }, { 1, 10, 50 }, { 0, 50, 100 } };
	static const uint64_t self[] = { 60, 40, 80 };
	CASE(async, 0, path, self);
}

static void test_nested(void)
{
	static const struct span_spec nested[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 10, 90, 0 }, { 3, 2, 20, 80, 0 }, { 4, 3, 30, 70, 0 },
	};
	static const struct tm_cp_segment path[] = {
		{ 0, 0, 10 }, { 1, 10, 20 }, { 2, 20, 30 }, { 3, 30, 70 },
		{ 2, 70, 80 }, { 1, 80, 90 }, { 0, 90, 100 },
	};
	static const uint64_t self[] = { 20, 20, 20, 40 };
	CASE(nested, 0, path, self);
}

/* parent 50 never arrived: X is a root, and ties R2 on end but starts first */
static void test_orphans(void)
{
	static const struct span_spec orphans[] = {
		{ 1, 0, 0, 50, 0 }, { 2, 50, 10, 120, 0 }, { 3, 2, 20, 60, 0 }, { 4, 0, 30, 120, 0 },
	};
	static const struct tm_cp_segment path[] = { { 1, 10, 20 }, { 2, 20, 60 }, { 1, 60, 120 } };
	static const uint64_t self[] = { 50, 70, 40, 90 };
	CASE(orphans, 1, path, self);
}

/* zero-length spans, a span ending before it starts, equal ends */
static void test_degenerate(void)
{
	static const struct span_spec zero[] = {
		{ 1, 0, 0, 100, 0 }, { 2, 1, 20, 20, 0 }, { 3, 1, 30, 10, 0 }, { 4, 1, 40, 60, 0 },
		{ 5, 1, 50, 60, 0 },
	};
	static const struct tm_cp_segment path[] = { { 0, 0, 40 }, { 3, 40, 60 }, { 0, 60, 100 } };
	static const uint64_t self[] = { 80, 0, 0, 20, 10 };
	CASE(zero, 0, path, self);

	static const struct span_spec instant[] = { { 1, 0, 7, 7, 0 } };
	static const uint64_t self1[] = { 0 };
	check_case(instant, 1, &(struct expect){ "instant", 0, NULL, 0, self1 });
	check_case(NULL, 0, &(struct expect){ "empty", SIZE_MAX, NULL, 0, NULL });
}

/*---- random traces ----*/

static uint64_t rng_state = 42;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int spec_start_cmp(const void *a, const void *b)
{
	const struct span_spec *x = a, *y = b;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* a tree with every odd case sprinkled in: children that start early,
 * overrun, start after their parent, follow from it, or lost their parent */
static struct span_spec *random_specs(size_t n)
{
	struct span_spec *s = must(malloc(n * sizeof(*s)));
	s[0] = (struct span_spec){ 1, 0, 1000000, 1000000 + 1000000000, NO_LINK };
	for (size_t i = 1; i < n; i++) {
		/* mostly recent parents, so the tree gets deep as well as wide */
		size_t p = rng_next() % 4 ? i - 1 - rng_next() % (i < 20 ? i : 20) : rng_next() % i;
		uint64_t ps = s[p].start_ns, dur = s[p].end_ns - ps + 1;
		uint64_t start = ps + rng_next() % dur, len = rng_next() % (dur / 2 + 2);
		unsigned r = (unsigned)(rng_next() % 100);
		if (r < 3)
			start = ps > 1000 ? ps - rng_next() % 1000 : 0;   /* before its parent */
		else if (r < 5)
			start = s[p].end_ns + rng_next() % 1000;           /* after its parent */
		else if (r < 8)
			len += dur;                                         /* overruns */
		s[i] = (struct span_spec){ (unsigned)i + 1, s[p].id, start, start + len, NO_LINK };
		r = (unsigned)(rng_next() % 100);
		if (r < 2)
			s[i].link = FOLLOWS_FROM;
		else if (r < 3)
			s[i].parent = (unsigned)(n + 1 + i);   /* a parent never sent */
	}
	qsort(s, n, sizeof(*s), spec_start_cmp);
	return s;
}

struct naive_out {
	struct tm_cp_segment *seg;
	size_t n;
};

/* the definition, quadratically: at t, the child whose clipped end is the
 * latest (ties: raw end, then start, then index) takes the path */
static void naive_walk(const struct tm_trace *t, const size_t *parent, size_t span,
		       uint64_t lo, uint64_t hi, struct naive_out *out)
{
	uint64_t now = hi;
	for (;;) {
		size_t best = SIZE_MAX;
		uint64_t best_s = 0, best_e = 0;
		for (size_t c = 0; c < t->n_spans; c++) {
			const struct tm_span *cs = &t->spans[c];
			uint64_t end = cs->end_ns < cs->start_ns ? cs->start_ns : cs->end_ns;
			uint64_t s = cs->start_ns > lo ? cs->start_ns : lo, e = end < now ? end : now;
			if (parent[c] != span || tm_cp_is_follows_from(cs) || s >= e)
				continue;
			const struct tm_span *b = best == SIZE_MAX ? NULL : &t->spans[best];
			if (!b || e > best_e || (e == best_e && (end > b->end_ns ||
				(end == b->end_ns && cs->start_ns < b->start_ns)))) {
				best = c;
				best_s = s;
				best_e = e;
			}
		}
		if (best == SIZE_MAX) {
			if (lo < now)
				out->seg[out->n++] = (struct tm_cp_segment){ span, lo, now };
			return;
		}
		if (best_e < now)
			out->seg[out->n++] = (struct tm_cp_segment){ span, best_e, now };
		naive_walk(t, parent, best, best_s, best_e, out);
		now = best_s;
	}
}

static int seg_eq(const struct tm_cp_segment *a, const struct tm_cp_segment *b)
{
	return a->span == b->span && a->start_ns == b->start_ns && a->end_ns == b->end_ns;
}

static void check_against_naive(const struct tm_trace *t, const struct tm_trace_tree *tree,
				const struct tm_cp_analysis *cp)
{
	const struct tm_span *r = &t->spans[cp->root];
	struct naive_out out = { must(malloc(2 * t->n_spans * sizeof(*out.seg))), 0 };
	naive_walk(t, tree->parent, cp->root, r->start_ns, r->end_ns, &out);
	int same = out.n == cp->n_segments;
	/* the naive walk goes back in time */
	for (size_t i = 0; same && i < out.n; i++)
		same = seg_eq(&out.seg[out.n - 1 - i], &cp->segments[i]);
	CHECK(same);
	free(out.seg);
}

/* self time the textbook way: each span's clipped children in start order,
 * merged left to right (the code under test sweeps from the right) */
static void check_self_times(const struct tm_trace *t, const size_t *parent,
			     const struct tm_cp_analysis *cp)
{
	size_t n = t->n_spans, bad = 0;
	size_t *first = must(calloc(n + 1, sizeof(size_t))), *kids = must(malloc(n * sizeof(size_t)));
	size_t *fill = must(malloc(n * sizeof(size_t)));
	/* group children by parent, keeping the trace's start order */
	for (size_t c = 0; c < n; c++)
		if (parent[c] != SIZE_MAX)
			first[parent[c] + 1]++;
	for (size_t p = 0; p < n; p++)
		first[p + 1] += first[p];
	for (size_t p = 0; p < n; p++)
		fill[p] = first[p];
	for (size_t c = 0; c < n; c++)
		if (parent[c] != SIZE_MAX)
			kids[fill[parent[c]]++] = c;
	for (size_t p = 0; p < n; p++) {
		const struct tm_span *ps = &t->spans[p];
		uint64_t covered = 0, cur_s = 0, cur_e = 0;
		for (size_t k = first[p]; k < first[p + 1]; k++) {
			uint64_t s = t->spans[kids[k]].start_ns, e = t->spans[kids[k]].end_ns;
			s = s < ps->start_ns ? ps->start_ns : s;
			e = e > ps->end_ns ? ps->end_ns : e;
			if (s >= e)
				continue;
			if (cur_e > cur_s && s <= cur_e) {
				cur_e = e > cur_e ? e : cur_e;
				continue;
			}
			covered += cur_e - cur_s;
			cur_s = s;
			cur_e = e;
		}
		covered += cur_e - cur_s;
		bad += cp->self_ns[p] != ps->end_ns - ps->start_ns - covered;
	}
	CHECK_INT_EQ(bad, 0);
	free(first);
	free(kids);
	free(fill);
}

/* the path tiles the root's interval, goes only through spans reachable
 * from the root by CHILD_OF, and stays inside each span's interval */
static void check_invariants(const struct tm_trace *t, const struct tm_trace_tree *tree,
			     const struct tm_cp_analysis *cp)
{
	const struct tm_span *r = &t->spans[cp->root];
	size_t bad = 0;
	uint64_t total = 0, at = r->start_ns;
	CHECK(tree->parent[cp->root] == SIZE_MAX);
	for (size_t i = 0; i < cp->n_segments; i++) {
		const struct tm_cp_segment *s = &cp->segments[i];
		const struct tm_span *sp = &t->spans[s->span];
		bad += s->start_ns != at || s->start_ns >= s->end_ns;
		bad += s->start_ns < sp->start_ns || s->end_ns > sp->end_ns;
		at = s->end_ns;
		size_t up = s->span;
		while (up != cp->root && up != SIZE_MAX) {
			bad += tm_cp_is_follows_from(&t->spans[up]);
			up = tree->parent[up];
		}
		bad += up != cp->root;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK(at == r->end_ns);
	for (size_t i = 0; i < t->n_spans; i++) {
		const struct tm_span *sp = &t->spans[i];
		total += cp->path_ns[i];
		bad += cp->path_ns[i] > sp->end_ns - sp->start_ns;
		bad += cp->self_ns[i] > sp->end_ns - sp->start_ns;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK(total == r->end_ns - r->start_ns);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void check_random(size_t n, int with_naive)
{
	struct tm_arena arena;
	struct tm_trace t;
	struct tm_trace_tree tree;
	struct tm_cp_analysis cp, cp2;
	struct span_spec *specs = random_specs(n);
	tm_arena_init(&arena, 0);
	make_trace(specs, n, &arena, &t);
	double t0 = now_ms();
	int rc = tm_trace_tree_build(&t, &arena, &tree);
	double t1 = now_ms();
	if (!rc)
		rc = tm_cp_analyze(&t, &tree, &arena, &cp);
	double t2 = now_ms();
	CHECK_INT_EQ(rc, 0);
	if (rc == 0) {
		check_invariants(&t, &tree, &cp);
		check_self_times(&t, tree.parent, &cp);
		if (with_naive)
			check_against_naive(&t, &tree, &cp);
		/* building the tree inside gives the same answer */
		CHECK_INT_EQ(tm_cp_analyze(&t, NULL, &arena, &cp2), 0);
		CHECK_INT_EQ(cp2.n_segments, cp.n_segments);
		CHECK(!memcmp(cp2.segments, cp.segments, cp.n_segments * sizeof(cp.segments[0])));
	}
	if (n >= 10000)
		printf("%zu random spans: tree %.2f ms, analysis %.2f ms, %zu path segments\n", n,
		       t1 - t0, t2 - t1, cp.n_segments);
	tm_arena_clear(&arena);
	free(specs);
}

static void test_random(void)
{
	for (int round = 0; round < 200; round++)
		check_random(1 + rng_next() % 300, 1);
	check_random(10000, 0);
	check_random(100000, 0);
}

/* a chain 10,000 deep: no recursion in the walk, every span on the path */
static void test_deep_chain(void)
{
	enum { DEPTH = 10000 };
	struct tm_arena arena;
	struct tm_trace t;
	struct tm_cp_analysis cp;
	struct span_spec *specs = must(malloc(DEPTH * sizeof(*specs)));
	for (unsigned i = 0; i < DEPTH; i++)
		specs[i] = (struct span_spec){ i + 1, i, 10 * i, 200000 - 10 * i, NO_LINK };
	tm_arena_init(&arena, 0);
	make_trace(specs, DEPTH, &arena, &t);
	double t0 = now_ms();
	CHECK_INT_EQ(tm_cp_analyze(&t, NULL, &arena, &cp), 0);
	double t1 = now_ms();
	CHECK_INT_EQ(cp.n_segments, 2 * DEPTH - 1);
	CHECK(cp.n_segments > DEPTH && cp.segments[DEPTH - 1].span == DEPTH - 1);
	size_t bad = 0;
	for (size_t i = 0; i + 1 < DEPTH; i++)
		bad += cp.self_ns[i] != 20 || cp.path_ns[i] != 20;
	CHECK_INT_EQ(bad, 0);
	printf("%d-deep chain: %.2f ms including the tree\n", DEPTH, t1 - t0);
	tm_arena_clear(&arena);
	free(specs);
}

static void test_errors(void)
{
	static const struct span_spec two[] = { { 1, 0, 0, 10, 0 }, { 2, 1, 1, 5, 0 } };
	struct tm_arena arena, small;
	struct tm_trace t;
	struct tm_trace_tree tree = { 0 };
	struct tm_cp_analysis cp;
	tm_arena_init(&arena, 0);
	make_trace(two, 2, &arena, &t);
	tree.n = 1;
	CHECK_INT_EQ(tm_cp_analyze(&t, &tree, &arena, &cp), -EINVAL);
	tm_arena_init(&small, 1);   /* refuses every allocation */
	CHECK_INT_EQ(tm_cp_analyze(&t, NULL, &small, &cp), -ENOMEM);
	tm_arena_clear(&small);
	tm_arena_clear(&arena);
}

int main(void)
{
	test_sequential();
	test_parallel();
	test_overlapping();
	test_overrun();
	test_child_before_parent();
	test_follows_from();
	test_follows_from_rule();
	test_after_parent_end();
	test_nested();
	test_orphans();
	test_degenerate();
	test_errors();
	test_deep_chain();
	test_random();
	return TEST_DONE();
}
