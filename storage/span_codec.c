/* span_codec.c - compact record encoding of spans, resources and scopes.
 *
 * Layout (all varints are LEB128, fixed integers little-endian):
 *   span     := ver=1 span_id[8] has_parent[1] parent[8]? kind flags
 *               start[8] end[8] str(name) str(trace_state) status[1]
 *               str(status_message) attrs events dropped_events links
 *               dropped_links
 *   attrs    := count dropped (str(key) value)*
 *   value    := type[1] payload        (see enum tm_value_type)
 *   event    := time[8] str(name) attrs
 *   link     := trace_id[16] span_id[8] str(trace_state) flags attrs
 *   str      := len bytes
 * The trace ID is not in the record: it is part of the key of the chunk
 * that holds the record. */
#include "span.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 1
/* nesting of arrays and kvlists we accept when decoding our own bytes;
 * ingest rejects deeper values before they get here. */
#define MAX_VALUE_DEPTH 64

/*---- growable buffer ----*/

void tm_buf_init(struct tm_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void tm_buf_free(struct tm_buf *b)
{
	free(b->data);
	tm_buf_init(b);
}

unsigned char *tm_buf_reserve(struct tm_buf *b, size_t len)
{
	if (b->failed)
		return NULL;
	/* an empty buffer gets memory even for 0 bytes: NULL + 0 is undefined */
	if (b->cap - b->len < len || !b->data) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < len) {
			if (cap > SIZE_MAX / 2) {
				b->failed = 1;
				return NULL;
			}
			cap *= 2;
		}
		unsigned char *p = realloc(b->data, cap);
		if (!p) {
			b->failed = 1;
			return NULL;
		}
		b->data = p;
		b->cap = cap;
	}
	return b->data + b->len;
}

void tm_buf_add(struct tm_buf *b, const void *src, size_t len)
{
	unsigned char *p = tm_buf_reserve(b, len);
	if (!p)
		return;
	if (len)
		memcpy(p, src, len);
	b->len += len;
}

void tm_buf_add_str(struct tm_buf *b, const char *s)
{
	tm_buf_add(b, s, strlen(s));
}

/*---- primitive writers ----*/

static void put_u8(struct tm_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	tm_buf_add(b, &c, 1);
}

static void put_str(struct tm_buf *b, struct tm_str s)
{
	varint_put(b, s.len);
	tm_buf_add(b, s.ptr, s.len);
}

static void put_attrs(struct tm_buf *b, const struct tm_attrs *attrs);

static void put_value(struct tm_buf *b, const struct tm_value *v)
{
	put_u8(b, v->type);
	switch (v->type) {
	case TM_VAL_STRING:
	case TM_VAL_BYTES:
		put_str(b, v->u.str);
		break;
	case TM_VAL_BOOL:
		put_u8(b, v->u.boolean ? 1 : 0);
		break;
	case TM_VAL_INT: {
		uint64_t u = (uint64_t)v->u.integer;
		varint_put(b, (u << 1) ^ (uint64_t)-(int64_t)(u >> 63));
		break;
	}
	case TM_VAL_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, &v->u.dbl, 8);
		fixed64_put(b, bits);
		break;
	}
	case TM_VAL_ARRAY:
		varint_put(b, v->u.array.n);
		for (size_t i = 0; i < v->u.array.n; i++)
			put_value(b, &v->u.array.items[i]);
		break;
	case TM_VAL_KVLIST: {
		struct tm_attrs kv = { v->u.kvlist.items, v->u.kvlist.n, 0 };
		put_attrs(b, &kv);
		break;
	}
	default:
		break;
	}
}

static void put_attrs(struct tm_buf *b, const struct tm_attrs *attrs)
{
	varint_put(b, attrs->n);
	varint_put(b, attrs->dropped);
	for (size_t i = 0; i < attrs->n; i++) {
		put_str(b, attrs->items[i].key);
		put_value(b, &attrs->items[i].value);
	}
}

/*---- encoders ----*/

