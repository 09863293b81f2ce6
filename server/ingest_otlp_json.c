/* ingest_otlp_json.c - ExportTraceServiceRequest in OTLP/JSON -> tm_batch.
 *
 * OTLP/JSON is proto3 JSON with hex IDs (protocols.md 1.7).  Being lenient
 * where the OpenTelemetry Collector is: keys in lowerCamelCase or
 * snake_case, hex in either case, 64-bit integers as strings or numbers,
 * enums as integers or names, unknown keys ignored, null as absent.  A value
 * of the wrong JSON type makes the whole body invalid (400), naming the
 * field, as a proto3 JSON parser would.
 *
 * The body is read with a pull parser (json_reader.h), not into a tree: a
 * DOM cost twenty times the protobuf decoder.  Keys may come in any order,
 * so a ResourceSpans is read whole before its spans are added. */
#include "ingest_otlp.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_reader.h"

/* attribute values nested deeper than this are refused (as for protobuf) */
#define MAX_VALUE_DEPTH 32

struct jctx {
	struct tm_jr jr;
	struct tm_ingest_report *report;
	size_t rs, ss, sp;   /* where we are, for messages */
	int level;           /* 0 request, 1 resourceSpans, 2 scopeSpans, 3 spans */
};

/* "resourceSpans[1].scopeSpans[0].spans[7].name must be a string" */
static void type_error(struct jctx *c, const char *field, const char *what)
{
	char where[96] = "request";
	if (c->level >= 1)
		snprintf(where, sizeof(where), "resourceSpans[%zu]", c->rs);
	if (c->level >= 2)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), ".scopeSpans[%zu]",
			 c->ss);
	if (c->level >= 3)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), ".spans[%zu]", c->sp);
	tm_jr_fail(&c->jr, "%s.%s %s", where, field, what);
}

/* grows an arena array by doubling; the old copy stays in the arena.  n may
 * exceed *cap: a key given twice appends to what the first one read. */
static void *grow(struct jctx *c, void *items, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap <= n)
		ncap *= 2;
	void *p = tm_arena_alloc(c->jr.arena, ncap * size);
	if (!p) {
		c->jr.err = c->jr.err ? c->jr.err : -ENOMEM;
		c->jr.p = c->jr.end;
		return NULL;
	}
	if (n)
		memcpy(p, items, n * size);
	*cap = ncap;
	return p;
}

/* null, for any field, means absent */
static int absent(struct jctx *c)
{
	if (tm_jr_peek(&c->jr) != TM_JR_NULL)
		return 0;
	tm_jr_null(&c->jr);
	return 1;
}

static struct tm_str read_str(struct jctx *c, const char *field)
{
	struct tm_str none = { "", 0 };
	if (absent(c))
		return none;
	if (tm_jr_peek(&c->jr) != TM_JR_STRING) {
		type_error(c, field, "must be a string");
		return none;
	}
	return tm_jr_string(&c->jr);
}

/* a number's or a decimal string's text as an integer */
static int parse_integer(struct tm_str t, int is_signed, uint64_t *out)
{
	char buf[40];
	if (t.len == 0 || t.len >= sizeof(buf))
		return -1;
	memcpy(buf, t.ptr, t.len);
	buf[t.len] = '\0';
	char *end;
	errno = 0;
	*out = is_signed ? (uint64_t)strtoll(buf, &end, 10) : strtoull(buf, &end, 10);
	if (!errno && *end == '\0' && (is_signed || buf[0] != '-'))
		return 0;
	/* 1e3 or 5.0: integral values written as floating point */
	double d = strtod(buf, &end);
	if (*end || d != floor(d) || fabs(d) >= 9.2e18 || (!is_signed && d < 0))
		return -1;
	*out = (uint64_t)(int64_t)d;
	return 0;
}

/* 64-bit integers: a decimal string (the proto3 JSON form) or a number */
static uint64_t read_int(struct jctx *c, const char *field, int is_signed)
{
	uint64_t v = 0;
	if (absent(c))
		return 0;
	enum tm_jr_type t = tm_jr_peek(&c->jr);
	struct tm_str text = { "", 0 };
	if (t == TM_JR_NUMBER)
		text = tm_jr_number(&c->jr);
	else if (t == TM_JR_STRING)
		text = tm_jr_string(&c->jr);
	if (c->jr.err)
		return 0;
	if ((t != TM_JR_NUMBER && t != TM_JR_STRING) || parse_integer(text, is_signed, &v) < 0)
		type_error(c, field, "must be an integer (a number or a decimal string)");
	return v;
}

