/* metrics.h - self-metrics: counters and fixed-bucket histograms that any
 * thread updates without a lock, the ingest counters by protocol and
 * reason, and the Prometheus text exposition format (version 0.0.4) that
 * GET /metrics serves them in (docs/operations.md lists every family).
 *
 * Threads: update from any thread (relaxed atomics); a scrape reads each
 * value once, so a histogram's _sum may lag its buckets by an observation.
 * Memory: nothing here allocates but the caller's tm_buf. */
#ifndef TM_METRICS_H
#define TM_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

/*---- histograms ----*/

#define TM_MHIST_MAX_BOUNDS 16

struct tm_mhist {
	const uint64_t *bounds;   /* upper bounds, ascending, in the unit observed */
	unsigned n_bounds;
	double scale;             /* observed unit to exposed unit (1e-9: ns to seconds) */
	atomic_uint_least64_t counts[TM_MHIST_MAX_BOUNDS + 1];   /* the last: above all */
	atomic_uint_least64_t sum;
};

/* request and commit durations in ns: 0.5 ms to 10 s */
extern const uint64_t tm_mhist_duration_ns[];
#define TM_MHIST_DURATION_N 14

void tm_mhist_init(struct tm_mhist *h, const uint64_t *bounds, unsigned n, double scale);
void tm_mhist_observe(struct tm_mhist *h, uint64_t v);

/*---- ingest counters ----*/

/* the label protocol="..." */
enum tm_protocol {
	TM_PROTO_OTLP,            /* POST /v1/traces, protobuf or JSON */
	TM_PROTO_ZIPKIN_V2,       /* POST /api/v2/spans */
	TM_PROTO_ZIPKIN_V1,       /* POST /api/v1/spans */
	TM_PROTO_JAEGER_THRIFT,   /* POST /api/traces */
	TM_PROTO_JAEGER_UDP,      /* --jaeger-udp */
	TM_PROTO_XRAY_UDP,        /* --xray-udp */
	TM_PROTO_COUNT
};

/* the label reason="..." of what was refused */
enum tm_refusal {
	TM_REFUSE_INVALID,        /* 400, or spans rejected one by one */
	TM_REFUSE_TOO_LARGE,      /* 413 */
	TM_REFUSE_MEDIA_TYPE,     /* 415 */
	TM_REFUSE_METHOD,         /* 405 */
	TM_REFUSE_CLIENT_RATE,    /* 429, --client-rate */
	TM_REFUSE_QUEUE_FULL,     /* 503, --queue-bytes */
	TM_REFUSE_SHUTTING_DOWN,  /* 503 */
	TM_REFUSE_STORE_FULL,     /* 507 */
	TM_REFUSE_STORE_ERROR,    /* 503: the commit failed otherwise */
	TM_REFUSE_NO_MEMORY,      /* 503 */
	TM_REFUSE_COUNT
};

const char *tm_protocol_name(enum tm_protocol p);
const char *tm_refusal_name(enum tm_refusal r);

/* a request is received once and then accepted (2xx) or refused once; its
 * spans (those decoded) likewise, and a partial success refuses some of
 * its spans as invalid while the request is accepted */
struct tm_ingest_counters {
	atomic_uint_least64_t requests_received[TM_PROTO_COUNT];
	atomic_uint_least64_t requests_accepted[TM_PROTO_COUNT];
	atomic_uint_least64_t requests_refused[TM_PROTO_COUNT][TM_REFUSE_COUNT];
	atomic_uint_least64_t spans_received[TM_PROTO_COUNT];
	atomic_uint_least64_t spans_accepted[TM_PROTO_COUNT];
	atomic_uint_least64_t spans_refused[TM_PROTO_COUNT][TM_REFUSE_COUNT];
};

/* plain copies, to which the UDP listeners' counts are added at a scrape */
struct tm_ingest_totals {
	uint64_t requests_received[TM_PROTO_COUNT];
	uint64_t requests_accepted[TM_PROTO_COUNT];
	uint64_t requests_refused[TM_PROTO_COUNT][TM_REFUSE_COUNT];
	uint64_t spans_received[TM_PROTO_COUNT];
	uint64_t spans_accepted[TM_PROTO_COUNT];
	uint64_t spans_refused[TM_PROTO_COUNT][TM_REFUSE_COUNT];
	uint8_t present[TM_PROTO_COUNT];   /* emitted: every HTTP one, UDP when listening */
};

/* adds n to a counter (relaxed: counters are read whole, never ordered) */
void tm_counter_add(atomic_uint_least64_t *c, uint64_t n);
void tm_ingest_totals_read(const struct tm_ingest_counters *c, struct tm_ingest_totals *out);

/* writes the six ingest families */
void tm_ingest_totals_write(struct tm_buf *b, const struct tm_ingest_totals *t);

/*---- readiness ----*/

/* what /readyz looks at */
struct tm_readiness {
	int store_open;
	int stopping;
	uint64_t queued_bytes, max_queue_bytes;
	int last_commit_result;
	const char *store_refusal;   /* the writer refuses for room: why; NULL: not */   /* 0 or -errno */
};

/* why ingest is refused now (buf may hold the text), or NULL: ready */
const char *tm_readiness_refusal(const struct tm_readiness *in, char *buf, size_t len);

/*---- exposition ----*/

/* "# HELP name help" and "# TYPE name type" */
void tm_prom_family(struct tm_buf *b, const char *name, const char *type, const char *help);

/* appends `key="value"` (with a comma when labels is not empty) to a label
 * list; the value is escaped, and bytes that are not UTF-8 become U+FFFD */
void tm_prom_label(struct tm_buf *labels, const char *key, const char *value, size_t len);

/* one sample: name{labels} value; labels is a NUL-terminated list without
 * braces, or NULL/empty for none */
void tm_prom_uint(struct tm_buf *b, const char *name, const char *labels, uint64_t v);
void tm_prom_double(struct tm_buf *b, const char *name, const char *labels, double v);

/* the _bucket (cumulative, le="+Inf" last), _sum and _count samples of a
 * histogram given per-bucket counts (n_bounds + 1 of them) */
void tm_prom_hist(struct tm_buf *b, const char *name, const char *labels,
		  const uint64_t *counts, const uint64_t *bounds, unsigned n_bounds,
		  double scale, double sum);
void tm_prom_mhist(struct tm_buf *b, const char *name, const char *labels,
		   const struct tm_mhist *h);

#endif
