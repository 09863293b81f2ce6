/* span.h - the span model every format is normalized into, and its record codec.
 *
 * A struct tm_span is a plain view: strings point at bytes it does not own
 * (a request body, an arena, or an LMDB page), arrays live in an arena.
 * The model keeps everything OTLP can carry, so a trace read back equals the
 * trace sent: attributes of every type, events, links, status, kind, flags,
 * trace_state, and the resource and scope with their attributes.
 *
 * The record codec turns one span (without its resource and scope, which are
 * stored once and referred to by id) into compact bytes and back.
 * Threads: pure functions.  Errors: negative errno.
 * Memory:  encode writes into a tm_buf the caller owns; decode allocates
 *          from the caller's arena and may point into the record bytes, which
 *          must outlive the decoded span. */
#ifndef TM_SPAN_H
#define TM_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define TM_TRACE_ID_LEN 16
#define TM_SPAN_ID_LEN 8

struct tm_str {
	const char *ptr;   /* not NUL-terminated */
	size_t len;
};

enum tm_value_type {
	TM_VAL_EMPTY = 0,
	TM_VAL_STRING = 1,
	TM_VAL_BOOL = 2,
	TM_VAL_INT = 3,
	TM_VAL_DOUBLE = 4,
	TM_VAL_ARRAY = 5,
	TM_VAL_KVLIST = 6,
	TM_VAL_BYTES = 7,
};

struct tm_attr;

struct tm_value {
	enum tm_value_type type;
	union {
		struct tm_str str;      /* STRING and BYTES */
		int boolean;
		int64_t integer;
		double dbl;
		struct {
			struct tm_value *items;
			size_t n;
		} array;
		struct {
			struct tm_attr *items;
			size_t n;
		} kvlist;
	} u;
};

struct tm_attr {
	struct tm_str key;
	struct tm_value value;
};

struct tm_attrs {
	struct tm_attr *items;
	size_t n;
	uint32_t dropped;   /* dropped_attributes_count as sent */
};

struct tm_event {
	uint64_t time_ns;
	struct tm_str name;
	struct tm_attrs attrs;
};

struct tm_link {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t span_id[TM_SPAN_ID_LEN];
	struct tm_str trace_state;
	uint32_t flags;
	struct tm_attrs attrs;
};

struct tm_resource {
	struct tm_attrs attrs;
	struct tm_str schema_url;
};

struct tm_scope {
	struct tm_str name;
	struct tm_str version;
	struct tm_attrs attrs;
	struct tm_str schema_url;   /* ScopeSpans.schema_url */
};

enum tm_span_kind {
	TM_KIND_UNSPECIFIED = 0,
	TM_KIND_INTERNAL = 1,
	TM_KIND_SERVER = 2,
	TM_KIND_CLIENT = 3,
	TM_KIND_PRODUCER = 4,
	TM_KIND_CONSUMER = 5,
};

enum tm_status_code {
	TM_STATUS_UNSET = 0,
	TM_STATUS_OK = 1,
	TM_STATUS_ERROR = 2,
};

struct tm_span {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t span_id[TM_SPAN_ID_LEN];
	uint8_t parent_span_id[TM_SPAN_ID_LEN];   /* all zero for a root */
	int has_parent;
	struct tm_str trace_state;
	struct tm_str name;
	uint8_t kind;            /* enum tm_span_kind; values up to 255 kept as sent */
	uint32_t flags;
	uint64_t start_ns;
	uint64_t end_ns;
	struct tm_attrs attrs;
	struct tm_event *events;
	size_t n_events;
	uint32_t dropped_events;
	struct tm_link *links;
	size_t n_links;
	uint32_t dropped_links;
	uint8_t status_code;     /* enum tm_status_code */
	struct tm_str status_message;
	/* set by the reader; encoders ignore them (stored by id) */
	const struct tm_resource *resource;
	const struct tm_scope *scope;
	uint64_t seq;            /* the commit that stored it (0: not read from a store) */
};

/* growable byte buffer used by every encoder of ours. */
struct tm_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	int failed;   /* sticky: set once an allocation failed */
};

void tm_buf_init(struct tm_buf *b);
void tm_buf_free(struct tm_buf *b);
/* appends bytes; on allocation failure sets b->failed and drops them. */
void tm_buf_add(struct tm_buf *b, const void *src, size_t len);
void tm_buf_add_str(struct tm_buf *b, const char *s);
/* makes room for len more bytes and returns where they go, or NULL. */
unsigned char *tm_buf_reserve(struct tm_buf *b, size_t len);

/* appends the record of one span (resource and scope not included). */
void tm_span_encode(struct tm_buf *out, const struct tm_span *span);

/* decodes one record of len bytes into *span.
 * Returns 0, or -EBADMSG when the bytes are not a valid record, -ENOMEM when
 * the arena is exhausted.  Strings in *span point into rec. */
int tm_span_decode(const void *rec, size_t len, struct tm_arena *arena,
		   struct tm_span *span);

/* resources and scopes are stored once and shared by many spans. */
void tm_resource_encode(struct tm_buf *out, const struct tm_resource *res);
int tm_resource_decode(const void *rec, size_t len, struct tm_arena *arena,
		       struct tm_resource *res);
void tm_scope_encode(struct tm_buf *out, const struct tm_scope *scope);
int tm_scope_decode(const void *rec, size_t len, struct tm_arena *arena,
		    struct tm_scope *scope);

/* a NUL-terminated string as a tm_str; NULL gives the empty string. */
struct tm_str tm_str_from(const char *s);

/* 1 when a and b hold the same bytes. */
int tm_str_eq(struct tm_str a, struct tm_str b);

/* decodes exactly 2*out_len hex digits (either case) into out; 0 or -EINVAL. */
int tm_hex_decode(const char *hex, size_t len, uint8_t *out, size_t out_len);

/* returns the value of a string attribute, or NULL when absent or not a string. */
const struct tm_str *tm_attrs_get_str(const struct tm_attrs *attrs, const char *key);

/* 1 when the span's reference to its parent is a FOLLOWS_FROM (Jaeger's
 * opentracing.ref_type on the link to the parent; the last such link
 * decides; a link to the parent without that attribute counts too). */
int tm_span_follows_from(const struct tm_span *span);

/* 1 when all len bytes are zero. */
int tm_id_is_zero(const uint8_t *id, size_t len);

/* writes 2*len lowercase hex digits and a NUL into out. */
void tm_id_to_hex(const uint8_t *id, size_t len, char *out);

/* parses a hex trace ID of 1 to 32 digits, either case, leading zeros
 * optional (Jaeger's rule), or an AWS X-Ray ID (1-8 hex-24 hex), into 16
 * bytes.  Returns 0 or -EINVAL. */
int tm_trace_id_parse(const char *hex, size_t len, uint8_t out[TM_TRACE_ID_LEN]);

#endif
