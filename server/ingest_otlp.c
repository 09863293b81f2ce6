/* ingest_otlp.c - ExportTraceServiceRequest (protobuf) -> tm_batch. */
#include "pb_arena.h"
#include "ingest_otlp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "trace_service.pb-c.h"

/* attribute values nested deeper than this are refused before decoding */
#define MAX_VALUE_DEPTH 32

typedef Opentelemetry__Proto__Common__V1__AnyValue PbAnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKeyValue;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans PbResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans PbScopeSpans;

struct convert {
	struct tm_arena *arena;
	struct tm_ingest_report *report;
	int nomem;
};

static void convert_attrs(struct convert *c, PbKeyValue **kvs, size_t n, uint32_t dropped,
			  struct tm_attrs *out);

static void convert_value(struct convert *c, const PbAnyValue *in, struct tm_value *out)
{
	memset(out, 0, sizeof(*out));
	if (!in)
		return;
	switch (in->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		out->type = TM_VAL_STRING;
		out->u.str = tm_str_from(in->string_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		out->type = TM_VAL_BOOL;
		out->u.boolean = in->bool_value;
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		out->type = TM_VAL_INT;
		out->u.integer = in->int_value;
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		out->type = TM_VAL_DOUBLE;
		out->u.dbl = in->double_value;
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
		out->type = TM_VAL_BYTES;
		out->u.str.ptr = (const char *)in->bytes_value.data;
		out->u.str.len = in->bytes_value.len;
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
		size_t n = in->array_value ? in->array_value->n_values : 0;
		out->type = TM_VAL_ARRAY;
		out->u.array.n = n;
		out->u.array.items = n ? tm_arena_alloc(c->arena, n * sizeof(struct tm_value)) : NULL;
		if (n && !out->u.array.items) {
			c->nomem = 1;
			out->u.array.n = 0;
		}
		for (size_t i = 0; i < out->u.array.n; i++)
			convert_value(c, in->array_value->values[i], &out->u.array.items[i]);
		break;
	}
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
		struct tm_attrs kv = { 0 };
		if (in->kvlist_value)
			convert_attrs(c, in->kvlist_value->values, in->kvlist_value->n_values, 0, &kv);
		out->type = TM_VAL_KVLIST;
		out->u.kvlist.items = kv.items;
		out->u.kvlist.n = kv.n;
		break;
	}
	default:
		/* empty, or string_value_strindex (profiles only): an empty value */
		out->type = TM_VAL_EMPTY;
	}
}

static void convert_attrs(struct convert *c, PbKeyValue **kvs, size_t n, uint32_t dropped,
			  struct tm_attrs *out)
{
	out->dropped = dropped;
	out->n = n;
	out->items = n ? tm_arena_alloc(c->arena, n * sizeof(struct tm_attr)) : NULL;
	if (n && !out->items) {
		c->nomem = 1;
		out->n = 0;
	}
	for (size_t i = 0; i < out->n; i++) {
		out->items[i].key = tm_str_from(kvs[i]->key);
		convert_value(c, kvs[i]->value, &out->items[i].value);
	}
}

/* names the first problem of a span, or NULL when it may be stored */
static const char *span_problem(const PbSpan *s)
{
	if (s->trace_id.len != TM_TRACE_ID_LEN)
		return "trace_id must be 16 bytes";
	if (tm_id_is_zero(s->trace_id.data, TM_TRACE_ID_LEN))
		return "trace_id must not be all zeros";
	if (s->span_id.len != TM_SPAN_ID_LEN)
		return "span_id must be 8 bytes";
	if (tm_id_is_zero(s->span_id.data, TM_SPAN_ID_LEN))
		return "span_id must not be all zeros";
	if (s->parent_span_id.len != 0 && s->parent_span_id.len != TM_SPAN_ID_LEN)
		return "parent_span_id must be empty or 8 bytes";
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i]->trace_id.len != TM_TRACE_ID_LEN ||
		    s->links[i]->span_id.len != TM_SPAN_ID_LEN)
			return "a link's trace_id/span_id must be 16/8 bytes";
	return NULL;
}

static void convert_events(struct convert *c, const PbSpan *in, struct tm_span *out)
{
	out->n_events = in->n_events;
	out->dropped_events = in->dropped_events_count;
	out->events = in->n_events ? tm_arena_alloc(c->arena, in->n_events * sizeof(*out->events))
				   : NULL;
	if (in->n_events && !out->events) {
		c->nomem = 1;
		out->n_events = 0;
	}
	for (size_t i = 0; i < out->n_events; i++) {
		const Opentelemetry__Proto__Trace__V1__Span__Event *e = in->events[i];
		out->events[i].time_ns = e->time_unix_nano;
		out->events[i].name = tm_str_from(e->name);
		convert_attrs(c, e->attributes, e->n_attributes, e->dropped_attributes_count,
			      &out->events[i].attrs);
	}
}

