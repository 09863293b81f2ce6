/* otlpgen_internal.h - what the generator (otlpgen.c) shares with its
 * encoders: OTLP protobuf (otlpgen_pb.c), OTLP/JSON and Zipkin v2 JSON
 * (otlpgen_json.c).
 *
 * The generator decides everything about a span (IDs, name, times,
 * attributes, event, status) and describes it in a struct otlpgen_span; a
 * codec turns that into bytes and says where the IDs and times are, so the
 * same seed gives the same spans in every format.  Not part of otlpgen.h:
 * only these files include it. */
#ifndef OTLPGEN_INTERNAL_H
#define OTLPGEN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "otlpgen.h"

#define OTLPGEN_SCOPE_NAME "tracemap.loadgen"
#define OTLPGEN_SCOPE_VERSION "0.1.0"

/* a growable byte buffer; running out of memory aborts. */
struct otlpgen_buf {
	unsigned char *p;
	size_t len, cap;
};

void *otlpgen_xrealloc(void *p, size_t size);
void otlpgen_buf_reserve(struct otlpgen_buf *b, size_t n);
void otlpgen_buf_add(struct otlpgen_buf *b, const void *src, size_t n);

static inline void otlpgen_buf_str(struct otlpgen_buf *b, const char *s)
{
	while (*s) {
		otlpgen_buf_reserve(b, 1);
		b->p[b->len++] = (unsigned char)*s++;
	}
}

/*---- the span model ----*/

enum otlpgen_attr_type {
	OTLPGEN_ATTR_STR,
	OTLPGEN_ATTR_INT,
	OTLPGEN_ATTR_DOUBLE,
	OTLPGEN_ATTR_BOOL,
};

struct otlpgen_attr {
	const char *key;
	enum otlpgen_attr_type type;
	const char *s;
	int64_t i;                   /* ints, and bools as 0 / 1 */
	double d;
};

/* a list of attributes; formatted string values live in text, so a list
 * must not be copied by value. */
struct otlpgen_attrs {
	struct otlpgen_attr a[16];
	size_t n;
	char text[1024];
	size_t text_used;
};

/* OTLP span kinds, as the generator uses them */
#define OTLPGEN_KIND_INTERNAL 1
#define OTLPGEN_KIND_SERVER 2
#define OTLPGEN_KIND_CLIENT 3

/* one span as every format shows it; pointers are borrowed from the
 * generator and valid while the span is encoded. */
struct otlpgen_span {
	const uint8_t *trace_id;         /* OTLPGEN_TRACE_ID_LEN bytes */
	const uint8_t *span_id;          /* OTLPGEN_SPAN_ID_LEN bytes */
	const uint8_t *parent_span_id;   /* NULL for a root */
	const char *service;             /* the resource's service.name */
	const struct otlpgen_attrs *resource;   /* of the request it goes into */
	char name[160];
	int kind;                        /* OTLPGEN_KIND_* */
	uint64_t start_ns, end_ns;
	struct otlpgen_attrs attrs;
	int has_event;
	const char *event_name;
	uint64_t event_ns;
	struct otlpgen_attrs event_attrs;
	const char *error_message;       /* NULL: status unset */
	uint32_t flags;
};

/* where a codec put a span's IDs and times, relative to the start of the
 * span's bytes.  IDs are raw bytes (protobuf) or lowercase hex (JSON);
 * times are little-endian fixed64 ns (protobuf) or decimal digits (JSON:
 * ns for OTLP, µs for Zipkin). */
struct otlpgen_offsets {
	uint32_t trace_id, span_id, parent_id;   /* parent_id 0 = none */
	uint32_t times[4];
	int n_times;
};

/* one encoding.  A request body is head, then the spans, each preceded by
 * its separator, then tail. */
struct otlpgen_codec {
	/* appends s to b (which starts empty) and fills off */
	void (*span)(struct otlpgen_buf *b, const struct otlpgen_span *s,
		     struct otlpgen_offsets *off);
	/* appends what goes before a span of span_len bytes */
	void (*separator)(struct otlpgen_buf *b, size_t span_len, int is_first);
	/* appends what goes before spans_len bytes of separated spans */
	void (*head)(struct otlpgen_buf *b, const struct otlpgen_attrs *resource,
		     size_t spans_len);
	void (*tail)(struct otlpgen_buf *b);
};

extern const struct otlpgen_codec otlpgen_codec_otlp_proto;
extern const struct otlpgen_codec otlpgen_codec_otlp_json;
extern const struct otlpgen_codec otlpgen_codec_zipkin_json;

#endif
