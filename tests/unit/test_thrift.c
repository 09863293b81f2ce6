/* test_thrift.c - the TBinaryProtocol reader (server/thrift.c).
 *
 * (a) every type read back from hand-written bytes, signs and edge values;
 * (b) tm_thrift_skip over fields of every type, nested, and the reader
 *     lands exactly after them;
 * (c) hostile bytes: every truncation of a struct that holds every type,
 *     lengths of 2^31-1, negative lengths and counts, counts that cannot
 *     fit, 10,000 levels of nesting in each container, unknown type ids;
 *     every error names its byte offset and only the first is kept. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "thriftwriter.h"
#include "thrift.h"

/*---- writing bytes (the rest is in thriftwriter.h) ----*/

static void w_double(struct wbuf *w, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, 8);
	w_be(w, bits, 8);
}

/* a struct holding one field of every type, some of them nested */
static void w_every_type(struct wbuf *w)
{
	w_field(w, TM_THRIFT_BOOL, 1); w_u8(w, 1);
	w_field(w, TM_THRIFT_I8, 2); w_u8(w, 0x80);
	w_field(w, TM_THRIFT_I16, 3); w_be(w, 0xfffe, 2);
	w_field(w, TM_THRIFT_I32, 4); w_be(w, 0x80000000u, 4);
	w_field(w, TM_THRIFT_I64, 5); w_be(w, 0x7fffffffffffffffull, 8);
	w_field(w, TM_THRIFT_DOUBLE, 6); w_double(w, -2.5);
	w_field(w, TM_THRIFT_STRING, 7); w_str(w, "h\xc3\xa9llo");
	w_field(w, TM_THRIFT_STRING, 8); w_be(w, 0, 4);           /* empty binary */
	w_field(w, TM_THRIFT_STRUCT, 9);                           /* { 1: i32 7 } */
	w_field(w, TM_THRIFT_I32, 1); w_be(w, 7, 4); w_u8(w, 0);
	w_field(w, TM_THRIFT_LIST, 10);                            /* list<string> */
	w_u8(w, TM_THRIFT_STRING); w_be(w, 2, 4); w_str(w, "a"); w_str(w, "bc");
	w_field(w, TM_THRIFT_SET, 11);                             /* set<i16> */
	w_u8(w, TM_THRIFT_I16); w_be(w, 3, 4); w_be(w, 1, 2); w_be(w, 2, 2); w_be(w, 3, 2);
	w_field(w, TM_THRIFT_MAP, 12);                             /* map<string, list<i64>> */
	w_u8(w, TM_THRIFT_STRING); w_u8(w, TM_THRIFT_LIST); w_be(w, 1, 4);
	w_str(w, "k"); w_u8(w, TM_THRIFT_I64); w_be(w, 1, 4); w_be(w, 42, 8);
	w_field(w, TM_THRIFT_UUID, 13);
	for (int i = 0; i < 16; i++)
		w_u8(w, (uint8_t)i);
	w_field(w, TM_THRIFT_LIST, 14);                            /* list<struct> */
	w_u8(w, TM_THRIFT_STRUCT); w_be(w, 2, 4); w_u8(w, 0);
	w_field(w, TM_THRIFT_BOOL, 1); w_u8(w, 0); w_u8(w, 0);
	w_u8(w, TM_THRIFT_STOP);
}

static int has_offset(const struct tm_thrift_reader *r, size_t offset)
{
	char want[48];
	snprintf(want, sizeof(want), "at byte offset %zu", offset);
	return strstr(r->error, want) != NULL;
}

/*---- (a) every type ----*/

