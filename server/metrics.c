/* metrics.c - lock-free counters and histograms, and their Prometheus
 * text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/). */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

const uint64_t tm_mhist_duration_ns[TM_MHIST_DURATION_N] = {
	500000ull,     1000000ull,    2500000ull,    5000000ull,    10000000ull,
	25000000ull,   50000000ull,   100000000ull,  250000000ull,  500000000ull,
	1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull,
};

void tm_mhist_init(struct tm_mhist *h, const uint64_t *bounds, unsigned n, double scale)
{
	h->bounds = bounds;
	h->n_bounds = n < TM_MHIST_MAX_BOUNDS ? n : TM_MHIST_MAX_BOUNDS;
	h->scale = scale;
	for (unsigned i = 0; i <= TM_MHIST_MAX_BOUNDS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum, 0);
}

void tm_mhist_observe(struct tm_mhist *h, uint64_t v)
{
	unsigned i = 0;
	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

/*---- ingest counters ----*/

const char *tm_protocol_name(enum tm_protocol p)
{
	static const char *const names[TM_PROTO_COUNT] = {
		"otlp", "zipkin_v2", "zipkin_v1", "jaeger_thrift", "jaeger_udp", "xray_udp",
	};
	return p < TM_PROTO_COUNT ? names[p] : "unknown";
}

const char *tm_refusal_name(enum tm_refusal r)
{
	static const char *const names[TM_REFUSE_COUNT] = {
		"invalid",     "too_large",     "unsupported_media_type", "method_not_allowed",
		"client_rate", "queue_full",    "shutting_down",          "store_full",
		"store_error", "out_of_memory",
	};
	return r < TM_REFUSE_COUNT ? names[r] : "unknown";
}

void tm_counter_add(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t load(const atomic_uint_least64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void tm_ingest_totals_read(const struct tm_ingest_counters *c, struct tm_ingest_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (int p = 0; p < TM_PROTO_COUNT; p++) {
		out->requests_received[p] = load(&c->requests_received[p]);
		out->requests_accepted[p] = load(&c->requests_accepted[p]);
		out->spans_received[p] = load(&c->spans_received[p]);
		out->spans_accepted[p] = load(&c->spans_accepted[p]);
		for (int r = 0; r < TM_REFUSE_COUNT; r++) {
			out->requests_refused[p][r] = load(&c->requests_refused[p][r]);
			out->spans_refused[p][r] = load(&c->spans_refused[p][r]);
		}
		out->present[p] = p != TM_PROTO_JAEGER_UDP && p != TM_PROTO_XRAY_UDP;
	}
}

static void by_protocol(struct tm_buf *b, const char *name, const char *help,
			const uint8_t *present, const uint64_t *v)
{
	tm_prom_family(b, name, "counter", help);
	for (int p = 0; p < TM_PROTO_COUNT; p++) {
		if (!present[p])
			continue;
		char labels[64];
		snprintf(labels, sizeof(labels), "protocol=\"%s\"", tm_protocol_name(p));
		tm_prom_uint(b, name, labels, v[p]);
	}
}

static void by_reason(struct tm_buf *b, const char *name, const char *help,
		      const uint8_t *present, const uint64_t (*v)[TM_REFUSE_COUNT])
{
	tm_prom_family(b, name, "counter", help);
	for (int p = 0; p < TM_PROTO_COUNT; p++)
		for (int r = 0; present[p] && r < TM_REFUSE_COUNT; r++) {
			char labels[96];
			snprintf(labels, sizeof(labels), "protocol=\"%s\",reason=\"%s\"",
				 tm_protocol_name(p), tm_refusal_name(r));
			tm_prom_uint(b, name, labels, v[p][r]);
		}
}

void tm_ingest_totals_write(struct tm_buf *b, const struct tm_ingest_totals *t)
{
	by_protocol(b, "tracemap_ingest_requests_received_total",
		    "Ingest requests (UDP: datagrams) received.", t->present, t->requests_received);
	by_protocol(b, "tracemap_ingest_requests_accepted_total",
		    "Ingest requests answered 2xx: their spans are durable.", t->present,
		    t->requests_accepted);
	by_reason(b, "tracemap_ingest_requests_refused_total",
		  "Ingest requests refused, by reason.", t->present, t->requests_refused);
	by_protocol(b, "tracemap_ingest_spans_received_total",
		    "Spans decoded from ingest requests.", t->present, t->spans_received);
	by_protocol(b, "tracemap_ingest_spans_accepted_total",
		    "Spans stored durably and acknowledged.", t->present, t->spans_accepted);
	by_reason(b, "tracemap_ingest_spans_refused_total",
		  "Decoded spans not stored, by reason.", t->present, t->spans_refused);
}

/*---- readiness ----*/

const char *tm_readiness_refusal(const struct tm_readiness *in, char *buf, size_t len)
{
	if (!in->store_open)
		return "the store is not open";
	if (in->stopping)
		return "the server is shutting down";
	if (in->store_refusal) {
		snprintf(buf, len, "ingest is refused: %s (507)", in->store_refusal);
		return buf;
	}
	if (in->queued_bytes >= in->max_queue_bytes)
		return "the write queue is full (--queue-bytes): ingest gets 503";
	if (in->last_commit_result) {
		snprintf(buf, len, "the last commit failed: %s",
			 tm_store_strerror(in->last_commit_result));
		return buf;
	}
	return NULL;
}

/*---- exposition ----*/

static void add_escaped(struct tm_buf *b, const char *s, size_t len, int quote)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\')
			tm_buf_add_str(b, "\\\\");
		else if (c == '\n')
			tm_buf_add_str(b, "\\n");
		else if (c == '"' && quote)
			tm_buf_add_str(b, "\\\"");
		else
			tm_buf_add(b, &c, 1);
	}
}

void tm_prom_family(struct tm_buf *b, const char *name, const char *type, const char *help)
{
	tm_buf_add_str(b, "# HELP ");
	tm_buf_add_str(b, name);
	tm_buf_add_str(b, " ");
	add_escaped(b, help, strlen(help), 0);
	tm_buf_add_str(b, "\n# TYPE ");
	tm_buf_add_str(b, name);
	tm_buf_add_str(b, " ");
	tm_buf_add_str(b, type);
	tm_buf_add_str(b, "\n");
}

/* the length of the valid UTF-8 sequence at s, or 0 */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!n || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms and surrogates */
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

void tm_prom_label(struct tm_buf *labels, const char *key, const char *value, size_t len)
{
	if (labels->len)
		tm_buf_add_str(labels, ",");
	tm_buf_add_str(labels, key);
	tm_buf_add_str(labels, "=\"");
	const unsigned char *s = (const unsigned char *)value;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(s + i, len - i);
		if (!n) {
			tm_buf_add_str(labels, "\xef\xbf\xbd");
			i++;
			continue;
		}
		add_escaped(labels, value + i, n, 1);
		i += n;
	}
	tm_buf_add_str(labels, "\"");
}