void tm_span_encode(struct tm_buf *out, const struct tm_span *s)
{
	put_u8(out, RECORD_VERSION);
	tm_buf_add(out, s->span_id, TM_SPAN_ID_LEN);
	put_u8(out, s->has_parent ? 1 : 0);
	if (s->has_parent)
		tm_buf_add(out, s->parent_span_id, TM_SPAN_ID_LEN);
	varint_put(out, s->kind);
	varint_put(out, s->flags);
	fixed64_put(out, s->start_ns);
	fixed64_put(out, s->end_ns);
	put_str(out, s->name);
	put_str(out, s->trace_state);
	put_u8(out, s->status_code);
	put_str(out, s->status_message);
	put_attrs(out, &s->attrs);
	varint_put(out, s->n_events);
	for (size_t i = 0; i < s->n_events; i++) {
		fixed64_put(out, s->events[i].time_ns);
		put_str(out, s->events[i].name);
		put_attrs(out, &s->events[i].attrs);
	}
	varint_put(out, s->dropped_events);
	varint_put(out, s->n_links);
	for (size_t i = 0; i < s->n_links; i++) {
		const struct tm_link *l = &s->links[i];
		tm_buf_add(out, l->trace_id, TM_TRACE_ID_LEN);
		tm_buf_add(out, l->span_id, TM_SPAN_ID_LEN);
		put_str(out, l->trace_state);
		varint_put(out, l->flags);
		put_attrs(out, &l->attrs);
	}
	varint_put(out, s->dropped_links);
}

void tm_resource_encode(struct tm_buf *out, const struct tm_resource *res)
{
	put_u8(out, RECORD_VERSION);
	put_attrs(out, &res->attrs);
	put_str(out, res->schema_url);
}

void tm_scope_encode(struct tm_buf *out, const struct tm_scope *scope)
{
	put_u8(out, RECORD_VERSION);
	put_str(out, scope->name);
	put_str(out, scope->version);
	put_attrs(out, &scope->attrs);
	put_str(out, scope->schema_url);
}

/*---- decoders ----*/

struct reader {
	const unsigned char *p;
	const unsigned char *end;
	struct tm_arena *arena;
	int err;   /* sticky: first error */
};

static void fail(struct reader *r, int err)
{
	if (!r->err)
		r->err = err;
	r->p = r->end;
}

static uint64_t get_varint(struct reader *r)
{
	uint64_t v;
	if (varint_get(&r->p, r->end, &v)) {
		fail(r, -EBADMSG);
		return 0;
	}
	return v;
}

static const unsigned char *get_bytes(struct reader *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		fail(r, -EBADMSG);
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	return p;
}

static uint64_t get_u64(struct reader *r)
{
	uint64_t v;
	if (fixed64_get(&r->p, r->end, &v)) {
		fail(r, -EBADMSG);
		return 0;
	}
	return v;
}

static unsigned get_u8(struct reader *r)
{
	const unsigned char *p = get_bytes(r, 1);
	return p ? *p : 0;
}

