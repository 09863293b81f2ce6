/* svg_chart.h - the small inline SVG charts of the pages (a latency
 * histogram, a duration-over-time scatter of traces), the number, time
 * and text formatting that the charts and the page tables share, and the
 * two tables that more than one page shows (declared here, each defined in
 * the page file named above it).
 *
 * Charts are drawn server-side as plain SVG: no script, a <title> on the
 * chart and on every bar and point (tooltips and screen readers), axis
 * labels in text, and colour never the only cue (error points are squares).
 * Both charts bound what they draw (TM_SVG_HIST_BINS bars,
 * TM_SVG_MAX_POINTS points), so a chart stays a few tens of kilobytes.
 *
 * Threads: pure functions.  Errors: none; allocation failures set
 * out->failed (struct tm_buf).  Memory: output is appended to the caller's
 * tm_buf; nothing is kept. */
#ifndef TM_SVG_CHART_H
#define TM_SVG_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "search.h"
#include "servicemap.h"
#include "web.h"

#define TM_SVG_HIST_BINS 48      /* bars of a histogram, at most */
#define TM_SVG_MAX_POINTS 1000   /* points of a scatter, at most */

/*---- charts ----*/

/* draws the histogram h (values in ns) with a log-scaled duration axis and
 * a linear count axis, at most TM_SVG_HIST_BINS bars, each with a <title>
 * ("1.20 ms to 1.45 ms: 34 requests"), and p50/p90/p99 marked.  `title`
 * names the chart (escaped here), `unit` is what one value counts
 * ("requests").  An empty h gives a sentence instead of a chart. */
void tm_svg_latency_histogram(struct tm_buf *out, const struct tm_hist *h, struct tm_str title,
			      const char *unit);

/* one trace of a scatter plot */
struct tm_svg_trace_point {
	const uint8_t *trace_id;          /* TM_TRACE_ID_LEN bytes */
	uint64_t start_ns, duration_ns;
	uint64_t n_errors;
	struct tm_str root_service, root_operation;
};

/* draws traces as points, x = trace start (UTC), y = duration (log scale);
 * each point is a link to its trace page (tm_web_href with c) with a
 * <title>.  At most TM_SVG_MAX_POINTS of the n are drawn (the first ones).
 * n = 0 gives nothing. */
void tm_svg_trace_scatter(struct tm_buf *out, const struct tm_web_ctx *c,
			  const struct tm_svg_trace_point *pts, size_t n, struct tm_str title);

/*---- formatting shared by the pages (page_*.c) ----*/

/* appends printf-formatted text (not escaped: for numbers and our own
 * words; client strings go through tm_html_escape) */
void tm_web_printf(struct tm_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* a duration for people, three significant digits: "850 ns", "12.3 µs",
 * "4.56 ms", "1.23 s", "2.50 min", "1.20 h" */
void tm_web_fmt_duration(char *buf, size_t len, double ns);

/* a UTC time "2026-08-01 10:00:05" (seconds only when has_seconds) */
void tm_web_fmt_time(char *buf, size_t len, uint64_t ns, int has_seconds);

/* a duration as a Go duration string that tm_qp_duration() reads back:
 * "1500ms", "2s", "250us", "0" */
void tm_web_fmt_go_duration(char *buf, size_t len, uint64_t ns);

/* appends s escaped, cut at about max_bytes (on a UTF-8 boundary, then
 * "…"): keeps a page small whatever names clients send */
void tm_web_escape_short(struct tm_buf *out, struct tm_str s, size_t max_bytes);

/* appends the query string that keeps a window on a live link:
 * "window=1h", or "start=<µs>&amp;end=<µs>" for a custom one; nothing in
 * an exported site (c->static_site), whose pages have one fixed window.
 * `sep` ("?" or "&amp;") is written first when anything is. */
void tm_web_window_query(struct tm_buf *out, const struct tm_web_ctx *c,
			 const struct tm_web_window *w, const char *sep);

/* appends "name=value" for a query string, value percent-encoded (so the
 * result is safe inside an HTML attribute as it is) */
void tm_web_query_arg(struct tm_buf *out, const char *name, struct tm_str value);

/* appends a link to a trace page: the first `digits` hex digits of its ID
 * as the text (1 to 32), the whole ID in the title attribute */
void tm_web_trace_link(struct tm_buf *out, const struct tm_web_ctx *c,
		       const uint8_t trace_id[TM_TRACE_ID_LEN], int digits);

/* appends a sentence naming the window: "the last 15 minutes (10:00 to
 * 10:15 UTC)" or "2026-08-01 10:00:00 to 2026-08-01 11:00:00 UTC" */
void tm_web_window_text(struct tm_buf *out, const struct tm_web_window *w);

/* appends the form fields that choose a window (docs/web.md): a select
 * `window` (15m, 1h, 6h, 24h, custom) and two datetime-local inputs
 * `start` and `end` in UTC; a preset wins over start/end, which count when
 * the window is "custom" or absent.  Typing a start or end selects
 * "custom" (one line of script; without it, choose "custom" by hand). */
void tm_web_window_fields(struct tm_buf *out, const struct tm_web_window *w);

/*---- tables more than one page shows ----*/

/* page_search.c: a table of traces (ID link, root service: operation,
 * start, duration, spans, errors, services); stops early, saying so, when
 * the page would grow past TM_WEB_PAGE_BUDGET bytes */
#define TM_WEB_PAGE_BUDGET (900u * 1024u)
void tm_web_trace_table(struct tm_buf *out, const struct tm_web_ctx *c,
			const struct tm_trace_info *items, size_t n);

/* page_search.c: the form fields naming a service and an operation: a
 * select of every service (a text input when there are too many for one),
 * with "any" first when any_service; an operation input with the known
 * operations of the chosen service as suggestions.  Errors: store errors,
 * -ENOMEM (nothing is written then). */
int tm_web_service_fields(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
			  struct tm_str operation, int any_service);

/* page_bottlenecks.c: the slow threshold, the counts and how traces were
 * split, then the ranked table (at most max_rows rows) with example trace
 * links; w keeps the window on the links */
void tm_web_bottleneck_report(struct tm_buf *out, const struct tm_web_ctx *c,
			      const struct tm_bottlenecks *b, size_t max_rows,
			      const struct tm_web_window *w);

#endif