static void sample_head(struct tm_buf *b, const char *name, const char *suffix,
			const char *labels, const char *extra)
{
	tm_buf_add_str(b, name);
	tm_buf_add_str(b, suffix);
	int has = labels && *labels;
	if (has || extra) {
		tm_buf_add_str(b, "{");
		if (has)
			tm_buf_add_str(b, labels);
		if (has && extra)
			tm_buf_add_str(b, ",");
		if (extra)
			tm_buf_add_str(b, extra);
		tm_buf_add_str(b, "}");
	}
	tm_buf_add_str(b, " ");
}

void tm_prom_uint(struct tm_buf *b, const char *name, const char *labels, uint64_t v)
{
	char num[32];
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)v);
	sample_head(b, name, "", labels, NULL);
	tm_buf_add_str(b, num);
}

void tm_prom_double(struct tm_buf *b, const char *name, const char *labels, double v)
{
	char num[40];
	snprintf(num, sizeof(num), "%.12g\n", v);
	sample_head(b, name, "", labels, NULL);
	tm_buf_add_str(b, num);
}

void tm_prom_hist(struct tm_buf *b, const char *name, const char *labels,
		  const uint64_t *counts, const uint64_t *bounds, unsigned n_bounds,
		  double scale, double sum)
{
	uint64_t cum = 0;
	char le[48], num[40];
	for (unsigned i = 0; i <= n_bounds; i++) {
		cum += counts[i];
		if (i < n_bounds)
			snprintf(le, sizeof(le), "le=\"%g\"", (double)bounds[i] * scale);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		sample_head(b, name, "_bucket", labels, le);
		snprintf(num, sizeof(num), "%llu\n", (unsigned long long)cum);
		tm_buf_add_str(b, num);
	}
	sample_head(b, name, "_sum", labels, NULL);
	snprintf(num, sizeof(num), "%.12g\n", sum);
	tm_buf_add_str(b, num);
	sample_head(b, name, "_count", labels, NULL);
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)cum);
	tm_buf_add_str(b, num);
}

void tm_prom_mhist(struct tm_buf *b, const char *name, const char *labels,
		   const struct tm_mhist *h)
{
	uint64_t counts[TM_MHIST_MAX_BOUNDS + 1];
	for (unsigned i = 0; i <= h->n_bounds; i++)
		counts[i] = load(&h->counts[i]);
	double sum = (double)load(&h->sum) * h->scale;
	tm_prom_hist(b, name, labels, counts, h->bounds, h->n_bounds, h->scale, sum);
}
