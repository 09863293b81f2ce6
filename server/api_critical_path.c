/* api_critical_path.c - GET /api/traces/{id}/critical-path: the critical
 * path of one trace and the self time of each span (docs/servicemap.md,
 * analysis/critical_path.h for the rules).
 *
 * {"traceID","duration",
 *  "criticalPath":[{"spanID","service","operation","start","duration"}],
 *  "spans":[{"spanID","service","operation","start","duration","selfTime","onPath"}]}
 *
 * Times are µs, truncated: "start" since the epoch, every duration as its
 * length in ns divided by 1000.  The trace's "duration" runs from its
 * earliest span start to its latest span end; traceID is written as Jaeger
 * writes it (16 digits when the upper half is zero), so it matches what
 * GET /api/traces/{id} answers.
 *
 * criticalPath: the path in time order, one entry per piece of a span on
 * it.  Pieces of one span that follow each other in the list are one entry
 * only when the first ends where the second starts: an entry stands for an
 * unbroken stretch of time.  (tm_cp_analyze() never yields two in a row
 * today, a child's pieces always lie between two of its parent's, so this
 * only keeps the answer honest if that ever changes.)
 * spans: every span, in the trace's order (start time); "service" is the
 * resource's service.name, "" when it has none. */
#define LOG_MODULE "api"
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "critical_path.h"
#include "json.h"
#include "log.h"
#include "span_match.h"
#include "trace_json.h"

#define CP_PREFIX "/api/traces/"
#define CP_SUFFIX "/critical-path"

int api_critical_path_route_exists(const char *path)
{
	size_t len = strlen(path), pre = strlen(CP_PREFIX), suf = strlen(CP_SUFFIX);
	return len >= pre + suf && !strncmp(path, CP_PREFIX, pre) &&
	       !strcmp(path + len - suf, CP_SUFFIX);
}

/* errors in the Jaeger envelope, as GET /api/traces/{id} answers them */
static enum MHD_Result cp_error(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_jaeger_write_error(&out, (int)status, msg);
	return http_respond_buf(r, status, API_JSON, &out);
}

static void write_trace_id(struct tm_buf *out, const uint8_t id[TM_TRACE_ID_LEN])
{
	if (tm_id_is_zero(id, TM_TRACE_ID_LEN / 2))
		tm_json_hex(out, id + TM_TRACE_ID_LEN / 2, TM_TRACE_ID_LEN / 2);
	else
		tm_json_hex(out, id, TM_TRACE_ID_LEN);
}

/* the fields a path entry and a span share: spanID through duration */
static void write_span_part(struct tm_buf *out, const struct tm_span *s, uint64_t start_ns,
			    uint64_t end_ns)
{
	struct tm_str service = tm_span_service(s);
	tm_buf_add_str(out, "{\"spanID\":");
	tm_json_hex(out, s->span_id, TM_SPAN_ID_LEN);
	tm_buf_add_str(out, ",\"service\":");
	tm_json_tstr(out, &service);
	tm_buf_add_str(out, ",\"operation\":");
	tm_json_tstr(out, &s->name);
	tm_buf_add_str(out, ",\"start\":");
	tm_json_uint(out, start_ns / 1000);
	tm_buf_add_str(out, ",\"duration\":");
	tm_json_uint(out, end_ns > start_ns ? (end_ns - start_ns) / 1000 : 0);
}

static void write_path(struct tm_buf *out, const struct tm_trace *trace,
		       const struct tm_cp_analysis *cp)
{
	size_t n_written = 0;
	tm_buf_add_str(out, ",\"criticalPath\":[");
	for (size_t i = 0; i < cp->n_segments;) {
		struct tm_cp_segment run = cp->segments[i++];
		while (i < cp->n_segments && cp->segments[i].span == run.span &&
		       cp->segments[i].start_ns == run.end_ns)
			run.end_ns = cp->segments[i++].end_ns;
		if (n_written++)
			tm_buf_add(out, ",", 1);
		write_span_part(out, &trace->spans[run.span], run.start_ns, run.end_ns);
		tm_buf_add(out, "}", 1);
	}
	tm_buf_add(out, "]", 1);
}

static void write_spans(struct tm_buf *out, const struct tm_trace *trace,
			const struct tm_cp_analysis *cp)
{
	tm_buf_add_str(out, ",\"spans\":[");
	for (size_t i = 0; i < trace->n_spans; i++) {
		const struct tm_span *s = &trace->spans[i];
		if (i)
			tm_buf_add(out, ",", 1);
		write_span_part(out, s, s->start_ns, s->end_ns);
		tm_buf_add_str(out, ",\"selfTime\":");
		tm_json_uint(out, cp->self_ns[i] / 1000);
		tm_buf_add_str(out, ",\"onPath\":");
		tm_json_uint(out, cp->path_ns[i] / 1000);
		tm_buf_add(out, "}", 1);
	}
	tm_buf_add(out, "]", 1);
}

static void write_answer(struct tm_buf *out, const struct tm_trace *trace,
			 const struct tm_cp_analysis *cp)
{
	const struct tm_trace_summary *sum = &trace->summary;
	tm_buf_add_str(out, "{\"traceID\":");
	write_trace_id(out, trace->trace_id);
	tm_buf_add_str(out, ",\"duration\":");
	tm_json_uint(out, sum->end_ns > sum->start_ns ? (sum->end_ns - sum->start_ns) / 1000 : 0);
	write_path(out, trace, cp);
	write_spans(out, trace, cp);
	tm_buf_add(out, "}", 1);
}

enum MHD_Result api_critical_path_get(struct http_request *r, const char *method)
{
	if (!api_method_ok(method)) {
		r->allow = "GET, HEAD";
		return cp_error(r, 405, "method not allowed, supported: [GET]");
	}
	const char *id = r->path + strlen(CP_PREFIX);
	size_t id_len = strlen(id) - strlen(CP_SUFFIX);   /* the router checked the length */
	uint8_t trace_id[TM_TRACE_ID_LEN];
	if (tm_trace_id_parse(id, id_len, trace_id) < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "malformed trace ID '%.*s': expected 1 to 32 hexadecimal digits",
			 (int)(id_len < 64 ? id_len : 64), id);
		return cp_error(r, 400, msg);
	}
	struct tm_trace trace;
	int rc = tm_store_trace_get(r->http->store, trace_id, &r->arena, &trace);
	if (rc == -ENOENT)
		return cp_error(r, 404, "trace not found");
	if (rc) {
		LOG(TM_LOG_ERROR, "reading trace %.*s: %s", (int)id_len, id, tm_store_strerror(rc));
		return cp_error(r, 500, tm_store_strerror(rc));
	}
	struct tm_cp_analysis cp;
	rc = tm_cp_analyze(&trace, NULL, &r->arena, &cp);
	if (rc) {
		LOG(TM_LOG_ERROR, "critical path of trace %.*s: %s", (int)id_len, id,
		    tm_store_strerror(rc));
		return cp_error(r, 500, tm_store_strerror(rc));
	}
	struct tm_buf out;
	tm_buf_init(&out);
	write_answer(&out, &trace, &cp);
	return http_respond_buf(r, 200, API_JSON, &out);
}
