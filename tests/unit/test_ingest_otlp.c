/* test_ingest_otlp.c - ExportTraceServiceRequest bodies into batches.
 *
 * (a) a request built with protobuf-c that uses every field and every
 *     AnyValue type, decoded and compared field by field with the records
 *     read back through tm_span_decode;
 * (b) the body the OpenTelemetry JS SDK really sends (argv[1]);
 * (c) partial success: bad spans dropped one by one;
 * (d) hostile bodies: every prefix, wrong wire types, huge lengths, 100k
 *     nested values, field 0, groups. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchdump.h"
#include "ingest_otlp.h"
#include "testutil.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest PbRequest;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans PbResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans PbScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__Span__Event PbEvent;
typedef Opentelemetry__Proto__Trace__V1__Span__Link PbLink;
typedef Opentelemetry__Proto__Trace__V1__Status PbStatus;
typedef Opentelemetry__Proto__Resource__V1__Resource PbResource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope PbScope;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue PbAnyValue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue PbArrayValue;
typedef Opentelemetry__Proto__Common__V1__KeyValueList PbKeyValueList;

#define VALUE_CASE(name) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##name

/*---- building requests with protobuf-c ----*/

/* everything a test request is made of lives here until the end of main */
static struct tm_arena build_arena;

static void *build_alloc(size_t size)
{
	void *p = tm_arena_zalloc(&build_arena, size ? size : 1);
	if (!p) {
		fprintf(stderr, "out of memory building a test request\n");
		exit(99);
	}
	return p;
}

static void *build_dup(const void *src, size_t size)
{
	void *p = build_alloc(size);
	memcpy(p, src, size);
	return p;
}

#define NEW(type, init) ((type *)build_dup(&(type)init, sizeof(type)))
#define COUNT(type, ...) (sizeof((type *[]){ __VA_ARGS__ }) / sizeof(type *))
#define LIST(type, ...) \
	((type **)build_dup((type *[]){ __VA_ARGS__ }, sizeof((type *[]){ __VA_ARGS__ })))

static PbAnyValue *val_new(int value_case)
{
	PbAnyValue *v = NEW(PbAnyValue, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT);
	v->value_case = value_case;
	return v;
}

static PbAnyValue *val_str(const char *s)
{
	PbAnyValue *v = val_new(VALUE_CASE(STRING_VALUE));
	v->string_value = (char *)s;
	return v;
}

static PbAnyValue *val_bool(int b)
{
	PbAnyValue *v = val_new(VALUE_CASE(BOOL_VALUE));
	v->bool_value = b;
	return v;
}

static PbAnyValue *val_int(int64_t i)
{
	PbAnyValue *v = val_new(VALUE_CASE(INT_VALUE));
	v->int_value = i;
	return v;
}

static PbAnyValue *val_double(double d)
{
	PbAnyValue *v = val_new(VALUE_CASE(DOUBLE_VALUE));
	v->double_value = d;
	return v;
}

static PbAnyValue *val_bytes(const void *data, size_t len)
{
	PbAnyValue *v = val_new(VALUE_CASE(BYTES_VALUE));
	v->bytes_value.len = len;
	v->bytes_value.data = len ? build_dup(data, len) : NULL;
	return v;
}

static PbAnyValue *val_array_of(size_t n, PbAnyValue **items)
{
	PbAnyValue *v = val_new(VALUE_CASE(ARRAY_VALUE));
	v->array_value = NEW(PbArrayValue, OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT);
	v->array_value->n_values = n;
	v->array_value->values = items;
	return v;
}

static PbAnyValue *val_kvlist_of(size_t n, PbKeyValue **items)
{
	PbAnyValue *v = val_new(VALUE_CASE(KVLIST_VALUE));
	v->kvlist_value =
		NEW(PbKeyValueList, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT);
	v->kvlist_value->n_values = n;
	v->kvlist_value->values = items;
	return v;
}

#define val_array(...) val_array_of(COUNT(PbAnyValue, __VA_ARGS__), LIST(PbAnyValue, __VA_ARGS__))
#define val_kvlist(...) val_kvlist_of(COUNT(PbKeyValue, __VA_ARGS__), LIST(PbKeyValue, __VA_ARGS__))
#define SET_ATTRS(obj, ...) \
	((obj)->attributes = LIST(PbKeyValue, __VA_ARGS__), \
	 (obj)->n_attributes = COUNT(PbKeyValue, __VA_ARGS__))

static PbKeyValue *kv(const char *key, PbAnyValue *value)
{
	PbKeyValue *k = NEW(PbKeyValue, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT);
	k->key = (char *)key;
	k->value = value;
	return k;
}

static ProtobufCBinaryData id_bytes(const uint8_t *id, size_t len)
{
	ProtobufCBinaryData b = { len, len ? build_dup(id, len) : NULL };
	return b;
}

/* 16 or 8 bytes counting up from first */
static ProtobufCBinaryData id_seq(uint8_t first, size_t len)
{
	uint8_t id[16];
	for (size_t i = 0; i < len; i++)
		id[i] = (uint8_t)(first + i);
	return id_bytes(id, len);
}

static PbSpan *span_new(ProtobufCBinaryData trace_id, ProtobufCBinaryData span_id,
			const char *name)
{
	PbSpan *s = NEW(PbSpan, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT);
	s->trace_id = trace_id;
	s->span_id = span_id;
	s->name = (char *)name;
	return s;
}