static void test_read_every_type(void)
{
	struct wbuf w = { 0 };
	w_every_type(&w);
	struct tm_thrift_reader r;
	tm_thrift_reader_init(&r, w.data, w.len);
	uint8_t type;
	int16_t id;
	int b;
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	double d;
	const uint8_t *p;
	size_t len;

	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(type, TM_THRIFT_BOOL);
	CHECK_INT_EQ(id, 1);
	CHECK_INT_EQ(r.field_offset, 0);
	CHECK_INT_EQ(tm_thrift_read_bool(&r, &b), 0);
	CHECK_INT_EQ(b, 1);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(r.field_offset, 4);
	CHECK_INT_EQ(tm_thrift_read_i8(&r, &i8), 0);
	CHECK_INT_EQ(i8, -128);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(tm_thrift_read_i16(&r, &i16), 0);
	CHECK_INT_EQ(i16, -2);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(tm_thrift_read_i32(&r, &i32), 0);
	CHECK_INT_EQ(i32, INT32_MIN);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(type, TM_THRIFT_I64);
	CHECK_INT_EQ(id, 5);
	CHECK_INT_EQ(tm_thrift_read_i64(&r, &i64), 0);
	CHECK_INT_EQ(i64, INT64_MAX);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(tm_thrift_read_double(&r, &d), 0);
	CHECK(d == -2.5);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(type, TM_THRIFT_STRING);
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), 0);
	CHECK_INT_EQ(len, 6);
	CHECK(len == 6 && !memcmp(p, "h\xc3\xa9llo", 6));
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), 0);
	CHECK_INT_EQ(len, 0);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);   /* 9: struct */
	CHECK_INT_EQ(type, TM_THRIFT_STRUCT);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(tm_thrift_read_i32(&r, &i32), 0);
	CHECK_INT_EQ(i32, 7);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(type, TM_THRIFT_STOP);
	CHECK_INT_EQ(id, 0);
	uint8_t et, kt, vt;
	uint32_t n;
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);   /* 10: list<string> */
	CHECK_INT_EQ(tm_thrift_read_list(&r, &et, &n), 0);
	CHECK_INT_EQ(et, TM_THRIFT_STRING);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), 0);
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), 0);
	CHECK(len == 2 && !memcmp(p, "bc", 2));
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);   /* 11: set<i16> */
	CHECK_INT_EQ(type, TM_THRIFT_SET);
	CHECK_INT_EQ(tm_thrift_read_list(&r, &et, &n), 0);
	CHECK_INT_EQ(n, 3);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_I16), 0);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_I16), 0);
	CHECK_INT_EQ(tm_thrift_read_i16(&r, &i16), 0);
	CHECK_INT_EQ(i16, 3);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);   /* 12: map */
	CHECK_INT_EQ(tm_thrift_read_map(&r, &kt, &vt, &n), 0);
	CHECK_INT_EQ(kt, TM_THRIFT_STRING);
	CHECK_INT_EQ(vt, TM_THRIFT_LIST);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(tm_thrift_skip(&r, kt), 0);
	CHECK_INT_EQ(tm_thrift_skip(&r, vt), 0);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);   /* 13: uuid */
	CHECK_INT_EQ(type, TM_THRIFT_UUID);
	CHECK_INT_EQ(tm_thrift_skip(&r, type), 0);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);   /* 14: list<struct> */
	CHECK_INT_EQ(tm_thrift_skip(&r, type), 0);
	CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
	CHECK_INT_EQ(type, TM_THRIFT_STOP);
	CHECK_INT_EQ(r.pos, w.len);
	CHECK_STR_EQ(r.error, "");
	w_free(&w);
}