/* enums: integers, or their names as the Collector also accepts */
static unsigned read_enum(struct jctx *c, const char *field, const char *const *names,
			  unsigned n_names)
{
	if (absent(c))
		return 0;
	if (tm_jr_peek(&c->jr) == TM_JR_STRING) {
		struct tm_str s = tm_jr_string(&c->jr);
		for (unsigned i = 0; i < n_names; i++)
			if (tm_jr_key_is(s, names[i], NULL))
				return i;
	} else if (tm_jr_peek(&c->jr) == TM_JR_NUMBER) {
		uint64_t v;
		if (!parse_integer(tm_jr_number(&c->jr), 0, &v) && v < 256)
			return (unsigned)v;
	} else {
		tm_jr_skip(&c->jr);
	}
	type_error(c, field, "must be an enum number");
	return 0;
}

static int read_hex(struct jctx *c, const char *field, uint8_t *out, size_t out_len)
{
	struct tm_str s = read_str(c, field);
	memset(out, 0, out_len);
	if (s.len && tm_hex_decode(s.ptr, s.len, out, out_len) < 0)
		type_error(c, field, out_len == TM_TRACE_ID_LEN ? "must be 32 hex digits"
							   : "must be 16 hex digits");
	return s.len > 0;
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
static struct tm_str read_bytes(struct jctx *c)
{
	struct tm_str s = read_str(c, "bytesValue"), out = { "", 0 };
	while (s.len && s.ptr[s.len - 1] == '=')
		s.len--;
	unsigned char *p = tm_arena_alloc(c->jr.arena, s.len * 3 / 4 + 1);
	if (!p) {
		c->jr.err = c->jr.err ? c->jr.err : -ENOMEM;
		return out;
	}
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < s.len; i++) {
		int d = base64_value(s.ptr[i]);
		if (d < 0) {
			type_error(c, "bytesValue", "is not base64");
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

static double read_double(struct jctx *c)
{
	if (tm_jr_peek(&c->jr) == TM_JR_NUMBER) {
		struct tm_str t = tm_jr_number(&c->jr);
		char buf[64];
		size_t n = t.len < sizeof(buf) - 1 ? t.len : sizeof(buf) - 1;
		memcpy(buf, t.ptr, n);
		buf[n] = '\0';
		return strtod(buf, NULL);
	}
	struct tm_str s = read_str(c, "doubleValue");
	if (tm_jr_key_is(s, "NaN", NULL))
		return NAN;
	if (tm_jr_key_is(s, "Infinity", NULL))
		return INFINITY;
	if (tm_jr_key_is(s, "-Infinity", NULL))
		return -INFINITY;
	type_error(c, "doubleValue", "must be a number");
	return 0;
}

static int begin_object(struct jctx *c, const char *field)
{
	if (absent(c))
		return 0;
	if (tm_jr_peek(&c->jr) != TM_JR_OBJECT) {
		type_error(c, field, "must be an object");
		return 0;
	}
	tm_jr_object(&c->jr);
	return 1;
}

static int begin_array(struct jctx *c, const char *field)
{
	if (absent(c))
		return 0;
	if (tm_jr_peek(&c->jr) != TM_JR_ARRAY) {
		type_error(c, field, "must be an array");
		return 0;
	}
	tm_jr_array(&c->jr);
	return 1;
}

static void read_attrs(struct jctx *c, const char *field, struct tm_attrs *out, int depth);
static void read_value_at(struct jctx *c, struct tm_value *out, int depth);

static void read_array_value(struct jctx *c, struct tm_value *out, int depth)
{
	struct tm_str key;
	size_t cap = 0;
	out->type = TM_VAL_ARRAY;
	if (!begin_object(c, "arrayValue"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (!tm_jr_key_is(key, "values", NULL)) {
			tm_jr_skip(&c->jr);
			continue;
		}
		if (!begin_array(c, "values"))
			continue;
		while (tm_jr_next_item(&c->jr)) {
			struct tm_value *items = grow(c, out->u.array.items, out->u.array.n, &cap,
						      sizeof(*items));
			if (!items)
				return;
			out->u.array.items = items;
			read_value_at(c, &items[out->u.array.n++], depth + 1);
		}
	}
}

static void read_kvlist_value(struct jctx *c, struct tm_value *out, int depth)
{
	struct tm_str key;
	struct tm_attrs kv = { 0 };
	out->type = TM_VAL_KVLIST;
	if (!begin_object(c, "kvlistValue"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "values", NULL))
			read_attrs(c, "values", &kv, depth + 1);
		else
			tm_jr_skip(&c->jr);
	}
	out->u.kvlist.items = kv.items;
	out->u.kvlist.n = kv.n;
}

/* an AnyValue object; the last member of the oneof wins */
static void read_value_at(struct jctx *c, struct tm_value *out, int depth)
{
	memset(out, 0, sizeof(*out));
	if (depth > MAX_VALUE_DEPTH) {
		type_error(c, "value", "nested deeper than 32 levels");
		return;
	}
	struct tm_str key;
	if (!begin_object(c, "value"))
		return;   /* absent: an empty value */
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "stringValue", "string_value")) {
			out->type = TM_VAL_STRING;
			out->u.str = read_str(c, "stringValue");
		} else if (tm_jr_key_is(key, "boolValue", "bool_value")) {
			out->type = TM_VAL_BOOL;
			if (tm_jr_peek(&c->jr) == TM_JR_BOOL)
				out->u.boolean = tm_jr_bool(&c->jr);
			else
				type_error(c, "boolValue", "must be true or false");
		} else if (tm_jr_key_is(key, "intValue", "int_value")) {
			out->type = TM_VAL_INT;
			out->u.integer = (int64_t)read_int(c, "intValue", 1);
		} else if (tm_jr_key_is(key, "doubleValue", "double_value")) {
			out->type = TM_VAL_DOUBLE;
			out->u.dbl = read_double(c);
		} else if (tm_jr_key_is(key, "bytesValue", "bytes_value")) {
			out->type = TM_VAL_BYTES;
			out->u.str = read_bytes(c);
		} else if (tm_jr_key_is(key, "arrayValue", "array_value")) {
			memset(&out->u, 0, sizeof(out->u));
			read_array_value(c, out, depth);
		} else if (tm_jr_key_is(key, "kvlistValue", "kvlist_value")) {
			memset(&out->u, 0, sizeof(out->u));
			read_kvlist_value(c, out, depth);
		} else {
			tm_jr_skip(&c->jr);
		}
	}
}