static PbScopeSpans *scope_spans_of(PbScope *scope, size_t n, PbSpan **spans)
{
	PbScopeSpans *ss = NEW(PbScopeSpans, OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT);
	ss->scope = scope;
	ss->n_spans = n;
	ss->spans = spans;
	return ss;
}

static PbResourceSpans *resource_spans_of(PbResource *res, size_t n, PbScopeSpans **ss)
{
	PbResourceSpans *rs =
		NEW(PbResourceSpans, OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT);
	rs->resource = res;
	rs->n_scope_spans = n;
	rs->scope_spans = ss;
	return rs;
}

static PbRequest *request_of(size_t n, PbResourceSpans **rs)
{
	PbRequest *req = NEW(PbRequest,
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT);
	req->n_resource_spans = n;
	req->resource_spans = rs;
	return req;
}

#define scope_spans(scope, ...) \
	scope_spans_of(scope, COUNT(PbSpan, __VA_ARGS__), LIST(PbSpan, __VA_ARGS__))
#define resource_spans(res, ...) \
	resource_spans_of(res, COUNT(PbScopeSpans, __VA_ARGS__), LIST(PbScopeSpans, __VA_ARGS__))
#define request(...) \
	request_of(COUNT(PbResourceSpans, __VA_ARGS__), LIST(PbResourceSpans, __VA_ARGS__))

static uint8_t *pack_request(const PbRequest *req, size_t *len)
{
	*len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(req);
	uint8_t *body = build_alloc(*len);
	size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, body);
	if (n != *len) {
		fprintf(stderr, "protobuf-c packed %zu bytes, announced %zu\n", n, *len);
		exit(99);
	}
	return body;
}

/*---- comparing the input with what came out ----*/

static int mismatch(const char *where, const char *what)
{
	fprintf(stderr, "  mismatch at %s: %s\n", where, what);
	return 0;
}

static int str_matches(const char *in, struct tm_str out)
{
	size_t n = in ? strlen(in) : 0;
	return out.len == n && (n == 0 || memcmp(in, out.ptr, n) == 0);
}

static int bytes_match(ProtobufCBinaryData in, struct tm_str out)
{
	return out.len == in.len && (in.len == 0 || memcmp(in.data, out.ptr, in.len) == 0);
}

static int kvs_match(PbKeyValue *const *in, size_t n_in, const struct tm_attr *out, size_t n_out,
		     const char *where);

/* recursive: arrays and kvlists are compared element by element */
static int value_matches(const PbAnyValue *in, const struct tm_value *out, const char *where)
{
	int value_case = in ? (int)in->value_case : 0;
	char sub[512];
	switch (value_case) {
	case VALUE_CASE(STRING_VALUE):
		if (out->type != TM_VAL_STRING || !str_matches(in->string_value, out->u.str))
			return mismatch(where, "string value");
		return 1;
	case VALUE_CASE(BOOL_VALUE):
		if (out->type != TM_VAL_BOOL || !in->bool_value != !out->u.boolean)
			return mismatch(where, "bool value");
		return 1;
	case VALUE_CASE(INT_VALUE):
		if (out->type != TM_VAL_INT || in->int_value != out->u.integer)
			return mismatch(where, "int value");
		return 1;
	case VALUE_CASE(DOUBLE_VALUE):
		/* bit for bit: NaN and -0.0 must survive too */
		if (out->type != TM_VAL_DOUBLE || memcmp(&in->double_value, &out->u.dbl, 8) != 0)
			return mismatch(where, "double value");
		return 1;
	case VALUE_CASE(BYTES_VALUE):
		if (out->type != TM_VAL_BYTES || !bytes_match(in->bytes_value, out->u.str))
			return mismatch(where, "bytes value");
		return 1;
	case VALUE_CASE(ARRAY_VALUE): {
		size_t n = in->array_value ? in->array_value->n_values : 0;
		if (out->type != TM_VAL_ARRAY || out->u.array.n != n)
			return mismatch(where, "array type or length");
		for (size_t i = 0; i < n; i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
			if (!value_matches(in->array_value->values[i], &out->u.array.items[i], sub))
				return 0;
		}
		return 1;
	}
	case VALUE_CASE(KVLIST_VALUE):
		if (out->type != TM_VAL_KVLIST)
			return mismatch(where, "kvlist type");
		if (!in->kvlist_value)
			return out->u.kvlist.n == 0 ? 1 : mismatch(where, "kvlist length");
		return kvs_match(in->kvlist_value->values, in->kvlist_value->n_values,
				 out->u.kvlist.items, out->u.kvlist.n, where);
	default:
		if (out->type != TM_VAL_EMPTY)
			return mismatch(where, "expected an empty value");
		return 1;
	}
}

static int kvs_match(PbKeyValue *const *in, size_t n_in, const struct tm_attr *out, size_t n_out,
		     const char *where)
{
	char sub[512];
	if (n_in != n_out)
		return mismatch(where, "number of attributes");
	for (size_t i = 0; i < n_in; i++) {
		snprintf(sub, sizeof(sub), "%s.%s", where, in[i]->key);
		if (!str_matches(in[i]->key, out[i].key))
			return mismatch(sub, "key");
		if (!value_matches(in[i]->value, &out[i].value, sub))
			return 0;
	}
	return 1;
}

static int attrs_match(PbKeyValue *const *in, size_t n_in, uint32_t dropped,
		       const struct tm_attrs *out, const char *where)
{
	if (out->dropped != dropped)
		return mismatch(where, "dropped_attributes_count");
	return kvs_match(in, n_in, out->items, out->n, where);
}

