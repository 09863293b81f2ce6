/* test_span_codec.c - record encoding round trips and hostile bytes. */
#include <errno.h>
#include <stdlib.h>

#include "spanfixture.h"
#include "testutil.h"

static void test_round_trip(void)
{
	struct tm_span in, out;
	fixture_span(&in, 1);
	struct tm_buf buf;
	tm_buf_init(&buf);
	tm_span_encode(&buf, &in);
	CHECK(!buf.failed);
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	memcpy(out.trace_id, in.trace_id, 16);   /* the key carries it */
	CHECK_INT_EQ(tm_span_decode(buf.data, buf.len, &arena, &out), 0);
	CHECK(span_eq(&in, &out));
	/* a root span: no parent bytes stored */
	in.has_parent = 0;
	memset(in.parent_span_id, 0, 8);
	buf.len = 0;
	tm_span_encode(&buf, &in);
	memcpy(out.trace_id, in.trace_id, 16);
	CHECK_INT_EQ(tm_span_decode(buf.data, buf.len, &arena, &out), 0);
	CHECK(span_eq(&in, &out));
	CHECK(!out.has_parent);
	tm_arena_clear(&arena);
	tm_buf_free(&buf);
}

static void test_resource_scope(void)
{
	struct tm_span fx;
	fixture_span(&fx, 2);
	struct tm_resource res = { fx.attrs, S("https://opentelemetry.io/schemas/1.21.0") }, res2;
	struct tm_scope scope = { S("io.opentelemetry.http"), S("1.2.3"), fx.events[0].attrs,
				  S("https://example/schema") }, scope2;
	struct tm_buf buf;
	tm_buf_init(&buf);
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	tm_resource_encode(&buf, &res);
	CHECK_INT_EQ(tm_resource_decode(buf.data, buf.len, &arena, &res2), 0);
	CHECK(attrs_eq(&res.attrs, &res2.attrs));
	CHECK(str_eq(res.schema_url, res2.schema_url));
	buf.len = 0;
	tm_scope_encode(&buf, &scope);
	CHECK_INT_EQ(tm_scope_decode(buf.data, buf.len, &arena, &scope2), 0);
	CHECK(str_eq(scope.name, scope2.name) && str_eq(scope.version, scope2.version));
	CHECK(attrs_eq(&scope.attrs, &scope2.attrs));
	CHECK(str_eq(scope.schema_url, scope2.schema_url));
	tm_arena_clear(&arena);
	tm_buf_free(&buf);
}

/* every truncation and many corruptions: an error or a span, never a crash */
static void test_hostile_bytes(void)
{
	struct tm_span in, out;
	fixture_span(&in, 3);
	struct tm_buf buf;
	tm_buf_init(&buf);
	tm_span_encode(&buf, &in);
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	for (size_t len = 0; len < buf.len; len++)
		CHECK_INT_EQ(tm_span_decode(buf.data, len, &arena, &out), -EBADMSG);
	srand(7);
	unsigned char *copy = malloc(buf.len);
	for (int round = 0; round < 20000; round++) {
		memcpy(copy, buf.data, buf.len);
		for (int k = 0; k < 3; k++)
			copy[(size_t)rand() % buf.len] = (unsigned char)rand();
		int rc = tm_span_decode(copy, buf.len, &arena, &out);
		CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
		tm_arena_clear(&arena);
	}
	/* a count of 2^60 attributes must not ask the arena for it */
	unsigned char huge[] = { 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10 };
	CHECK_INT_EQ(tm_span_decode(huge, sizeof(huge), &arena, &out), -EBADMSG);
	free(copy);
	tm_arena_clear(&arena);
	tm_buf_free(&buf);
}

static void test_ids(void)
{
	uint8_t id[16];
	char hex[33];
	CHECK_INT_EQ(tm_trace_id_parse("5B8EFFF798038103d269b633813fc60c", 32, id), 0);
	tm_id_to_hex(id, 16, hex);
	CHECK_STR_EQ(hex, "5b8efff798038103d269b633813fc60c");
	/* short ids are right-aligned, as Jaeger prints 64-bit ids */
	CHECK_INT_EQ(tm_trace_id_parse("abc", 3, id), 0);
	tm_id_to_hex(id, 16, hex);
	CHECK_STR_EQ(hex, "00000000000000000000000000000abc");
	CHECK_INT_EQ(tm_trace_id_parse("1-5759e988-bd862e3fe1be46a994272793", 35, id), 0);
	tm_id_to_hex(id, 16, hex);
	CHECK_STR_EQ(hex, "5759e988bd862e3fe1be46a994272793");
	CHECK_INT_EQ(tm_trace_id_parse("2-5759e988-bd862e3fe1be46a994272793", 35, id), -EINVAL);
	CHECK_INT_EQ(tm_trace_id_parse("1-5759e988-bd862e3fe1be46a99427279x", 35, id), -EINVAL);
	CHECK_INT_EQ(tm_trace_id_parse("", 0, id), -EINVAL);
	CHECK_INT_EQ(tm_trace_id_parse("xyz", 3, id), -EINVAL);
	CHECK_INT_EQ(tm_trace_id_parse("0123456789abcdef0123456789abcdef0", 33, id), -EINVAL);
	CHECK_INT_EQ(tm_trace_id_parse("12 4", 4, id), -EINVAL);
	CHECK(tm_id_is_zero((const uint8_t *)"\0\0\0\0", 4));
	CHECK(!tm_id_is_zero((const uint8_t *)"\0\0\1\0", 4));
}

static void test_arena_limit(void)
{
	struct tm_arena a;
	tm_arena_init(&a, 100000);
	size_t got = 0;
	while (tm_arena_alloc(&a, 1000))
		got += 1000;
	CHECK(got > 50000 && got <= 100000);
	CHECK(tm_arena_alloc(&a, (size_t)1 << 40) == NULL);
	tm_arena_clear(&a);
	CHECK(tm_arena_alloc(&a, 10) != NULL);
	tm_arena_clear(&a);
}

int main(void)
{
	test_round_trip();
	test_resource_scope();
	test_hostile_bytes();
	test_ids();
	test_arena_limit();
	return TEST_DONE();
}
