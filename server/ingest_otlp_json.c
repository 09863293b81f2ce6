/* ingest_otlp_json.c - ExportTraceServiceRequest in OTLP/JSON -> tm_batch.
 *
 * OTLP/JSON is proto3 JSON with hex IDs (protocols.md 1.7).  Being lenient
 * where the OpenTelemetry Collector is: keys in lowerCamelCase or
 * snake_case, hex in either case, 64-bit integers as strings or numbers,
 * enums as integers or names, unknown keys ignored, null as absent.  A value
 * of the wrong JSON type makes the whole body invalid (400), naming the
 * field, as a proto3 JSON parser would. */
#include "ingest_otlp.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* attribute values nested deeper than this are refused (as for protobuf) */
#define MAX_VALUE_DEPTH 32

struct jctx {
	struct tm_arena *arena;
	struct tm_ingest_report *report;
	int err;            /* first error: -EBADMSG or -ENOMEM */
	char where[128];    /* path of the object being read, for messages */
};

static void jfail(struct jctx *c, const char *field, const char *what)
{
	if (c->err)
		return;
	c->err = -EBADMSG;
	snprintf(c->report->message, sizeof(c->report->message), "%s%s%s %s", c->where,
		 *field ? "." : "", field, what);
}

static void *jalloc(struct jctx *c, size_t n, size_t size)
{
	if (n == 0)
		return NULL;
	void *p = tm_arena_alloc(c->arena, n * size);
	if (!p && !c->err)
		c->err = -ENOMEM;
	return p;
}

/* the value of key in camelCase, or else in snake_case; NULL when absent */
static json_t *jget(const json_t *obj, const char *camel, const char *snake)
{
	json_t *v = json_object_get(obj, camel);
	if (!v && snake)
		v = json_object_get(obj, snake);
	return json_is_null(v) ? NULL : v;
}

static struct tm_str jstr(struct jctx *c, const json_t *obj, const char *camel,
			  const char *snake)
{
	struct tm_str s = { "", 0 };
	json_t *v = jget(obj, camel, snake);
	if (!v)
		return s;
	if (!json_is_string(v)) {
		jfail(c, camel, "must be a string");
		return s;
	}
	s.ptr = json_string_value(v);
	s.len = json_string_length(v);
	return s;
}

/* 64-bit integers: a decimal string (the proto3 JSON form) or a number */
static uint64_t juint(struct jctx *c, const json_t *obj, const char *camel,
		      const char *snake, int is_signed)
{
	json_t *v = jget(obj, camel, snake);
	if (!v)
		return 0;
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) < 1.8e19)
		return json_real_value(v) < 0 ? (uint64_t)(int64_t)json_real_value(v)
					       : (uint64_t)json_real_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		uint64_t n = is_signed ? (uint64_t)strtoll(s, &end, 10) : strtoull(s, &end, 10);
		if (!errno && end != s && !*end && (is_signed || *s != '-'))
			return n;
	}
	jfail(c, camel, "must be an integer (a number or a decimal string)");
	return 0;
}

/* enums: integers, or their names as the Collector also accepts */
static unsigned jenum(struct jctx *c, const json_t *obj, const char *key,
		      const char *const *names, unsigned n_names)
{
	json_t *v = jget(obj, key, NULL);
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 256)
		return (unsigned)json_integer_value(v);
	for (unsigned i = 0; json_is_string(v) && i < n_names; i++)
		if (!strcmp(json_string_value(v), names[i]))
			return i;
	jfail(c, key, "must be an enum number");
	return 0;
}

static void jhex(struct jctx *c, const json_t *obj, const char *camel, const char *snake,
		 uint8_t *out, size_t out_len, int *present)
{
	struct tm_str s = jstr(c, obj, camel, snake);
	*present = s.len > 0;
	memset(out, 0, out_len);
	if (s.len && tm_ingest_hex_id(s.ptr, s.len, out, out_len) < 0)
		jfail(c, camel, out_len == TM_TRACE_ID_LEN ? "must be 32 hex digits"
							   : "must be 16 hex digits");
}

static const json_t *jarray(struct jctx *c, const json_t *obj, const char *camel,
			    const char *snake)
{
	json_t *v = jget(obj, camel, snake);
	if (v && !json_is_array(v)) {
		jfail(c, camel, "must be an array");
		return NULL;
	}
	return v;
}

static const json_t *jobject(struct jctx *c, const json_t *obj, const char *camel,
			     const char *snake)
{
	json_t *v = jget(obj, camel, snake);
	if (v && !json_is_object(v)) {
		jfail(c, camel, "must be an object");
		return NULL;
	}
	return v;
}

