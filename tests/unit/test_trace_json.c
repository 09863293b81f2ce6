/* test_trace_json.c - server/json.c and server/trace_json.c.
 *
 * The JSON primitives are compared byte for byte; the trace encoders are
 * parsed back with jansson (which also rejects invalid UTF-8) and checked
 * field by field, plus one golden document per format. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "span.h"
#include "store.h"
#include "testutil.h"
#include "trace_json.h"

/*---- helpers ----*/

static struct tm_str tstr(const char *s)
{
	return (struct tm_str){ s, strlen(s) };
}

static struct tm_value v_str(const char *s)
{
	return (struct tm_value){ .type = TM_VAL_STRING, .u.str = tstr(s) };
}

static struct tm_value v_int(int64_t i)
{
	return (struct tm_value){ .type = TM_VAL_INT, .u.integer = i };
}

static struct tm_value v_dbl(double d)
{
	return (struct tm_value){ .type = TM_VAL_DOUBLE, .u.dbl = d };
}

static struct tm_attr kv(const char *key, struct tm_value v)
{
	return (struct tm_attr){ tstr(key), v };
}

static void set_id(uint8_t *id, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		id[i] = (uint8_t)(first + i);
}

/* NUL-terminates the buffer and returns its text (owned by the buffer). */
static const char *buf_text(struct tm_buf *b)
{
	tm_buf_add(b, "", 1);
	b->len--;
	return b->failed ? NULL : (const char *)b->data;
}

/* runs one primitive writer and returns its output as a static string. */
#define JSON_OF(call) json_of_buf((call, &scratch))
static struct tm_buf scratch;
static const char *json_of_buf(struct tm_buf *b)
{
	static char out[4096];
	snprintf(out, sizeof(out), "%s", buf_text(b));
	b->len = 0;
	return out;
}

/* the node at a path like "data/0/spans/1/tags", or NULL. */
static json_t *jpath(json_t *node, const char *path)
{
	char part[64];

	while (node && *path) {
		size_t n = strcspn(path, "/");
		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		path += n + (path[n] == '/');
		if (json_is_array(node))
			node = json_array_get(node, strtoul(part, NULL, 10));
		else
			node = json_object_get(node, part);
	}
	return node;
}

static const char *jstr(json_t *root, const char *path)
{
	return json_string_value(jpath(root, path));
}

static json_int_t jint(json_t *root, const char *path)
{
	return json_integer_value(jpath(root, path));
}

static size_t jsize(json_t *root, const char *path)
{
	json_t *n = jpath(root, path);
	return json_is_array(n) ? json_array_size(n) : json_object_size(n);
}

/* the Jaeger tag {"key":key,...} in a tags/fields array, or NULL. */
static json_t *find_tag(json_t *tags, const char *key)
{
	size_t i;
	json_t *t;

	json_array_foreach(tags, i, t) {
		const char *k = json_string_value(json_object_get(t, "key"));
		if (k && strcmp(k, key) == 0)
			return t;
	}
	return NULL;
}

static json_t *parse(struct tm_buf *b)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)b->data, b->len, 0, &err);

	if (!root)
		fprintf(stderr, "jansson: %s at %d: %.200s\n", err.text, err.position,
			(const char *)b->data);
	return root;
}

/*---- JSON primitives ----*/

static void test_json_strings(void)
{
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "plain")), "\"plain\"");
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f")),
		     "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
	CHECK_STR_EQ(JSON_OF(tm_json_str(&scratch, "a\0b", 3)), "\"a\\u0000b\"");
	CHECK_STR_EQ(JSON_OF(tm_json_str(&scratch, NULL, 0)), "\"\"");
	/* valid 2, 3 and 4 byte sequences pass unchanged */
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e")),
		     "\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"");
	/* stray continuation, bad lead, truncated sequence */
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\x80x\xffy\xe2\x82")),
		     "\"\xef\xbf\xbdx\xef\xbf\xbdy\xef\xbf\xbd\"");
	/* overlong '/', a surrogate, above U+10FFFF: one U+FFFD per bad byte */
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xc0\xaf")),
		     "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xed\xa0\x80")),
		     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xe0\x80\xaf")),
		     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xf0\x8f\xbf\xbf")),
		     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xf4\x90\x80\x80")),
		     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* a valid prefix of a 3-byte sequence is replaced as one unit */
	CHECK_STR_EQ(JSON_OF(tm_json_cstr(&scratch, "\xe2\x82(")), "\"\xef\xbf\xbd(\"");
	CHECK_STR_EQ(JSON_OF(tm_json_key(&scratch, "traceId")), "\"traceId\":");
}

/* random bytes always come out as JSON that jansson (a strict UTF-8
 * checker) accepts. */