static void convert_links(struct convert *c, const PbSpan *in, struct tm_span *out)
{
	out->n_links = in->n_links;
	out->dropped_links = in->dropped_links_count;
	out->links = in->n_links ? tm_arena_alloc(c->arena, in->n_links * sizeof(*out->links))
				 : NULL;
	if (in->n_links && !out->links) {
		c->nomem = 1;
		out->n_links = 0;
	}
	for (size_t i = 0; i < out->n_links; i++) {
		const Opentelemetry__Proto__Trace__V1__Span__Link *l = in->links[i];
		struct tm_link *o = &out->links[i];
		memcpy(o->trace_id, l->trace_id.data, TM_TRACE_ID_LEN);
		memcpy(o->span_id, l->span_id.data, TM_SPAN_ID_LEN);
		o->trace_state = tm_str_from(l->trace_state);
		o->flags = l->flags;
		convert_attrs(c, l->attributes, l->n_attributes, l->dropped_attributes_count,
			      &o->attrs);
	}
}

static void convert_span(struct convert *c, const PbSpan *in, struct tm_span *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->trace_id, in->trace_id.data, TM_TRACE_ID_LEN);
	memcpy(out->span_id, in->span_id.data, TM_SPAN_ID_LEN);
	/* an all-zero parent means "no parent" to every SDK we know */
	if (in->parent_span_id.len == TM_SPAN_ID_LEN &&
	    !tm_id_is_zero(in->parent_span_id.data, TM_SPAN_ID_LEN)) {
		out->has_parent = 1;
		memcpy(out->parent_span_id, in->parent_span_id.data, TM_SPAN_ID_LEN);
	}
	out->trace_state = tm_str_from(in->trace_state);
	out->name = tm_str_from(in->name);
	out->kind = (uint8_t)in->kind;
	out->flags = in->flags;
	out->start_ns = in->start_time_unix_nano;
	out->end_ns = in->end_time_unix_nano;
	convert_attrs(c, in->attributes, in->n_attributes, in->dropped_attributes_count,
		      &out->attrs);
	convert_events(c, in, out);
	convert_links(c, in, out);
	if (in->status) {
		out->status_code = (uint8_t)in->status->code;
		out->status_message = tm_str_from(in->status->message);
	}
}

static int add_scope_spans(struct convert *c, struct tm_batch *batch, const PbScopeSpans *ss,
			   uint32_t res_index, size_t rs_i, size_t ss_i)
{
	struct tm_scope scope = { 0 };
	if (ss->scope) {
		scope.name = tm_str_from(ss->scope->name);
		scope.version = tm_str_from(ss->scope->version);
		convert_attrs(c, ss->scope->attributes, ss->scope->n_attributes,
			      ss->scope->dropped_attributes_count, &scope.attrs);
	}
	scope.schema_url = tm_str_from(ss->schema_url);
	uint32_t scope_index;
	int rc = tm_batch_add_scope(batch, &scope, &scope_index);
	for (size_t i = 0; !rc && i < ss->n_spans; i++) {
		const char *why = span_problem(ss->spans[i]);
		if (why) {
			tm_ingest_reject(c->report, "%s (resource_spans[%zu].scope_spans[%zu].spans[%zu])",
					 why, rs_i, ss_i, i);
			continue;
		}
		struct tm_span span;
		convert_span(c, ss->spans[i], &span);
		if (c->nomem)
			return -ENOMEM;
		rc = tm_batch_add_span(batch, &span, res_index, scope_index);
		c->report->accepted++;
	}
	return c->nomem ? -ENOMEM : rc;
}

static int add_resource_spans(struct convert *c, struct tm_batch *batch,
			      const PbResourceSpans *rs, size_t rs_i)
{
	struct tm_resource res = { 0 };
	if (rs->resource)
		convert_attrs(c, rs->resource->attributes, rs->resource->n_attributes,
			      rs->resource->dropped_attributes_count, &res.attrs);
	res.schema_url = tm_str_from(rs->schema_url);
	uint32_t res_index;
	int rc = tm_batch_add_resource(batch, &res, &res_index);
	for (size_t i = 0; !rc && i < rs->n_scope_spans; i++)
		rc = add_scope_spans(c, batch, rs->scope_spans[i], res_index, rs_i, i);
	return rc;
}

int tm_ingest_otlp_proto(const void *body, size_t len, struct tm_arena *arena,
			 struct tm_batch *batch, struct tm_ingest_report *report)
{
	memset(report, 0, sizeof(*report));
	tm_batch_init(batch, arena);
	if (tm_otlp_wire_check(body, len, MAX_VALUE_DEPTH, report->message,
			       sizeof(report->message)) < 0)
		return -EBADMSG;
	struct tm_pb_arena pb;
	tm_pb_arena_init(&pb, arena);
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
		opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
			&pb.allocator, len, body);
	if (!req && arena->hit_limit)
		return tm_ingest_too_big(arena, report);
	if (!req && pb.failed) {
		snprintf(report->message, sizeof(report->message),
			 "out of memory decoding the request");
		return -ENOMEM;
	}
	if (!req) {
		snprintf(report->message, sizeof(report->message),
			 "body is not a valid ExportTraceServiceRequest protobuf message");
		return -EBADMSG;
	}
	struct convert c = { arena, report, 0 };
	int rc = 0;
	for (size_t i = 0; !rc && i < req->n_resource_spans; i++)
		rc = add_resource_spans(&c, batch, req->resource_spans[i], i);
	tm_batch_done(batch);
	/* no unpack_free: the arena owns the message */
	return rc == -ENOMEM && arena->hit_limit ? tm_ingest_too_big(arena, report) : rc;
}
