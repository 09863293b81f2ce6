/* api_jaeger.c - the Jaeger query API: names, search, and the /api/v3 forms
 * Grafana can switch to (protocols.md 4, docs/query.md). */
#define LOG_MODULE "api"
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "query_params.h"
#include "span_match.h"
#include "trace_json.h"

#define JAEGER_DEFAULT_LIMIT 100
#define JAEGER_MAX_LIMIT 1500
#define JAEGER_DEFAULT_LOOKBACK_US (48ull * 3600 * 1000000)

struct jaeger_req {
	struct http_request *r;
	int v3;
	char err[API_ERR_LEN];
};

static enum MHD_Result answer_error(struct jaeger_req *j, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	if (j->v3)
		tm_otlpjson_write_error(&out, (int)status, msg);
	else
		tm_jaeger_write_error(&out, (int)status, msg);
	return http_respond_buf(j->r, status, API_JSON, &out);
}

static enum MHD_Result store_error(struct jaeger_req *j, int rc)
{
	LOG(TM_LOG_ERROR, "query %s: %s", j->r->path, tm_store_strerror(rc));
	return answer_error(j, 500, tm_store_strerror(rc));
}

/* {"data":[names],"total":n,...} or {"services":[...]} */
static enum MHD_Result answer_names(struct jaeger_req *j, const char *v3_key,
				    const struct tm_name *names, size_t n)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add_str(&out, j->v3 ? "{\"" : "{\"data\":[");
	if (j->v3) {
		tm_buf_add_str(&out, v3_key);
		tm_buf_add_str(&out, "\":[");
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			tm_buf_add(&out, ",", 1);
		tm_json_tstr(&out, &names[i].name);
	}
	if (j->v3) {
		tm_buf_add_str(&out, "]}");
	} else {
		tm_buf_add_str(&out, "],\"total\":");
		tm_json_uint(&out, n);
		tm_buf_add_str(&out, ",\"limit\":0,\"offset\":0,\"errors\":null}");
	}
	return http_respond_buf(j->r, 200, API_JSON, &out);
}

static enum MHD_Result services(struct jaeger_req *j, struct tm_store_reader *rd)
{
	struct tm_name *names;
	size_t n;
	int rc = tm_store_services(rd, &j->r->arena, &names, &n);
	if (rc)
		return store_error(j, rc);
	n = api_unique_names(names, n);
	return answer_names(j, "services", names, n);
}

static int operations_of(struct tm_store_reader *rd, struct http_request *r,
			 struct tm_str service, struct tm_name **ops, size_t *n)
{
	uint32_t svc;
	*n = 0;
	int rc = tm_store_service_id(rd, service, &svc);
	if (rc == -ENOENT)
		return 0;
	return rc ? rc : tm_store_operations(rd, svc, &r->arena, ops, n);
}

/* /api/services/{service}/operations: the distinct names */
static enum MHD_Result service_operations(struct jaeger_req *j, struct tm_store_reader *rd)
{
	const char *p = j->r->path + strlen("/api/services/");
	const char *end = strstr(p, "/operations");
	struct tm_name *ops = NULL;
	size_t n;
	int rc = operations_of(rd, j->r, (struct tm_str){ p, (size_t)(end - p) }, &ops, &n);
	if (rc)
		return store_error(j, rc);
	n = api_unique_names(ops, n);
	return answer_names(j, "operations", ops, n);
}

static int kind_from_text(const char *text, int *kind)
{
	static const char *const names[] = { "internal", "server", "client", "producer",
					     "consumer" };
	*kind = -1;
	if (!text || !*text)
		return 0;
	for (int i = 0; i < 5; i++)
		if (!strcmp(text, names[i])) {
			*kind = i + 1;
			return 0;
		}
	return -1;
}