/*---- attribute values ----*/

static int base64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* standard or URL-safe base64, padded or not */
static struct tm_str jbytes(struct jctx *c, const json_t *v)
{
	struct tm_str out = { "", 0 };
	if (!json_is_string(v)) {
		jfail(c, "bytesValue", "must be a base64 string");
		return out;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	while (len && s[len - 1] == '=')
		len--;
	unsigned char *p = jalloc(c, len * 3 / 4 + 1, 1);
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; p && i < len; i++) {
		int d = base64_value(s[i]);
		if (d < 0) {
			jfail(c, "bytesValue", "is not base64");
			return out;
		}
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[out.len++] = (unsigned char)(acc >> bits);
		}
	}
	out.ptr = (const char *)p;
	return out;
}

static double jdouble(struct jctx *c, const json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (!strcmp(s, "NaN"))
		return NAN;
	if (!strcmp(s, "Infinity"))
		return INFINITY;
	if (!strcmp(s, "-Infinity"))
		return -INFINITY;
	jfail(c, "doubleValue", "must be a number");
	return 0;
}

static void read_attrs(struct jctx *c, const json_t *list, struct tm_attrs *out, int depth);

static void read_value(struct jctx *c, const json_t *v, struct tm_value *out, int depth)
{
	memset(out, 0, sizeof(*out));
	if (!v)
		return;   /* absent: an empty value */
	if (!json_is_object(v)) {
		jfail(c, "value", "must be an AnyValue object");
		return;
	}
	if (depth > MAX_VALUE_DEPTH) {
		jfail(c, "value", "nested deeper than 32 levels");
		return;
	}
	json_t *x;
	if ((x = jget(v, "stringValue", "string_value"))) {
		out->type = TM_VAL_STRING;
		out->u.str = jstr(c, v, "stringValue", "string_value");
	} else if ((x = jget(v, "boolValue", "bool_value"))) {
		out->type = TM_VAL_BOOL;
		if (!json_is_boolean(x))
			jfail(c, "boolValue", "must be true or false");
		out->u.boolean = json_is_true(x);
	} else if ((x = jget(v, "intValue", "int_value"))) {
		out->type = TM_VAL_INT;
		out->u.integer = (int64_t)juint(c, v, "intValue", "int_value", 1);
	} else if ((x = jget(v, "doubleValue", "double_value"))) {
		out->type = TM_VAL_DOUBLE;
		out->u.dbl = jdouble(c, x);
	} else if ((x = jget(v, "bytesValue", "bytes_value"))) {
		out->type = TM_VAL_BYTES;
		out->u.str = jbytes(c, x);
	} else if ((x = jget(v, "arrayValue", "array_value"))) {
		const json_t *vals = json_is_object(x) ? jarray(c, x, "values", NULL) : NULL;
		size_t n = vals ? json_array_size(vals) : 0;
		out->type = TM_VAL_ARRAY;
		out->u.array.items = jalloc(c, n, sizeof(struct tm_value));
		out->u.array.n = out->u.array.items ? n : 0;
		for (size_t i = 0; i < out->u.array.n && !c->err; i++)
			read_value(c, json_array_get(vals, i), &out->u.array.items[i], depth + 1);
	} else if ((x = jget(v, "kvlistValue", "kvlist_value"))) {
		struct tm_attrs kv = { 0 };
		read_attrs(c, json_is_object(x) ? jarray(c, x, "values", NULL) : NULL, &kv, depth + 1);
		out->type = TM_VAL_KVLIST;
		out->u.kvlist.items = kv.items;
		out->u.kvlist.n = kv.n;
	}
}

static void read_attrs(struct jctx *c, const json_t *list, struct tm_attrs *out, int depth)
{
	size_t n = list ? json_array_size(list) : 0;
	out->items = jalloc(c, n, sizeof(struct tm_attr));
	out->n = out->items ? n : 0;
	for (size_t i = 0; i < out->n && !c->err; i++) {
		const json_t *kv = json_array_get(list, i);
		if (!json_is_object(kv)) {
			jfail(c, "attributes", "must hold KeyValue objects");
			return;
		}
		out->items[i].key = jstr(c, kv, "key", NULL);
		read_value(c, jget(kv, "value", NULL), &out->items[i].value, depth);
	}
}

