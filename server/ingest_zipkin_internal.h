/* ingest_zipkin_internal.h - what the three Zipkin decoders share.
 *
 * Every Zipkin body (v2 JSON, v2 protobuf, v1 JSON) is first read into
 * struct zk_span, which is Zipkin's v2 span model; v1 spans are converted
 * into it the way Zipkin's own V1SpanConverter does.  One mapping
 * (ingest_zipkin.c) then turns a zk_span into the common model, so that
 * the three formats cannot drift apart.
 * Threads: reentrant.  Errors: 0, -EBADMSG (with report->message), -ENOMEM.
 * Memory: zk_span views borrow from the parsed body (jansson values,
 * protobuf-c messages) or the arena; zk_sink_add() copies what it keeps
 * into the batch.  Not installed: only server/ingest_zipkin*.c include it. */
#ifndef TM_INGEST_ZIPKIN_INTERNAL_H
#define TM_INGEST_ZIPKIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ingest.h"

/* more endpoints than this in one v1 span are refused: real ones have two */
#define ZK_MAX_V1_SIDES 64

/* a host: every field may be absent (empty string, port 0) */
struct zk_endpoint {
	struct tm_str service;
	struct tm_str ipv4;      /* text, e.g. "192.168.99.1" */
	struct tm_str ipv6;      /* text, e.g. "2001:db8::c001" */
	int32_t port;
};

struct zk_annotation {
	uint64_t timestamp_us;
	struct tm_str value;
};

struct zk_tag {
	struct tm_str key;
	struct tm_str value;
};

/* one Zipkin v2 span; zero means absent for times, as in Zipkin */
struct zk_span {
	uint8_t trace_id[TM_TRACE_ID_LEN];   /* 64-bit ids left-padded with zeros */
	uint8_t id[TM_SPAN_ID_LEN];
	uint8_t parent_id[TM_SPAN_ID_LEN];
	int has_parent;
	struct tm_str name;
	uint8_t kind;                         /* enum tm_span_kind; INTERNAL if absent */
	uint64_t timestamp_us;
	uint64_t duration_us;
	int is_debug;
	int is_shared;
	struct zk_endpoint local;
	struct zk_endpoint remote;
	struct zk_annotation *annotations;
	size_t n_annotations;
	struct zk_tag *tags;
	size_t n_tags;
};

/* turns zk_spans into batch spans; one per request */
struct zk_sink {
	struct tm_arena *arena;
	struct tm_batch *batch;
	struct tm_ingest_report *report;
	struct tm_buf scratch;      /* encoded resource or scope, for dedup */
	uint32_t *res_slots;        /* open addressing: batch index + 1, 0 = free */
	size_t res_cap;
	uint32_t *scope_slots;
	size_t scope_cap;
};

void zk_sink_init(struct zk_sink *sink, struct tm_arena *arena, struct tm_batch *batch,
		  struct tm_ingest_report *report);

/* maps one span into the model and adds it to the batch, or rejects it
 * (all-zero ids, times out of range) naming spans[index].
 * Returns 0 or -ENOMEM. */
int zk_sink_add(struct zk_sink *sink, const struct zk_span *span, size_t index);

/* ends the batch; turns rc -ENOMEM into -E2BIG when the arena's limit was
 * the cause.  Returns rc. */
int zk_sink_done(struct zk_sink *sink, int rc);

/* writes report->message and returns -EBADMSG */
int zk_bad(struct tm_ingest_report *report, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));


/*---- JSON (ingest_zipkin_json.c), shared by v1 and v2 ----*/

/* reads body as a JSON array; *out is NULL for an empty body.
 * Returns 0 or -EBADMSG with report->message. */
int zk_json_load(const void *body, size_t len, struct tm_ingest_report *report,
		 json_t **out);

/* the fields v1 and v2 spans name alike.  Each reads obj[key] (absent and
 * null are "absent") into out; where is the span's location, e.g.
 * "spans[3]".  Return 0 or -EBADMSG with report->message naming the field. */
int zk_json_trace_id(struct tm_ingest_report *r, const char *where, json_t *obj,
		     uint8_t out[TM_TRACE_ID_LEN]);
int zk_json_span_id(struct tm_ingest_report *r, const char *where, json_t *obj,
		    const char *key, int required, uint8_t out[TM_SPAN_ID_LEN], int *present);
int zk_json_str(struct tm_ingest_report *r, const char *where, json_t *obj,
		const char *key, struct tm_str *out);
int zk_json_u64(struct tm_ingest_report *r, const char *where, json_t *obj,
		const char *key, int required, uint64_t *out);
int zk_json_bool(struct tm_ingest_report *r, const char *where, json_t *obj,
		 const char *key, int *out);
int zk_json_endpoint(struct tm_ingest_report *r, const char *where, json_t *obj,
		     const char *key, struct zk_endpoint *out, int *present);

/* an annotation object {timestamp, value}; where names it */
int zk_json_annotation(struct tm_ingest_report *r, const char *where, json_t *obj,
		       struct zk_annotation *out);

/* obj[key] as an array, or NULL when absent */
int zk_json_array(struct tm_ingest_report *r, const char *where, json_t *obj, const char *key,
		  json_t **out);

/* "an object", "a string", ... for messages */
const char *zk_json_type_name(const json_t *v);

#endif