static int events_match(const PbSpan *in, const struct tm_span *out)
{
	char where[64];
	if (out->n_events != in->n_events || out->dropped_events != in->dropped_events_count)
		return mismatch(in->name, "number of events or dropped_events_count");
	for (size_t i = 0; i < in->n_events; i++) {
		const PbEvent *e = in->events[i];
		snprintf(where, sizeof(where), "events[%zu]", i);
		if (out->events[i].time_ns != e->time_unix_nano ||
		    !str_matches(e->name, out->events[i].name))
			return mismatch(where, "time or name");
		if (!attrs_match(e->attributes, e->n_attributes, e->dropped_attributes_count,
				 &out->events[i].attrs, where))
			return 0;
	}
	return 1;
}

static int links_match(const PbSpan *in, const struct tm_span *out)
{
	char where[64];
	if (out->n_links != in->n_links || out->dropped_links != in->dropped_links_count)
		return mismatch(in->name, "number of links or dropped_links_count");
	for (size_t i = 0; i < in->n_links; i++) {
		const PbLink *l = in->links[i];
		const struct tm_link *o = &out->links[i];
		snprintf(where, sizeof(where), "links[%zu]", i);
		if (memcmp(o->trace_id, l->trace_id.data, 16) || memcmp(o->span_id, l->span_id.data, 8))
			return mismatch(where, "trace_id or span_id");
		if (!str_matches(l->trace_state, o->trace_state) || o->flags != l->flags)
			return mismatch(where, "trace_state or flags");
		if (!attrs_match(l->attributes, l->n_attributes, l->dropped_attributes_count,
				 &o->attrs, where))
			return 0;
	}
	return 1;
}

static int span_matches(const PbSpan *in, const struct tm_span *out)
{
	const char *n = in->name;
	int has_parent = in->parent_span_id.len == 8 && !tm_id_is_zero(in->parent_span_id.data, 8);
	if (memcmp(out->trace_id, in->trace_id.data, 16) || memcmp(out->span_id, in->span_id.data, 8))
		return mismatch(n, "trace_id or span_id");
	if (out->has_parent != has_parent ||
	    (has_parent && memcmp(out->parent_span_id, in->parent_span_id.data, 8)))
		return mismatch(n, "parent_span_id");
	if (!tm_id_is_zero(out->parent_span_id, 8) && !has_parent)
		return mismatch(n, "root span with parent bytes");
	if (!str_matches(in->trace_state, out->trace_state) || !str_matches(in->name, out->name))
		return mismatch(n, "trace_state or name");
	if (out->kind != (uint8_t)in->kind || out->flags != in->flags)
		return mismatch(n, "kind or flags");
	if (out->start_ns != in->start_time_unix_nano || out->end_ns != in->end_time_unix_nano)
		return mismatch(n, "start or end time");
	if (!attrs_match(in->attributes, in->n_attributes, in->dropped_attributes_count,
			 &out->attrs, n))
		return 0;
	if (!events_match(in, out) || !links_match(in, out))
		return 0;
	unsigned code = in->status ? (unsigned)in->status->code : 0;
	if (out->status_code != code ||
	    !str_matches(in->status ? in->status->message : NULL, out->status_message))
		return mismatch(n, "status");
	return 1;
}

/*---- (a) every field of the model ----*/