static void test_values(void)
{
	/* any non-zero byte is true; doubles keep their bits (NaN, -0) */
	static const uint8_t bytes[] = {
		0x00, 0x02, 0xff,
		0x7f, 0xf8, 0, 0, 0, 0, 0, 0,   /* NaN */
		0x80, 0, 0, 0, 0, 0, 0, 0,      /* -0.0 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x7f, 0xff,
	};
	struct tm_thrift_reader r;
	tm_thrift_reader_init(&r, bytes, sizeof(bytes));
	int b = -1;
	double d;
	int64_t i64;
	int16_t i16;
	CHECK_INT_EQ(tm_thrift_read_bool(&r, &b), 0);
	CHECK_INT_EQ(b, 0);
	CHECK_INT_EQ(tm_thrift_read_bool(&r, &b), 0);
	CHECK_INT_EQ(b, 1);
	CHECK_INT_EQ(tm_thrift_read_bool(&r, &b), 0);
	CHECK_INT_EQ(b, 1);
	CHECK_INT_EQ(tm_thrift_read_double(&r, &d), 0);
	CHECK(isnan(d));
	CHECK_INT_EQ(tm_thrift_read_double(&r, &d), 0);
	CHECK(d == 0 && signbit(d));
	CHECK_INT_EQ(tm_thrift_read_i64(&r, &i64), 0);
	CHECK_INT_EQ(i64, -1);
	CHECK_INT_EQ(tm_thrift_read_i16(&r, &i16), 0);
	CHECK_INT_EQ(i16, INT16_MAX);
	/* at the end: every read fails and says how much was missing */
	CHECK_INT_EQ(tm_thrift_read_bool(&r, &b), -EBADMSG);
	CHECK(has_offset(&r, sizeof(bytes)));
	CHECK(strstr(r.error, "needs 1 bytes, 0 left") != NULL);
}

/*---- (b) skipping ----*/

static void test_skip_every_type(void)
{
	/* a struct of every type wrapped as unknown field 99 between two known ones */
	struct wbuf w = { 0 };
	w_field(&w, TM_THRIFT_I32, 1); w_be(&w, 11, 4);
	w_field(&w, TM_THRIFT_STRUCT, 99);
	w_every_type(&w);
	w_field(&w, TM_THRIFT_I32, 2); w_be(&w, 22, 4);
	w_u8(&w, TM_THRIFT_STOP);

	struct tm_thrift_reader r;
	tm_thrift_reader_init(&r, w.data, w.len);
	uint8_t type;
	int16_t id;
	int32_t v, sum = 0;
	for (;;) {
		CHECK_INT_EQ(tm_thrift_read_field(&r, &type, &id), 0);
		if (type == TM_THRIFT_STOP || r.error[0])
			break;
		if (id == 1 || id == 2) {
			CHECK_INT_EQ(tm_thrift_read_i32(&r, &v), 0);
			sum += v;
		} else {
			CHECK_INT_EQ(tm_thrift_skip(&r, type), 0);
		}
	}
	CHECK_INT_EQ(sum, 33);
	CHECK_INT_EQ(r.pos, w.len);

	/* the whole thing skipped as one struct */
	tm_thrift_reader_init(&r, w.data, w.len);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_STRUCT), 0);
	CHECK_INT_EQ(r.pos, w.len);
	w_free(&w);
}

static void test_skip_fixed_lists(void)
{
	/* list<i64> of 1000 and list<bool> of 3, skipped in one step each */
	struct wbuf w = { 0 };
	w_u8(&w, TM_THRIFT_I64);
	w_be(&w, 1000, 4);
	for (int i = 0; i < 1000; i++)
		w_be(&w, (uint64_t)i, 8);
	w_u8(&w, TM_THRIFT_BOOL);
	w_be(&w, 3, 4);
	w_bytes(&w, "\x01\x00\x07", 3);
	struct tm_thrift_reader r;
	tm_thrift_reader_init(&r, w.data, w.len);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_LIST), 0);
	CHECK_INT_EQ(r.pos, 5 + 8000);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_SET), 0);
	CHECK_INT_EQ(r.pos, w.len);
	/* one element short */
	tm_thrift_reader_init(&r, w.data, 5 + 7999);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_LIST), -EBADMSG);
	CHECK(has_offset(&r, 0));
	CHECK(strstr(r.error, "list of 1000 elements needs at least 8000 bytes, 7999 left"));
	w_free(&w);
}

/*---- (c) hostile bytes ----*/

static void test_every_truncation(void)
{
	struct wbuf w = { 0 };
	w_every_type(&w);
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan sees overreads */
		memcpy(copy, w.data, cut);
		struct tm_thrift_reader r;
		tm_thrift_reader_init(&r, copy, cut);
		int rc = tm_thrift_skip(&r, TM_THRIFT_STRUCT);
		if (rc != -EBADMSG)
			fprintf(stderr, "cut at %zu: rc %d\n", cut, rc);
		CHECK_INT_EQ(rc, -EBADMSG);
		CHECK(strstr(r.error, "at byte offset") != NULL);
		CHECK(r.pos <= cut);
		free(copy);
	}
	w_free(&w);
}

