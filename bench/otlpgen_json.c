/* otlpgen_json.c - spans of the generator as OTLP/JSON and as Zipkin v2
 * JSON, byte for byte the shape the OpenTelemetry JavaScript exporters
 * send (protocols.md 1.7, 1.8 and 3.1; clients.md).
 *
 * OTLP/JSON (@opentelemetry/exporter-trace-otlp-http): lowerCamelCase keys
 * in the exporter's order, lowercase hex IDs, enums as integers, zero
 * values and empty arrays written out, 64-bit integers (times, intValue)
 * as decimal strings as proto3 JSON writes them.  (The JS exporter itself
 * writes intValue as a JSON number; the times are strings in both.)
 *
 * Zipkin (@opentelemetry/exporter-zipkin): a JSON array; INTERNAL spans
 * have no kind; timestamp (floor) and duration (rounded, at least 1) in
 * whole microseconds; every tag a string: the span's attributes, then
 * otel.status_code and error for failed spans, then every resource
 * attribute; events become name-only annotations.  No remoteEndpoint, as
 * that exporter sends none.
 *
 * IDs are written as hex and their offsets point at the first digit;
 * times are written with all their digits and their offsets point at the
 * first digit, so otlpgen_patch() can rewrite both in place. */
#include "otlpgen_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/*---- JSON writer ----*/

static void j_char(struct otlpgen_buf *b, char c)
{
	otlpgen_buf_reserve(b, 1);
	b->p[b->len++] = (unsigned char)c;
}

static void j_raw(struct otlpgen_buf *b, const char *s)
{
	otlpgen_buf_str(b, s);
}

/* a JSON string: quotes, and escapes for '"', '\' and control characters */
static void j_str(struct otlpgen_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	j_char(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			j_char(b, '\\');
			j_char(b, (char)c);
		} else if (c == '\n') {
			j_raw(b, "\\n");
		} else if (c == '\t') {
			j_raw(b, "\\t");
		} else if (c == '\r') {
			j_raw(b, "\\r");
		} else if (c < 0x20) {
			char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };

			j_raw(b, esc);
		} else {
			j_char(b, (char)c);
		}
	}
	j_char(b, '"');
}

static void j_u64(struct otlpgen_buf *b, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	j_raw(b, text);
}

static void j_i64(struct otlpgen_buf *b, int64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRId64, v);
	j_raw(b, text);
}

/* the shortest of %.15g..%.17g that reads back as d (what JavaScript's
 * Number.prototype.toString gives for these values); d is finite. */
static void j_double(struct otlpgen_buf *b, double d)
{
	char text[40];

	for (int digits = 15; digits <= 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, d);
		if (strtod(text, NULL) == d)
			break;
	}
	j_raw(b, text);
}

/* "hex" of an ID; returns the offset of its first digit in b. */
static uint32_t j_hex_id(struct otlpgen_buf *b, const uint8_t *id, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t off;

	j_char(b, '"');
	off = (uint32_t)b->len;
	for (size_t i = 0; i < len; i++) {
		j_char(b, hex[id[i] >> 4]);
		j_char(b, hex[id[i] & 15]);
	}
	j_char(b, '"');
	return off;
}

/* a decimal number (in quotes if is_quoted); returns the offset of its
 * first digit in b. */
static uint32_t j_time(struct otlpgen_buf *b, uint64_t v, int is_quoted)
{
	uint32_t off;

	if (is_quoted)
		j_char(b, '"');
	off = (uint32_t)b->len;
	j_u64(b, v);
	if (is_quoted)
		j_char(b, '"');
	return off;
}

/* "key": (with the comma before it unless is_first) */
static void j_key(struct otlpgen_buf *b, const char *key, int is_first)
{
	if (!is_first)
		j_char(b, ',');
	j_str(b, key);
	j_char(b, ':');
}

static void j_separator(struct otlpgen_buf *b, size_t span_len, int is_first)
{
	(void)span_len;
	if (!is_first)
		j_char(b, ',');
}

/*---- OTLP/JSON ----*/

