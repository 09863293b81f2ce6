/* api_servicemap.c - the service map, dependency links and bottlenecks
 * (docs/servicemap.md). */
#define LOG_MODULE "api"
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "query_params.h"
#include "servicemap.h"

#define DEFAULT_MAP_WINDOW_US (15ull * 60 * 1000000)
#define DEFAULT_BOTTLENECK_WINDOW_US (3600ull * 1000000)
#define DEFAULT_LOOKBACK_MS 86400000ll
#define MAX_HOPS 100

static enum MHD_Result json_error(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add_str(&out, "{\"error\":");
	tm_json_cstr(&out, msg);
	tm_buf_add(&out, "}", 1);
	return http_respond_buf(r, status, API_JSON, &out);
}

static enum MHD_Result store_error(struct http_request *r, int rc)
{
	LOG(TM_LOG_ERROR, "query %s: %s", r->path, tm_store_strerror(rc));
	return json_error(r, 500, tm_store_strerror(rc));
}

/* start and end in µs, end defaulting to now and start to end - window */
static int parse_window(struct http_request *r, uint64_t window_us, uint64_t *start_ns,
			uint64_t *end_ns, char *err, size_t errlen)
{
	int64_t v;
	uint64_t end_us = api_now_ns() / 1000, start_us;
	const char *end = api_arg(r, "end"), *start = api_arg(r, "start");
	if (end && *end) {
		if (tm_qp_int("end", end, 0, INT64_MAX / 1000, &v, err, errlen) < 0)
			return -1;
		end_us = (uint64_t)v;
	}
	start_us = end_us > window_us ? end_us - window_us : 0;
	if (start && *start) {
		if (tm_qp_int("start", start, 0, INT64_MAX / 1000, &v, err, errlen) < 0)
			return -1;
		start_us = (uint64_t)v;
	}
	if (end_us < start_us) {
		snprintf(err, errlen, "invalid parameters 'start' and 'end': end is before start");
		return -1;
	}
	*start_ns = api_us_to_ns_lo(start_us);
	*end_ns = api_us_to_ns_hi(end_us);
	return 0;
}

static void write_percentiles(struct tm_buf *out, const struct tm_smap_stat *s)
{
	tm_buf_add_str(out, ",\"p50\":");
	tm_json_uint(out, s->calls ? s->p50_ns / 1000 : 0);
	tm_buf_add_str(out, ",\"p90\":");
	tm_json_uint(out, s->calls ? s->p90_ns / 1000 : 0);
	tm_buf_add_str(out, ",\"p99\":");
	tm_json_uint(out, s->calls ? s->p99_ns / 1000 : 0);
}

static void write_map(struct tm_buf *out, const struct tm_smap_map *m)
{
	tm_buf_add_str(out, "{\"nodes\":[");
	for (size_t i = 0; i < m->n_nodes; i++) {
		const struct tm_smap_node *n = &m->nodes[i];
		if (i)
			tm_buf_add(out, ",", 1);
		tm_buf_add_str(out, "{\"id\":");
		tm_json_tstr(out, &n->id);
		tm_buf_add_str(out, ",\"name\":");
		tm_json_tstr(out, n->operation.len ? &n->operation : &n->id);
		if (n->service.len && n->operation.len) {
			tm_buf_add_str(out, ",\"service\":");
			tm_json_tstr(out, &n->service);
			tm_buf_add_str(out, ",\"operation\":");
			tm_json_tstr(out, &n->operation);
		}
		tm_buf_add_str(out, ",\"kind\":");
		tm_json_cstr(out, tm_smap_kind_name(n->kind));
		tm_buf_add_str(out, ",\"requests\":");
		tm_json_uint(out, n->stat.calls);
		tm_buf_add_str(out, ",\"errors\":");
		tm_json_uint(out, n->stat.errors);
		if (n->kind == TM_SMAP_SERVICE) {
			tm_buf_add_str(out, ",\"http4xx\":");
			tm_json_uint(out, n->stat.http4xx);
			tm_buf_add_str(out, ",\"http5xx\":");
			tm_json_uint(out, n->stat.http5xx);
			tm_buf_add_str(out, ",\"throttled\":");
			tm_json_uint(out, n->stat.throttled);
		}
		write_percentiles(out, &n->stat);
		tm_buf_add(out, "}", 1);
	}
	tm_buf_add_str(out, "],\"edges\":[");
	for (size_t i = 0; i < m->n_edges; i++) {
		const struct tm_smap_edge *e = &m->edges[i];
		if (i)
			tm_buf_add(out, ",", 1);
		tm_buf_add_str(out, "{\"source\":");
		tm_json_tstr(out, &m->nodes[e->source].id);
		tm_buf_add_str(out, ",\"target\":");
		tm_json_tstr(out, &m->nodes[e->target].id);
		tm_buf_add_str(out, ",\"calls\":");
		tm_json_uint(out, e->stat.calls);
		tm_buf_add_str(out, ",\"errors\":");
		tm_json_uint(out, e->stat.errors);
		write_percentiles(out, &e->stat);
		tm_buf_add(out, "}", 1);
	}
	tm_buf_add_str(out, "],\"start\":");
	tm_json_uint(out, m->start_ns / 1000);
	tm_buf_add_str(out, ",\"end\":");
	tm_json_uint(out, m->end_ns / 1000);
	tm_buf_add(out, "}", 1);
}