/* reads one value of the given type from bytes; returns the reader's error */
static int skip_bytes(const void *bytes, size_t len, uint8_t type, struct tm_thrift_reader *r)
{
	tm_thrift_reader_init(r, bytes, len);
	return tm_thrift_skip(r, type);
}

static void test_lengths(void)
{
	struct tm_thrift_reader r;
	const uint8_t *p;
	size_t len;
	/* 2^31-1 bytes announced, 3 present */
	static const uint8_t huge_str[] = { 0x7f, 0xff, 0xff, 0xff, 'a', 'b', 'c' };
	tm_thrift_reader_init(&r, huge_str, sizeof(huge_str));
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), -EBADMSG);
	CHECK(strstr(r.error, "string length 2147483647 exceeds the 3 bytes left at byte offset 0"));
	/* negative string length */
	static const uint8_t neg_str[] = { 0xff, 0xff, 0xff, 0xfb };
	tm_thrift_reader_init(&r, neg_str, sizeof(neg_str));
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), -EBADMSG);
	CHECK(strstr(r.error, "negative string length -5 at byte offset 0"));
	/* exact fit is fine */
	static const uint8_t exact[] = { 0, 0, 0, 2, 'o', 'k' };
	tm_thrift_reader_init(&r, exact, sizeof(exact));
	CHECK_INT_EQ(tm_thrift_read_binary(&r, &p, &len), 0);
	CHECK(len == 2 && !memcmp(p, "ok", 2));

	/* lists: negative size, 2^31-1 structs, size of an impossible product */
	static const uint8_t neg_list[] = { TM_THRIFT_I32, 0x80, 0, 0, 0 };
	CHECK_INT_EQ(skip_bytes(neg_list, sizeof(neg_list), TM_THRIFT_LIST, &r), -EBADMSG);
	CHECK(strstr(r.error, "negative list size -2147483648 at byte offset 1"));
	static const uint8_t huge_list[] = { TM_THRIFT_STRUCT, 0x7f, 0xff, 0xff, 0xff, 0, 0 };
	CHECK_INT_EQ(skip_bytes(huge_list, sizeof(huge_list), TM_THRIFT_LIST, &r), -EBADMSG);
	CHECK(strstr(r.error, "list of 2147483647 elements needs at least 2147483647 bytes, 2 left"));
	static const uint8_t huge_i64s[] = { TM_THRIFT_I64, 0x7f, 0xff, 0xff, 0xff };
	CHECK_INT_EQ(skip_bytes(huge_i64s, sizeof(huge_i64s), TM_THRIFT_SET, &r), -EBADMSG);
	CHECK(has_offset(&r, 0));
	/* maps: negative size, and a count that cannot fit its keys and values */
	static const uint8_t neg_map[] = { TM_THRIFT_I8, TM_THRIFT_I8, 0xff, 0xff, 0xff, 0xff };
	CHECK_INT_EQ(skip_bytes(neg_map, sizeof(neg_map), TM_THRIFT_MAP, &r), -EBADMSG);
	CHECK(strstr(r.error, "negative map size -1 at byte offset 2"));
	static const uint8_t big_map[] = { TM_THRIFT_I32, TM_THRIFT_I64, 0, 0, 0, 2,
					   0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	CHECK_INT_EQ(skip_bytes(big_map, sizeof(big_map), TM_THRIFT_MAP, &r), -EBADMSG);
	CHECK(strstr(r.error, "map of 2 elements needs at least 24 bytes, 12 left"));
	CHECK_INT_EQ(skip_bytes(big_map, sizeof(big_map) - 0, TM_THRIFT_STRING, &r), -EBADMSG);
	/* an empty map and list still name their types */
	static const uint8_t empty[] = { TM_THRIFT_STRING, TM_THRIFT_STRUCT, 0, 0, 0, 0 };
	CHECK_INT_EQ(skip_bytes(empty, sizeof(empty), TM_THRIFT_MAP, &r), 0);
	CHECK_INT_EQ(r.pos, sizeof(empty));
}

