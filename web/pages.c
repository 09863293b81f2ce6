/* pages.c - the trace page (a span table with time bars). */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trace_tree.h"

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

int tm_web_trace_page(struct tm_buf *out, struct tm_web_ctx *c,
		      const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	struct tm_trace trace, *t = &trace;
	int rc = tm_store_reader_trace(c->rd, trace_id, c->arena, &trace);
	if (rc)
		return rc;
	struct tm_trace_tree tree;
	if (tm_trace_tree_build(t, c->arena, &tree) < 0)
		return -ENOMEM;
	char hex[2 * TM_TRACE_ID_LEN + 1];
	tm_id_to_hex(t->trace_id, TM_TRACE_ID_LEN, hex);
	tm_web_page_begin(out, c, hex, NULL);
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
	tm_buf_add_str(out, "</table>");
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}