static void read_key_value(struct jctx *c, struct tm_attr *kv, int depth)
{
	struct tm_str key;
	memset(kv, 0, sizeof(*kv));
	kv->key.ptr = "";
	if (tm_jr_peek(&c->jr) != TM_JR_OBJECT) {
		type_error(c, "attributes", "must hold KeyValue objects");
		return;
	}
	tm_jr_object(&c->jr);
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "key", NULL))
			kv->key = read_str(c, "key");
		else if (tm_jr_key_is(key, "value", NULL))
			read_value_at(c, &kv->value, depth);
		else
			tm_jr_skip(&c->jr);
	}
}

static void read_attrs(struct jctx *c, const char *field, struct tm_attrs *out, int depth)
{
	size_t cap = 0;
	if (!begin_array(c, field))
		return;
	while (tm_jr_next_item(&c->jr)) {
		struct tm_attr *items = grow(c, out->items, out->n, &cap, sizeof(*items));
		if (!items)
			return;
		out->items = items;
		read_key_value(c, &items[out->n++], depth);
	}
}

/* the members every object with attributes has; 1 when key was one */
static int read_attrs_member(struct jctx *c, struct tm_str key, struct tm_attrs *attrs)
{
	if (tm_jr_key_is(key, "attributes", NULL))
		read_attrs(c, "attributes", attrs, 0);
	else if (tm_jr_key_is(key, "droppedAttributesCount", "dropped_attributes_count"))
		attrs->dropped = (uint32_t)read_int(c, "droppedAttributesCount", 0);
	else
		return 0;
	return 1;
}

/*---- spans ----*/