static PbSpan *full_span(void)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x02, 0xff, 0x00 };
	PbSpan *s = span_new(id_seq(0x01, 16), id_seq(0xa1, 8), "GET /checkout");
	s->trace_state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
	s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
	s->flags = 0x301;
	s->start_time_unix_nano = 1700000000123456789ull;
	s->end_time_unix_nano = 1700000000623456789ull;
	PbAnyValue *empty = val_new(VALUE_CASE(_NOT_SET));
	SET_ATTRS(s,
	    kv("str", val_str("hello")), kv("str.empty", val_str("")),
	    kv("str.utf8", val_str("gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x91\x8b")),
	    kv("bool.true", val_bool(1)), kv("bool.false", val_bool(0)),
	    kv("int.zero", val_int(0)), kv("int.neg", val_int(-42)),
	    kv("int.min", val_int(INT64_MIN)), kv("int.max", val_int(INT64_MAX)),
	    kv("double", val_double(1.5)), kv("double.nan", val_double(NAN)),
	    kv("double.negzero", val_double(-0.0)), kv("double.inf", val_double(-INFINITY)),
	    kv("bytes", val_bytes(bytes, sizeof(bytes))), kv("bytes.empty", val_bytes(NULL, 0)),
	    kv("array", val_array(val_str("a"), val_int(-1),
				  val_array(val_bool(1), val_array_of(0, NULL), empty),
				  val_kvlist(kv("k", val_str("v"))))),
	    kv("kvlist", val_kvlist(kv("inner", val_kvlist(kv("deeper",
						val_array(val_int(1), val_double(2.5))))),
				    kv("e", empty), kv("none", NULL))),
	    kv("kvlist.empty", val_kvlist_of(0, NULL)),
	    kv("empty", empty), kv("", NULL));
	s->dropped_attributes_count = 7;

	PbEvent *e0 = NEW(PbEvent, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT);
	e0->time_unix_nano = 1700000000200000000ull;
	e0->name = "exception";
	SET_ATTRS(e0, kv("exception.type", val_str("TimeoutError")),
	    kv("exception.escaped", val_bool(1)));
	e0->dropped_attributes_count = 2;
	PbEvent *e1 = NEW(PbEvent, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT);
	s->events = LIST(PbEvent, e0, e1);
	s->n_events = 2;
	s->dropped_events_count = 4;

	PbLink *l0 = NEW(PbLink, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
	l0->trace_id = id_seq(0x51, 16);
	l0->span_id = id_seq(0xc1, 8);
	l0->trace_state = "a=b";
	l0->flags = 0x101;
	SET_ATTRS(l0, kv("link.kind", val_str("follows")), kv("n", val_int(3)));
	l0->dropped_attributes_count = 1;
	PbLink *l1 = NEW(PbLink, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
	l1->trace_id = id_seq(0x01, 16);
	l1->span_id = id_seq(0xb1, 8);
	s->links = LIST(PbLink, l0, l1);
	s->n_links = 2;
	s->dropped_links_count = 5;

	s->status = NEW(PbStatus, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
	s->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
	s->status->message = "boom";
	return s;
}

static PbRequest *full_request(void)
{
	PbSpan *a = full_span();
	PbSpan *b = span_new(id_seq(0x01, 16), id_seq(0xb1, 8), "SELECT cart");
	b->parent_span_id = id_seq(0xa1, 8);
	b->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
	b->flags = 0x100;
	b->start_time_unix_nano = 1700000000200000000ull;
	b->end_time_unix_nano = 1700000000300000000ull;
	b->status = NEW(PbStatus, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
	b->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;

	/* an all-zero parent means a root span */
	static const uint8_t zero8[8];
	PbSpan *c = span_new(id_seq(0x21, 16), id_seq(0xd1, 8), "background job");
	c->parent_span_id = id_bytes(zero8, 8);
	c->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;

	PbSpan *d = span_new(id_seq(0x51, 16), id_seq(0xe1, 8), "publish order");
	d->parent_span_id = id_seq(0xc1, 8);
	d->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER;
	d->start_time_unix_nano = 1;
	d->end_time_unix_nano = UINT64_MAX;
	d->flags = UINT32_MAX;
	SET_ATTRS(d, kv("messaging.system", val_str("kafka")));

	PbResource *r0 = NEW(PbResource, OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT);
	SET_ATTRS(r0, kv("service.name", val_str("checkout")),
	    kv("service.instance.id", val_int(42)),
	    kv("process.command_args", val_array(val_str("node"), val_str("app.js"))));
	r0->dropped_attributes_count = 3;
	PbScope *sc0 = NEW(PbScope, OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT);
	sc0->name = "@opentelemetry/instrumentation-http";
	sc0->version = "0.52.1";
	SET_ATTRS(sc0, kv("scope.attr", val_bool(1)));
	sc0->dropped_attributes_count = 1;
	PbScopeSpans *ss0 = scope_spans(sc0, a, b);
	ss0->schema_url = "https://opentelemetry.io/schemas/1.25.0";
	PbScopeSpans *ss1 = scope_spans(NULL, c);   /* no scope at all */
	PbResourceSpans *rs0 = resource_spans(r0, ss0, ss1);
	rs0->schema_url = "https://opentelemetry.io/schemas/1.24.0";

	PbResource *r1 = NEW(PbResource, OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT);
	SET_ATTRS(r1, kv("service.name", val_str("inventory")),
	    kv("host.name", val_str("db-1")));
	PbScope *sc1 = NEW(PbScope, OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT);
	sc1->name = "pg";
	return request(rs0, resource_spans(r1, scope_spans(sc1, d)));
}

static void check_resource(const struct tm_batch *batch, size_t i, const PbResourceSpans *rs,
			   struct tm_arena *arena)
{
	struct tm_resource res;
	CHECK_INT_EQ(tm_resource_decode(batch->resources[i].data, batch->resources[i].len, arena,
					&res), 0);
	const PbResource *in = rs->resource;
	CHECK(attrs_match(in ? in->attributes : NULL, in ? in->n_attributes : 0,
			  in ? in->dropped_attributes_count : 0, &res.attrs, "resource"));
	CHECK(str_matches(rs->schema_url, res.schema_url));
}

static void check_scope(const struct tm_batch *batch, size_t i, const PbScopeSpans *ss,
			struct tm_arena *arena)
{
	struct tm_scope scope;
	CHECK_INT_EQ(tm_scope_decode(batch->scopes[i].data, batch->scopes[i].len, arena, &scope),
		     0);
	const PbScope *in = ss->scope;
	CHECK(str_matches(in ? in->name : NULL, scope.name));
	CHECK(str_matches(in ? in->version : NULL, scope.version));
	CHECK(attrs_match(in ? in->attributes : NULL, in ? in->n_attributes : 0,
			  in ? in->dropped_attributes_count : 0, &scope.attrs, "scope"));
	CHECK(str_matches(ss->schema_url, scope.schema_url));
}

static void check_batch_span(const struct tm_batch_span *bs, const PbSpan *in,
			     uint32_t resource, uint32_t scope, struct tm_arena *arena)
{
	CHECK(memcmp(bs->trace_id, in->trace_id.data, 16) == 0);
	CHECK_INT_EQ(bs->resource, resource);
	CHECK_INT_EQ(bs->scope, scope);
	CHECK(bs->start_ns == in->start_time_unix_nano);
	CHECK(bs->end_ns == in->end_time_unix_nano);
	CHECK(str_matches(in->name, bs->name));
	CHECK_INT_EQ(bs->is_error, in->status && in->status->code == 2);
	struct tm_span out;
	memcpy(out.trace_id, bs->trace_id, 16);   /* the record leaves it to the key */
	CHECK_INT_EQ(tm_span_decode(bs->rec, bs->rec_len, arena, &out), 0);
	CHECK_INT_EQ(bs->is_root, !out.has_parent);
	CHECK(span_matches(in, &out));
}

static void test_every_field(void)
{
	size_t len;
	PbRequest *req = full_request();
	uint8_t *body = pack_request(req, &len);
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), 0);
	CHECK_INT_EQ(report.accepted, 4);
	CHECK_INT_EQ(report.rejected, 0);
	CHECK_STR_EQ(report.message, "");
	CHECK_INT_EQ(batch.n_resources, 2);
	CHECK_INT_EQ(batch.n_scopes, 3);
	CHECK_INT_EQ(batch.n_spans, 4);
	if (batch.n_resources != 2 || batch.n_scopes != 3 || batch.n_spans != 4)
		goto out;
	CHECK(str_matches("checkout", batch.services[0]));
	CHECK(str_matches("inventory", batch.services[1]));
	size_t k = 0, scope_i = 0;
	for (size_t r = 0; r < req->n_resource_spans; r++) {
		const PbResourceSpans *rs = req->resource_spans[r];
		check_resource(&batch, r, rs, &arena);
		for (size_t s = 0; s < rs->n_scope_spans; s++, scope_i++) {
			const PbScopeSpans *ss = rs->scope_spans[s];
			check_scope(&batch, scope_i, ss, &arena);
			for (size_t i = 0; i < ss->n_spans; i++, k++)
				check_batch_span(&batch.spans[k], ss->spans[i], (uint32_t)r,
						 (uint32_t)scope_i, &arena);
		}
	}
	CHECK_INT_EQ(k, 4);
	/* resources and scopes are named by content: different content, different hash */
	CHECK(batch.resources[0].hash != batch.resources[1].hash);
	CHECK(batch.scopes[0].hash != batch.scopes[1].hash);
	CHECK(batch.bytes > 0);
out:
	tm_arena_clear(&arena);
}

/* the body may be freed once the call returns: nothing may point into it */
static void test_body_not_borrowed(void)
{
	size_t len;
	uint8_t *body = pack_request(full_request(), &len);
	uint8_t *copy = malloc(len);
	memcpy(copy, body, len);
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_ingest_otlp_proto(copy, len, &arena, &batch, &report), 0);
	memset(copy, 0xee, len);
	free(copy);
	CHECK_INT_EQ(batch.n_spans, 4);
	CHECK(str_matches("checkout", batch.services[0]));
	for (size_t i = 0; i < batch.n_spans; i++) {
		struct tm_span out;
		memcpy(out.trace_id, batch.spans[i].trace_id, 16);
		CHECK_INT_EQ(tm_span_decode(batch.spans[i].rec, batch.spans[i].rec_len, &arena, &out),
			     0);
	}
	CHECK(str_matches("GET /checkout", batch.spans[0].name));
	tm_arena_clear(&arena);
}

