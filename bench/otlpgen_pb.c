/* otlpgen_pb.c - spans of the generator as an OTLP ExportTraceServiceRequest
 * in protobuf.
 *
 * Field numbers and tag bytes follow /work/shared/protocols.md 1.10 and 2.
 * Like the JavaScript OTLP exporter, zero values are written explicitly
 * (dropped_*_count 0, status { code: 0 }) and every span carries flags. */
#include "otlpgen_internal.h"

#include <stdlib.h>
#include <string.h>

/*---- protobuf writer ----*/

static void pb_raw(struct otlpgen_buf *b, const void *src, size_t n)
{
	otlpgen_buf_add(b, src, n);
}

static void pb_byte(struct otlpgen_buf *b, uint8_t v)
{
	pb_raw(b, &v, 1);
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void pb_varint(struct otlpgen_buf *b, uint64_t v)
{
	otlpgen_buf_reserve(b, 10);
	while (v >= 0x80) {
		b->p[b->len++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (unsigned char)v;
}

static void pb_fixed(struct otlpgen_buf *b, uint64_t v, size_t n)
{
	otlpgen_buf_reserve(b, n);
	for (size_t i = 0; i < n; i++)
		b->p[b->len++] = (unsigned char)(v >> (8 * i));
}

/* tag, length, bytes: strings, bytes and embedded messages. */
static void pb_len_field(struct otlpgen_buf *b, uint8_t tag, const void *src, size_t n)
{
	pb_byte(b, tag);
	pb_varint(b, n);
	pb_raw(b, src, n);
}

static void pb_str(struct otlpgen_buf *b, uint8_t tag, const char *s)
{
	pb_len_field(b, tag, s, strlen(s));
}

/*---- attributes (KeyValue / AnyValue) ----*/

static size_t any_value_size(const struct otlpgen_attr *a)
{
	size_t n;

	switch (a->type) {
	case OTLPGEN_ATTR_STR:
		n = strlen(a->s);
		return 1 + varint_size(n) + n;
	case OTLPGEN_ATTR_INT:
		return 1 + varint_size((uint64_t)a->i);
	case OTLPGEN_ATTR_DOUBLE:
		return 9;
	case OTLPGEN_ATTR_BOOL:
		return 2;
	}
	return 0;
}

static void pb_any_value(struct otlpgen_buf *b, const struct otlpgen_attr *a)
{
	uint64_t bits;

	switch (a->type) {
	case OTLPGEN_ATTR_STR:
		pb_str(b, 0x0A, a->s);
		break;
	case OTLPGEN_ATTR_INT:
		pb_byte(b, 0x18);
		pb_varint(b, (uint64_t)a->i);
		break;
	case OTLPGEN_ATTR_DOUBLE:
		memcpy(&bits, &a->d, sizeof(bits));
		pb_byte(b, 0x21);
		pb_fixed(b, bits, 8);
		break;
	case OTLPGEN_ATTR_BOOL:
		pb_byte(b, 0x10);
		pb_byte(b, (uint8_t)a->i);
		break;
	}
}

/* writes each attribute as one KeyValue field with the given tag. */
static void pb_attrs(struct otlpgen_buf *b, uint8_t tag, const struct otlpgen_attrs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct otlpgen_attr *a = &l->a[i];
		size_t key_len = strlen(a->key);
		size_t val_len = any_value_size(a);
		size_t kv_len = 1 + varint_size(key_len) + key_len +
				1 + varint_size(val_len) + val_len;

		pb_byte(b, tag);
		pb_varint(b, kv_len);
		pb_len_field(b, 0x0A, a->key, key_len);
		pb_byte(b, 0x12);
		pb_varint(b, val_len);
		pb_any_value(b, a);
	}
}

/*---- spans ----*/

/* appends the span's one Span.Event; returns the offset of its time in b. */
static uint32_t pb_event(struct otlpgen_buf *b, const struct otlpgen_span *s)
{
	struct otlpgen_buf e = { 0 };
	uint32_t time_off;

	pb_byte(&e, 0x09);
	pb_fixed(&e, s->event_ns, 8);
	pb_str(&e, 0x12, s->event_name);
	pb_attrs(&e, 0x1A, &s->event_attrs);
	pb_byte(&e, 0x20);
	pb_byte(&e, 0x00);
	pb_byte(b, 0x5A);
	pb_varint(b, e.len);
	time_off = (uint32_t)b->len + 1;
	pb_raw(b, e.p, e.len);
	free(e.p);
	return time_off;
}

static void pb_status(struct otlpgen_buf *b, const struct otlpgen_span *s)
{
	size_t n;

	if (!s->error_message) {
		static const uint8_t unset[] = { 0x7A, 0x02, 0x18, 0x00 };

		pb_raw(b, unset, sizeof(unset));
		return;
	}
	n = strlen(s->error_message);
	pb_byte(b, 0x7A);
	pb_varint(b, 1 + varint_size(n) + n + 2);
	pb_len_field(b, 0x12, s->error_message, n);
	pb_byte(b, 0x18);
	pb_byte(b, 0x02);
}

static void pb_span(struct otlpgen_buf *b, const struct otlpgen_span *s,
		    struct otlpgen_offsets *off)
{
	static const uint8_t zero_counts[] = { 0x60, 0x00, 0x70, 0x00 };   /* events, links */

	off->n_times = 0;
	pb_byte(b, 0x0A);
	pb_byte(b, OTLPGEN_TRACE_ID_LEN);
	off->trace_id = (uint32_t)b->len;
	pb_raw(b, s->trace_id, OTLPGEN_TRACE_ID_LEN);
	pb_byte(b, 0x12);
	pb_byte(b, OTLPGEN_SPAN_ID_LEN);
	off->span_id = (uint32_t)b->len;
	pb_raw(b, s->span_id, OTLPGEN_SPAN_ID_LEN);
	off->parent_id = 0;
	if (s->parent_span_id) {
		pb_byte(b, 0x22);
		pb_byte(b, OTLPGEN_SPAN_ID_LEN);
		off->parent_id = (uint32_t)b->len;
		pb_raw(b, s->parent_span_id, OTLPGEN_SPAN_ID_LEN);
	}
	pb_str(b, 0x2A, s->name);
	pb_byte(b, 0x30);
	pb_varint(b, (uint64_t)s->kind);
	pb_byte(b, 0x39);
	off->times[off->n_times++] = (uint32_t)b->len;
	pb_fixed(b, s->start_ns, 8);
	pb_byte(b, 0x41);
	off->times[off->n_times++] = (uint32_t)b->len;
	pb_fixed(b, s->end_ns, 8);
	pb_attrs(b, 0x4A, &s->attrs);
	pb_byte(b, 0x50);
	pb_byte(b, 0x00);
	if (s->has_event)
		off->times[off->n_times++] = pb_event(b, s);
	pb_raw(b, zero_counts, sizeof(zero_counts));
	pb_status(b, s);
	pb_byte(b, 0x85);
	pb_byte(b, 0x01);
	pb_fixed(b, s->flags, 4);
}

/*---- requests ----*/

/* each span is one repeated ScopeSpans.spans field */
static void pb_separator(struct otlpgen_buf *b, size_t span_len, int is_first)
{
	(void)is_first;
	pb_byte(b, 0x12);
	pb_varint(b, span_len);
}

/* ExportTraceServiceRequest { resource_spans { resource, scope_spans {
 * scope, <spans> } } }: every length but the spans' own is known here */
static void pb_head(struct otlpgen_buf *b, const struct otlpgen_attrs *resource,
		    size_t spans_len)
{
	struct otlpgen_buf res = { 0 }, scope = { 0 };
	size_t ss_len, rs_len;

	pb_attrs(&res, 0x0A, resource);
	pb_byte(&res, 0x10);
	pb_byte(&res, 0x00);
	pb_str(&scope, 0x0A, OTLPGEN_SCOPE_NAME);
	pb_str(&scope, 0x12, OTLPGEN_SCOPE_VERSION);
	ss_len = 1 + varint_size(scope.len) + scope.len + spans_len;
	rs_len = 1 + varint_size(res.len) + res.len + 1 + varint_size(ss_len) + ss_len;
	pb_byte(b, 0x0A);
	pb_varint(b, rs_len);
	pb_len_field(b, 0x0A, res.p, res.len);
	pb_byte(b, 0x12);
	pb_varint(b, ss_len);
	pb_len_field(b, 0x0A, scope.p, scope.len);
	free(res.p);
	free(scope.p);
}

static void pb_tail(struct otlpgen_buf *b)
{
	(void)b;
}

const struct otlpgen_codec otlpgen_codec_otlp_proto = {
	.span = pb_span,
	.separator = pb_separator,
	.head = pb_head,
	.tail = pb_tail,
};