static void read_event(struct jctx *c, struct tm_event *e)
{
	struct tm_str key;
	memset(e, 0, sizeof(*e));
	e->name.ptr = "";
	if (!begin_object(c, "events"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "timeUnixNano", "time_unix_nano"))
			e->time_ns = read_int(c, "timeUnixNano", 0);
		else if (tm_jr_key_is(key, "name", NULL))
			e->name = read_str(c, "name");
		else if (!read_attrs_member(c, key, &e->attrs))
			tm_jr_skip(&c->jr);
	}
}

static void read_link(struct jctx *c, struct tm_link *l)
{
	struct tm_str key;
	memset(l, 0, sizeof(*l));
	l->trace_state.ptr = "";
	if (!begin_object(c, "links"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "traceId", "trace_id"))
			read_hex(c, "traceId", l->trace_id, TM_TRACE_ID_LEN);
		else if (tm_jr_key_is(key, "spanId", "span_id"))
			read_hex(c, "spanId", l->span_id, TM_SPAN_ID_LEN);
		else if (tm_jr_key_is(key, "traceState", "trace_state"))
			l->trace_state = read_str(c, "traceState");
		else if (tm_jr_key_is(key, "flags", NULL))
			l->flags = (uint32_t)read_int(c, "flags", 0);
		else if (!read_attrs_member(c, key, &l->attrs))
			tm_jr_skip(&c->jr);
	}
}

static void read_events(struct jctx *c, struct tm_span *s)
{
	size_t cap = 0;
	if (!begin_array(c, "events"))
		return;
	while (tm_jr_next_item(&c->jr)) {
		struct tm_event *items = grow(c, s->events, s->n_events, &cap, sizeof(*items));
		if (!items)
			return;
		s->events = items;
		read_event(c, &items[s->n_events++]);
	}
}

static void read_links(struct jctx *c, struct tm_span *s)
{
	size_t cap = 0;
	if (!begin_array(c, "links"))
		return;
	while (tm_jr_next_item(&c->jr)) {
		struct tm_link *items = grow(c, s->links, s->n_links, &cap, sizeof(*items));
		if (!items)
			return;
		s->links = items;
		read_link(c, &items[s->n_links++]);
	}
}

static const char *const kind_names[] = {
	"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
	"SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_names[] = {
	"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR",
};

static void read_status(struct jctx *c, struct tm_span *s)
{
	struct tm_str key;
	if (!begin_object(c, "status"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "code", NULL))
			s->status_code = (uint8_t)read_enum(c, "status.code", status_names, 3);
		else if (tm_jr_key_is(key, "message", NULL))
			s->status_message = read_str(c, "status.message");
		else
			tm_jr_skip(&c->jr);
	}
}

/* one member of a span; 0 when the key is not one of Span's */
static int read_span_member(struct jctx *c, struct tm_str key, struct tm_span *s,
			    int *has_trace, int *has_span)
{
	if (tm_jr_key_is(key, "traceId", "trace_id"))
		*has_trace = read_hex(c, "traceId", s->trace_id, TM_TRACE_ID_LEN);
	else if (tm_jr_key_is(key, "spanId", "span_id"))
		*has_span = read_hex(c, "spanId", s->span_id, TM_SPAN_ID_LEN);
	else if (tm_jr_key_is(key, "parentSpanId", "parent_span_id"))
		s->has_parent = read_hex(c, "parentSpanId", s->parent_span_id, TM_SPAN_ID_LEN);
	else if (tm_jr_key_is(key, "traceState", "trace_state"))
		s->trace_state = read_str(c, "traceState");
	else if (tm_jr_key_is(key, "name", NULL))
		s->name = read_str(c, "name");
	else if (tm_jr_key_is(key, "kind", NULL))
		s->kind = (uint8_t)read_enum(c, "kind", kind_names, 6);
	else if (tm_jr_key_is(key, "flags", NULL))
		s->flags = (uint32_t)read_int(c, "flags", 0);
	else if (tm_jr_key_is(key, "startTimeUnixNano", "start_time_unix_nano"))
		s->start_ns = read_int(c, "startTimeUnixNano", 0);
	else if (tm_jr_key_is(key, "endTimeUnixNano", "end_time_unix_nano"))
		s->end_ns = read_int(c, "endTimeUnixNano", 0);
	else if (tm_jr_key_is(key, "events", NULL))
		read_events(c, s);
	else if (tm_jr_key_is(key, "droppedEventsCount", "dropped_events_count"))
		s->dropped_events = (uint32_t)read_int(c, "droppedEventsCount", 0);
	else if (tm_jr_key_is(key, "links", NULL))
		read_links(c, s);
	else if (tm_jr_key_is(key, "droppedLinksCount", "dropped_links_count"))
		s->dropped_links = (uint32_t)read_int(c, "droppedLinksCount", 0);
	else if (tm_jr_key_is(key, "status", NULL))
		read_status(c, s);
	else
		return read_attrs_member(c, key, &s->attrs);
	return 1;
}