/* unknown fields of any wire type are skipped (newer OTLP versions add fields) */
static void test_unknown_fields(void)
{
	PbSpan *s = span_new(id_seq(0x01, 16), id_seq(0xa1, 8), "x");
	size_t len;
	uint8_t *body = pack_request(request(resource_spans(NULL, scope_spans(NULL, s))), &len);
	/* append to the request: field 99 varint, 100 fixed64, 101 bytes, 102 fixed32 */
	static const uint8_t extra[] = { 0x98, 0x06, 0x01, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,
					 0xaa, 0x06, 0x02, 'h', 'i', 0xb5, 0x06, 1, 2, 3, 4 };
	uint8_t *all = build_alloc(len + sizeof(extra));
	memcpy(all, body, len);
	memcpy(all + len, extra, sizeof(extra));
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_ingest_otlp_proto(all, len + sizeof(extra), &arena, &batch, &report), 0);
	CHECK_INT_EQ(batch.n_spans, 1);
	CHECK_INT_EQ(batch.n_resources, 1);
	CHECK(str_matches("", batch.services[0]));   /* no resource: no service name */
	tm_arena_clear(&arena);
}

/* a valid body in an arena too small for it is "too big" (413), never a
 * "bad message" (400): protobuf-c reports both failures the same way */
static void test_arena_limit(void)
{
	size_t len;
	uint8_t *body = pack_request(full_request(), &len);
	size_t limit, n_refused = 0;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	for (limit = 64;; limit += limit / 8) {
		tm_arena_init(&arena, limit);
		int rc = tm_ingest_otlp_proto(body, len, &arena, &batch, &report);
		tm_arena_clear(&arena);
		if (rc == 0)
			break;
		n_refused++;
		if (rc != -E2BIG)
			fprintf(stderr, "  arena limit %zu: rc %d '%s'\n", limit, rc, report.message);
		CHECK_INT_EQ(rc, -E2BIG);
		CHECK(strstr(report.message, "smaller batches") != NULL);
		if (rc != -E2BIG)
			break;
	}
	CHECK(n_refused > 10);
	CHECK(limit < 1024 * 1024);

	/* an arena that hit its limit, cleared and used again without one: a
	 * malformed body is malformed again, not "too big" */
	static const uint8_t trace_id_as_varint[] = { 0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x08,
						      0x01 };
	tm_arena_init(&arena, 256);
	CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), -E2BIG);
	tm_arena_clear(&arena);
	arena.max_bytes = 0;
	CHECK_INT_EQ(tm_ingest_otlp_proto(trace_id_as_varint, sizeof(trace_id_as_varint), &arena,
					  &batch, &report), -EBADMSG);
	CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), 0);
	tm_arena_clear(&arena);
}

