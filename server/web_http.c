/* web_http.c - routes for the HTML pages of web/. */
#define LOG_MODULE "web"
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "web.h"

#define HTML_TYPE "text/html; charset=utf-8"

static enum MHD_Result error_page(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_web_error_page(&out, NULL, status, msg);
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

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* answers a page function's result: the page, or the error it names */
static enum MHD_Result answer(struct http_request *r, struct tm_web_ctx *c, struct tm_buf *out,
			      int rc, const char *not_found)
{
	if (!rc)
		return http_respond_buf(r, 200, HTML_TYPE, out);
	tm_buf_free(out);
	if (rc == -ENOENT)
		return error_page(r, 404, not_found);
	if (rc == -EINVAL)
		return error_page(r, 400, c->err[0] ? c->err : "bad parameter");
	LOG(TM_LOG_ERROR, "page %s: %s", r->path, tm_store_strerror(rc));
	return error_page(r, 500, tm_store_strerror(rc));
}

static enum MHD_Result trace_page(struct http_request *r, struct tm_web_ctx *c, const char *id)
{
	uint8_t trace_id[TM_TRACE_ID_LEN];
	if (tm_trace_id_parse(id, strlen(id), trace_id) < 0)
		return error_page(r, 400, "A trace ID is 1 to 32 hexadecimal digits.");
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = tm_web_trace_page(&out, c, trace_id);
	return answer(r, c, &out, rc, "No trace with this ID is stored.");
}

enum MHD_Result web_page_get(struct http_request *r, const char *method)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r->allow = "GET, HEAD";
		return error_page(r, 405, "Pages are read with GET.");
	}
	if (!strcmp(r->path, "/lookup"))
		return lookup(r);
	struct tm_web_ctx c = { .arena = &r->arena, .now_ns = now_ns() };
	int rc = tm_store_reader_begin(r->http->store, &c.rd);
	if (rc)
		return error_page(r, 500, tm_store_strerror(rc));
	enum MHD_Result ret;
	if (!strncmp(r->path, "/traces/", 8)) {
		ret = trace_page(r, &c, r->path + 8);
	} else {
		struct tm_buf out;
		tm_buf_init(&out);
		struct tm_web_map_params p = { .window = { c.now_ns - 15 * 60 * 1000000000ull,
							   c.now_ns, "15m" }, .hops = 1 };
		rc = tm_web_map_page(&out, &c, &p);
		ret = answer(r, &c, &out, rc, "nothing here");
	}
	tm_store_reader_end(c.rd);
	return ret;
}
