/* otlpgen.h - synthetic trace batches, hand-encoded as OTLP protobuf,
 * OTLP/JSON or Zipkin v2 JSON.
 *
 * Generates realistic traces (trees of 5 to 50 spans, or a chosen range,
 * over 3 to 6 of 20 services, or of a chosen number)
 * and encodes them the way SDKs export them: one request per service (for
 * OTLP one ResourceSpans with one ScopeSpans; for Zipkin one JSON array),
 * so the spans of one trace are spread over several requests.  The same
 * seed gives the same spans in the same requests in every format.  Each
 * encoded batch ("template") keeps the byte offsets of every ID and time
 * field, so a sender can make fresh traces from the same bytes with
 * otlpgen_patch(): XOR the IDs with masks that are the same for a whole
 * round over the templates (pieces of a trace keep one trace ID, parent
 * links stay valid) and shift the times.
 *
 * Threads: generation runs once on one thread; templates are then read-only
 *          and may be patched into private copies from any thread.
 * Errors:  running out of memory aborts (this is a benchmark tool).
 * Memory:  otlpgen_generate() fills a struct otlpgen_set the caller frees
 *          with otlpgen_free(). */
#ifndef OTLPGEN_H
#define OTLPGEN_H

#include <stddef.h>
#include <stdint.h>

#define OTLPGEN_TRACE_ID_LEN 16
#define OTLPGEN_SPAN_ID_LEN 8

enum otlpgen_format {
	OTLPGEN_OTLP_PROTO,         /* ExportTraceServiceRequest, protobuf */
	OTLPGEN_OTLP_JSON,          /* the same in OTLP/JSON, as the OTel JS exporter writes it */
	OTLPGEN_ZIPKIN_JSON,        /* a Zipkin v2 JSON array, as the OTel Zipkin exporter writes it */
};

/* one encoded request body and where its IDs and times are.  Protobuf:
 * IDs are raw bytes and times little-endian fixed64 ns.  JSON: IDs are
 * lowercase hex (32 or 16 characters at the offset) and times decimal
 * digits (OTLP/JSON: ns inside a string; Zipkin: µs, a number). */
struct otlpgen_template {
	enum otlpgen_format format;
	unsigned char *body;
	size_t len;
	uint32_t n_spans;
	uint32_t n_roots;           /* spans without a parent: each trace has one */
	uint32_t *trace_id_off;     /* n_spans: each span's trace ID */
	uint32_t *span_id_off;      /* n_spans: each span's span ID */
	uint32_t *parent_id_off;    /* n_parents: parent span IDs */
	size_t n_parents;
	uint32_t *time_off;         /* n_times: times of spans and events */
	uint32_t *time_trace;       /* n_times: the trace each time belongs to, as
				     * its number in generation order (0 ..
				     * set n_traces - 1) */
	size_t n_times;
};

struct otlpgen_set {
	struct otlpgen_template *items;
	size_t n;
	uint64_t n_spans;            /* spans over all templates */
	uint64_t n_traces;
	uint64_t bytes;              /* body bytes over all templates */
};

struct otlpgen_options {
	enum otlpgen_format format;
	uint64_t seed;
	uint32_t spans_per_batch;    /* full batches have exactly this many */
	uint64_t min_spans;          /* generate until at least this many */
	uint64_t base_time_ns;       /* traces start in [base, base + 1 s) */
	uint32_t trace_spans_min;    /* spans per trace, uniform in [min, max] */
	uint32_t trace_spans_max;    /* with 1 <= min <= max <= the limit below
				      * (else abort); max 0 = 5 to 50 */
	uint64_t n_traces;           /* > 0: exactly this many traces (min_spans
				      * is then ignored) */
	uint32_t n_services;         /* services of the system, at most the limit
				      * below (else abort); 0 = 20 */
	const char *entry_service;   /* the root service of every trace (it may
				      * also be called further down); NULL =
				      * any.  Must be a service of the system
				      * (else abort) */
};

#define OTLPGEN_TRACE_SPANS_LIMIT 10000  /* largest trace_spans_max */
#define OTLPGEN_SERVICES_DEFAULT 20
#define OTLPGEN_SERVICES_LIMIT 1000      /* largest n_services */

/* the masks and time shift of one round over the templates.  Every time
 * of trace k (its number in generation order) moves by time_shift_ns +
 * k * trace_step_ns, so a step spreads the traces of a round over time. */
struct otlpgen_round {
	uint8_t trace_mask[OTLPGEN_TRACE_ID_LEN];
	uint8_t span_mask[OTLPGEN_SPAN_ID_LEN];
	uint64_t time_shift_ns;
	uint64_t trace_step_ns;
};

/* returns the format called name ("otlp-proto", "otlp-json", "zipkin-json")
 * in *out; -1 if there is none. */
int otlpgen_format_parse(const char *name, enum otlpgen_format *out);

/* the name otlpgen_format_parse() knows the format by. */
const char *otlpgen_format_name(enum otlpgen_format format);

/* the number of the service called name in a system of n_services (0 =
 * the default); -1 if it has none.  Services 0 to 19 are "frontend",
 * "api-gateway", ..., "fraud-detection"; service 20 + k is a copy of
 * service k % 20 named with "-2", "-3", ... after it ("frontend-2"). */
int otlpgen_service_index(uint32_t n_services, const char *name);

/* generates templates; full batches come first, then one last partial batch
 * per service that still held spans (so every trace is complete). */
void otlpgen_generate(const struct otlpgen_options *opt, struct otlpgen_set *out);

void otlpgen_free(struct otlpgen_set *set);

/* derives the ID masks of a round from the seed (time_shift_ns and
 * trace_step_ns are left 0). */
void otlpgen_round_init(struct otlpgen_round *r, uint64_t seed, uint64_t round);

/* applies a round to dst, a copy of t->body (t->len bytes).  Zipkin times
 * move by whole microseconds of each time's shift.  A decimal time that the
 * shift would make one digit longer is left as it is (not before 2286). */
void otlpgen_patch(const struct otlpgen_template *t, const struct otlpgen_round *r,
		   unsigned char *dst);

/* writes span i's trace ID and span ID as lowercase hex (NUL-terminated)
 * from body, a patched copy of t->body. */
void otlpgen_span_ids_hex(const struct otlpgen_template *t, const unsigned char *body,
			  uint32_t i, char trace_hex[OTLPGEN_TRACE_ID_LEN * 2 + 1],
			  char span_hex[OTLPGEN_SPAN_ID_LEN * 2 + 1]);

#endif
