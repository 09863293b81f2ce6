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
	return TEST_DONE();
}