static enum MHD_Result servicemap(struct http_request *r, struct tm_store_reader *rd)
{
	char err[API_ERR_LEN];
	struct tm_smap_query q = { 0 };
	if (parse_window(r, DEFAULT_MAP_WINDOW_US, &q.start_ns, &q.end_ns, err, sizeof(err)) < 0)
		return json_error(r, 400, err);
	const char *level = api_arg(r, "level"), *focus = api_arg(r, "focus");
	const char *hops = api_arg(r, "hops");
	if (level && *level && strcmp(level, "service") && strcmp(level, "operation"))
		return json_error(r, 400, "invalid value for parameter 'level': expected "
					  "service or operation");
	q.operation_level = level && !strcmp(level, "operation");
	q.focus = tm_str_from(focus);
	q.hops = 1;
	int64_t h;
	if (hops && *hops) {
		if (tm_qp_int("hops", hops, 0, MAX_HOPS, &h, err, sizeof(err)) < 0)
			return json_error(r, 400, err);
		q.hops = (unsigned)h;
	}
	/* the JSON wants percentiles, not every node's and edge's histogram */
	struct tm_smap_query_opts opts = { .percentiles_only = 1,
					   .cache = tm_smap_cache_of(r->http->smap) };
	struct tm_smap_map m;
	int rc = tm_smap_query_with(rd, &q, &opts, &r->arena, &m);
	if (rc)
		return store_error(r, rc);
	struct tm_buf out;
	tm_buf_init(&out);
	write_map(&out, &m);
	return http_respond_buf(r, 200, API_JSON, &out);
}

/*---- dependency links ----*/

static int parse_ms(struct http_request *r, const char *name, int64_t dflt, int64_t *out,
		    char *err, size_t errlen)
{
	const char *v = api_arg(r, name);
	*out = dflt;
	return v && *v ? tm_qp_int(name, v, 1, INT64_MAX / 1000000, out, err, errlen) : 0;
}

/* Jaeger's envelope, or Zipkin's bare array with errorCount */
static enum MHD_Result dependencies(struct http_request *r, struct tm_store_reader *rd,
				    int zipkin)
{
	char err[API_ERR_LEN];
	int64_t end_ms, lookback;
	if (parse_ms(r, "endTs", (int64_t)(api_now_ns() / 1000000), &end_ms, err, sizeof(err)) < 0 ||
	    parse_ms(r, "lookback", DEFAULT_LOOKBACK_MS, &lookback, err, sizeof(err)) < 0)
		return zipkin ? http_respond_text(r, 400, "text/plain; charset=utf-8", err)
			      : json_error(r, 400, err);
	struct tm_smap_query q = { 0 };
	q.end_ns = api_us_to_ns_hi((uint64_t)end_ms * 1000);
	q.start_ns = end_ms > lookback ? (uint64_t)(end_ms - lookback) * 1000000 : 0;
	struct tm_smap_query_opts opts = { .percentiles_only = 1,
					   .cache = tm_smap_cache_of(r->http->smap) };
	struct tm_smap_map m;
	int rc = tm_smap_query_with(rd, &q, &opts, &r->arena, &m);
	if (rc)
		return store_error(r, rc);
	const char *service = api_arg(r, "service");
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add_str(&out, zipkin ? "[" : "{\"data\":[");
	size_t n = 0;
	for (size_t i = 0; i < m.n_edges; i++) {
		const struct tm_smap_edge *e = &m.edges[i];
		const struct tm_smap_node *src = &m.nodes[e->source], *dst = &m.nodes[e->target];
		if (src->kind == TM_SMAP_USER)
			continue;
		if (service && *service && !tm_str_eq(src->id, tm_str_from(service)) &&
		    !tm_str_eq(dst->id, tm_str_from(service)))
			continue;
		if (n++)
			tm_buf_add(&out, ",", 1);
		tm_buf_add_str(&out, "{\"parent\":");
		tm_json_tstr(&out, &src->id);
		tm_buf_add_str(&out, ",\"child\":");
		tm_json_tstr(&out, &dst->id);
		tm_buf_add_str(&out, ",\"callCount\":");
		tm_json_uint(&out, e->stat.calls);
		if (zipkin && e->stat.errors) {
			tm_buf_add_str(&out, ",\"errorCount\":");
			tm_json_uint(&out, e->stat.errors);
		}
		tm_buf_add(&out, "}", 1);
	}
	if (zipkin) {
		tm_buf_add(&out, "]", 1);
	} else {
		/* total counts only on the name endpoints (protocols.md 4.1) */
		tm_buf_add_str(&out, "],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}");
	}
	return http_respond_buf(r, 200, API_JSON, &out);
}