static void test_unknown_types(void)
{
	static const uint8_t bad_field_types[] = { 1, 5, 7, 9, 17, 100, 255 };
	struct tm_thrift_reader r;
	for (size_t i = 0; i < sizeof(bad_field_types); i++) {
		/* field 1: i32 0, then a field of the bad type */
		uint8_t bytes[] = { TM_THRIFT_I32, 0, 1, 0, 0, 0, 0, bad_field_types[i], 0, 2, 0 };
		CHECK_INT_EQ(skip_bytes(bytes, sizeof(bytes), TM_THRIFT_STRUCT, &r), -EBADMSG);
		char want[80];
		snprintf(want, sizeof(want), "field type %u is not a thrift type at byte offset 7",
			 bad_field_types[i]);
		CHECK(strstr(r.error, want) != NULL);
		if (!strstr(r.error, want))
			fprintf(stderr, "  got: %s\n", r.error);
	}
	/* element types: STOP and VOID are not values */
	static const uint8_t stop_list[] = { TM_THRIFT_STOP, 0, 0, 0, 1, 0 };
	CHECK_INT_EQ(skip_bytes(stop_list, sizeof(stop_list), TM_THRIFT_LIST, &r), -EBADMSG);
	CHECK(strstr(r.error, "list element type 0 is not a thrift type at byte offset 0"));
	static const uint8_t void_map[] = { TM_THRIFT_I8, TM_THRIFT_VOID, 0, 0, 0, 0 };
	CHECK_INT_EQ(skip_bytes(void_map, sizeof(void_map), TM_THRIFT_MAP, &r), -EBADMSG);
	CHECK(strstr(r.error, "map value type 1 is not a thrift type at byte offset 1"));
	static const uint8_t odd_key[] = { 20, TM_THRIFT_I8, 0, 0, 0, 0 };
	CHECK_INT_EQ(skip_bytes(odd_key, sizeof(odd_key), TM_THRIFT_MAP, &r), -EBADMSG);
	CHECK(strstr(r.error, "map key type 20"));
	/* skipping a type that is no type */
	CHECK_INT_EQ(skip_bytes("", 0, 9, &r), -EBADMSG);
	CHECK(strstr(r.error, "type 9 is not a thrift type at byte offset 0"));
	CHECK_INT_EQ(skip_bytes("", 0, TM_THRIFT_VOID, &r), -EBADMSG);
	CHECK_STR_EQ(tm_thrift_type_name(TM_THRIFT_I64), "i64");
	CHECK_STR_EQ(tm_thrift_type_name(9), "unknown");
}

/* depth levels of one container kind, each holding the next */
static void w_nested(struct wbuf *w, uint8_t kind, int depth)
{
	for (int i = 0; i < depth; i++) {
		switch (kind) {
		case TM_THRIFT_STRUCT: w_field(w, TM_THRIFT_STRUCT, 1); break;
		case TM_THRIFT_LIST: w_u8(w, TM_THRIFT_LIST); w_be(w, 1, 4); break;
		case TM_THRIFT_MAP:
			w_u8(w, TM_THRIFT_I8); w_u8(w, TM_THRIFT_MAP); w_be(w, 1, 4); w_u8(w, 0);
			break;
		}
	}
	/* the innermost: an empty one */
	switch (kind) {
	case TM_THRIFT_STRUCT: break;
	case TM_THRIFT_LIST: w_u8(w, TM_THRIFT_I8); w_be(w, 0, 4); break;
	case TM_THRIFT_MAP: w_u8(w, TM_THRIFT_I8); w_u8(w, TM_THRIFT_I8); w_be(w, 0, 4); break;
	}
	if (kind == TM_THRIFT_STRUCT)
		for (int i = 0; i <= depth; i++)
			w_u8(w, TM_THRIFT_STOP);
}