static void get_fixed(struct reader *r, uint8_t *out, size_t n)
{
	const unsigned char *p = get_bytes(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

static struct tm_str get_str(struct reader *r)
{
	struct tm_str s = { "", 0 };
	uint64_t n = get_varint(r);
	const unsigned char *p = get_bytes(r, (size_t)n);
	if (p) {
		s.ptr = (const char *)p;
		s.len = (size_t)n;
	}
	return s;
}

/* a count of n items, each at least min_size bytes, must fit in what is left;
 * this keeps a corrupt count from asking the arena for terabytes. */
static void *get_array(struct reader *r, uint64_t n, size_t item_size, size_t min_size)
{
	if (n == 0)
		return NULL;
	if (n > (uint64_t)(r->end - r->p) / min_size) {
		fail(r, -EBADMSG);
		return NULL;
	}
	void *p = tm_arena_zalloc(r->arena, (size_t)n * item_size);
	if (!p)
		fail(r, -ENOMEM);
	return p;
}

static void get_attrs(struct reader *r, struct tm_attrs *attrs, int depth);

static void get_value(struct reader *r, struct tm_value *v, int depth)
{
	if (depth > MAX_VALUE_DEPTH) {
		fail(r, -EBADMSG);
		return;
	}
	v->type = (enum tm_value_type)get_u8(r);
	switch (v->type) {
	case TM_VAL_EMPTY:
		break;
	case TM_VAL_STRING:
	case TM_VAL_BYTES:
		v->u.str = get_str(r);
		break;
	case TM_VAL_BOOL:
		v->u.boolean = get_u8(r) != 0;
		break;
	case TM_VAL_INT: {
		uint64_t z = get_varint(r);
		v->u.integer = (int64_t)((z >> 1) ^ (uint64_t)-(int64_t)(z & 1));
		break;
	}
	case TM_VAL_DOUBLE: {
		uint64_t bits = get_u64(r);
		memcpy(&v->u.dbl, &bits, 8);
		break;
	}
	case TM_VAL_ARRAY: {
		uint64_t n = get_varint(r);
		v->u.array.items = get_array(r, n, sizeof(struct tm_value), 1);
		v->u.array.n = r->err ? 0 : (size_t)n;
		for (size_t i = 0; i < v->u.array.n && !r->err; i++)
			get_value(r, &v->u.array.items[i], depth + 1);
		break;
	}
	case TM_VAL_KVLIST: {
		struct tm_attrs kv;
		get_attrs(r, &kv, depth + 1);
		v->u.kvlist.items = kv.items;
		v->u.kvlist.n = kv.n;
		break;
	}
	default:
		fail(r, -EBADMSG);
	}
}

static void get_attrs(struct reader *r, struct tm_attrs *attrs, int depth)
{
	uint64_t n = get_varint(r);
	attrs->dropped = (uint32_t)get_varint(r);
	attrs->items = get_array(r, n, sizeof(struct tm_attr), 2);
	attrs->n = r->err ? 0 : (size_t)n;
	for (size_t i = 0; i < attrs->n && !r->err; i++) {
		attrs->items[i].key = get_str(r);
		get_value(r, &attrs->items[i].value, depth);
	}
}

static void get_events(struct reader *r, struct tm_span *s)
{
	uint64_t n = get_varint(r);
	s->events = get_array(r, n, sizeof(struct tm_event), 11);
	s->n_events = r->err ? 0 : (size_t)n;
	for (size_t i = 0; i < s->n_events && !r->err; i++) {
		s->events[i].time_ns = get_u64(r);
		s->events[i].name = get_str(r);
		get_attrs(r, &s->events[i].attrs, 0);
	}
	s->dropped_events = (uint32_t)get_varint(r);
}

static void get_links(struct reader *r, struct tm_span *s)
{
	uint64_t n = get_varint(r);
	s->links = get_array(r, n, sizeof(struct tm_link), 27);
	s->n_links = r->err ? 0 : (size_t)n;
	for (size_t i = 0; i < s->n_links && !r->err; i++) {
		struct tm_link *l = &s->links[i];
		get_fixed(r, l->trace_id, TM_TRACE_ID_LEN);
		get_fixed(r, l->span_id, TM_SPAN_ID_LEN);
		l->trace_state = get_str(r);
		l->flags = (uint32_t)get_varint(r);
		get_attrs(r, &l->attrs, 0);
	}
	s->dropped_links = (uint32_t)get_varint(r);
}

static int finish(struct reader *r)
{
	if (!r->err && r->p != r->end)
		r->err = -EBADMSG;
	return r->err;
}

int tm_span_decode(const void *rec, size_t len, struct tm_arena *arena,
		   struct tm_span *s)
{
	struct reader r = { rec, (const unsigned char *)rec + len, arena, 0 };
	uint8_t keep_trace_id[TM_TRACE_ID_LEN];
	memcpy(keep_trace_id, s->trace_id, TM_TRACE_ID_LEN);
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, keep_trace_id, TM_TRACE_ID_LEN);
	if (get_u8(&r) != RECORD_VERSION)
		return -EBADMSG;
	get_fixed(&r, s->span_id, TM_SPAN_ID_LEN);
	s->has_parent = get_u8(&r) != 0;
	if (s->has_parent)
		get_fixed(&r, s->parent_span_id, TM_SPAN_ID_LEN);
	s->kind = (uint8_t)get_varint(&r);
	s->flags = (uint32_t)get_varint(&r);
	s->start_ns = get_u64(&r);
	s->end_ns = get_u64(&r);
	s->name = get_str(&r);
	s->trace_state = get_str(&r);
	s->status_code = (uint8_t)get_u8(&r);
	s->status_message = get_str(&r);
	get_attrs(&r, &s->attrs, 0);
	get_events(&r, s);
	get_links(&r, s);
	return finish(&r);
}

int tm_resource_decode(const void *rec, size_t len, struct tm_arena *arena,
		       struct tm_resource *res)
{
	struct reader r = { rec, (const unsigned char *)rec + len, arena, 0 };
	memset(res, 0, sizeof(*res));
	if (get_u8(&r) != RECORD_VERSION)
		return -EBADMSG;
	get_attrs(&r, &res->attrs, 0);
	res->schema_url = get_str(&r);
	return finish(&r);
}

int tm_scope_decode(const void *rec, size_t len, struct tm_arena *arena,
		    struct tm_scope *scope)
{
	struct reader r = { rec, (const unsigned char *)rec + len, arena, 0 };
	memset(scope, 0, sizeof(*scope));
	if (get_u8(&r) != RECORD_VERSION)
		return -EBADMSG;
	scope->name = get_str(&r);
	scope->version = get_str(&r);
	get_attrs(&r, &scope->attrs, 0);
	scope->schema_url = get_str(&r);
	return finish(&r);
}

/*---- small helpers ----*/

const struct tm_str *tm_attrs_get_str(const struct tm_attrs *attrs, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < attrs->n; i++) {
		const struct tm_attr *a = &attrs->items[i];
		if (a->key.len == klen && memcmp(a->key.ptr, key, klen) == 0)
			return a->value.type == TM_VAL_STRING ? &a->value.u.str : NULL;
	}
	return NULL;
}

