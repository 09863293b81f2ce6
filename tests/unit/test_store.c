/* test_store.c - the LMDB store: write, read back, seal, reopen, check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "batch.h"
#include "spanfixture.h"
#include "store.h"
#include "testutil.h"

#define N_TRACES 40
/* enough commits to seal several buckets and leave some open */
#define N_COMMITS 700

static char dir[64];

static struct tm_store *open_store(int read_only)
{
	struct tm_store_options opt = { .dir = dir, .sync = TM_SYNC_NONE, .read_only = read_only };
	struct tm_store *st = NULL;
	CHECK_INT_EQ(tm_store_open(&opt, &st), 0);
	return st;
}

/* the span of commit c for trace t: ids derive from both */
static void make_span(struct tm_span *s, unsigned t, unsigned c)
{
	fixture_span(s, 0);
	memset(s->trace_id, 0, 16);
	s->trace_id[0] = 0xee;
	s->trace_id[15] = (uint8_t)t;
	s->span_id[0] = (uint8_t)(c >> 8);
	s->span_id[1] = (uint8_t)c;
	s->has_parent = c % 50 != 0;   /* a root now and then */
	s->start_ns = 1000000000ull * c + t;
	s->end_ns = s->start_ns + 1000 + c;
	s->status_code = c % 7 == 0 ? TM_STATUS_ERROR : TM_STATUS_OK;
}

static void write_commit(struct tm_store *st, unsigned c)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	tm_batch_init(&batch, &arena);
	struct tm_span fx;
	fixture_span(&fx, 0);
	struct tm_resource res = { { fx.attrs.items, 1, 0 }, S("") };
	struct tm_attr svc = { S("service.name"), { .type = TM_VAL_STRING, .u.str = S("cart") } };
	res.attrs.items = &svc;
	struct tm_scope scope = { S("lib"), S("1.0"), { NULL, 0, 0 }, S("") };
	uint32_t ri, si;
	CHECK_INT_EQ(tm_batch_add_resource(&batch, &res, &ri), 0);
	CHECK_INT_EQ(tm_batch_add_scope(&batch, &scope, &si), 0);
	/* each commit touches a few traces, in an order that is not sorted */
	for (unsigned k = 0; k < 3; k++) {
		struct tm_span s;
		make_span(&s, (c * 7 + k * 13) % N_TRACES, c * 3 + k);
		CHECK_INT_EQ(tm_batch_add_span(&batch, &s, ri, si), 0);
	}
	tm_batch_done(&batch);
	struct tm_batch *one = &batch;
	CHECK_INT_EQ(tm_store_write(st, &one, 1), 0);
	tm_arena_clear(&arena);
}

/* counts, for every trace, the spans the writes above gave it */
static unsigned expected_spans(unsigned t)
{
	unsigned n = 0;
	for (unsigned c = 0; c < N_COMMITS; c++)
		for (unsigned k = 0; k < 3; k++)
			n += (c * 7 + k * 13) % N_TRACES == t;
	return n;
}

static void check_traces(struct tm_store *st)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	for (unsigned t = 0; t < N_TRACES; t++) {
		uint8_t id[16] = { 0xee };
		id[15] = (uint8_t)t;
		struct tm_trace tr;
		CHECK_INT_EQ(tm_store_trace_get(st, id, &arena, &tr), 0);
		CHECK_INT_EQ(tr.n_spans, expected_spans(t));
		CHECK_INT_EQ(tr.n_duplicates, 0);
		for (size_t i = 1; i < tr.n_spans; i++)
			CHECK(tr.spans[i - 1].start_ns <= tr.spans[i].start_ns);
		/* the first span must equal what was written, field by field */
		struct tm_span want;
		unsigned c = (unsigned)(tr.spans[0].start_ns / 1000000000ull);
		make_span(&want, t, c);
		CHECK(span_eq(&tr.spans[0], &want));
		CHECK(tr.spans[0].resource && tr.spans[0].scope);
		CHECK(tr.spans[0].resource == tr.spans[tr.n_spans - 1].resource);
		CHECK(str_eq(tr.summary.root_service, S("cart")));
		CHECK_INT_EQ(tr.summary.span_count, tr.n_spans);
		CHECK_INT_EQ(tr.summary.start_ns, tr.spans[0].start_ns);
		tm_arena_clear(&arena);
	}
	uint8_t unknown[16] = { 0x12 };
	struct tm_trace tr;
	CHECK_INT_EQ(tm_store_trace_get(st, unknown, &arena, &tr), -ENOENT);
	tm_arena_clear(&arena);
}