enum MHD_Result api_dependencies(struct http_request *r, int zipkin)
{
	struct tm_store_reader *rd;
	int rc = tm_store_reader_begin(r->http->store, &rd);
	if (rc)
		return store_error(r, rc);
	enum MHD_Result ret = dependencies(r, rd, zipkin);
	tm_store_reader_end(rd);
	return ret;
}

/*---- bottlenecks ----*/

static void write_bottlenecks(struct tm_buf *out, const struct tm_bottlenecks *b)
{
	tm_buf_add_str(out, "{\"slowThreshold\":");
	tm_json_uint(out, b->slow_threshold_ns / 1000);
	tm_buf_add_str(out, ",\"slowTraces\":");
	tm_json_uint(out, b->slow_traces);
	tm_buf_add_str(out, ",\"typicalTraces\":");
	tm_json_uint(out, b->typical_traces);
	tm_buf_add_str(out, ",\"data\":[");
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct tm_bottleneck_row *row = &b->rows[i];
		if (i)
			tm_buf_add(out, ",", 1);
		tm_buf_add_str(out, "{\"service\":");
		tm_json_tstr(out, &row->service);
		tm_buf_add_str(out, ",\"operation\":");
		tm_json_tstr(out, &row->operation);
		tm_buf_add_str(out, ",\"slowMean\":");
		tm_json_double(out, row->slow_mean_ns / 1000);
		tm_buf_add_str(out, ",\"typicalMean\":");
		tm_json_double(out, row->typical_mean_ns / 1000);
		tm_buf_add_str(out, ",\"excess\":");
		tm_json_double(out, row->excess_ns / 1000);
		tm_buf_add_str(out, ",\"share\":");
		tm_json_double(out, row->share);
		tm_buf_add_str(out, ",\"examples\":[");
		for (size_t k = 0; k < row->n_examples; k++) {
			if (k)
				tm_buf_add(out, ",", 1);
			tm_json_hex(out, row->examples[k], TM_TRACE_ID_LEN);
		}
		tm_buf_add_str(out, "]}");
	}
	tm_buf_add_str(out, "]}");
}

static enum MHD_Result bottlenecks(struct http_request *r, struct tm_store_reader *rd)
{
	char err[API_ERR_LEN];
	struct tm_bottleneck_query q = { 0 };
	const char *service = api_arg(r, "service"), *threshold = api_arg(r, "threshold");
	if (!service || !*service)
		return json_error(r, 400, "parameter 'service' is required");
	if (parse_window(r, DEFAULT_BOTTLENECK_WINDOW_US, &q.start_ns, &q.end_ns, err,
			 sizeof(err)) < 0)
		return json_error(r, 400, err);
	int64_t t;
	if (threshold && *threshold) {
		if (tm_qp_int("threshold", threshold, 1, INT64_MAX / 1000, &t, err, sizeof(err)) < 0)
			return json_error(r, 400, err);
		q.threshold_ns = (uint64_t)t * 1000;
	}
	q.service = tm_str_from(service);
	q.operation = tm_str_from(api_arg(r, "operation"));
	struct tm_bottlenecks b;
	int rc = tm_smap_bottlenecks(rd, &q, &r->arena, &b);
	if (rc == -ESRCH) {
		snprintf(err, sizeof(err), "invalid value for parameter 'service': unknown service "
			 "'%.100s' (no spans from it were received)", service);
		return json_error(r, 400, err);
	}
	if (rc)
		return store_error(r, rc);
	struct tm_buf out;
	tm_buf_init(&out);
	write_bottlenecks(&out, &b);
	return http_respond_buf(r, 200, API_JSON, &out);
}

enum MHD_Result api_servicemap(struct http_request *r, const char *method)
{
	if (!api_method_ok(method)) {
		r->allow = "GET, HEAD";
		return json_error(r, 405, "method not allowed, supported: GET");
	}
	if (!strcmp(r->path, "/api/dependencies"))
		return api_dependencies(r, 0);
	struct tm_store_reader *rd;
	int rc = tm_store_reader_begin(r->http->store, &rd);
	if (rc)
		return store_error(r, rc);
	enum MHD_Result ret = !strcmp(r->path, "/api/bottlenecks") ? bottlenecks(r, rd)
								   : servicemap(r, rd);
	tm_store_reader_end(rd);
	return ret;
}