static void test_json_random_bytes(void)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	unsigned char raw[32];
	json_error_t err;

	for (int i = 0; i < 20000; i++) {
		for (size_t j = 0; j < sizeof(raw); j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly high bytes, where the UTF-8 cases are */
			raw[j] = (unsigned char)(x & 1 ? 0x80 | (x >> 8) : x >> 8);
		}
		scratch.len = 0;
		tm_json_str(&scratch, (const char *)raw, x % sizeof(raw));
		json_t *v = json_loadb((const char *)scratch.data, scratch.len,
				       JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		CHECK(json_is_string(v));
		json_decref(v);
		if (!v)
			break;
	}
	scratch.len = 0;
}

static void test_json_numbers(void)
{
	CHECK_STR_EQ(JSON_OF(tm_json_int(&scratch, 0)), "0");
	CHECK_STR_EQ(JSON_OF(tm_json_int(&scratch, -42)), "-42");
	CHECK_STR_EQ(JSON_OF(tm_json_int(&scratch, INT64_MIN)), "-9223372036854775808");
	CHECK_STR_EQ(JSON_OF(tm_json_int(&scratch, INT64_MAX)), "9223372036854775807");
	CHECK_STR_EQ(JSON_OF(tm_json_uint(&scratch, UINT64_MAX)), "18446744073709551615");
	CHECK_STR_EQ(JSON_OF(tm_json_int_str(&scratch, INT64_MIN)), "\"-9223372036854775808\"");
	CHECK_STR_EQ(JSON_OF(tm_json_uint_str(&scratch, 1700000000000000000u)),
		     "\"1700000000000000000\"");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, 0.1)), "0.1");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, 1.5)), "1.5");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, -0.0)), "-0");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, 1e300)), "1e+300");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, NAN)), "\"NaN\"");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, INFINITY)), "\"Infinity\"");
	CHECK_STR_EQ(JSON_OF(tm_json_double(&scratch, -INFINITY)), "\"-Infinity\"");
	CHECK_STR_EQ(JSON_OF(tm_json_bool(&scratch, 7)), "true");
	CHECK_STR_EQ(JSON_OF(tm_json_bool(&scratch, 0)), "false");
}

/* every double we print reads back as the same double. */
static void test_json_double_round_trip(void)
{
	uint64_t x = 88172645463325252u;

	for (int i = 0; i < 10000; i++) {
		double d;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* xorshift64 */
		memcpy(&d, &x, sizeof(d));
		if (!isfinite(d))
			continue;
		const char *s = JSON_OF(tm_json_double(&scratch, d));
		if (strtod(s, NULL) != d) {
			CHECK_STR_EQ(s, "a round-tripping number");
			break;
		}
	}
}

static void test_json_bytes(void)
{
	static const char *const rfc4648[][2] = {
		{ "", "\"\"" }, { "f", "\"Zg==\"" }, { "fo", "\"Zm8=\"" },
		{ "foo", "\"Zm9v\"" }, { "foob", "\"Zm9vYg==\"" },
		{ "fooba", "\"Zm9vYmE=\"" }, { "foobar", "\"Zm9vYmFy\"" },
	};
	uint8_t bytes[49];

	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++)
		CHECK_STR_EQ(JSON_OF(tm_json_base64(&scratch, rfc4648[i][0],
						    strlen(rfc4648[i][0]))), rfc4648[i][1]);
	/* 49 bytes cross the encoder's 48-byte block */
	set_id(bytes, sizeof(bytes), 0xf0);
	CHECK_STR_EQ(JSON_OF(tm_json_base64(&scratch, bytes, sizeof(bytes))),
		     "\"8PHy8/T19vf4+fr7/P3+/wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fIA==\"");
	CHECK_STR_EQ(JSON_OF(tm_json_hex(&scratch, bytes, 34)),
		     "\"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f1011\"");
	CHECK_STR_EQ(JSON_OF(tm_json_hex(&scratch, bytes, 0)), "\"\"");
}

/*---- fixture: two traces covering every field ----*/

struct fixture {
	struct tm_attr checkout_attrs[2], checkout_copy_attrs[2], db_attrs[2], noname_attrs[1];
	struct tm_resource checkout, checkout_copy, db, empty, noname;
	struct tm_attr lib_attrs[1];
	struct tm_scope lib, other;
	struct tm_value array_items[2];
	struct tm_attr kvlist_items[1];
	struct tm_attr span_attrs[14];
	struct tm_attr exception_attrs[1], event_attrs[2];
	struct tm_event events[3];
	struct tm_attr follows_attrs[1], child_attrs[1];
	struct tm_link links[3];
	struct tm_span spans_a[6], spans_b[1];
	struct tm_trace traces[2];
};

