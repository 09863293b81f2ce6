/* api_slow.c - GET /api/slow-traces: whole traces, slowest first. */
#define LOG_MODULE "api"
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "query_params.h"

#define SLOW_DEFAULT_LIMIT 20
#define SLOW_MAX_LIMIT 10000
#define SLOW_DEFAULT_WINDOW_US (3600ull * 1000000)

static enum MHD_Result slow_error(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add_str(&out, "{\"error\":");
	tm_json_cstr(&out, msg);
	tm_buf_add(&out, "}", 1);
	return http_respond_buf(r, status, API_JSON, &out);
}

static int parse(struct http_request *r, struct tm_slow_query *q, char *err, size_t errlen)
{
	int64_t v, limit = SLOW_DEFAULT_LIMIT;
	uint64_t end_us = api_now_ns() / 1000, start_us;
	const char *end = api_arg(r, "end"), *start = api_arg(r, "start");
	const char *lim = api_arg(r, "limit");
	memset(q, 0, sizeof(*q));
	if (end && *end) {
		if (tm_qp_int("end", end, 0, INT64_MAX / 1000, &v, err, errlen) < 0)
			return -1;
		end_us = (uint64_t)v;
	}
	start_us = end_us > SLOW_DEFAULT_WINDOW_US ? end_us - SLOW_DEFAULT_WINDOW_US : 0;
	if (start && *start) {
		if (tm_qp_int("start", start, 0, INT64_MAX / 1000, &v, err, errlen) < 0)
			return -1;
		start_us = (uint64_t)v;
	}
	if (end_us < start_us) {
		snprintf(err, errlen, "invalid parameters 'start' and 'end': end is before start");
		return -1;
	}
	if (lim && *lim && tm_qp_int("limit", lim, 1, SLOW_MAX_LIMIT, &limit, err, errlen) < 0)
		return -1;
	q->service = tm_str_from(api_arg(r, "service"));
	q->operation = tm_str_from(api_arg(r, "operation"));
	q->start_ns = api_us_to_ns_lo(start_us);
	q->end_ns = api_us_to_ns_hi(end_us);
	q->limit = (size_t)limit;
	return 0;
}

static void write_info(struct tm_buf *out, const struct tm_trace_info *t)
{
	tm_buf_add_str(out, "{\"traceID\":");
	tm_json_hex(out, t->trace_id, TM_TRACE_ID_LEN);
	tm_buf_add_str(out, ",\"rootService\":");
	tm_json_tstr(out, &t->root_service);
	tm_buf_add_str(out, ",\"rootOperation\":");
	tm_json_tstr(out, &t->root_operation);
	tm_buf_add_str(out, ",\"startTime\":");
	tm_json_uint(out, t->start_ns / 1000);
	tm_buf_add_str(out, ",\"duration\":");
	tm_json_uint(out, (t->end_ns - t->start_ns) / 1000);
	tm_buf_add_str(out, ",\"spanCount\":");
	tm_json_uint(out, t->n_spans);
	tm_buf_add_str(out, ",\"errorCount\":");
	tm_json_uint(out, t->n_errors);
	tm_buf_add_str(out, ",\"services\":[");
	for (size_t i = 0; i < t->n_services; i++) {
		if (i)
			tm_buf_add(out, ",", 1);
		tm_json_tstr(out, &t->services[i]);
	}
	tm_buf_add_str(out, "]}");
}

enum MHD_Result api_slow(struct http_request *r, const char *method)
{
	if (!api_method_ok(method)) {
		r->allow = "GET, HEAD";
		return slow_error(r, 405, "method not allowed, supported: GET");
	}
	struct tm_slow_query q;
	char err[API_ERR_LEN];
	if (parse(r, &q, err, sizeof(err)) < 0)
		return slow_error(r, 400, err);
	struct tm_store_reader *rd;
	struct tm_slow_result res;
	int rc = tm_store_reader_begin(r->http->store, &rd);
	if (!rc)
		rc = tm_slow_traces_live(rd, r->http->smap, &q, &r->arena, &res);
	if (rc == -ESRCH) {
		tm_store_reader_end(rd);
		snprintf(err, sizeof(err), "invalid value for parameter 'service': unknown service "
			 "'%.100s' (no spans from it were received)", q.service.ptr);
		return slow_error(r, 400, err);
	}
	if (rc) {
		tm_store_reader_end(rd);
		LOG(TM_LOG_ERROR, "slow traces: %s", tm_store_strerror(rc));
		return slow_error(r, 500, tm_store_strerror(rc));
	}
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add_str(&out, "{\"data\":[");
	for (size_t i = 0; i < res.n; i++) {
		if (i)
			tm_buf_add(&out, ",", 1);
		write_info(&out, &res.items[i]);
	}
	tm_buf_add_str(&out, "],\"total\":");
	tm_json_uint(&out, res.total);
	tm_buf_add_str(&out, ",\"limit\":");
	tm_json_uint(&out, q.limit);
	tm_buf_add(&out, "}", 1);
	tm_store_reader_end(rd);
	return http_respond_buf(r, 200, API_JSON, &out);
}