/* reads one span; the reason it must be rejected, or NULL */
static const char *read_span(struct jctx *c, struct tm_span *s)
{
	struct tm_str key;
	int has_trace = 0, has_span = 0;
	memset(s, 0, sizeof(*s));
	s->name.ptr = s->trace_state.ptr = s->status_message.ptr = "";
	if (tm_jr_peek(&c->jr) != TM_JR_OBJECT) {
		type_error(c, "", "must be an object");
		return NULL;
	}
	tm_jr_object(&c->jr);
	while (tm_jr_next_key(&c->jr, &key))
		if (!read_span_member(c, key, s, &has_trace, &has_span))
			tm_jr_skip(&c->jr);
	if (s->has_parent && tm_id_is_zero(s->parent_span_id, TM_SPAN_ID_LEN))
		s->has_parent = 0;
	if (!has_trace || tm_id_is_zero(s->trace_id, TM_TRACE_ID_LEN))
		return "traceId must be 16 non-zero bytes";
	if (!has_span || tm_id_is_zero(s->span_id, TM_SPAN_ID_LEN))
		return "spanId must be 8 non-zero bytes";
	return NULL;
}

/*---- the request ----*/

/* a ScopeSpans or a ResourceSpans read whole: its keys come in any order */
struct scope_spans {
	struct tm_scope scope;
	struct tm_span *spans;
	size_t n_spans, cap_spans;
};

struct resource_spans {
	struct tm_resource resource;
	struct scope_spans *scopes;
	size_t n_scopes, cap_scopes;
};

static void read_scope(struct jctx *c, struct tm_scope *scope)
{
	struct tm_str key;
	if (!begin_object(c, "scope"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "name", NULL))
			scope->name = read_str(c, "scope.name");
		else if (tm_jr_key_is(key, "version", NULL))
			scope->version = read_str(c, "scope.version");
		else if (!read_attrs_member(c, key, &scope->attrs))
			tm_jr_skip(&c->jr);
	}
}

static void read_spans(struct jctx *c, struct scope_spans *ss)
{
	if (!begin_array(c, "spans"))
		return;
	c->level = 3;
	for (c->sp = 0; tm_jr_next_item(&c->jr); c->sp++) {
		struct tm_span span;
		const char *why = read_span(c, &span);
		if (c->jr.err)
			return;
		if (why) {
			tm_ingest_reject(c->report, "%s (resourceSpans[%zu].scopeSpans[%zu].spans[%zu])",
					 why, c->rs, c->ss, c->sp);
			continue;
		}
		ss->spans = grow(c, ss->spans, ss->n_spans, &ss->cap_spans, sizeof(span));
		if (!ss->spans)
			return;
		ss->spans[ss->n_spans++] = span;
	}
	c->level = 2;
}

static void read_scope_spans(struct jctx *c, struct scope_spans *ss)
{
	struct tm_str key;
	memset(ss, 0, sizeof(*ss));
	ss->scope.name.ptr = ss->scope.version.ptr = ss->scope.schema_url.ptr = "";
	if (!begin_object(c, "scopeSpans"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "scope", NULL) ||
		    /* the pre-2022 name of the same thing */
		    tm_jr_key_is(key, "instrumentationLibrary", "instrumentation_library"))
			read_scope(c, &ss->scope);
		else if (tm_jr_key_is(key, "spans", NULL))
			read_spans(c, ss);
		else if (tm_jr_key_is(key, "schemaUrl", "schema_url"))
			ss->scope.schema_url = read_str(c, "schemaUrl");
		else
			tm_jr_skip(&c->jr);
	}
}

