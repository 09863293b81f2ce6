/* api_traces.c - GET /api/traces/{id} (Jaeger JSON) and /api/v3/traces/{id} (OTLP/JSON). */
#define LOG_MODULE "api"
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "trace_json.h"

#define JSON_TYPE "application/json"

static enum MHD_Result json_error(struct http_request *r, int is_v3, unsigned status,
				  const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	if (is_v3)
		tm_otlpjson_write_error(&out, (int)status, msg);
	else
		tm_jaeger_write_error(&out, (int)status, msg);
	return http_respond_buf(r, status, JSON_TYPE, &out);
}

enum MHD_Result api_trace_get(struct http_request *r, const char *method)
{
	int is_v3 = !strncmp(r->path, "/api/v3/", 8);
	const char *id = r->path + (is_v3 ? strlen("/api/v3/traces/") : strlen("/api/traces/"));
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r->allow = "GET, HEAD";
		return json_error(r, is_v3, 405, "method not allowed, supported: [GET]");
	}
	uint8_t trace_id[TM_TRACE_ID_LEN];
	if (tm_trace_id_parse(id, strlen(id), trace_id) < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "malformed trace ID '%.64s': expected 1 to 32 hexadecimal digits", id);
		return json_error(r, is_v3, 400, msg);
	}
	struct tm_trace trace;
	int rc = tm_store_trace_get(r->http->store, trace_id, &r->arena, &trace);
	if (rc == -ENOENT)
		return json_error(r, is_v3, 404, is_v3 ? "No traces found" : "trace not found");
	if (rc) {
		LOG(TM_LOG_ERROR, "reading trace %s: %s", id, tm_store_strerror(rc));
		return json_error(r, is_v3, 500, tm_store_strerror(rc));
	}
	struct tm_buf out;
	tm_buf_init(&out);
	if (is_v3)
		tm_otlpjson_write_traces(&out, &trace, 1);
	else
		tm_jaeger_write_traces(&out, &trace, 1);
	return http_respond_buf(r, 200, JSON_TYPE, &out);
}
