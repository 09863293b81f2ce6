/* web_http.c - routes for the HTML pages of web/. */
#define LOG_MODULE "web"
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "query_params.h"
#include "servicemap.h"
#include "web.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define SEARCH_MAX_LIMIT 500   /* what web/page_search.c accepts (1 MB pages) */

static enum MHD_Result error_page(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_web_error_page(&out, NULL, status, msg);
	return http_respond_buf(r, status, HTML_TYPE, &out);
}

/* location must live until the response is queued */
static enum MHD_Result redirect(struct http_request *r, const char *location)
{
	r->location = location;
	return http_respond_text(r, MHD_HTTP_FOUND, NULL, "");
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
	/* ?span=ID opens that span's details (big traces link there) */
	const char *sp = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "span");
	uint8_t span_id[TM_SPAN_ID_LEN];
	if (sp && tm_hex_decode(sp, strlen(sp), span_id, TM_SPAN_ID_LEN) < 0)
		return error_page(r, 400, "invalid value for parameter 'span': a span ID is 16 "
					  "hexadecimal digits.");
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = sp ? tm_web_trace_span_page(&out, c, trace_id, span_id)
		    : tm_web_trace_page(&out, c, trace_id);
	return answer(r, c, &out, rc, "No trace with this ID is stored.");
}

/*---- service, search and bottleneck pages ----*/

static const char *arg(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* a time bound: microseconds since the epoch, or what an <input
 * type="datetime-local"> sends, "YYYY-MM-DDTHH:MM[:SS[.fraction]]", read
 * as UTC (the pages say so) */
static int parse_time(const char *name, const char *text, uint64_t *out_ns, char *err,
		      size_t errlen)
{
	size_t len = strlen(text);
	if (len && strspn(text, "0123456789") == len) {
		int64_t us;
		if (tm_qp_int(name, text, 0, INT64_MAX / 1000, &us, err, errlen) < 0)
			return -1;
		*out_ns = (uint64_t)us * 1000;
		return 0;
	}
	/* as RFC 3339: seconds when missing, and Z */
	char rfc[64];
	if (len >= 16 && len < 40 && (text[10] == 'T' || text[10] == 't' || text[10] == ' ')) {
		snprintf(rfc, sizeof(rfc), "%.10sT%s%sZ", text, text + 11, len == 16 ? ":00" : "");
		if (!tm_qp_rfc3339(name, rfc, out_ns, err, errlen))
			return 0;
	}
	snprintf(err, errlen, "invalid value for parameter '%s': '%.64s' (expected "
		 "YYYY-MM-DDTHH:MM[:SS] in UTC, or microseconds since the epoch)", name, text);
	return -1;
}

/* window=15m|1h|6h|24h; or, when it is "custom" or absent, start and end
 * (a missing end is now, a missing start that end minus dflt_s); with
 * neither, the last dflt_s seconds under the name dflt */
static int parse_window(struct http_request *r, uint64_t now, const char *dflt,
			struct tm_web_window *w, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		uint64_t s;
	} presets[] = { { "15m", 900 }, { "1h", 3600 }, { "6h", 21600 }, { "24h", 86400 } };
	const char *name = arg(r, "window"), *start = arg(r, "start"), *end = arg(r, "end");
	int custom = (name && !strcmp(name, "custom")) || ((!name || !*name) &&
							  ((start && *start) || (end && *end)));
	if (!custom && (!name || !*name))
		name = dflt;
	uint64_t dflt_ns = 3600ull * 1000000000ull;
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (!strcmp(dflt, presets[i].name))
			dflt_ns = presets[i].s * 1000000000ull;
		if (!custom && !strcmp(name, presets[i].name)) {
			*w = (struct tm_web_window){ now - presets[i].s * 1000000000ull, now,
						     presets[i].name };
			return 0;
		}
	}
	if (!custom) {
		snprintf(err, errlen, "invalid value for parameter 'window': '%.40s' (allowed: "
			 "15m, 1h, 6h, 24h, custom)", name);
		return -1;
	}
	*w = (struct tm_web_window){ 0, now, "custom" };
	if (end && *end && parse_time("end", end, &w->end_ns, err, errlen) < 0)
		return -1;
	w->start_ns = w->end_ns > dflt_ns ? w->end_ns - dflt_ns : 0;
	if (start && *start && parse_time("start", start, &w->start_ns, err, errlen) < 0)
		return -1;
	if (w->end_ns < w->start_ns) {
		snprintf(err, errlen, "invalid parameters 'start' and 'end': end is before start");
		return -1;
	}
	if (end && *end && strspn(end, "0123456789") == strlen(end))
		w->end_ns += 999;   /* a µs bound takes its whole microsecond */
	return 0;
}

static enum MHD_Result service_page(struct http_request *r, struct tm_web_ctx *c)
{
	const char *name = r->path + strlen("/services/");
	char err[256], not_found[200];
	struct tm_web_window w;
	if (parse_window(r, c->now_ns, "15m", &w, err, sizeof(err)) < 0)
		return error_page(r, 400, err);
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = tm_web_service_page(&out, c, tm_str_from(name), &w);
	snprintf(not_found, sizeof(not_found), "No service named '%.120s' has sent spans.", name);
	return answer(r, c, &out, rc, not_found);
}