/*---- (b) the payload of the real OpenTelemetry JS SDK ----*/

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *data = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (cap - *len < 4096) {
			cap = cap ? cap * 2 : 8192;
			data = realloc(data, cap);
			if (!data)
				exit(99);
		}
		size_t n = fread(data + *len, 1, cap - *len, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	return data;
}

/* every prefix of a valid body either decodes or fails cleanly */
static void check_every_prefix(const uint8_t *body, size_t len, const char *what)
{
	size_t decoded = 0, refused = 0;
	for (size_t n = 0; n <= len; n++) {
		/* a copy of exactly n bytes, so ASan sees any read past the end */
		uint8_t *prefix = malloc(n ? n : 1);
		memcpy(prefix, body, n);
		struct tm_arena arena;
		struct tm_batch batch;
		struct tm_ingest_report report;
		tm_arena_init(&arena, 0);
		int rc = tm_ingest_otlp_proto(prefix, n, &arena, &batch, &report);
		if (rc == 0) {
			decoded++;
			for (size_t i = 0; i < batch.n_spans; i++) {
				struct tm_span out;
				CHECK_INT_EQ(tm_span_decode(batch.spans[i].rec, batch.spans[i].rec_len,
							    &arena, &out), 0);
			}
		} else {
			refused++;
			CHECK_INT_EQ(rc, -EBADMSG);
			CHECK(report.message[0] != '\0');
		}
		tm_arena_clear(&arena);
		free(prefix);
	}
	printf("  %s: %zu prefixes decode, %zu are refused\n", what, decoded, refused);
	CHECK(refused > 0);
}

static void test_sdk_payload(const char *path)
{
	size_t len;
	uint8_t *body = path ? read_file(path, &len) : NULL;
	if (!body) {
		printf("skip: SDK payload %s not found\n", path ? path : "(no argv[1])");
		return;
	}
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), 0);
	CHECK(batch.n_spans > 0);
	CHECK(batch.n_resources > 0);
	CHECK_INT_EQ(report.rejected, 0);
	CHECK_INT_EQ(report.accepted, batch.n_spans);
	/* the golden file beside the payload: the batch as /api/v3 shows it */
	char golden[1024];
	snprintf(golden, sizeof(golden), "%.1000s", path);
	char *dot = strrchr(golden, '.');
	if (dot && (size_t)(dot - golden) < sizeof(golden) - 14)
		strcpy(dot, ".golden.json");
	CHECK(batch_matches_golden(&batch, golden));

	/* protobuf-c on its own, to compare counts and ID lengths */
	PbRequest *req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, len, body);
	CHECK(req != NULL);
	size_t n_spans = 0;
	for (size_t r = 0; req && r < req->n_resource_spans; r++)
		for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
			const PbScopeSpans *ss = req->resource_spans[r]->scope_spans[s];
			for (size_t i = 0; i < ss->n_spans; i++, n_spans++) {
				CHECK_INT_EQ(ss->spans[i]->trace_id.len, 16);
				CHECK_INT_EQ(ss->spans[i]->span_id.len, 8);
				if (n_spans < batch.n_spans)
					check_batch_span(&batch.spans[n_spans], ss->spans[i],
							 (uint32_t)batch.spans[n_spans].resource,
							 (uint32_t)batch.spans[n_spans].scope, &arena);
			}
		}
	CHECK_INT_EQ(n_spans, batch.n_spans);
	for (size_t i = 0; i < batch.n_spans; i++) {
		CHECK(!tm_id_is_zero(batch.spans[i].trace_id, 16));
		CHECK(batch.spans[i].resource < batch.n_resources);
		CHECK(batch.spans[i].scope < batch.n_scopes);
	}
	for (size_t i = 0; i < batch.n_resources; i++) {
		CHECK(batch.services[i].len > 0);
		printf("  SDK payload: resource %zu service.name '%.*s'\n", i,
		       (int)batch.services[i].len, batch.services[i].ptr);
	}
	printf("  SDK payload: %zu bytes, %zu spans\n", len, batch.n_spans);
	if (req)
		opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
			req, NULL);
	tm_arena_clear(&arena);
	check_every_prefix(body, len, "SDK payload");
	free(body);
}

/*---- (c) partial success ----*/