/* an AnyValue: {"stringValue":"..."}, {"intValue":"42"}, ... */
static void oj_value(struct otlpgen_buf *b, const struct otlpgen_attr *a)
{
	switch (a->type) {
	case OTLPGEN_ATTR_STR:
		j_raw(b, "{\"stringValue\":");
		j_str(b, a->s);
		break;
	case OTLPGEN_ATTR_INT:
		j_raw(b, "{\"intValue\":\"");
		j_i64(b, a->i);
		j_char(b, '"');
		break;
	case OTLPGEN_ATTR_DOUBLE:
		j_raw(b, "{\"doubleValue\":");
		j_double(b, a->d);
		break;
	case OTLPGEN_ATTR_BOOL:
		j_raw(b, a->i ? "{\"boolValue\":true" : "{\"boolValue\":false");
		break;
	}
	j_char(b, '}');
}

/* [{"key":"...","value":{...}},...] */
static void oj_attrs(struct otlpgen_buf *b, const struct otlpgen_attrs *l)
{
	j_char(b, '[');
	for (size_t i = 0; i < l->n; i++) {
		j_raw(b, i ? ",{\"key\":" : "{\"key\":");
		j_str(b, l->a[i].key);
		j_raw(b, ",\"value\":");
		oj_value(b, &l->a[i]);
		j_char(b, '}');
	}
	j_char(b, ']');
}

static void oj_events(struct otlpgen_buf *b, const struct otlpgen_span *s,
		      struct otlpgen_offsets *off)
{
	j_key(b, "events", 0);
	j_char(b, '[');
	if (s->has_event) {
		j_raw(b, "{\"attributes\":");
		oj_attrs(b, &s->event_attrs);
		j_key(b, "name", 0);
		j_str(b, s->event_name);
		j_key(b, "timeUnixNano", 0);
		off->times[off->n_times++] = j_time(b, s->event_ns, 1);
		j_raw(b, ",\"droppedAttributesCount\":0}");
	}
	j_char(b, ']');
}

static void oj_status(struct otlpgen_buf *b, const struct otlpgen_span *s)
{
	j_key(b, "status", 0);
	if (!s->error_message) {
		j_raw(b, "{\"code\":0}");
		return;
	}
	j_raw(b, "{\"code\":2,\"message\":");
	j_str(b, s->error_message);
	j_char(b, '}');
}

static void oj_span(struct otlpgen_buf *b, const struct otlpgen_span *s,
		    struct otlpgen_offsets *off)
{
	off->n_times = 0;
	j_char(b, '{');
	j_key(b, "traceId", 1);
	off->trace_id = j_hex_id(b, s->trace_id, OTLPGEN_TRACE_ID_LEN);
	j_key(b, "spanId", 0);
	off->span_id = j_hex_id(b, s->span_id, OTLPGEN_SPAN_ID_LEN);
	off->parent_id = 0;
	if (s->parent_span_id) {
		j_key(b, "parentSpanId", 0);
		off->parent_id = j_hex_id(b, s->parent_span_id, OTLPGEN_SPAN_ID_LEN);
	}
	j_key(b, "name", 0);
	j_str(b, s->name);
	j_key(b, "kind", 0);
	j_i64(b, s->kind);
	j_key(b, "startTimeUnixNano", 0);
	off->times[off->n_times++] = j_time(b, s->start_ns, 1);
	j_key(b, "endTimeUnixNano", 0);
	off->times[off->n_times++] = j_time(b, s->end_ns, 1);
	j_key(b, "attributes", 0);
	oj_attrs(b, &s->attrs);
	j_raw(b, ",\"droppedAttributesCount\":0");
	oj_events(b, s, off);
	j_raw(b, ",\"droppedEventsCount\":0");
	oj_status(b, s);
	j_raw(b, ",\"links\":[],\"droppedLinksCount\":0");
	j_key(b, "flags", 0);
	j_u64(b, s->flags);
	j_char(b, '}');
}

/* {"resourceSpans":[{"resource":{...},"scopeSpans":[{"scope":{...},"spans":[ */
static void oj_head(struct otlpgen_buf *b, const struct otlpgen_attrs *resource,
		    size_t spans_len)
{
	(void)spans_len;
	j_raw(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":");
	oj_attrs(b, resource);
	j_raw(b, ",\"droppedAttributesCount\":0},\"scopeSpans\":[{\"scope\":{\"name\":");
	j_str(b, OTLPGEN_SCOPE_NAME);
	j_raw(b, ",\"version\":");
	j_str(b, OTLPGEN_SCOPE_VERSION);
	j_raw(b, "},\"spans\":[");
}

