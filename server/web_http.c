/* web_http.c - routes for the HTML pages of web/. */
#define LOG_MODULE "web"
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pages.h"
#include "tracemap_version.h"

#define HTML_TYPE "text/html; charset=utf-8"

static enum MHD_Result error_page(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_web_error_page(&out, status, msg);
	return http_respond_buf(r, status, HTML_TYPE, &out);
}

static enum MHD_Result redirect(struct http_request *r, const char *location)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	enum MHD_Result rc = MHD_queue_response(r->conn, MHD_HTTP_FOUND, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result lookup(struct http_request *r)
{
	const char *id = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "id");
	uint8_t trace_id[TM_TRACE_ID_LEN];
	size_t len = id ? strlen(id) : 0;
	while (len && (id[len - 1] == ' ' || id[len - 1] == '\t'))
		len--;
	while (len && (*id == ' ' || *id == '\t')) {
		id++;
		len--;
	}
	if (!id || tm_trace_id_parse(id, len, trace_id) < 0)
		return error_page(r, 400, "A trace ID is 1 to 32 hexadecimal digits.");
	char hex[2 * TM_TRACE_ID_LEN + 1], location[64];
	tm_id_to_hex(trace_id, TM_TRACE_ID_LEN, hex);
	snprintf(location, sizeof(location), "/traces/%s", hex);
	return redirect(r, location);
}

static enum MHD_Result trace_page(struct http_request *r, const char *id)
{
	uint8_t trace_id[TM_TRACE_ID_LEN];
	if (tm_trace_id_parse(id, strlen(id), trace_id) < 0)
		return error_page(r, 400, "A trace ID is 1 to 32 hexadecimal digits.");
	struct tm_trace trace;
	int rc = tm_store_trace_get(r->http->store, trace_id, &r->arena, &trace);
	if (rc == -ENOENT)
		return error_page(r, 404, "No trace with this ID is stored.");
	if (rc) {
		LOG(TM_LOG_ERROR, "reading trace %s: %s", id, tm_store_strerror(rc));
		return error_page(r, 500, tm_store_strerror(rc));
	}
	struct tm_buf out;
	tm_buf_init(&out);
	if (tm_web_trace_page(&out, &trace, &r->arena) < 0) {
		tm_buf_free(&out);
		return error_page(r, 500, "out of memory");
	}
	return http_respond_buf(r, 200, HTML_TYPE, &out);
}

enum MHD_Result web_page_get(struct http_request *r, const char *method)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r->allow = "GET, HEAD";
		return error_page(r, 405, "Pages are read with GET.");
	}
	if (!strcmp(r->path, "/lookup"))
		return lookup(r);
	if (!strncmp(r->path, "/traces/", 8))
		return trace_page(r, r->path + 8);
	struct tm_store_stats stats;
	if (tm_store_stats(r->http->store, &stats) < 0)
		memset(&stats, 0, sizeof(stats));
	struct tm_buf out;
	tm_buf_init(&out);
	tm_web_home(&out, &stats, TRACEMAP_VERSION);
	return http_respond_buf(r, 200, HTML_TYPE, &out);
}