static void test_partial_success(void)
{
	static const uint8_t zero16[16];
	PbSpan *zero_trace = span_new(id_bytes(zero16, 16), id_seq(0xa1, 8), "zero trace");
	PbSpan *short_trace = span_new(id_seq(0x01, 15), id_seq(0xa2, 8), "short trace");
	PbSpan *zero_span = span_new(id_seq(0x01, 16), id_bytes(zero16, 8), "zero span");
	PbSpan *valid = span_new(id_seq(0x01, 16), id_seq(0xa4, 8), "valid");
	size_t len;
	uint8_t *body = pack_request(request(resource_spans(NULL,
		scope_spans(NULL, zero_trace, short_trace, zero_span, valid))), &len);
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), 0);
	CHECK_INT_EQ(report.accepted, 1);
	CHECK_INT_EQ(report.rejected, 3);
	CHECK_INT_EQ(batch.n_spans, 1);
	CHECK(strstr(report.message, "trace_id must not be all zeros") != NULL);
	CHECK(strstr(report.message, "spans[0]") != NULL);
	CHECK(batch.n_spans == 1 && str_matches("valid", batch.spans[0].name));
	tm_arena_clear(&arena);

	/* the message names the first problem, wherever it is */
	PbSpan *bad_parent = span_new(id_seq(0x01, 16), id_seq(0xa5, 8), "bad parent");
	bad_parent->parent_span_id = id_seq(0x10, 4);
	PbSpan *bad_link = span_new(id_seq(0x01, 16), id_seq(0xa6, 8), "bad link");
	PbLink *l = NEW(PbLink, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
	l->trace_id = id_seq(0x01, 16);
	bad_link->links = LIST(PbLink, l);
	bad_link->n_links = 1;
	body = pack_request(request(resource_spans(NULL, scope_spans(NULL, valid)),
				    resource_spans(NULL, scope_spans(NULL, valid),
						   scope_spans(NULL, valid, bad_parent, bad_link))),
			    &len);
	CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), 0);
	CHECK_INT_EQ(report.accepted, 3);
	CHECK_INT_EQ(report.rejected, 2);
	CHECK(strstr(report.message, "parent_span_id") != NULL);
	CHECK(strstr(report.message, "resource_spans[1].scope_spans[1].spans[1]") != NULL);
	tm_arena_clear(&arena);
}

/*---- (d) bodies that are not a valid message ----*/

static void expect_bad(const void *body, size_t len, const char *expect, const char *label)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	/* exactly len bytes on the heap, so ASan catches any overread */
	void *copy = malloc(len ? len : 1);
	memcpy(copy, body, len);
	int rc = tm_ingest_otlp_proto(copy, len, &arena, &batch, &report);
	int ok = rc == -EBADMSG && report.message[0] != '\0' &&
		 (!expect || strstr(report.message, expect)) && batch.n_spans == 0;
	if (!ok)
		fprintf(stderr, "  case '%s': rc %d, message '%s', wanted -EBADMSG and '%s'\n", label,
			rc, report.message, expect ? expect : "");
	CHECK(ok);
	free(copy);
	tm_arena_clear(&arena);
}

#define EXPECT_BAD(expect, label, ...) \
	expect_bad((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), \
		   expect, label)

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* returns a new buffer: prefix, then tag + length + the len bytes of inner */
static uint8_t *wrap(uint8_t tag, const uint8_t *prefix, size_t prefix_len, uint8_t *inner,
		     size_t *len)
{
	uint8_t *out = malloc(prefix_len + 1 + varint_len(*len) + *len);
	uint8_t *p = out;
	if (prefix_len)
		memcpy(p, prefix, prefix_len);
	p += prefix_len;
	*p++ = tag;
	p = put_varint(p, *len);
	memcpy(p, inner, *len);
	*len = (size_t)(p + *len - out);
	free(inner);
	return out;
}

/* a request with one span whose one attribute value nests `levels` arrays
 * or kvlists (mode 0: arrays, 1: kvlists, 2: alternating) around a string.
 * Lengths are computed inside out, then the bytes written outside in, so
 * 100k levels cost linear time. */