static void check_store(struct tm_store *st, uint64_t duplicates)
{
	struct tm_store_check c;
	CHECK_INT_EQ(tm_store_check(st, &c), 0);
	CHECK_INT_EQ(c.problems, 0);
	if (c.problems)
		fprintf(stderr, "first problem: %s\n", c.first_problem);
	CHECK_INT_EQ(c.traces, N_TRACES);
	CHECK_INT_EQ(c.spans, N_COMMITS * 3 + duplicates);
	CHECK_INT_EQ(c.duplicate_spans, duplicates);
}

/*---- retention ----*/

#define NS_PER_MIN (60ull * 1000000000ull)

/* one commit of `per` two-span pieces, of traces (tag, first + i) */
static void write_tagged(struct tm_store *st, uint8_t tag, unsigned first, unsigned per,
			 unsigned c)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	tm_batch_init(&batch, &arena);
	struct tm_attr svc = { S("service.name"), { .type = TM_VAL_STRING, .u.str = S("cart") } };
	struct tm_resource res = { { &svc, 1, 0 }, S("") };
	struct tm_scope scope = { S("lib"), S("1.0"), { NULL, 0, 0 }, S("") };
	uint32_t ri, si;
	CHECK_INT_EQ(tm_batch_add_resource(&batch, &res, &ri), 0);
	CHECK_INT_EQ(tm_batch_add_scope(&batch, &scope, &si), 0);
	for (unsigned i = 0; i < per; i++)
		for (unsigned k = 0; k < 2; k++) {
			struct tm_span s;
			make_span(&s, first + i, c * 2 + k);
			s.trace_id[0] = tag;
			s.span_id[2] = tag;
			CHECK_INT_EQ(tm_batch_add_span(&batch, &s, ri, si), 0);
		}
	tm_batch_done(&batch);
	struct tm_batch *one = &batch;
	CHECK_INT_EQ(tm_store_write(st, &one, 1), 0);
	tm_arena_clear(&arena);
}

static size_t trace_spans(struct tm_store *st, uint8_t tag, unsigned t)
{
	uint8_t id[16] = { tag };
	id[15] = (uint8_t)t;
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_trace tr;
	int rc = tm_store_trace_get(st, id, &arena, &tr);
	size_t n = rc == 0 ? tr.n_spans : 0;
	CHECK(rc == 0 || rc == -ENOENT);
	tm_arena_clear(&arena);
	return n;
}

static void put_aux(struct tm_store *st, enum tm_aux_table t, const unsigned char *key,
		    size_t klen)
{
	struct tm_aux_txn *w;
	CHECK_INT_EQ(tm_store_aux_begin(st, &w), 0);
	CHECK_INT_EQ(tm_store_aux_put(w, t, key, klen, "x", 1), 0);
	CHECK_INT_EQ(tm_store_aux_commit(w, 0), 0);
}

static size_t count_aux(struct tm_store *st, enum tm_aux_table t)
{
	struct tm_store_reader *rd;
	struct tm_aux_iter *it;
	CHECK_INT_EQ(tm_store_reader_begin(st, &rd), 0);
	static const unsigned char lo[1] = { 0 }, hi[4] = { 0xff, 0xff, 0xff, 0xfe };
	CHECK_INT_EQ(tm_aux_iter_open(rd, t, lo, 1, hi, 4, &it), 0);
	const void *k, *v;
	size_t kl, vl, n = 0;
	while (tm_aux_iter_next(it, &k, &kl, &v, &vl) == 1)
		n++;
	tm_aux_iter_close(it);
	tm_store_reader_end(rd);
	return n;
}

/* runs steps until one deletes nothing */
static void retain(struct tm_store *st, uint64_t cutoff, int evict,
		   struct tm_retention_result *total)
{
	memset(total, 0, sizeof(*total));
	struct tm_retention_req req = { .cutoff_ns = cutoff, .evict = evict, .max_pieces = 50 };
	for (int i = 0; i < 10000; i++) {
		struct tm_retention_result r;
		CHECK_INT_EQ(tm_store_retention_step(st, &req, &r), 0);
		total->traces += r.traces;
		total->pieces += r.pieces;
		total->spans += r.spans;
		total->aux_rows += r.aux_rows;
		if (!r.pieces && !r.more)
			return;
	}
	CHECK(!"retention never ended");
}