int tm_id_is_zero(const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (id[i])
			return 0;
	return 1;
}

void tm_id_to_hex(const uint8_t *id, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* AWS X-Ray's form 1-5759e988-bd862e3fe1be46a994272793: the time and the
 * random part are the 16 bytes */
static int xray_trace_id_parse(const char *s, size_t len, uint8_t out[TM_TRACE_ID_LEN])
{
	if (len != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-')
		return -EINVAL;
	char hex[32];
	memcpy(hex, s + 2, 8);
	memcpy(hex + 8, s + 11, 24);
	return tm_trace_id_parse(hex, 32, out);
}

int tm_hex_decode(const char *hex, size_t len, uint8_t *out, size_t out_len)
{
	if (len != 2 * out_len)
		return -EINVAL;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

struct tm_str tm_str_from(const char *s)
{
	struct tm_str r = { s ? s : "", s ? strlen(s) : 0 };
	return r;
}

int tm_str_eq(struct tm_str a, struct tm_str b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

int tm_trace_id_parse(const char *hex, size_t len, uint8_t out[TM_TRACE_ID_LEN])
{
	if (len == 35 && hex[1] == '-')
		return xray_trace_id_parse(hex, len, out);
	if (len == 0 || len > 2 * TM_TRACE_ID_LEN)
		return -EINVAL;
	memset(out, 0, TM_TRACE_ID_LEN);
	/* right-align: "abc" is 0x0...0abc, as Jaeger prints short ids */
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit(hex[len - 1 - i]);
		if (d < 0)
			return -EINVAL;
		size_t byte = TM_TRACE_ID_LEN - 1 - i / 2;
		out[byte] |= (uint8_t)(i % 2 ? d << 4 : d);
	}
	return 0;
}

int tm_span_follows_from(const struct tm_span *span)
{
	static const char ref_type_key[] = "opentracing.ref_type";
	int follows = 0;
	if (!span->has_parent)
		return 0;
	for (size_t i = 0; i < span->n_links; i++) {
		const struct tm_link *l = &span->links[i];
		if (memcmp(l->trace_id, span->trace_id, TM_TRACE_ID_LEN) ||
		    memcmp(l->span_id, span->parent_span_id, TM_SPAN_ID_LEN))
			continue;
		const struct tm_str *type = tm_attrs_get_str(&l->attrs, ref_type_key);
		follows = !type || !tm_str_eq(*type, tm_str_from("child_of"));
	}
	return follows;
}