/* a Go duration bound, absent or empty: keep *out_ns */
static int parse_duration(struct http_request *r, const char *name, uint64_t *out_ns, char *err,
			  size_t errlen)
{
	const char *v = arg(r, name);
	int64_t ns;
	if (!v || !*v)
		return 0;
	if (tm_qp_duration(name, v, &ns, err, errlen) < 0)
		return -1;
	*out_ns = (uint64_t)ns;
	return 0;
}

static int parse_search(struct http_request *r, uint64_t now, struct tm_web_search_params *p,
			char *err, size_t errlen)
{
	static const char *const names[] = { "service", "operation", "tags", "minDuration",
					     "maxDuration", "window", "start", "end", "limit",
					     "sort" };
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		p->submitted |= arg(r, names[i]) != NULL;
	p->service = tm_str_from(arg(r, "service"));
	p->operation = tm_str_from(arg(r, "operation"));
	p->tags = tm_str_from(arg(r, "tags"));
	p->max_duration_ns = UINT64_MAX;
	p->limit = 20;
	if (parse_duration(r, "minDuration", &p->min_duration_ns, err, errlen) < 0 ||
	    parse_duration(r, "maxDuration", &p->max_duration_ns, err, errlen) < 0 ||
	    parse_window(r, now, "1h", &p->window, err, errlen) < 0)
		return -1;
	const char *limit = arg(r, "limit"), *sort = arg(r, "sort");
	int64_t v;
	if (limit && *limit) {
		if (tm_qp_int("limit", limit, 1, SEARCH_MAX_LIMIT, &v, err, errlen) < 0)
			return -1;
		p->limit = (size_t)v;
	}
	if (sort && *sort && strcmp(sort, "newest") && strcmp(sort, "slowest")) {
		snprintf(err, errlen, "invalid value for parameter 'sort': '%.40s' (allowed: newest, "
			 "slowest)", sort);
		return -1;
	}
	p->slowest_first = sort && !strcmp(sort, "slowest");
	return 0;
}

static enum MHD_Result search_page(struct http_request *r, struct tm_web_ctx *c)
{
	char err[256];
	struct tm_web_search_params p;
	if (parse_search(r, c->now_ns, &p, err, sizeof(err)) < 0)
		return error_page(r, 400, err);
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = tm_web_search_page(&out, c, &p);
	return answer(r, c, &out, rc, "nothing here");
}

static enum MHD_Result bottlenecks_page(struct http_request *r, struct tm_web_ctx *c)
{
	char err[256];
	struct tm_web_window w;
	if (parse_window(r, c->now_ns, "1h", &w, err, sizeof(err)) < 0)
		return error_page(r, 400, err);
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = tm_web_bottlenecks_page(&out, c, tm_str_from(arg(r, "service")),
					 tm_str_from(arg(r, "operation")), &w);
	return answer(r, c, &out, rc, "nothing here");
}

/* GET /?window=&start=&end=&level=service|operation&focus=S&hops=N */
static enum MHD_Result map_page(struct http_request *r, struct tm_web_ctx *c)
{
	struct tm_web_map_params p = { .hops = 1 };
	char err[256];
	if (parse_window(r, c->now_ns, "15m", &p.window, err, sizeof(err)) < 0)
		return error_page(r, 400, err);
	const char *level = arg(r, "level"), *focus = arg(r, "focus"), *hops = arg(r, "hops");
	if (level && *level && strcmp(level, "service") && strcmp(level, "operation"))
		return error_page(r, 400, "invalid value for parameter 'level': expected service "
					  "or operation");
	p.operation_level = level && !strcmp(level, "operation");
	p.focus = tm_str_from(focus);
	int64_t h;
	if (hops && *hops) {
		if (tm_qp_int("hops", hops, 0, 100, &h, err, sizeof(err)) < 0)
			return error_page(r, 400, err);
		p.hops = (unsigned)h;
	}
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = tm_web_map_page(&out, c, &p);
	return answer(r, c, &out, rc, "nothing here");
}

enum MHD_Result web_page_get(struct http_request *r, const char *method)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r->allow = "GET, HEAD";
		return error_page(r, 405, "Pages are read with GET.");
	}
	if (!strcmp(r->path, "/lookup"))
		return lookup(r);
	struct tm_web_ctx c = { .arena = &r->arena, .now_ns = now_ns(),
				.smap_cache = tm_smap_cache_of(r->http->smap) };
	int rc = tm_store_reader_begin(r->http->store, &c.rd);
	if (rc)
		return error_page(r, 500, tm_store_strerror(rc));
	enum MHD_Result ret;
	if (!strncmp(r->path, "/traces/", 8)) {
		ret = trace_page(r, &c, r->path + 8);
	} else if (!strncmp(r->path, "/services/", 10)) {
		ret = service_page(r, &c);
	} else if (!strcmp(r->path, "/search")) {
		ret = search_page(r, &c);
	} else if (!strcmp(r->path, "/bottlenecks")) {
		ret = bottlenecks_page(r, &c);
	} else {
		ret = map_page(r, &c);
	}
	tm_store_reader_end(c.rd);
	return ret;
}
