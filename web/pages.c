/* pages.c - HTML for the landing page, the trace view and errors. */
#include "pages.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trace_tree.h"

static const char STYLE[] =
	"<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
	"h1{font-size:1.4em}table{border-collapse:collapse;width:100%}"
	"td,th{padding:2px 6px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}"
	".bar{background:#4a7bd0;height:10px;display:block}.err .bar{background:#d04a4a}"
	".err td:first-child{color:#b00}.dur{text-align:right}code{background:#f4f4f4}"
	"</style>";

void tm_html_escape(struct tm_buf *out, const char *s, size_t len)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		tm_buf_add(out, s + run, i - run);
		tm_buf_add_str(out, rep);
		run = i + 1;
	}
	tm_buf_add(out, s + run, len - run);
}

static void printf_buf(struct tm_buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void printf_buf(struct tm_buf *out, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		tm_buf_add(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void page_start(struct tm_buf *out, const char *title, size_t title_len)
{
	tm_buf_add_str(out, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
			    "<title>");
	tm_html_escape(out, title, title_len);
	tm_buf_add_str(out, " - tracemap</title>");
	tm_buf_add_str(out, STYLE);
	tm_buf_add_str(out, "</head><body><p><a href=\"/\">tracemap</a> &middot; "
			    "<form style=\"display:inline\" action=\"/lookup\" method=\"get\">"
			    "<label>trace ID <input name=\"id\" size=\"34\"></label> "
			    "<button>Open</button></form></p>");
}

void tm_web_home(struct tm_buf *out, const struct tm_store_stats *st, const char *version)
{
	page_start(out, "Home", 4);
	tm_buf_add_str(out, "<h1>tracemap</h1>");
	printf_buf(out, "<table><tr><th>spans stored</th><td>%" PRIu64 "</td></tr>"
			"<tr><th>commits</th><td>%" PRIu64 "</td></tr>"
			"<tr><th>store size</th><td>%.1f MiB</td></tr>"
			"<tr><th>version</th><td>%s</td></tr></table>",
		   st->spans, st->commits, (double)st->used_bytes / (1024.0 * 1024.0), version);
	tm_buf_add_str(out, "<p>Send spans with OTLP/HTTP to <code>/v1/traces</code>; read a "
			    "trace as Jaeger JSON at <code>/api/traces/{id}</code> or as OTLP/JSON "
			    "at <code>/api/v3/traces/{id}</code>.</p></body></html>");
}

static struct tm_str service_of(const struct tm_span *s)
{
	struct tm_str none = { "(unknown)", 9 };
	const struct tm_str *svc =
		s->resource ? tm_attrs_get_str(&s->resource->attrs, "service.name") : NULL;
	return svc ? *svc : none;
}

static void span_row(struct tm_buf *out, const struct tm_trace *t, const struct tm_span *s,
		     unsigned depth)
{
	uint64_t total = t->summary.end_ns > t->summary.start_ns
				 ? t->summary.end_ns - t->summary.start_ns : 1;
	uint64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
	double left = 100.0 * (double)(s->start_ns - t->summary.start_ns) / (double)total;
	double width = 100.0 * (double)dur / (double)total;
	struct tm_str svc = service_of(s);
	char id[2 * TM_SPAN_ID_LEN + 1];
	tm_id_to_hex(s->span_id, TM_SPAN_ID_LEN, id);
	printf_buf(out, "<tr%s><td style=\"padding-left:%uem\" title=\"span %s\">",
		   s->status_code == TM_STATUS_ERROR ? " class=\"err\"" : "", depth + 1, id);
	tm_html_escape(out, svc.ptr, svc.len);
	tm_buf_add_str(out, ": ");
	tm_html_escape(out, s->name.ptr, s->name.len);
	printf_buf(out, "</td><td class=\"dur\">%.3f ms</td><td style=\"width:50%%\">"
			"<span class=\"bar\" style=\"margin-left:%.2f%%;width:%.2f%%\"></span>"
			"</td></tr>",
		   (double)dur / 1e6, left, width < 0.2 ? 0.2 : width);
}

int tm_web_trace_page(struct tm_buf *out, const struct tm_trace *t, struct tm_arena *arena)
{
	struct tm_trace_tree tree;
	if (tm_trace_tree_build(t, arena, &tree) < 0)
		return -ENOMEM;
	char hex[2 * TM_TRACE_ID_LEN + 1];
	tm_id_to_hex(t->trace_id, TM_TRACE_ID_LEN, hex);
	page_start(out, hex, strlen(hex));
	printf_buf(out, "<h1>Trace <code>%s</code></h1><p>", hex);
	tm_html_escape(out, t->summary.root_service.ptr, t->summary.root_service.len);
	tm_buf_add_str(out, ": ");
	tm_html_escape(out, t->summary.root_operation.ptr, t->summary.root_operation.len);
	printf_buf(out, " &middot; %.3f ms &middot; %zu spans &middot; %" PRIu64 " errors &middot; "
			"<a href=\"/api/traces/%s\">Jaeger JSON</a> &middot; "
			"<a href=\"/api/v3/traces/%s\">OTLP/JSON</a></p>",
		   (double)(t->summary.end_ns - t->summary.start_ns) / 1e6, t->n_spans,
		   t->summary.error_count, hex, hex);
	tm_buf_add_str(out, "<table><tr><th>span</th><th>duration</th><th>timeline</th></tr>");
	for (size_t i = 0; i < tree.n; i++)
		span_row(out, t, &t->spans[tree.order[i]], tree.depth[tree.order[i]]);
	tm_buf_add_str(out, "</table></body></html>");
	return out->failed ? -ENOMEM : 0;
}

void tm_web_error_page(struct tm_buf *out, unsigned status, const char *message)
{
	char title[32];
	snprintf(title, sizeof(title), "%u", status);
	page_start(out, title, strlen(title));
	printf_buf(out, "<h1>%u</h1><p>", status);
	tm_html_escape(out, message, strlen(message));
	tm_buf_add_str(out, "</p></body></html>");
}