/* attributes plus droppedAttributesCount of any object that has both */
static void read_attrs_of(struct jctx *c, const json_t *obj, struct tm_attrs *out)
{
	read_attrs(c, jarray(c, obj, "attributes", NULL), out, 0);
	out->dropped = (uint32_t)juint(c, obj, "droppedAttributesCount",
				       "dropped_attributes_count", 0);
}

/*---- spans ----*/

static void read_events(struct jctx *c, const json_t *span, struct tm_span *s)
{
	const json_t *list = jarray(c, span, "events", NULL);
	size_t n = list ? json_array_size(list) : 0;
	s->events = jalloc(c, n, sizeof(*s->events));
	s->n_events = s->events ? n : 0;
	for (size_t i = 0; i < s->n_events && !c->err; i++) {
		const json_t *e = json_array_get(list, i);
		if (!json_is_object(e)) {
			jfail(c, "events", "must hold objects");
			return;
		}
		s->events[i].time_ns = juint(c, e, "timeUnixNano", "time_unix_nano", 0);
		s->events[i].name = jstr(c, e, "name", NULL);
		read_attrs_of(c, e, &s->events[i].attrs);
	}
	s->dropped_events = (uint32_t)juint(c, span, "droppedEventsCount",
					    "dropped_events_count", 0);
}

static void read_links(struct jctx *c, const json_t *span, struct tm_span *s)
{
	const json_t *list = jarray(c, span, "links", NULL);
	size_t n = list ? json_array_size(list) : 0;
	s->links = jalloc(c, n, sizeof(*s->links));
	s->n_links = s->links ? n : 0;
	for (size_t i = 0; i < s->n_links && !c->err; i++) {
		const json_t *l = json_array_get(list, i);
		struct tm_link *o = &s->links[i];
		int present;
		if (!json_is_object(l)) {
			jfail(c, "links", "must hold objects");
			return;
		}
		jhex(c, l, "traceId", "trace_id", o->trace_id, TM_TRACE_ID_LEN, &present);
		jhex(c, l, "spanId", "span_id", o->span_id, TM_SPAN_ID_LEN, &present);
		o->trace_state = jstr(c, l, "traceState", "trace_state");
		o->flags = (uint32_t)juint(c, l, "flags", NULL, 0);
		read_attrs_of(c, l, &o->attrs);
	}
	s->dropped_links = (uint32_t)juint(c, span, "droppedLinksCount",
					   "dropped_links_count", 0);
}

static const char *const kind_names[] = {
	"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
	"SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_names[] = {
	"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR",
};

/* reads one span; returns the reason it must be rejected, or NULL */
static const char *read_span(struct jctx *c, const json_t *j, struct tm_span *s)
{
	int has_trace, has_span;
	memset(s, 0, sizeof(*s));
	jhex(c, j, "traceId", "trace_id", s->trace_id, TM_TRACE_ID_LEN, &has_trace);
	jhex(c, j, "spanId", "span_id", s->span_id, TM_SPAN_ID_LEN, &has_span);
	jhex(c, j, "parentSpanId", "parent_span_id", s->parent_span_id, TM_SPAN_ID_LEN,
	     &s->has_parent);
	if (s->has_parent && tm_id_is_zero(s->parent_span_id, TM_SPAN_ID_LEN))
		s->has_parent = 0;
	s->trace_state = jstr(c, j, "traceState", "trace_state");
	s->name = jstr(c, j, "name", NULL);
	s->kind = (uint8_t)jenum(c, j, "kind", kind_names, 6);
	s->flags = (uint32_t)juint(c, j, "flags", NULL, 0);
	s->start_ns = juint(c, j, "startTimeUnixNano", "start_time_unix_nano", 0);
	s->end_ns = juint(c, j, "endTimeUnixNano", "end_time_unix_nano", 0);
	read_attrs_of(c, j, &s->attrs);
	read_events(c, j, s);
	read_links(c, j, s);
	const json_t *status = jobject(c, j, "status", NULL);
	if (status) {
		s->status_code = (uint8_t)jenum(c, status, "code", status_names, 3);
		s->status_message = jstr(c, status, "message", NULL);
	}
	if (!has_trace || tm_id_is_zero(s->trace_id, TM_TRACE_ID_LEN))
		return "traceId must be 16 non-zero bytes";
	if (!has_span || tm_id_is_zero(s->span_id, TM_SPAN_ID_LEN))
		return "spanId must be 8 non-zero bytes";
	return NULL;
}

/*---- the request ----*/