static void check_clean(struct tm_store *st, uint64_t traces, uint64_t spans)
{
	struct tm_store_check c;
	CHECK_INT_EQ(tm_store_check(st, &c), 0);
	CHECK_INT_EQ(c.problems, 0);
	if (c.problems)
		fprintf(stderr, "first problem: %s\n", c.first_problem);
	CHECK_INT_EQ(c.traces, traces);
	CHECK_INT_EQ(c.spans, spans);
}

/* A: 20 traces over commits 0..299 (clock +0); X: A's first 5 go on at
 * +45 min (commits 300..399, with 10 new traces Y); B: 10 traces at +2 h
 * (commits 400..599).  Buckets seal at 256 and 512, so pieces lie in
 * sealed buckets and in open commits. */
static void test_retention_by_age(void)
{
	struct tm_store *st = open_store(0);
	for (unsigned c = 0; c < 300; c++)
		write_tagged(st, 0xa0, c % 20, 1, c);
	tm_store_set_clock_offset(st, 45 * NS_PER_MIN);
	for (unsigned c = 300; c < 400; c++) {
		write_tagged(st, 0xa0, c % 5, 1, c);
		write_tagged(st, 0xb0, c % 10, 1, c);
	}
	tm_store_set_clock_offset(st, 120 * NS_PER_MIN);
	for (unsigned c = 400; c < 600; c++)
		write_tagged(st, 0xc0, c % 10, 1, c);
	check_clean(st, 40, 2 * (300 + 200 + 200));

	/* rows of the service map: minute 0 is older than every span left */
	unsigned char old_rollup[14] = { 'm' }, new_rollup[14] = { 'h', 0x7f };
	unsigned char old_profile[28] = { 0 }, new_profile[28] = { 0x7f };
	put_aux(st, TM_AUX_ROLLUPS, old_rollup, sizeof(old_rollup));
	put_aux(st, TM_AUX_ROLLUPS, new_rollup, sizeof(new_rollup));
	put_aux(st, TM_AUX_PROFILES, old_profile, sizeof(old_profile));
	put_aux(st, TM_AUX_PROFILES, new_profile, sizeof(new_profile));

	/* keep 90 minutes: A is old; X's later pieces go with it; Y and B stay */
	struct tm_retention_result r;
	retain(st, tm_store_now(st) - 90 * NS_PER_MIN, 0, &r);
	CHECK_INT_EQ(r.traces, 20);
	CHECK_INT_EQ(r.spans, 2 * (300 + 100));
	for (unsigned t = 0; t < 20; t++)
		CHECK_INT_EQ(trace_spans(st, 0xa0, t), 0);
	for (unsigned t = 0; t < 10; t++) {
		CHECK_INT_EQ(trace_spans(st, 0xb0, t), 20);
		CHECK_INT_EQ(trace_spans(st, 0xc0, t), 40);
	}
	check_clean(st, 20, 2 * (100 + 200));
	CHECK_INT_EQ(count_aux(st, TM_AUX_ROLLUPS), 1);
	CHECK_INT_EQ(count_aux(st, TM_AUX_PROFILES), 1);
	struct tm_store_stats stats;
	CHECK_INT_EQ(tm_store_stats(st, &stats), 0);
	CHECK_INT_EQ(stats.spans, 2 * (100 + 200));

	/* nothing more is old: a step finds nothing and writes nothing */
	retain(st, tm_store_now(st) - 90 * NS_PER_MIN, 0, &r);
	CHECK_INT_EQ(r.pieces, 0);

	/* eviction takes the oldest first, whatever their age */
	struct tm_retention_req req = { .evict = 1, .max_pieces = 100 };
	CHECK_INT_EQ(tm_store_retention_step(st, &req, &r), 0);
	CHECK(r.traces > 0 && r.more);
	CHECK_INT_EQ(trace_spans(st, 0xc0, 3), 40);
	retain(st, 0, 1, &r);
	check_clean(st, 0, 0);
	struct tm_retention_stats rs;
	tm_store_retention_stats(st, &rs);
	CHECK_INT_EQ(rs.traces, 40);
	CHECK_INT_EQ(rs.evicted_traces, 20);

	/* and the store takes new writes, found again */
	write_tagged(st, 0xd0, 0, 3, 700);
	CHECK_INT_EQ(trace_spans(st, 0xd0, 2), 2);
	check_clean(st, 3, 6);
	tm_store_close(st);
}