static void fixture_resources(struct fixture *f)
{
	f->checkout_attrs[0] = kv("service.name", v_str("checkout"));
	f->checkout_attrs[1] = kv("service.version", v_str("1.2.3"));
	/* same content in another order and at another address: same process */
	f->checkout_copy_attrs[0] = f->checkout_attrs[1];
	f->checkout_copy_attrs[1] = f->checkout_attrs[0];
	f->db_attrs[0] = kv("host.name", v_str("db1"));
	f->db_attrs[1] = kv("service.name", v_str("db"));
	f->noname_attrs[0] = kv("host.name", v_str("h"));
	f->checkout = (struct tm_resource){ { f->checkout_attrs, 2, 0 },
					    tstr("https://opentelemetry.io/schemas/1.21.0") };
	f->checkout_copy = (struct tm_resource){ { f->checkout_copy_attrs, 2, 0 }, { 0 } };
	f->db = (struct tm_resource){ { f->db_attrs, 2, 0 }, { 0 } };
	f->noname = (struct tm_resource){ { f->noname_attrs, 1, 3 }, { 0 } };
	f->lib_attrs[0] = kv("lib.attr", v_int(1));
	f->lib = (struct tm_scope){ tstr("lib"), tstr("1.0"), { f->lib_attrs, 1, 0 },
				    tstr("https://scope/schema") };
	f->other = (struct tm_scope){ .name = tstr("other") };
}

static void fixture_attrs(struct fixture *f)
{
	struct tm_attr *a = f->span_attrs;

	f->array_items[0] = v_str("a");
	f->array_items[1] = v_int(1);
	f->kvlist_items[0] = kv("k", v_str("v"));
	a[0] = kv("s", v_str("text"));
	a[1] = kv("i", v_int(200));
	a[2] = kv("big", v_int(INT64_C(1) << 60));
	a[3] = kv("minus_big", v_int(-(INT64_C(1) << 53)));
	a[4] = kv("max_safe", v_int((INT64_C(1) << 53) - 1));
	a[5] = kv("d", v_dbl(1.5));
	a[6] = kv("nan", v_dbl(NAN));
	a[7] = kv("b", (struct tm_value){ .type = TM_VAL_BOOL, .u.boolean = 1 });
	a[8] = kv("bytes", (struct tm_value){ .type = TM_VAL_BYTES,
					      .u.str = { "\x00\x01\x02\x03", 4 } });
	a[9] = kv("arr", (struct tm_value){ .type = TM_VAL_ARRAY,
					    .u.array = { f->array_items, 2 } });
	a[10] = kv("map", (struct tm_value){ .type = TM_VAL_KVLIST,
					     .u.kvlist = { f->kvlist_items, 1 } });
	a[11] = kv("empty", (struct tm_value){ .type = TM_VAL_EMPTY });
	a[12] = kv("weird", v_str("a\x01\"\xff\xc3("));
	a[13] = kv("inf", v_dbl(-INFINITY));
}

static void fixture_events_links(struct fixture *f, const struct tm_span *parent)
{
	f->exception_attrs[0] = kv("exception.type", v_str("IOError"));
	f->event_attrs[0] = kv("x", v_int(5));
	f->event_attrs[1] = kv("event", v_str("from-attr"));
	f->events[0] = (struct tm_event){ 1700000000250000000u, tstr("exception"),
					  { f->exception_attrs, 1, 0 } };
	f->events[1] = (struct tm_event){ 1700000000260000000u, tstr("named"),
					  { f->event_attrs, 2, 2 } };
	f->events[2] = (struct tm_event){ .time_ns = 1700000000270000000u };
	f->follows_attrs[0] = kv("opentracing.ref_type", v_str("follows_from"));
	f->child_attrs[0] = kv("opentracing.ref_type", v_str("child_of"));
	/* a link to the parent itself, one CHILD_OF elsewhere, one plain */
	memcpy(f->links[0].trace_id, parent->trace_id, TM_TRACE_ID_LEN);
	memcpy(f->links[0].span_id, parent->span_id, TM_SPAN_ID_LEN);
	f->links[0].attrs = (struct tm_attrs){ f->follows_attrs, 1, 0 };
	set_id(f->links[1].trace_id, TM_TRACE_ID_LEN, 0x50);
	set_id(f->links[1].span_id, TM_SPAN_ID_LEN, 0x60);
	f->links[1].attrs = (struct tm_attrs){ f->child_attrs, 1, 0 };
	set_id(f->links[2].trace_id, TM_TRACE_ID_LEN, 0x70);
	set_id(f->links[2].span_id, TM_SPAN_ID_LEN, 0x80);
	f->links[2].trace_state = tstr("k=v");
	f->links[2].flags = 1;
}

static void fixture_span(struct tm_span *s, const struct tm_span *parent, uint8_t id,
			 const struct tm_resource *res, const struct tm_scope *scope)
{
	set_id(s->trace_id, TM_TRACE_ID_LEN, 0xa0);
	set_id(s->span_id, TM_SPAN_ID_LEN, id);
	if (parent) {
		s->has_parent = 1;
		memcpy(s->parent_span_id, parent->span_id, TM_SPAN_ID_LEN);
	}
	s->name = tstr("op");
	s->start_ns = 1700000000000000000u;
	s->end_ns = 1700000000500000000u;
	s->resource = res;
	s->scope = scope;
}

