/* api_zipkin.c - the Zipkin v2 query API (protocols.md 3.4, docs/query.md). */
#define LOG_MODULE "api"
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "query_params.h"
#include "zipkin_json.h"

#define ZIPKIN_TEXT "text/plain; charset=utf-8"
#define ZIPKIN_DEFAULT_LIMIT 10
#define ZIPKIN_MAX_LIMIT 1500
#define ZIPKIN_DEFAULT_LOOKBACK_MS 86400000ll
#define ZIPKIN_MAX_TRACE_MANY 1000

static enum MHD_Result text_error(struct http_request *r, unsigned status, const char *msg)
{
	return http_respond_text(r, status, ZIPKIN_TEXT, msg);
}

static enum MHD_Result store_error(struct http_request *r, int rc)
{
	LOG(TM_LOG_ERROR, "query %s: %s", r->path, tm_store_strerror(rc));
	return text_error(r, 500, tm_store_strerror(rc));
}

/* Zipkin lets clients cache the name lists once more than 3 services exist */
static void name_list_caching(struct http_request *r, struct tm_store_reader *rd)
{
	struct tm_name *all;
	size_t n;
	if (!tm_store_services(rd, &r->arena, &all, &n) && n > 3)
		r->cache_control = "max-age=300, must-revalidate";
}

static enum MHD_Result answer_strings(struct http_request *r, const struct tm_name *names,
				      size_t n)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add(&out, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			tm_buf_add(&out, ",", 1);
		tm_json_tstr(&out, &names[i].name);
	}
	tm_buf_add(&out, "]", 1);
	return http_respond_buf(r, 200, API_JSON, &out);
}

static enum MHD_Result services(struct http_request *r, struct tm_store_reader *rd)
{
	struct tm_name *names;
	size_t n;
	int rc = tm_store_services(rd, &r->arena, &names, &n);
	if (rc)
		return store_error(r, rc);
	if (n > 3)
		r->cache_control = "max-age=300, must-revalidate";
	return answer_strings(r, names, api_unique_names(names, n));
}

/* /api/v2/spans and /api/v2/remoteServices: names seen from one service */
static enum MHD_Result names_of_service(struct http_request *r, struct tm_store_reader *rd,
					int remote)
{
	const char *service = api_arg(r, "serviceName");
	if (!service || !*service)
		return text_error(r, 400, "serviceName is required");
	uint32_t svc;
	struct tm_name *names = NULL;
	size_t n = 0;
	int rc = tm_store_service_id(rd, tm_str_from(service), &svc);
	if (!rc)
		rc = remote ? tm_store_remote_services(rd, svc, &r->arena, &names, &n)
			    : tm_store_operations(rd, svc, &r->arena, &names, &n);
	if (rc && rc != -ENOENT)
		return store_error(r, rc);
	name_list_caching(r, rd);
	return answer_strings(r, names, rc ? 0 : api_unique_names(names, n));
}

static enum MHD_Result autocomplete_keys(struct http_request *r)
{
	const char *const *keys;
	size_t n = tm_batch_value_keys(&keys);
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add(&out, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			tm_buf_add(&out, ",", 1);
		tm_json_cstr(&out, keys[i]);
	}
	tm_buf_add(&out, "]", 1);
	return http_respond_buf(r, 200, API_JSON, &out);
}

static enum MHD_Result autocomplete_values(struct http_request *r, struct tm_store_reader *rd)
{
	const char *key = api_arg(r, "key");
	if (!key || !*key)
		return text_error(r, 400, "key is required");
	struct tm_str *values;
	size_t n;
	int rc = tm_store_values(rd, tm_str_from(key), &r->arena, &values, &n);
	if (rc)
		return store_error(r, rc);
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add(&out, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			tm_buf_add(&out, ",", 1);
		tm_json_tstr(&out, &values[i]);
	}
	tm_buf_add(&out, "]", 1);
	return http_respond_buf(r, 200, API_JSON, &out);
}

/*---- one trace, many traces ----*/

static int parse_id(const char *text, uint8_t id[TM_TRACE_ID_LEN])
{
	size_t len = strlen(text);
	return len >= 1 && len <= 32 ? tm_trace_id_parse(text, len, id) : -1;
}