static uint8_t *nested_request(size_t levels, int mode, size_t *len)
{
	size_t *inner = malloc((levels + 1) * sizeof(size_t));   /* AnyValue content length */
	inner[0] = 3;                                             /* 0A 01 'x' */
	for (size_t i = 1; i <= levels; i++) {
		size_t l = inner[i - 1];
		int kvlist = mode == 1 || (mode == 2 && i % 2);
		if (kvlist) {
			size_t kvl = 4 + varint_len(l) + l;           /* 0A 01 'k' 12 len value */
			size_t list = 1 + varint_len(kvl) + kvl;     /* 0A len KeyValue */
			inner[i] = 1 + varint_len(list) + list;      /* 32 len KeyValueList */
		} else {
			size_t arr = 1 + varint_len(l) + l;          /* 0A len AnyValue */
			inner[i] = 1 + varint_len(arr) + arr;        /* 2A len ArrayValue */
		}
	}
	size_t n = inner[levels];
	uint8_t *value = malloc(n), *p = value;
	for (size_t i = levels; i >= 1; i--) {
		size_t l = inner[i - 1];
		int kvlist = mode == 1 || (mode == 2 && i % 2);
		if (kvlist) {
			size_t kvl = 4 + varint_len(l) + l;
			*p++ = 0x32;
			p = put_varint(p, 1 + varint_len(kvl) + kvl);
			*p++ = 0x0a;
			p = put_varint(p, kvl);
			memcpy(p, "\x0a\x01k\x12", 4);
			p = put_varint(p + 4, l);
		} else {
			*p++ = 0x2a;
			p = put_varint(p, 1 + varint_len(l) + l);
			*p++ = 0x0a;
			p = put_varint(p, l);
		}
	}
	memcpy(p, "\x0a\x01x", 3);
	CHECK(p + 3 == value + n);
	free(inner);
	static const uint8_t key[] = { 0x0a, 0x01, 'a' };
	static const uint8_t ids[] = { 0x0a, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
				       15, 16, 0x12, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
	value = wrap(0x12, key, sizeof(key), value, &n);   /* KeyValue{key, value} */
	value = wrap(0x4a, ids, sizeof(ids), value, &n);   /* Span{ids, attributes} */
	value = wrap(0x12, NULL, 0, value, &n);            /* ScopeSpans.spans */
	value = wrap(0x12, NULL, 0, value, &n);            /* ResourceSpans.scope_spans */
	value = wrap(0x0a, NULL, 0, value, &n);            /* request.resource_spans */
	*len = n;
	return value;
}

/* how many arrays/kvlists wrap the innermost value */
static size_t value_depth(const struct tm_value *v)
{
	size_t d = 0;
	for (;;) {
		if (v->type == TM_VAL_ARRAY && v->u.array.n == 1)
			v = &v->u.array.items[0];
		else if (v->type == TM_VAL_KVLIST && v->u.kvlist.n == 1)
			v = &v->u.kvlist.items[0].value;
		else
			return d;
		d++;
	}
}

static void test_nesting(void)
{
	/* 31 wrappers = 32 AnyValues: the deepest accepted */
	for (int mode = 0; mode < 3; mode++) {
		size_t len;
		uint8_t *body = nested_request(31, mode, &len);
		struct tm_arena arena;
		struct tm_batch batch;
		struct tm_ingest_report report;
		tm_arena_init(&arena, 0);
		CHECK_INT_EQ(tm_ingest_otlp_proto(body, len, &arena, &batch, &report), 0);
		CHECK_INT_EQ(batch.n_spans, 1);
		if (batch.n_spans == 1) {
			struct tm_span out;
			CHECK_INT_EQ(tm_span_decode(batch.spans[0].rec, batch.spans[0].rec_len, &arena,
						    &out), 0);
			CHECK_INT_EQ(out.attrs.n, 1);
			if (out.attrs.n == 1)
				CHECK_INT_EQ(value_depth(&out.attrs.items[0].value), 31);
		}
		tm_arena_clear(&arena);
		free(body);
		body = nested_request(32, mode, &len);
		expect_bad(body, len, "nested too deeply", "33 nested values");
		free(body);
		body = nested_request(100000, mode, &len);
		expect_bad(body, len, "nested too deeply", "100000 nested values");
		free(body);
	}
}

static void test_bad_bodies(void)
{
	/* field 1 of the request (resource_spans, a message) as a varint */
	EXPECT_BAD("wire type", "request field 1 as varint", 0x08, 0x01);
	EXPECT_BAD("wire type", "request field 1 as fixed64", 0x09, 1, 2, 3, 4, 5, 6, 7, 8);
	EXPECT_BAD("ResourceSpans", "scope_spans as varint", 0x0a, 0x02, 0x10, 0x01);
	/* Span.trace_id (bytes) as a varint: protobuf-c refuses it */
	EXPECT_BAD(NULL, "trace_id as varint", 0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01);
	EXPECT_BAD(NULL, "kind as bytes", 0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x32, 0x00);
	EXPECT_BAD("past the end", "length past the end", 0x0a, 0x05, 0x0a, 0x01);
	EXPECT_BAD("past the end", "nested length past the end", 0x0a, 0x04, 0x12, 0x02, 0x12,
		   0x05);
	EXPECT_BAD("past the end", "2 GB length", 0x0a, 0xff, 0xff, 0xff, 0xff, 0x07);
	EXPECT_BAD(NULL, "2^64-1 length", 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		   0xff, 0x01);
	EXPECT_BAD("field number 0", "field 0 bytes", 0x02, 0x00);
	EXPECT_BAD("field number 0", "field 0 varint", 0x00, 0x01);
	EXPECT_BAD("field number 0", "field 0 in a span", 0x0a, 0x06, 0x12, 0x04, 0x12, 0x02,
		   0x00, 0x00);
	EXPECT_BAD("wire type", "start group on field 1", 0x0b, 0x0c);
	EXPECT_BAD("wire type", "unknown field as group", 0x2b, 0x2c);
	EXPECT_BAD("wire type", "end group alone", 0x2c);
	EXPECT_BAD("wire type", "wire type 6", 0x2e, 0x00);
	EXPECT_BAD("wire type", "wire type 7", 0x2f, 0x00);
	EXPECT_BAD("truncated", "lone continuation byte", 0x80);
	EXPECT_BAD("truncated", "tag over 10 bytes", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		   0xff, 0xff, 0xff, 0x01);
	EXPECT_BAD("truncated", "varint cut", 0x10, 0x80);
	EXPECT_BAD("truncated", "fixed64 cut", 0x19, 0x00, 0x00);
	EXPECT_BAD("truncated", "fixed32 cut", 0x1d, 0x00);
	EXPECT_BAD("truncated", "length cut", 0x0a);

	/* an empty body is an empty request */
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	tm_arena_init(&arena, 0);
	CHECK_INT_EQ(tm_ingest_otlp_proto("", 0, &arena, &batch, &report), 0);
	CHECK_INT_EQ(batch.n_spans, 0);
	CHECK_INT_EQ(batch.n_resources, 0);
	CHECK_INT_EQ(report.accepted + report.rejected, 0);
	/* an empty ResourceSpans: a resource, no spans */
	CHECK_INT_EQ(tm_ingest_otlp_proto("\x0a\x00", 2, &arena, &batch, &report), 0);
	CHECK_INT_EQ(batch.n_spans, 0);
	tm_arena_clear(&arena);

	size_t len;
	uint8_t *body = pack_request(full_request(), &len);
	check_every_prefix(body, len, "full request");
}

int main(int argc, char **argv)
{
	tm_arena_init(&build_arena, 0);
	test_every_field();
	test_body_not_borrowed();
	test_unknown_fields();
	test_arena_limit();
	test_sdk_payload(argc > 1 ? argv[1] : NULL);
	test_partial_success();
	test_nesting();
	test_bad_bodies();
	tm_arena_clear(&build_arena);
	return TEST_DONE();
}