static void oj_tail(struct otlpgen_buf *b)
{
	j_raw(b, "]}]}]}");
}

const struct otlpgen_codec otlpgen_codec_otlp_json = {
	.span = oj_span,
	.separator = j_separator,
	.head = oj_head,
	.tail = oj_tail,
};

/*---- Zipkin v2 JSON ----*/

/* a tag: every value as a string, as String(value) in JavaScript */
static void zk_tag(struct otlpgen_buf *b, const struct otlpgen_attr *a, int is_first)
{
	j_key(b, a->key, is_first);
	switch (a->type) {
	case OTLPGEN_ATTR_STR:
		j_str(b, a->s);
		break;
	case OTLPGEN_ATTR_INT:
		j_char(b, '"');
		j_i64(b, a->i);
		j_char(b, '"');
		break;
	case OTLPGEN_ATTR_DOUBLE:
		j_char(b, '"');
		j_double(b, a->d);
		j_char(b, '"');
		break;
	case OTLPGEN_ATTR_BOOL:
		j_raw(b, a->i ? "\"true\"" : "\"false\"");
		break;
	}
}

static void zk_tags(struct otlpgen_buf *b, const struct otlpgen_span *s)
{
	j_key(b, "tags", 0);
	j_char(b, '{');
	for (size_t i = 0; i < s->attrs.n; i++)
		zk_tag(b, &s->attrs.a[i], i == 0);
	if (s->error_message) {
		j_key(b, "otel.status_code", s->attrs.n == 0);
		j_str(b, "ERROR");
		j_key(b, "error", 0);
		j_str(b, s->error_message);
	}
	for (size_t i = 0; i < s->resource->n; i++)
		zk_tag(b, &s->resource->a[i], s->attrs.n == 0 && !s->error_message && i == 0);
	j_char(b, '}');
}

static void zk_span(struct otlpgen_buf *b, const struct otlpgen_span *s,
		    struct otlpgen_offsets *off)
{
	uint64_t duration_us = (s->end_ns - s->start_ns + 500) / 1000;

	off->n_times = 0;
	j_char(b, '{');
	j_key(b, "traceId", 1);
	off->trace_id = j_hex_id(b, s->trace_id, OTLPGEN_TRACE_ID_LEN);
	off->parent_id = 0;
	if (s->parent_span_id) {
		j_key(b, "parentId", 0);
		off->parent_id = j_hex_id(b, s->parent_span_id, OTLPGEN_SPAN_ID_LEN);
	}
	j_key(b, "name", 0);
	j_str(b, s->name);
	j_key(b, "id", 0);
	off->span_id = j_hex_id(b, s->span_id, OTLPGEN_SPAN_ID_LEN);
	if (s->kind == OTLPGEN_KIND_SERVER)
		j_raw(b, ",\"kind\":\"SERVER\"");
	else if (s->kind == OTLPGEN_KIND_CLIENT)
		j_raw(b, ",\"kind\":\"CLIENT\"");
	j_key(b, "timestamp", 0);
	off->times[off->n_times++] = j_time(b, s->start_ns / 1000, 0);
	j_key(b, "duration", 0);
	j_u64(b, duration_us ? duration_us : 1);
	j_raw(b, ",\"localEndpoint\":{\"serviceName\":");
	j_str(b, s->service);
	j_char(b, '}');
	zk_tags(b, s);
	if (s->has_event) {
		j_raw(b, ",\"annotations\":[{\"timestamp\":");
		off->times[off->n_times++] = j_time(b, s->event_ns / 1000, 0);
		j_raw(b, ",\"value\":");
		j_str(b, s->event_name);
		j_raw(b, "}]");
	}
	j_char(b, '}');
}

static void zk_head(struct otlpgen_buf *b, const struct otlpgen_attrs *resource,
		    size_t spans_len)
{
	(void)resource;
	(void)spans_len;
	j_char(b, '[');
}

static void zk_tail(struct otlpgen_buf *b)
{
	j_char(b, ']');
}

const struct otlpgen_codec otlpgen_codec_zipkin_json = {
	.span = zk_span,
	.separator = j_separator,
	.head = zk_head,
	.tail = zk_tail,
};