static void test_space(void)
{
	struct tm_store *st = open_store(0);
	struct tm_store_space sp;
	CHECK_INT_EQ(tm_store_space(st, &sp), 0);
	CHECK(sp.used_bytes > 0 && sp.used_bytes <= sp.file_bytes && sp.file_bytes <= sp.map_bytes);
	tm_store_close(st);

	const uint64_t M = 1 << 20;
	struct tm_space_plan p;
	/* a bound given: evict above 90%, down to 80% */
	tm_space_plan(&(struct tm_space_input){ 95 * M, 95 * M, 100 * M, 10000 * M, 1000 * M }, &p);
	CHECK_INT_EQ(p.limit_bytes, 100 * M);
	CHECK(p.evict && !p.low_disk);
	CHECK(p.high_bytes <= 90 * M && p.high_bytes > 89 * M);
	CHECK(p.low_bytes <= 80 * M && p.low_bytes > 79 * M);
	tm_space_plan(&(struct tm_space_input){ 89 * M, 95 * M, 100 * M, 10000 * M, 1000 * M }, &p);
	CHECK(!p.evict && !p.low_disk);
	/* no bound: the file plus the disk's room beside the watermark */
	tm_space_plan(&(struct tm_space_input){ 50 * M, 50 * M, 0, 1500 * M, 1000 * M }, &p);
	CHECK_INT_EQ(p.limit_bytes, 550 * M);
	CHECK(!p.evict && !p.low_disk);
	/* the disk below the watermark: the file is the bound */
	tm_space_plan(&(struct tm_space_input){ 49 * M, 50 * M, 0, 500 * M, 1000 * M }, &p);
	CHECK_INT_EQ(p.limit_bytes, 50 * M);
	CHECK(p.evict && p.low_disk);
	tm_space_plan(&(struct tm_space_input){ 30 * M, 50 * M, 0, 500 * M, 1000 * M }, &p);
	CHECK(!p.evict && !p.low_disk);
	/* a bound larger than the disk allows */
	tm_space_plan(&(struct tm_space_input){ 10 * M, 10 * M, 1000 * M, 300 * M, 100 * M }, &p);
	CHECK_INT_EQ(p.limit_bytes, 210 * M);
}

/* one span of the ordering test's trace */
static void order_span(struct tm_span *s, uint64_t start, uint8_t id, struct tm_str name)
{
	make_span(s, 0x77, 1);
	s->span_id[0] = 0;
	s->span_id[7] = id;
	s->start_ns = start;
	s->end_ns = start + 10;
	s->name = name;
}

static void write_order_commit(struct tm_store *st, const struct tm_span *spans, size_t n)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	tm_batch_init(&batch, &arena);
	struct tm_resource res = { { NULL, 0, 0 }, S("") };
	struct tm_scope scope = { S("lib"), S("1.0"), { NULL, 0, 0 }, S("") };
	uint32_t ri, si;
	CHECK_INT_EQ(tm_batch_add_resource(&batch, &res, &ri), 0);
	CHECK_INT_EQ(tm_batch_add_scope(&batch, &scope, &si), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_INT_EQ(tm_batch_add_span(&batch, &spans[i], ri, si), 0);
	tm_batch_done(&batch);
	struct tm_batch *one = &batch;
	CHECK_INT_EQ(tm_store_write(st, &one, 1), 0);
	tm_arena_clear(&arena);
}

/* a trace reads back sorted by start then span ID, identical copies (in one
 * commit or across commits) dropped, and spans that share start and ID but
 * differ (Zipkin's shared spans) both kept, the first stored first */