static enum MHD_Result trace_by_id(struct http_request *r, struct tm_store_reader *rd)
{
	const char *text = r->path + strlen("/api/v2/trace/");
	uint8_t id[TM_TRACE_ID_LEN];
	char msg[160];
	if (parse_id(text, id) < 0) {
		snprintf(msg, sizeof(msg), "invalid trace ID '%.64s': expected 16 or 32 hex digits",
			 text);
		return text_error(r, 400, msg);
	}
	struct tm_trace t;
	int rc = tm_store_reader_trace(rd, id, &r->arena, &t);
	if (rc == -ENOENT) {
		snprintf(msg, sizeof(msg), "%.64s not found", text);
		return text_error(r, 404, msg);
	}
	if (rc)
		return store_error(r, rc);
	struct tm_buf out;
	tm_buf_init(&out);
	tm_zipkin_json_write_spans(&out, &t);
	return http_respond_buf(r, 200, API_JSON, &out);
}

static enum MHD_Result trace_many(struct http_request *r, struct tm_store_reader *rd)
{
	const char *list = api_arg(r, "traceIds");
	if (!list || !*list)
		return text_error(r, 400, "traceIds parameter is empty");
	uint8_t(*ids)[TM_TRACE_ID_LEN] = tm_arena_alloc(&r->arena,
							 ZIPKIN_MAX_TRACE_MANY * TM_TRACE_ID_LEN);
	struct tm_trace *traces = tm_arena_alloc(&r->arena, ZIPKIN_MAX_TRACE_MANY * sizeof(*traces));
	if (!ids || !traces)
		return text_error(r, 500, "out of memory");
	size_t n = 0;
	char msg[200];
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (n == ZIPKIN_MAX_TRACE_MANY)
			return text_error(r, 400, "traceIds: at most 1000 trace IDs");
		if (!len || len > 32 || tm_trace_id_parse(p, len, ids[n]) < 0) {
			snprintf(msg, sizeof(msg), "traceIds: invalid trace ID '%.*s'",
				 (int)(len > 64 ? 64 : len), p);
			return text_error(r, 400, msg);
		}
		for (size_t i = 0; i < n; i++)
			if (!memcmp(ids[i], ids[n], TM_TRACE_ID_LEN)) {
				snprintf(msg, sizeof(msg), "traceIds: redundant trace ID '%.*s'",
					 (int)(len > 64 ? 64 : len), p);
				return text_error(r, 400, msg);
			}
		n++;
		p += len + (comma ? 1 : 0);
	}
	if (n < 2)
		return text_error(r, 400, "traceIds: at least two trace IDs are needed; "
					  "use /api/v2/trace/{traceId} for one");
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = tm_store_reader_trace(rd, ids[i], &r->arena, &traces[found]);
		if (rc && rc != -ENOENT)
			return store_error(r, rc);
		found += !rc;
	}
	struct tm_buf out;
	tm_buf_init(&out);
	tm_zipkin_json_write_traces(&out, traces, found);
	return http_respond_buf(r, 200, API_JSON, &out);
}

/*---- search ----*/

static int int_arg(struct http_request *r, const char *name, int64_t min, int64_t max,
		   int64_t *out, char *err, size_t errlen)
{
	const char *v = api_arg(r, name);
	if (!v || !*v)
		return 0;
	return tm_qp_int(name, v, min, max, out, err, errlen);
}