static void read_resource(struct jctx *c, struct tm_resource *res)
{
	struct tm_str key;
	if (!begin_object(c, "resource"))
		return;
	while (tm_jr_next_key(&c->jr, &key))
		if (!read_attrs_member(c, key, &res->attrs))
			tm_jr_skip(&c->jr);
}

static void read_scope_spans_list(struct jctx *c, struct resource_spans *rs)
{
	if (!begin_array(c, "scopeSpans"))
		return;
	c->level = 2;
	for (c->ss = 0; tm_jr_next_item(&c->jr); c->ss++) {
		rs->scopes = grow(c, rs->scopes, rs->n_scopes, &rs->cap_scopes, sizeof(*rs->scopes));
		if (!rs->scopes)
			return;
		read_scope_spans(c, &rs->scopes[rs->n_scopes++]);
	}
	c->level = 1;
}

static void read_resource_spans(struct jctx *c, struct resource_spans *rs)
{
	struct tm_str key;
	memset(rs, 0, sizeof(*rs));
	rs->resource.schema_url.ptr = "";
	if (!begin_object(c, "resourceSpans"))
		return;
	while (tm_jr_next_key(&c->jr, &key)) {
		if (tm_jr_key_is(key, "resource", NULL))
			read_resource(c, &rs->resource);
		else if (tm_jr_key_is(key, "scopeSpans", "scope_spans") ||
			 tm_jr_key_is(key, "instrumentationLibrarySpans",
				      "instrumentation_library_spans"))
			read_scope_spans_list(c, rs);
		else if (tm_jr_key_is(key, "schemaUrl", "schema_url"))
			rs->resource.schema_url = read_str(c, "schemaUrl");
		else
			tm_jr_skip(&c->jr);
	}
}

static int add_resource_spans(struct jctx *c, struct tm_batch *batch,
			      const struct resource_spans *rs)
{
	uint32_t res_index, scope_index;
	int rc = tm_batch_add_resource(batch, &rs->resource, &res_index);
	for (size_t i = 0; !rc && i < rs->n_scopes; i++) {
		const struct scope_spans *ss = &rs->scopes[i];
		rc = tm_batch_add_scope(batch, &ss->scope, &scope_index);
		for (size_t j = 0; !rc && j < ss->n_spans; j++) {
			rc = tm_batch_add_span(batch, &ss->spans[j], res_index, scope_index);
			c->report->accepted += !rc;
		}
	}
	return rc;
}

static int read_request(struct jctx *c, struct tm_batch *batch)
{
	struct tm_str key;
	if (tm_jr_peek(&c->jr) != TM_JR_OBJECT) {
		if (!c->jr.err)
			tm_jr_fail(&c->jr, "request must be an ExportTraceServiceRequest object");
		return 0;
	}
	tm_jr_object(&c->jr);
	int rc = 0;
	while (!rc && tm_jr_next_key(&c->jr, &key)) {
		if (!tm_jr_key_is(key, "resourceSpans", "resource_spans")) {
			tm_jr_skip(&c->jr);
			continue;
		}
		if (!begin_array(c, "resourceSpans"))
			continue;
		c->level = 1;
		for (c->rs = 0; !rc && tm_jr_next_item(&c->jr); c->rs++) {
			struct resource_spans rs;
			read_resource_spans(c, &rs);
			if (!c->jr.err)
				rc = add_resource_spans(c, batch, &rs);
		}
		c->level = 0;
	}
	tm_jr_finish(&c->jr);
	return rc;
}

int tm_ingest_otlp_json(const void *body, size_t len, struct tm_arena *arena,
			struct tm_batch *batch, struct tm_ingest_report *report)
{
	memset(report, 0, sizeof(*report));
	tm_batch_init(batch, arena);
	if (len == 0)
		return 0;   /* an empty request, as in protobuf */
	struct jctx c = { .report = report };
	tm_jr_init(&c.jr, body, len, arena);
	int rc = read_request(&c, batch);
	tm_batch_done(batch);
	if (c.jr.err == -EBADMSG)
		snprintf(report->message, sizeof(report->message), "%s", c.jr.message);
	if (c.jr.err)
		rc = c.jr.err;
	return rc == -ENOMEM && arena->hit_limit ? tm_ingest_too_big(arena, report) : rc;
}