static void test_nesting(void)
{
	static const uint8_t kinds[] = { TM_THRIFT_STRUCT, TM_THRIFT_LIST, TM_THRIFT_MAP };
	for (size_t k = 0; k < sizeof(kinds); k++) {
		struct tm_thrift_reader r;
		struct wbuf w = { 0 };
		/* the limit itself is fine: depth levels inside the outermost one */
		w_nested(&w, kinds[k], TM_THRIFT_MAX_DEPTH - 1);
		CHECK_INT_EQ(skip_bytes(w.data, w.len, kinds[k], &r), 0);
		CHECK_INT_EQ(r.pos, w.len);
		w_free(&w);
		w_nested(&w, kinds[k], TM_THRIFT_MAX_DEPTH);
		CHECK_INT_EQ(skip_bytes(w.data, w.len, kinds[k], &r), -EBADMSG);
		CHECK(strstr(r.error, "containers nested deeper than 64 levels at byte offset"));
		w_free(&w);
		w_nested(&w, kinds[k], 10000);
		CHECK_INT_EQ(skip_bytes(w.data, w.len, kinds[k], &r), -EBADMSG);
		CHECK(strstr(r.error, "nested deeper") != NULL);
		w_free(&w);
	}
}

/* containers the caller reads itself count toward the limit of a skip */
static void test_enter_leave(void)
{
	struct wbuf w = { 0 };
	w_nested(&w, TM_THRIFT_STRUCT, 1);   /* a struct holding an empty struct */
	struct tm_thrift_reader r;
	tm_thrift_reader_init(&r, w.data, w.len);
	for (int i = 0; i < TM_THRIFT_MAX_DEPTH - 2; i++)
		CHECK_INT_EQ(tm_thrift_enter(&r), 0);
	CHECK_INT_EQ(r.depth, TM_THRIFT_MAX_DEPTH - 2);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_STRUCT), 0);   /* two more: 64 */
	CHECK_INT_EQ(r.pos, w.len);
	tm_thrift_reader_init(&r, w.data, w.len);
	for (int i = 0; i < TM_THRIFT_MAX_DEPTH - 1; i++)
		CHECK_INT_EQ(tm_thrift_enter(&r), 0);
	CHECK_INT_EQ(tm_thrift_skip(&r, TM_THRIFT_STRUCT), -EBADMSG);   /* 65 */
	CHECK(strstr(r.error, "nested deeper than 64 levels at byte offset 3") != NULL);
	tm_thrift_reader_init(&r, w.data, w.len);
	for (int i = 0; i < TM_THRIFT_MAX_DEPTH; i++)
		CHECK_INT_EQ(tm_thrift_enter(&r), 0);
	CHECK_INT_EQ(tm_thrift_enter(&r), -EBADMSG);
	CHECK_INT_EQ(r.depth, TM_THRIFT_MAX_DEPTH);
	tm_thrift_leave(&r);
	CHECK_INT_EQ(r.depth, TM_THRIFT_MAX_DEPTH - 1);
	w_free(&w);
}

static void test_first_error_kept(void)
{
	struct tm_thrift_reader r;
	int32_t v;
	tm_thrift_reader_init(&r, "\x01", 1);
	CHECK_INT_EQ(tm_thrift_read_i32(&r, &v), -EBADMSG);
	CHECK_INT_EQ(tm_thrift_fail(&r, 99, "something else %d", 1), -EBADMSG);
	CHECK(strstr(r.error, "i32 needs 4 bytes, 1 left at byte offset 0") != NULL);
	CHECK(strstr(r.error, "something else") == NULL);
	tm_thrift_reader_init(&r, "", 0);
	CHECK_INT_EQ(tm_thrift_fail(&r, 12, "Span.%s is wrong", "flags"), -EBADMSG);
	CHECK_STR_EQ(r.error, "Span.flags is wrong at byte offset 12");
}

int main(void)
{
	test_read_every_type();
	test_values();
	test_skip_every_type();
	test_skip_fixed_lists();
	test_every_truncation();
	test_lengths();
	test_unknown_types();
	test_nesting();
	test_enter_leave();
	test_first_error_kept();
	return TEST_DONE();
}