static int by_name_then_kind_text(const void *a, const void *b)
{
	const struct tm_name *x = a, *y = b;
	size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
	int c = n ? memcmp(x->name.ptr, y->name.ptr, n) : 0;
	if (!c)
		c = (x->name.len > y->name.len) - (x->name.len < y->name.len);
	return c ? c : strcmp(tm_span_kind_name(x->kind), tm_span_kind_name(y->kind));
}

/* /api/operations and /api/v3/operations: name and kind pairs */
static enum MHD_Result operations(struct jaeger_req *j, struct tm_store_reader *rd)
{
	static const char *const service_names[] = { "service", NULL };
	static const char *const kind_names[] = { "spanKind", "span_kind", NULL };
	const char *service = api_arg_any(j->r, service_names);
	if (!service || !*service)
		return answer_error(j, 400, "parameter 'service' is required");
	int kind;
	if (kind_from_text(api_arg_any(j->r, kind_names), &kind) < 0)
		return answer_error(j, 400, "invalid value for parameter 'spanKind': expected "
					    "server, client, producer, consumer or internal");
	struct tm_name *ops = NULL;
	size_t n;
	int rc = operations_of(rd, j->r, tm_str_from(service), &ops, &n);
	if (rc)
		return store_error(j, rc);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (kind < 0 || ops[i].kind == kind)
			ops[kept++] = ops[i];
	/* sorted by name then kind; equal pairs (kind values over 5) once */
	n = kept;
	if (n > 1)
		qsort(ops, n, sizeof(*ops), by_name_then_kind_text);
	struct tm_buf out;
	tm_buf_init(&out);
	tm_buf_add_str(&out, j->v3 ? "{\"operations\":[" : "{\"data\":[");
	size_t written = 0;
	for (size_t i = 0; i < n; i++) {
		const char *kname = tm_span_kind_name(ops[i].kind);
		if (i && tm_str_eq(ops[i].name, ops[i - 1].name) &&
		    !strcmp(kname, tm_span_kind_name(ops[i - 1].kind)))
			continue;
		if (written++)
			tm_buf_add(&out, ",", 1);
		tm_buf_add_str(&out, "{\"name\":");
		tm_json_tstr(&out, &ops[i].name);
		tm_buf_add_str(&out, ",\"spanKind\":");
		tm_json_cstr(&out, j->v3 && !*kname ? "internal" : kname);
		tm_buf_add(&out, "}", 1);
	}
	if (j->v3) {
		tm_buf_add_str(&out, "]}");
	} else {
		tm_buf_add_str(&out, "],\"total\":");
		tm_json_uint(&out, written);
		tm_buf_add_str(&out, ",\"limit\":0,\"offset\":0,\"errors\":null}");
	}
	return http_respond_buf(j->r, 200, API_JSON, &out);
}

/*---- search ----*/

struct tag_ctx {
	struct jaeger_req *j;
	struct tm_qp_pairs *tags;
	int failed;
};

static enum MHD_Result add_tag_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct tag_ctx *c = cls;
	(void)kind;
	if (c->failed || strcmp(key, "tag"))
		return MHD_YES;
	if (tm_qp_tag_pair("tag", value ? value : "", &c->j->r->arena, c->tags, c->j->err,
			   sizeof(c->j->err)) < 0)
		c->failed = 1;
	return MHD_YES;
}

static int parse_duration_arg(struct jaeger_req *j, const char *const *names, const char *label,
			      uint64_t *out)
{
	const char *v = api_arg_any(j->r, names);
	int64_t ns;
	if (!v || !*v)
		return 0;
	if (tm_qp_duration(label, v, &ns, j->err, sizeof(j->err)) < 0)
		return -1;
	if (ns < 0) {
		snprintf(j->err, sizeof(j->err),
			 "invalid value for parameter '%s': %.60s is negative", label, v);
		return -1;
	}
	*out = (uint64_t)ns;
	return 0;
}

/* the legacy tag=k:v pairs first, so that on a repeated key the `tags` JSON
 * (added later, and the later one wins) takes precedence, as in Jaeger */