static void fixture_trace_a(struct fixture *f)
{
	struct tm_span *s = f->spans_a;

	fixture_span(&s[0], NULL, 0x10, &f->checkout, &f->lib);
	fixture_span(&s[1], &s[0], 0x20, &f->checkout_copy, &f->other);
	fixture_span(&s[2], &s[1], 0x30, &f->db, &f->lib);
	fixture_span(&s[3], &s[0], 0x40, &f->checkout, &f->lib);
	fixture_span(&s[4], &s[0], 0x50, &f->empty, NULL);
	fixture_span(&s[5], &s[0], 0x60, &f->noname, &f->lib);
	s[0].kind = TM_KIND_SERVER;
	s[0].attrs = (struct tm_attrs){ f->span_attrs, 14, 0 };
	s[0].events = f->events;
	s[0].n_events = 3;
	s[0].status_code = TM_STATUS_ERROR;
	s[0].status_message = tstr("boom");
	s[0].trace_state = tstr("a=b");
	s[0].flags = 0x301;
	fixture_events_links(f, &s[0]);
	s[1].kind = TM_KIND_CLIENT;
	s[1].links = f->links;
	s[1].n_links = 3;
	s[1].status_code = TM_STATUS_OK;
	s[2].end_ns = s[2].start_ns - 1;   /* end before start: duration 0 */
	s[5].attrs.dropped = 4;
	s[5].dropped_events = 5;
	s[5].dropped_links = 6;
	f->traces[0] = (struct tm_trace){ .spans = s, .n_spans = 6 };
	memcpy(f->traces[0].trace_id, s[0].trace_id, TM_TRACE_ID_LEN);
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	fixture_resources(f);
	fixture_attrs(f);
	fixture_trace_a(f);
	/* a 64-bit trace id: the high half is zero; no resource, no scope */
	fixture_span(&f->spans_b[0], NULL, 0x90, NULL, NULL);
	memset(f->spans_b[0].trace_id, 0, 8);
	f->traces[1] = (struct tm_trace){ .spans = f->spans_b, .n_spans = 1 };
	memcpy(f->traces[1].trace_id, f->spans_b[0].trace_id, TM_TRACE_ID_LEN);
}

/*---- Jaeger ----*/

static void check_tag(json_t *tags, const char *key, const char *type)
{
	json_t *t = find_tag(tags, key);

	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "  missing tag %s\n", key);
		return;
	}
	CHECK_STR_EQ(json_string_value(json_object_get(t, "type")), type);
}

static void check_tag_str(json_t *tags, const char *key, const char *value)
{
	check_tag(tags, key, "string");
	CHECK_STR_EQ(json_string_value(json_object_get(find_tag(tags, key), "value")), value);
}

static void check_jaeger_tag_types(json_t *tags)
{
	check_tag_str(tags, "s", "text");
	check_tag(tags, "i", "int64");
	CHECK_INT_EQ(json_integer_value(json_object_get(find_tag(tags, "i"), "value")), 200);
	check_tag(tags, "big", "int64");
	CHECK_STR_EQ(json_string_value(json_object_get(find_tag(tags, "big"), "value")),
		     "1152921504606846976");
	CHECK_STR_EQ(json_string_value(json_object_get(find_tag(tags, "minus_big"), "value")),
		     "-9007199254740992");
	CHECK_INT_EQ(json_integer_value(json_object_get(find_tag(tags, "max_safe"), "value")),
		     9007199254740991);
	check_tag(tags, "d", "float64");
	CHECK(json_real_value(json_object_get(find_tag(tags, "d"), "value")) == 1.5);
	check_tag(tags, "nan", "float64");
	CHECK_STR_EQ(json_string_value(json_object_get(find_tag(tags, "nan"), "value")), "NaN");
	CHECK_STR_EQ(json_string_value(json_object_get(find_tag(tags, "inf"), "value")),
		     "-Infinity");
	check_tag(tags, "b", "bool");
	CHECK(json_is_true(json_object_get(find_tag(tags, "b"), "value")));
	check_tag(tags, "bytes", "binary");
	CHECK_STR_EQ(json_string_value(json_object_get(find_tag(tags, "bytes"), "value")),
		     "AAECAw==");
	check_tag_str(tags, "arr", "[\"a\",1]");
	check_tag_str(tags, "map", "{\"k\":\"v\"}");
	check_tag_str(tags, "empty", "");
	check_tag_str(tags, "weird", "a\x01\"\xef\xbf\xbd\xef\xbf\xbd(");
}