static int add_scope_spans(struct jctx *c, struct tm_batch *batch, const json_t *ss,
			   uint32_t res_index, size_t rs_i, size_t ss_i)
{
	struct tm_scope scope = { 0 };
	const json_t *sj = jobject(c, ss, "scope", NULL);
	if (!sj)   /* the pre-2022 name of the same thing */
		sj = jobject(c, ss, "instrumentationLibrary", "instrumentation_library");
	if (sj) {
		scope.name = jstr(c, sj, "name", NULL);
		scope.version = jstr(c, sj, "version", NULL);
		read_attrs_of(c, sj, &scope.attrs);
	}
	scope.schema_url = jstr(c, ss, "schemaUrl", "schema_url");
	if (c->err)
		return c->err;
	uint32_t scope_index;
	int rc = tm_batch_add_scope(batch, &scope, &scope_index);
	const json_t *spans = jarray(c, ss, "spans", NULL);
	for (size_t i = 0; !rc && !c->err && spans && i < json_array_size(spans); i++) {
		const json_t *j = json_array_get(spans, i);
		snprintf(c->where, sizeof(c->where), "resourceSpans[%zu].scopeSpans[%zu].spans[%zu]",
			 rs_i, ss_i, i);
		if (!json_is_object(j)) {
			jfail(c, "", "must be an object");
			return c->err;
		}
		struct tm_span span;
		const char *why = read_span(c, j, &span);
		if (c->err)
			break;
		if (why) {
			tm_ingest_reject(c->report, "%s (%s)", why, c->where);
			continue;
		}
		rc = tm_batch_add_span(batch, &span, res_index, scope_index);
		c->report->accepted++;
	}
	return c->err ? c->err : rc;
}

static int add_resource_spans(struct jctx *c, struct tm_batch *batch, const json_t *rs,
			      size_t rs_i)
{
	snprintf(c->where, sizeof(c->where), "resourceSpans[%zu]", rs_i);
	if (!json_is_object(rs)) {
		jfail(c, "", "must be an object");
		return c->err;
	}
	struct tm_resource res = { 0 };
	const json_t *rj = jobject(c, rs, "resource", NULL);
	if (rj)
		read_attrs_of(c, rj, &res.attrs);
	res.schema_url = jstr(c, rs, "schemaUrl", "schema_url");
	if (c->err)
		return c->err;
	uint32_t res_index;
	int rc = tm_batch_add_resource(batch, &res, &res_index);
	const json_t *list = jarray(c, rs, "scopeSpans", "scope_spans");
	if (!list)
		list = jarray(c, rs, "instrumentationLibrarySpans", "instrumentation_library_spans");
	for (size_t i = 0; !rc && !c->err && list && i < json_array_size(list); i++) {
		const json_t *ss = json_array_get(list, i);
		snprintf(c->where, sizeof(c->where), "resourceSpans[%zu].scopeSpans[%zu]", rs_i, i);
		if (!json_is_object(ss)) {
			jfail(c, "", "must be an object");
			return c->err;
		}
		rc = add_scope_spans(c, batch, ss, res_index, rs_i, i);
	}
	return c->err ? c->err : rc;
}

static int too_big(const struct tm_arena *arena, struct tm_ingest_report *report)
{
	snprintf(report->message, sizeof(report->message),
		 "decoding this body needs more than %zu bytes of memory; send smaller batches",
		 arena->max_bytes);
	return -E2BIG;
}

int tm_ingest_otlp_json(const void *body, size_t len, struct tm_arena *arena,
			struct tm_batch *batch, struct tm_ingest_report *report)
{
	memset(report, 0, sizeof(*report));
	tm_batch_init(batch, arena);
	if (len == 0)
		return 0;   /* an empty request, as in protobuf */
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root) {
		snprintf(report->message, sizeof(report->message),
			 "body is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			 jerr.column);
		return -EBADMSG;
	}
	struct jctx c = { .arena = arena, .report = report };
	snprintf(c.where, sizeof(c.where), "request");
	int rc = 0;
	if (!json_is_object(root)) {
		jfail(&c, "", "must be an ExportTraceServiceRequest object");
	} else {
		const json_t *list = jarray(&c, root, "resourceSpans", "resource_spans");
		for (size_t i = 0; !rc && !c.err && list && i < json_array_size(list); i++)
			rc = add_resource_spans(&c, batch, json_array_get(list, i), i);
	}
	/* the batch encoded every string it keeps: the JSON tree can go */
	json_decref(root);
	tm_batch_done(batch);
	if (c.err)
		rc = c.err;
	return rc == -ENOMEM && arena->hit_limit ? too_big(arena, report) : rc;
}