static int parse_tags(struct jaeger_req *j, struct tm_qp_pairs *tags)
{
	static const char *const v3_names[] = { "query.attributes", NULL };
	if (!j->v3) {
		struct tag_ctx c = { j, tags, 0 };
		MHD_get_connection_values(j->r->conn, MHD_GET_ARGUMENT_KIND, add_tag_arg, &c);
		if (c.failed)
			return -1;
	}
	const char *json = j->v3 ? api_arg_any(j->r, v3_names) : api_arg(j->r, "tags");
	if (json && *json &&
	    tm_qp_tags_json(j->v3 ? "query.attributes" : "tags", json, &j->r->arena, tags,
			    j->err, sizeof(j->err)) < 0)
		return -1;
	return 0;
}

static int parse_window_classic(struct jaeger_req *j, struct tm_search_query *q)
{
	int64_t v;
	uint64_t now_us = api_now_ns() / 1000, end_us = now_us, start_us;
	const char *end = api_arg(j->r, "end"), *start = api_arg(j->r, "start");
	if (end && *end) {
		if (tm_qp_int("end", end, 0, INT64_MAX, &v, j->err, sizeof(j->err)) < 0)
			return -1;
		end_us = (uint64_t)v;
	}
	start_us = end_us > JAEGER_DEFAULT_LOOKBACK_US ? end_us - JAEGER_DEFAULT_LOOKBACK_US : 0;
	if (start && *start) {
		if (tm_qp_int("start", start, 0, INT64_MAX, &v, j->err, sizeof(j->err)) < 0)
			return -1;
		start_us = (uint64_t)v;
	}
	if (end_us < start_us) {
		snprintf(j->err, sizeof(j->err),
			 "invalid parameters 'start' and 'end': end (%llu) is before start (%llu)",
			 (unsigned long long)end_us, (unsigned long long)start_us);
		return -1;
	}
	q->start_ns = api_us_to_ns_lo(start_us);
	q->end_ns = api_us_to_ns_hi(end_us);
	return 0;
}

static int parse_window_v3(struct jaeger_req *j, struct tm_search_query *q)
{
	static const char *const min_names[] = { "query.start_time_min", "query.startTimeMin", NULL };
	static const char *const max_names[] = { "query.start_time_max", "query.startTimeMax", NULL };
	const char *min = api_arg_any(j->r, min_names), *max = api_arg_any(j->r, max_names);
	if (!min || !*min || !max || !*max) {
		snprintf(j->err, sizeof(j->err), "parameter '%s' is required",
			 !min || !*min ? "query.start_time_min" : "query.start_time_max");
		return -1;
	}
	if (tm_qp_rfc3339("query.start_time_min", min, &q->start_ns, j->err, sizeof(j->err)) < 0 ||
	    tm_qp_rfc3339("query.start_time_max", max, &q->end_ns, j->err, sizeof(j->err)) < 0)
		return -1;
	if (q->end_ns < q->start_ns) {
		snprintf(j->err, sizeof(j->err), "invalid parameters 'query.start_time_min' and "
			 "'query.start_time_max': the maximum is before the minimum");
		return -1;
	}
	return 0;
}

static int parse_limit(struct jaeger_req *j, struct tm_search_query *q)
{
	static const char *const v3_names[] = { "query.search_depth", "query.searchDepth",
						"query.num_traces", "query.numTraces", NULL };
	const char *label = j->v3 ? "query.search_depth" : "limit";
	const char *v = j->v3 ? api_arg_any(j->r, v3_names) : api_arg(j->r, "limit");
	int64_t n = JAEGER_DEFAULT_LIMIT;
	if (v && *v && tm_qp_int(label, v, 1, JAEGER_MAX_LIMIT, &n, j->err, sizeof(j->err)) < 0)
		return -1;
	q->limit = (size_t)n;
	return 0;
}