static int parse_search(struct http_request *r, struct tm_search_query *q, char *err,
			size_t errlen)
{
	int64_t end_ms = (int64_t)(api_now_ns() / 1000000), lookback = ZIPKIN_DEFAULT_LOOKBACK_MS;
	int64_t limit = ZIPKIN_DEFAULT_LIMIT, min_d = 0, max_d = -1;
	memset(q, 0, sizeof(*q));
	q->dialect = TM_SEARCH_ZIPKIN;
	if (int_arg(r, "endTs", 1, INT64_MAX / 1000000, &end_ms, err, errlen) < 0 ||
	    int_arg(r, "lookback", 1, INT64_MAX / 1000000, &lookback, err, errlen) < 0 ||
	    int_arg(r, "limit", 1, ZIPKIN_MAX_LIMIT, &limit, err, errlen) < 0 ||
	    int_arg(r, "minDuration", 1, INT64_MAX / 1000, &min_d, err, errlen) < 0 ||
	    int_arg(r, "maxDuration", 1, INT64_MAX / 1000, &max_d, err, errlen) < 0)
		return -1;
	if (max_d >= 0 && !min_d) {
		snprintf(err, errlen, "maxDuration is only valid with minDuration");
		return -1;
	}
	if (max_d >= 0 && max_d < min_d) {
		snprintf(err, errlen, "maxDuration should be >= minDuration");
		return -1;
	}
	q->min_duration_ns = (uint64_t)min_d * 1000;
	q->max_duration_ns = max_d >= 0 ? (uint64_t)max_d * 1000 + 999 : UINT64_MAX;
	int64_t start_ms = end_ms > lookback ? end_ms - lookback : 0;
	q->start_ns = api_us_to_ns_lo((uint64_t)start_ms * 1000);
	q->end_ns = api_us_to_ns_hi((uint64_t)end_ms * 1000);
	q->limit = (size_t)limit;
	const char *svc = api_arg(r, "serviceName"), *remote = api_arg(r, "remoteServiceName");
	const char *name = api_arg(r, "spanName"), *aq = api_arg(r, "annotationQuery");
	q->service = tm_str_from(svc);
	q->remote_service = tm_str_from(remote);
	q->operation = tm_str_from(name && strcmp(name, "all") ? name : "");
	struct tm_qp_pairs terms = { 0 };
	if (aq && *aq &&
	    tm_qp_annotation_query("annotationQuery", aq, &r->arena, &terms, err, errlen) < 0)
		return -1;
	struct tm_search_tag *t = tm_arena_alloc(&r->arena, (terms.n + 1) * sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < terms.n; i++)
		t[i] = (struct tm_search_tag){ terms.items[i].key, terms.items[i].value,
					       !terms.items[i].value.len };
	q->tags = t;
	q->n_tags = terms.n;
	return 0;
}

static enum MHD_Result search(struct http_request *r, struct tm_store_reader *rd)
{
	struct tm_search_query q;
	char err[API_ERR_LEN];
	if (parse_search(r, &q, err, sizeof(err)) < 0)
		return text_error(r, 400, err);
	struct tm_search_result res;
	int rc = tm_search(rd, &q, &r->arena, &res);
	if (rc == -ESRCH) {
		snprintf(err, sizeof(err), "serviceName: unknown service '%.100s' (no spans from "
			 "it were received)", q.service.ptr);
		return text_error(r, 400, err);
	}
	if (rc)
		return store_error(r, rc);
	struct tm_buf out;
	tm_buf_init(&out);
	tm_zipkin_json_write_traces(&out, res.traces, res.n);
	return http_respond_buf(r, 200, API_JSON, &out);
}

enum MHD_Result api_zipkin(struct http_request *r, const char *method)
{
	if (!api_method_ok(method)) {
		r->allow = "GET, HEAD";
		return text_error(r, 405, "method not allowed");
	}
	const char *p = r->path + strlen("/api/v2");
	if (!strcmp(p, "/autocompleteKeys"))
		return autocomplete_keys(r);
	if (!strcmp(p, "/dependencies"))
		return api_dependencies(r, 1);
	struct tm_store_reader *rd;
	int rc = tm_store_reader_begin(r->http->store, &rd);
	if (rc)
		return store_error(r, rc);
	enum MHD_Result ret;
	if (!strcmp(p, "/services"))
		ret = services(r, rd);
	else if (!strcmp(p, "/spans"))
		ret = names_of_service(r, rd, 0);
	else if (!strcmp(p, "/remoteServices"))
		ret = names_of_service(r, rd, 1);
	else if (!strcmp(p, "/traces"))
		ret = search(r, rd);
	else if (!strncmp(p, "/trace/", 7))
		ret = trace_by_id(r, rd);
	else if (!strcmp(p, "/traceMany"))
		ret = trace_many(r, rd);
	else if (!strcmp(p, "/autocompleteValues"))
		ret = autocomplete_values(r, rd);
	else
		ret = text_error(r, 404, "no such path");
	tm_store_reader_end(rd);
	return ret;
}