static void test_read_order(void)
{
	struct tm_store *st = open_store(0);
	struct tm_span first[5], second[41];
	order_span(&first[0], 300, 5, S("a"));
	order_span(&first[1], 100, 9, S("a"));
	order_span(&first[2], 100, 2, S("client"));
	first[3] = first[1];   /* a copy in the same request */
	order_span(&first[4], 100, 2, S("server"));
	write_order_commit(st, first, 5);
	second[0] = first[0];   /* a retry */
	for (unsigned i = 1; i < 41; i++)   /* descending: every merge has work */
		order_span(&second[i], 1000 - i * 10, (uint8_t)(100 + i % 3), S("b"));
	write_order_commit(st, second, 41);
	struct tm_span many[12];   /* a long run: two variants of one span, six copies each */
	for (unsigned i = 0; i < 12; i++)
		order_span(&many[i], 5000, 200, i % 2 ? S("y") : S("x"));
	write_order_commit(st, many, 12);

	uint8_t id[16] = { 0xee };
	id[15] = 0x77;
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_trace tr;
	CHECK_INT_EQ(tm_store_trace_get(st, id, &arena, &tr), 0);
	CHECK_INT_EQ(tr.n_duplicates, 12);
	CHECK_INT_EQ(tr.n_spans, 46);
	CHECK(str_eq(tr.spans[44].name, S("x")));
	CHECK(str_eq(tr.spans[45].name, S("y")));
	CHECK_INT_EQ(tr.spans[0].start_ns, 100);
	CHECK_INT_EQ(tr.spans[0].span_id[7], 2);
	CHECK(str_eq(tr.spans[0].name, S("client")));
	CHECK_INT_EQ(tr.spans[1].span_id[7], 2);
	CHECK(str_eq(tr.spans[1].name, S("server")));
	CHECK_INT_EQ(tr.spans[2].span_id[7], 9);
	CHECK_INT_EQ(tr.spans[3].start_ns, 300);
	for (size_t i = 1; i < tr.n_spans; i++) {
		const struct tm_span *a = &tr.spans[i - 1], *b = &tr.spans[i];
		CHECK(a->start_ns < b->start_ns ||
		      (a->start_ns == b->start_ns && memcmp(a->span_id, b->span_id, 8) <= 0));
	}
	tm_arena_clear(&arena);
	tm_store_close(st);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tm-store-test-XXXXXX");
	if (!mkdtemp(dir))
		return 99;
	struct tm_store *st = open_store(0);
	for (unsigned c = 0; c < N_COMMITS; c++)
		write_commit(st, c);
	struct tm_store_stats stats;
	CHECK_INT_EQ(tm_store_stats(st, &stats), 0);
	CHECK_INT_EQ(stats.spans, N_COMMITS * 3);
	CHECK_INT_EQ(stats.commits, N_COMMITS);
	CHECK(stats.sealed_buckets >= 2);
	CHECK(stats.open_commits > 0);
	check_traces(st);
	check_store(st, 0);
	tm_store_close(st);

	/* everything is still there after reopening, also read-only */
	st = open_store(1);
	check_traces(st);
	struct tm_batch *none = NULL;
	CHECK_INT_EQ(tm_store_write(st, &none, 0), -EROFS);
	tm_store_close(st);

	/* a retried batch is stored twice but read once */
	st = open_store(0);
	write_commit(st, 5);
	check_store(st, 3);
	uint8_t id[16] = { 0xee };
	id[15] = (uint8_t)((5 * 7) % N_TRACES);
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_trace tr;
	CHECK_INT_EQ(tm_store_trace_get(st, id, &arena, &tr), 0);
	CHECK_INT_EQ(tr.n_duplicates, 1);
	CHECK_INT_EQ(tr.n_spans, expected_spans(id[15]));
	tm_arena_clear(&arena);
	tm_store_close(st);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT_EQ(system(cmd), 0);

	CHECK(mkdtemp(strcpy(dir, "/tmp/tm-store-test-XXXXXX")) != NULL);
	test_retention_by_age();
	CHECK_INT_EQ(system(cmd), 0);
	CHECK(mkdtemp(strcpy(dir, "/tmp/tm-store-test-XXXXXX")) != NULL);
	test_read_order();
	CHECK_INT_EQ(system(cmd), 0);
	CHECK(mkdtemp(strcpy(dir, "/tmp/tm-store-test-XXXXXX")) != NULL);
	test_space();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT_EQ(system(cmd), 0);
	return TEST_DONE();
}