static int parse_search(struct jaeger_req *j, struct tm_search_query *q, struct tm_qp_pairs *tags)
{
	static const char *const svc_v3[] = { "query.service_name", "query.serviceName", NULL };
	static const char *const op_v3[] = { "query.operation_name", "query.operationName", NULL };
	static const char *const min_v3[] = { "query.duration_min", "query.durationMin", NULL };
	static const char *const max_v3[] = { "query.duration_max", "query.durationMax", NULL };
	static const char *const min_c[] = { "minDuration", NULL };
	static const char *const max_c[] = { "maxDuration", NULL };
	memset(q, 0, sizeof(*q));
	q->dialect = TM_SEARCH_JAEGER;
	q->max_duration_ns = UINT64_MAX;
	const char *service = j->v3 ? api_arg_any(j->r, svc_v3) : api_arg(j->r, "service");
	const char *op = j->v3 ? api_arg_any(j->r, op_v3) : api_arg(j->r, "operation");
	if (!service || !*service) {
		snprintf(j->err, sizeof(j->err), "parameter '%s' is required",
			 j->v3 ? "query.service_name" : "service");
		return -1;
	}
	q->service = tm_str_from(service);
	q->operation = tm_str_from(op && strcmp(op, "all") ? op : "");
	const char *min_label = j->v3 ? "query.duration_min" : "minDuration";
	const char *max_label = j->v3 ? "query.duration_max" : "maxDuration";
	if (parse_duration_arg(j, j->v3 ? min_v3 : min_c, min_label, &q->min_duration_ns) < 0 ||
	    parse_duration_arg(j, j->v3 ? max_v3 : max_c, max_label, &q->max_duration_ns) < 0)
		return -1;
	if (q->max_duration_ns < q->min_duration_ns) {
		snprintf(j->err, sizeof(j->err), "invalid parameter '%s': it is less than '%s'",
			 max_label, min_label);
		return -1;
	}
	if (parse_tags(j, tags) < 0 || parse_limit(j, q) < 0)
		return -1;
	if ((j->v3 ? parse_window_v3(j, q) : parse_window_classic(j, q)) < 0)
		return -1;
	struct tm_search_tag *t = tm_arena_alloc(&j->r->arena, (tags->n + 1) * sizeof(*t));
	if (!t) {
		snprintf(j->err, sizeof(j->err), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < tags->n; i++)
		t[i] = (struct tm_search_tag){ tags->items[i].key, tags->items[i].value, 0 };
	q->tags = t;
	q->n_tags = tags->n;
	return 0;
}

/* traceID=... (repeatable): those traces, other filters ignored */
struct id_ctx {
	struct tm_store_reader *rd;
	struct http_request *r;
	struct tm_trace *traces;
	size_t n, cap;
	struct tm_buf missing;   /* error entries for traces not found */
	int bad, rc;
};

static enum MHD_Result add_trace_id(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct id_ctx *c = cls;
	(void)kind;
	if (strcmp(key, "traceID") || c->rc || c->n == c->cap)
		return MHD_YES;
	uint8_t id[TM_TRACE_ID_LEN];
	if (!value || tm_trace_id_parse(value, strlen(value), id) < 0) {
		c->bad = 1;
		return MHD_YES;
	}
	int rc = tm_store_reader_trace(c->rd, id, &c->r->arena, &c->traces[c->n]);
	if (rc == -ENOENT) {
		tm_buf_add_str(&c->missing, c->missing.len ? ",{\"msg\":\"trace not found\",\"traceID\":"
							   : "{\"msg\":\"trace not found\",\"traceID\":");
		tm_json_cstr(&c->missing, value);
		tm_buf_add(&c->missing, "}", 1);
	} else if (rc) {
		c->rc = rc;
	} else {
		c->n++;
	}
	return MHD_YES;
}

static enum MHD_Result traces_by_id(struct jaeger_req *j, struct tm_store_reader *rd)
{
	struct id_ctx c = { .rd = rd, .r = j->r, .cap = JAEGER_MAX_LIMIT };
	c.traces = tm_arena_alloc(&j->r->arena, c.cap * sizeof(*c.traces));
	if (!c.traces)
		return answer_error(j, 500, "out of memory");
	tm_buf_init(&c.missing);
	MHD_get_connection_values(j->r->conn, MHD_GET_ARGUMENT_KIND, add_trace_id, &c);
	if (c.bad || c.rc) {
		tm_buf_free(&c.missing);
		return c.rc ? store_error(j, c.rc)
			    : answer_error(j, 400, "invalid value for parameter 'traceID': expected "
						   "1 to 32 hexadecimal digits");
	}
	struct tm_buf out;
	tm_buf_init(&out);
	tm_jaeger_write_traces(&out, c.traces, c.n);
	if (c.missing.len && out.len > 13 && !out.failed) {
		/* replace the trailing "errors":null} with the list */
		out.len -= strlen("null}");
		tm_buf_add(&out, "[", 1);
		tm_buf_add(&out, c.missing.data, c.missing.len);
		tm_buf_add_str(&out, "]}");
	}
	tm_buf_free(&c.missing);
	return http_respond_buf(j->r, 200, API_JSON, &out);
}

static enum MHD_Result search(struct jaeger_req *j, struct tm_store_reader *rd)
{
	if (!j->v3 && api_arg(j->r, "traceID"))
		return traces_by_id(j, rd);
	struct tm_search_query q;
	struct tm_qp_pairs tags = { 0 };
	if (parse_search(j, &q, &tags) < 0)
		return answer_error(j, 400, j->err);
	struct tm_search_result res;
	int rc = tm_search(rd, &q, &j->r->arena, &res);
	if (rc == -ESRCH) {
		snprintf(j->err, sizeof(j->err), "invalid value for parameter '%s': unknown "
			 "service '%.100s' (no spans from it were received)",
			 j->v3 ? "query.service_name" : "service", q.service.ptr);
		return answer_error(j, 400, j->err);
	}
	if (rc)
		return store_error(j, rc);
	if (j->v3 && !res.n)
		return answer_error(j, 404, "No traces found");
	struct tm_buf out;
	tm_buf_init(&out);
	if (j->v3)
		tm_otlpjson_write_traces(&out, res.traces, res.n);
	else
		tm_jaeger_write_traces(&out, res.traces, res.n);
	return http_respond_buf(j->r, 200, API_JSON, &out);
}

static int is_service_operations(const char *path)
{
	const char *p = path + strlen("/api/services/");
	const char *slash = strchr(p, '/');
	return slash && slash > p && !strcmp(slash, "/operations");
}

enum MHD_Result api_jaeger(struct http_request *r, const char *method)
{
	struct jaeger_req j = { .r = r, .v3 = !strncmp(r->path, "/api/v3/", 8) };
	if (!api_method_ok(method)) {
		r->allow = "GET, HEAD";
		return answer_error(&j, 405, "method not allowed, supported: [GET]");
	}
	const char *p = r->path + (j.v3 ? strlen("/api/v3") : strlen("/api"));
	struct tm_store_reader *rd;
	int rc = tm_store_reader_begin(r->http->store, &rd);
	if (rc)
		return store_error(&j, rc);
	enum MHD_Result ret;
	if (!strcmp(p, "/services"))
		ret = services(&j, rd);
	else if (!j.v3 && !strncmp(p, "/services/", 10) && is_service_operations(r->path))
		ret = service_operations(&j, rd);
	else if (!strcmp(p, "/operations"))
		ret = operations(&j, rd);
	else if (!strcmp(p, "/traces"))
		ret = search(&j, rd);
	else
		ret = answer_error(&j, 404, "no such path");
	tm_store_reader_end(rd);
	return ret;
}