static void check_jaeger_span0(json_t *span)
{
	static const char *const order[] = {
		"otel.scope.name", "otel.scope.version", "s", "i", "big", "minus_big",
		"max_safe", "d", "nan", "b", "bytes", "arr", "map", "empty", "weird", "inf",
		"span.kind", "otel.status_code", "error", "otel.status_description",
		"w3c.tracestate",
	};
	json_t *tags = jpath(span, "tags");

	CHECK_INT_EQ(json_array_size(tags), sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < json_array_size(tags) && i < sizeof(order) / sizeof(order[0]); i++)
		CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(tags, i), "key")),
			     order[i]);
	check_jaeger_tag_types(tags);
	check_tag_str(tags, "otel.scope.name", "lib");
	check_tag_str(tags, "otel.scope.version", "1.0");
	check_tag_str(tags, "span.kind", "server");
	check_tag_str(tags, "otel.status_code", "ERROR");
	CHECK(json_is_true(json_object_get(find_tag(tags, "error"), "value")));
	check_tag_str(tags, "otel.status_description", "boom");
	check_tag_str(tags, "w3c.tracestate", "a=b");
	CHECK_STR_EQ(jstr(span, "traceID"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CHECK_STR_EQ(jstr(span, "spanID"), "1011121314151617");
	CHECK_STR_EQ(jstr(span, "operationName"), "op");
	CHECK_INT_EQ(jsize(span, "references"), 0);
	CHECK_INT_EQ(jint(span, "startTime"), 1700000000000000);
	CHECK_INT_EQ(jint(span, "duration"), 500000);
	CHECK_INT_EQ(jint(span, "flags"), 1);
	CHECK(json_is_null(jpath(span, "warnings")));
	CHECK_STR_EQ(jstr(span, "processID"), "p1");
}

static void check_jaeger_logs(json_t *span)
{
	CHECK_INT_EQ(jsize(span, "logs"), 3);
	CHECK_INT_EQ(jint(span, "logs/0/timestamp"), 1700000000250000);
	CHECK_INT_EQ(jsize(span, "logs/0/fields"), 2);
	CHECK_STR_EQ(jstr(span, "logs/0/fields/0/key"), "event");
	CHECK_STR_EQ(jstr(span, "logs/0/fields/0/value"), "exception");
	CHECK_STR_EQ(jstr(span, "logs/0/fields/1/key"), "exception.type");
	/* an "event" attribute replaces the name field */
	CHECK_INT_EQ(jsize(span, "logs/1/fields"), 2);
	CHECK_STR_EQ(jstr(span, "logs/1/fields/0/key"), "x");
	CHECK_STR_EQ(jstr(span, "logs/1/fields/1/value"), "from-attr");
	CHECK_INT_EQ(jsize(span, "logs/2/fields"), 0);
}

static void check_jaeger_references(json_t *span)
{
	CHECK_INT_EQ(jsize(span, "references"), 3);
	/* the parent first, its type taken from the link that names it */
	CHECK_STR_EQ(jstr(span, "references/0/refType"), "FOLLOWS_FROM");
	CHECK_STR_EQ(jstr(span, "references/0/spanID"), "1011121314151617");
	CHECK_STR_EQ(jstr(span, "references/0/traceID"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CHECK_STR_EQ(jstr(span, "references/1/refType"), "CHILD_OF");
	CHECK_STR_EQ(jstr(span, "references/1/traceID"), "505152535455565758595a5b5c5d5e5f");
	CHECK_STR_EQ(jstr(span, "references/1/spanID"), "6061626364656667");
	CHECK_STR_EQ(jstr(span, "references/2/refType"), "FOLLOWS_FROM");
	CHECK(jpath(span, "flags") == NULL);
	check_tag_str(jpath(span, "tags"), "otel.scope.name", "other");
	check_tag_str(jpath(span, "tags"), "span.kind", "client");
	check_tag_str(jpath(span, "tags"), "otel.status_code", "OK");
	CHECK(find_tag(jpath(span, "tags"), "error") == NULL);
	CHECK(find_tag(jpath(span, "tags"), "otel.scope.version") == NULL);
}

static void check_jaeger_processes(json_t *trace)
{
	CHECK_INT_EQ(jsize(trace, "processes"), 4);
	CHECK_STR_EQ(jstr(trace, "processes/p1/serviceName"), "checkout");
	CHECK_INT_EQ(jsize(trace, "processes/p1/tags"), 1);
	CHECK_STR_EQ(jstr(trace, "processes/p1/tags/0/key"), "service.version");
	CHECK_STR_EQ(jstr(trace, "processes/p2/serviceName"), "db");
	CHECK_STR_EQ(jstr(trace, "processes/p2/tags/0/value"), "db1");
	CHECK_STR_EQ(jstr(trace, "processes/p3/serviceName"), "OTLPResourceNoServiceName");
	CHECK_INT_EQ(jsize(trace, "processes/p3/tags"), 0);
	CHECK_STR_EQ(jstr(trace, "processes/p4/serviceName"), "missing-service-name");
	CHECK_STR_EQ(jstr(trace, "spans/1/processID"), "p1");
	CHECK_STR_EQ(jstr(trace, "spans/2/processID"), "p2");
	CHECK_STR_EQ(jstr(trace, "spans/3/processID"), "p1");
	CHECK_STR_EQ(jstr(trace, "spans/4/processID"), "p3");
	CHECK_STR_EQ(jstr(trace, "spans/5/processID"), "p4");
}

static void test_jaeger_traces(const struct fixture *f)
{
	struct tm_buf b;
	json_t *root;

	tm_buf_init(&b);
	tm_jaeger_write_traces(&b, f->traces, 2);
	CHECK(!b.failed);
	root = parse(&b);
	CHECK(root != NULL);
	if (root) {
		json_t *a = jpath(root, "data/0");
		CHECK_INT_EQ(jsize(root, "data"), 2);
		CHECK(json_is_null(jpath(root, "errors")));
		CHECK_INT_EQ(jint(root, "total"), 0);
		CHECK_STR_EQ(jstr(a, "traceID"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
		CHECK(json_is_null(jpath(a, "warnings")));
		CHECK_INT_EQ(jsize(a, "spans"), 6);
		check_jaeger_span0(jpath(a, "spans/0"));
		check_jaeger_logs(jpath(a, "spans/0"));
		check_jaeger_references(jpath(a, "spans/1"));
		CHECK_INT_EQ(jint(a, "spans/2/duration"), 0);
		CHECK(find_tag(jpath(a, "spans/2/tags"), "span.kind") == NULL);
		CHECK_STR_EQ(jstr(a, "spans/2/references/0/refType"), "CHILD_OF");
		check_jaeger_processes(a);
		CHECK_STR_EQ(jstr(root, "data/1/traceID"), "a8a9aaabacadaeaf");
		CHECK_STR_EQ(jstr(root, "data/1/spans/0/traceID"), "a8a9aaabacadaeaf");
		CHECK_STR_EQ(jstr(root, "data/1/processes/p1/serviceName"),
			     "OTLPResourceNoServiceName");
	}
	json_decref(root);
	tm_buf_free(&b);
}

/*---- OTLP/JSON ----*/

static void check_otlp_values(json_t *attrs)
{
	CHECK_INT_EQ(json_array_size(attrs), 14);
	CHECK_STR_EQ(jstr(attrs, "0/key"), "s");
	CHECK_STR_EQ(jstr(attrs, "0/value/stringValue"), "text");
	CHECK_STR_EQ(jstr(attrs, "1/value/intValue"), "200");
	CHECK_STR_EQ(jstr(attrs, "2/value/intValue"), "1152921504606846976");
	CHECK_STR_EQ(jstr(attrs, "3/value/intValue"), "-9007199254740992");
	CHECK(json_real_value(jpath(attrs, "5/value/doubleValue")) == 1.5);
	CHECK_STR_EQ(jstr(attrs, "6/value/doubleValue"), "NaN");
	CHECK(json_is_true(jpath(attrs, "7/value/boolValue")));
	CHECK_STR_EQ(jstr(attrs, "8/value/bytesValue"), "AAECAw==");
	CHECK_STR_EQ(jstr(attrs, "9/value/arrayValue/values/0/stringValue"), "a");
	CHECK_STR_EQ(jstr(attrs, "9/value/arrayValue/values/1/intValue"), "1");
	CHECK_STR_EQ(jstr(attrs, "10/value/kvlistValue/values/0/key"), "k");
	CHECK_STR_EQ(jstr(attrs, "10/value/kvlistValue/values/0/value/stringValue"), "v");
	CHECK(json_is_object(jpath(attrs, "11/value")));
	CHECK_INT_EQ(jsize(attrs, "11/value"), 0);
	CHECK_STR_EQ(jstr(attrs, "12/value/stringValue"), "a\x01\"\xef\xbf\xbd\xef\xbf\xbd(");
	CHECK_STR_EQ(jstr(attrs, "13/value/doubleValue"), "-Infinity");
}

static void check_otlp_span0(json_t *span)
{
	CHECK_STR_EQ(jstr(span, "traceId"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CHECK_STR_EQ(jstr(span, "spanId"), "1011121314151617");
	CHECK(jpath(span, "parentSpanId") == NULL);
	CHECK_STR_EQ(jstr(span, "traceState"), "a=b");
	CHECK_INT_EQ(jint(span, "flags"), 0x301);
	CHECK_INT_EQ(jint(span, "kind"), 2);
	CHECK_STR_EQ(jstr(span, "startTimeUnixNano"), "1700000000000000000");
	CHECK_STR_EQ(jstr(span, "endTimeUnixNano"), "1700000000500000000");
	check_otlp_values(jpath(span, "attributes"));
	CHECK_INT_EQ(jsize(span, "events"), 3);
	CHECK_STR_EQ(jstr(span, "events/0/timeUnixNano"), "1700000000250000000");
	CHECK_STR_EQ(jstr(span, "events/0/name"), "exception");
	CHECK_STR_EQ(jstr(span, "events/0/attributes/0/value/stringValue"), "IOError");
	CHECK_INT_EQ(jint(span, "events/1/droppedAttributesCount"), 2);
	CHECK(jpath(span, "events/2/attributes") == NULL);
	CHECK_INT_EQ(jint(span, "status/code"), 2);
	CHECK_STR_EQ(jstr(span, "status/message"), "boom");
	CHECK(jpath(span, "links") == NULL);
}

static void check_otlp_span1(json_t *span)
{
	CHECK_STR_EQ(jstr(span, "parentSpanId"), "1011121314151617");
	CHECK(jpath(span, "flags") == NULL);
	CHECK(jpath(span, "traceState") == NULL);
	CHECK_INT_EQ(jint(span, "kind"), 3);
	CHECK_INT_EQ(jsize(span, "links"), 3);
	CHECK_STR_EQ(jstr(span, "links/0/spanId"), "1011121314151617");
	CHECK_STR_EQ(jstr(span, "links/0/attributes/0/value/stringValue"), "follows_from");
	CHECK_STR_EQ(jstr(span, "links/1/traceId"), "505152535455565758595a5b5c5d5e5f");
	CHECK(jpath(span, "links/1/traceState") == NULL);
	CHECK(jpath(span, "links/1/flags") == NULL);
	CHECK_STR_EQ(jstr(span, "links/2/traceState"), "k=v");
	CHECK_INT_EQ(jint(span, "links/2/flags"), 1);
	CHECK_INT_EQ(jsize(span, "status"), 1);
	CHECK_INT_EQ(jint(span, "status/code"), 1);
}

static void check_otlp_groups(json_t *rs)
{
	/* one ResourceSpans per resource pointer, in order of appearance */
	CHECK_INT_EQ(json_array_size(rs), 6);
	CHECK_STR_EQ(jstr(rs, "0/schemaUrl"), "https://opentelemetry.io/schemas/1.21.0");
	CHECK_STR_EQ(jstr(rs, "0/resource/attributes/0/value/stringValue"), "checkout");
	/* spans 0 and 3 share resource and scope but are not neighbours */
	CHECK_INT_EQ(jsize(rs, "0/scopeSpans"), 1);
	CHECK_INT_EQ(jsize(rs, "0/scopeSpans/0/spans"), 2);
	CHECK_STR_EQ(jstr(rs, "0/scopeSpans/0/spans/1/spanId"), "4041424344454647");
	CHECK_STR_EQ(jstr(rs, "0/scopeSpans/0/scope/name"), "lib");
	CHECK_STR_EQ(jstr(rs, "0/scopeSpans/0/scope/version"), "1.0");
	CHECK_STR_EQ(jstr(rs, "0/scopeSpans/0/scope/attributes/0/value/intValue"), "1");
	CHECK_STR_EQ(jstr(rs, "0/scopeSpans/0/schemaUrl"), "https://scope/schema");
	CHECK_STR_EQ(jstr(rs, "1/scopeSpans/0/scope/name"), "other");
	CHECK(jpath(rs, "1/scopeSpans/0/scope/version") == NULL);
	CHECK(jpath(rs, "1/schemaUrl") == NULL);
	CHECK_INT_EQ(jsize(rs, "2/scopeSpans/0/spans/0/status"), 0);
	CHECK_INT_EQ(jsize(rs, "3/resource"), 0);
	CHECK(jpath(rs, "3/scopeSpans/0/scope") == NULL);
	CHECK_INT_EQ(jint(rs, "4/resource/droppedAttributesCount"), 3);
	CHECK_INT_EQ(jint(rs, "4/scopeSpans/0/spans/0/droppedAttributesCount"), 4);
	CHECK_INT_EQ(jint(rs, "4/scopeSpans/0/spans/0/droppedEventsCount"), 5);
	CHECK_INT_EQ(jint(rs, "4/scopeSpans/0/spans/0/droppedLinksCount"), 6);
	CHECK(jpath(rs, "5/resource") == NULL);
	CHECK_STR_EQ(jstr(rs, "5/scopeSpans/0/spans/0/traceId"),
		     "0000000000000000a8a9aaabacadaeaf");
}

static void test_otlpjson_traces(const struct fixture *f)
{
	struct tm_buf b;
	json_t *root;

	tm_buf_init(&b);
	tm_otlpjson_write_traces(&b, f->traces, 2);
	CHECK(!b.failed);
	root = parse(&b);
	CHECK(root != NULL);
	if (root) {
		json_t *rs = jpath(root, "result/resourceSpans");
		check_otlp_groups(rs);
		check_otlp_span0(jpath(rs, "0/scopeSpans/0/spans/0"));
		check_otlp_span1(jpath(rs, "1/scopeSpans/0/spans/0"));
	}
	json_decref(root);
	tm_buf_free(&b);
}

/*---- golden documents ----*/

static const char golden_jaeger[] =
	"{\"data\":[{\"traceID\":\"0102030405060708\",\"spans\":[{\"traceID\":\"0102030405060708\","
	"\"spanID\":\"1112131415161718\",\"operationName\":\"GET /\",\"references\":[{\"refType\":"
	"\"CHILD_OF\",\"traceID\":\"0102030405060708\",\"spanID\":\"1112131415161717\"}],"
	"\"startTime\":1700000000000000,\"duration\":500000,\"tags\":[{\"key\":\"otel.scope.name\","
	"\"type\":\"string\",\"value\":\"lib\"},{\"key\":\"http.response.status_code\",\"type\":"
	"\"int64\",\"value\":200},{\"key\":\"span.kind\",\"type\":\"string\",\"value\":\"server\"},"
	"{\"key\":\"otel.status_code\",\"type\":\"string\",\"value\":\"ERROR\"},{\"key\":\"error\","
	"\"type\":\"bool\",\"value\":true},{\"key\":\"otel.status_description\",\"type\":\"string\","
	"\"value\":\"boom\"}],\"logs\":[{\"timestamp\":1700000000250000,\"fields\":[{\"key\":"
	"\"event\",\"type\":\"string\",\"value\":\"exception\"},{\"key\":\"exception.type\","
	"\"type\":\"string\",\"value\":\"IOError\"}]}],\"processID\":\"p1\",\"warnings\":null,"
	"\"flags\":1}],\"processes\":{\"p1\":{\"serviceName\":\"checkout\",\"tags\":[{\"key\":"
	"\"service.version\",\"type\":\"string\",\"value\":\"1.2.3\"}]}},\"warnings\":null}],"
	"\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}";

static const char golden_otlp[] =
	"{\"result\":{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
	"\"value\":{\"stringValue\":\"checkout\"}},{\"key\":\"service.version\",\"value\":"
	"{\"stringValue\":\"1.2.3\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\"},\"spans\":"
	"[{\"traceId\":\"00000000000000000102030405060708\",\"spanId\":\"1112131415161718\","
	"\"parentSpanId\":\"1112131415161717\",\"flags\":257,\"name\":\"GET /\",\"kind\":2,"
	"\"startTimeUnixNano\":\"1700000000000000000\",\"endTimeUnixNano\":\"1700000000500000000\","
	"\"attributes\":[{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}}],"
	"\"events\":[{\"timeUnixNano\":\"1700000000250000000\",\"name\":\"exception\","
	"\"attributes\":[{\"key\":\"exception.type\",\"value\":{\"stringValue\":\"IOError\"}}]}],"
	"\"status\":{\"message\":\"boom\",\"code\":2}}]}]}]}}";

static void test_golden(void)
{
	struct tm_attr res_attrs[2] = { kv("service.name", v_str("checkout")),
					kv("service.version", v_str("1.2.3")) };
	struct tm_attr span_attrs[1] = { kv("http.response.status_code", v_int(200)) };
	struct tm_attr exc_attrs[1] = { kv("exception.type", v_str("IOError")) };
	struct tm_event event = { 1700000000250000000u, tstr("exception"), { exc_attrs, 1, 0 } };
	struct tm_resource res = { { res_attrs, 2, 0 }, { 0 } };
	struct tm_scope scope = { .name = tstr("lib") };
	struct tm_span s = { .name = tstr("GET /"), .kind = TM_KIND_SERVER, .flags = 0x101,
			     .start_ns = 1700000000000000000u, .end_ns = 1700000000500000000u,
			     .attrs = { span_attrs, 1, 0 }, .events = &event, .n_events = 1,
			     .status_code = TM_STATUS_ERROR, .status_message = tstr("boom"),
			     .resource = &res, .scope = &scope, .has_parent = 1 };
	struct tm_trace t = { .spans = &s, .n_spans = 1 };
	struct tm_buf b;

	set_id(s.trace_id + 8, 8, 0x01);
	set_id(s.span_id, TM_SPAN_ID_LEN, 0x11);
	set_id(s.parent_span_id, TM_SPAN_ID_LEN, 0x11);
	s.parent_span_id[7] = 0x17;
	memcpy(t.trace_id, s.trace_id, TM_TRACE_ID_LEN);
	tm_buf_init(&b);
	tm_jaeger_write_traces(&b, &t, 1);
	CHECK_STR_EQ(buf_text(&b), golden_jaeger);
	b.len = 0;
	tm_otlpjson_write_traces(&b, &t, 1);
	CHECK_STR_EQ(buf_text(&b), golden_otlp);
	tm_buf_free(&b);
}

static void test_errors_and_empty(void)
{
	CHECK_STR_EQ(JSON_OF(tm_jaeger_write_error(&scratch, 404, "trace not found")),
		     "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,"
		     "\"errors\":[{\"code\":404,\"msg\":\"trace not found\"}]}");
	CHECK_STR_EQ(JSON_OF(tm_jaeger_write_error(&scratch, 0, "x\"y")),
		     "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,"
		     "\"errors\":[{\"msg\":\"x\\\"y\"}]}");
	CHECK_STR_EQ(JSON_OF(tm_otlpjson_write_error(&scratch, 404, "No traces found")),
		     "{\"error\":{\"httpCode\":404,\"message\":\"No traces found\"}}");
	CHECK_STR_EQ(JSON_OF(tm_jaeger_write_traces(&scratch, NULL, 0)),
		     "{\"data\":[],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}");
	CHECK_STR_EQ(JSON_OF(tm_otlpjson_write_traces(&scratch, NULL, 0)),
		     "{\"result\":{\"resourceSpans\":[]}}");
}

int main(void)
{
	static struct fixture f;

	tm_buf_init(&scratch);
	test_json_strings();
	test_json_random_bytes();
	test_json_numbers();
	test_json_double_round_trip();
	test_json_bytes();
	fixture_init(&f);
	test_jaeger_traces(&f);
	test_otlpjson_traces(&f);
	test_golden();
	test_errors_and_empty();
	tm_buf_free(&scratch);
	return TEST_DONE();
}
