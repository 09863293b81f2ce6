/* page_bottlenecks.c - GET /bottlenecks?service=&operation=: what the slow
 * traces of an entry point spend their time on (tm_smap_bottlenecks, rules
 * in docs/servicemap.md), ranked, with example traces. */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "servicemap.h"
#include "svg_chart.h"

#define NAME_SHOWN 160
#define EXAMPLE_DIGITS 8

static const struct tm_str NONE = { "", 0 };

/*---- the report (also on the service page) ----*/

/* a signed duration: the excess is negative when typical traces spend more */
static void signed_duration_cell(struct tm_buf *out, double ns)
{
	char d[32];
	tm_web_fmt_duration(d, sizeof(d), fabs(ns));
	tm_web_printf(out, "<td class=\"n\">%s%s</td>", ns < 0 && d[0] != '0' ? "&minus;" : "", d);
}

static void report_row(struct tm_buf *out, const struct tm_web_ctx *c,
		       const struct tm_bottleneck_row *row, size_t rank,
		       const struct tm_web_window *w)
{
	double pct = row->share * 100;
	tm_web_printf(out, "<tr><td class=\"n\">%zu</td><td><a href=\"", rank);
	tm_web_href(out, c, TM_LINK_SERVICE, row->service, NONE);
	tm_web_window_query(out, c, w, "?");
	tm_buf_add_str(out, "\">");
	tm_web_escape_short(out, row->service, NAME_SHOWN);
	tm_buf_add_str(out, "</a></td><td>");
	tm_web_escape_short(out, row->operation, NAME_SHOWN);
	tm_buf_add_str(out, "</td>");
	signed_duration_cell(out, row->slow_mean_ns);
	signed_duration_cell(out, row->typical_mean_ns);
	signed_duration_cell(out, row->excess_ns);
	tm_web_printf(out, "<td class=\"n\"><span class=\"bar\" aria-hidden=\"true\" "
			   "style=\"width:%.0fpx\"></span> %.1f%%</td><td>",
		      pct < 0 ? 0 : pct > 100 ? 100 : pct, pct);
	for (size_t k = 0; k < row->n_examples; k++) {
		if (k)
			tm_buf_add_str(out, " ");
		tm_web_trace_link(out, c, row->examples[k], EXAMPLE_DIGITS);
	}
	tm_buf_add_str(out, "</td></tr>");
}

void tm_web_bottleneck_report(struct tm_buf *out, const struct tm_web_ctx *c,
			      const struct tm_bottlenecks *b, size_t max_rows,
			      const struct tm_web_window *w)
{
	if (!b->slow_traces && !b->typical_traces) {
		tm_buf_add_str(out, "<p class=\"muted\">No profiled trace of this entry point started "
				    "in this window. (A trace is profiled when it is paired, about "
				    "10 seconds after its last span arrives.)</p>");
		return;
	}
	char threshold[32];
	tm_web_fmt_duration(threshold, sizeof(threshold), (double)b->slow_threshold_ns);
	tm_web_printf(out, "<p><strong>%" PRIu64 "</strong> slow traces (lasting %s or more) and "
			   "<strong>%" PRIu64 "</strong> typical ones.</p>",
		      b->slow_traces, threshold, b->typical_traces);
	tm_buf_add_str(out, "<p class=\"muted\">How this is counted: a trace is <em>slow</em> when "
			    "its duration is at least the 90th percentile of the durations of these "
			    "traces, <em>typical</em> otherwise. For each service and operation, "
			    "<em>slow mean</em> and <em>typical mean</em> average the time its spans "
			    "lie on the critical path of slow and of typical traces (0 where it is "
			    "absent); <em>excess</em> is their difference, and <em>share</em> its "
			    "part of all critical-path time in slow traces. The largest excess comes "
			    "first: that is where slow traces lose their time. The examples are the "
			    "slow traces where it spent the most.</p>");
	if (!b->n_rows)
		return;
	tm_buf_add_str(out, "<table><thead><tr><th scope=\"col\" class=\"n\">#</th>"
			    "<th scope=\"col\">service</th><th scope=\"col\">operation</th>"
			    "<th scope=\"col\" class=\"n\">slow mean</th>"
			    "<th scope=\"col\" class=\"n\">typical mean</th>"
			    "<th scope=\"col\" class=\"n\">excess</th>"
			    "<th scope=\"col\" class=\"n\">share of slow time</th>"
			    "<th scope=\"col\">example slow traces</th></tr></thead><tbody>");
	size_t n = b->n_rows < max_rows ? b->n_rows : max_rows;
	size_t i = 0;
	for (; i < n && out->len < TM_WEB_PAGE_BUDGET; i++)
		report_row(out, c, &b->rows[i], i + 1, w);
	tm_buf_add_str(out, "</tbody></table>");
	if (i < b->n_rows)
		tm_web_printf(out, "<p class=\"muted\">%zu of %zu rows shown.</p>", i, b->n_rows);
}

/*---- the page ----*/

static int form(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
		struct tm_str operation, const struct tm_web_window *w)
{
	struct tm_buf fields;
	tm_buf_init(&fields);
	int rc = tm_web_service_fields(&fields, c, service, operation, 0);
	if (rc) {
		tm_buf_free(&fields);
		return rc;
	}
	tm_buf_add_str(out, "<form method=\"get\" action=\"/bottlenecks\" class=\"filters\" "
			    "style=\"display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:end\">");
	tm_buf_add(out, fields.data, fields.len);
	tm_buf_free(&fields);
	tm_web_window_fields(out, w);
	tm_buf_add_str(out, "<button>Rank</button></form><p class=\"muted\">The entry point is the "
			    "service, and the operation when given (empty: all its operations). "
			    "Start and end are UTC; they count when the window is "
			    "&ldquo;custom&rdquo;.</p>");
	return 0;
}

static void entry_point(struct tm_buf *out, const struct tm_web_ctx *c, struct tm_str service,
			struct tm_str operation, const struct tm_web_window *w)
{
	tm_buf_add_str(out, "<p>Traces that started in ");
	tm_web_window_text(out, w);
	tm_buf_add_str(out, " and hold a span of <a href=\"");
	tm_web_href(out, c, TM_LINK_SERVICE, service, NONE);
	tm_web_window_query(out, c, w, "?");
	tm_buf_add_str(out, "\">");
	tm_web_escape_short(out, service, NAME_SHOWN);
	tm_buf_add_str(out, "</a>");
	if (operation.len) {
		tm_buf_add_str(out, " named <code>");
		tm_web_escape_short(out, operation, NAME_SHOWN);
		tm_buf_add_str(out, "</code>");
	}
	tm_buf_add_str(out, ".</p>");
}

int tm_web_bottlenecks_page(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
			    struct tm_str operation, const struct tm_web_window *w)
{
	struct tm_bottlenecks b;
	memset(&b, 0, sizeof(b));
	if (service.len) {
		struct tm_bottleneck_query q = { service, operation, w->start_ns, w->end_ns, 0 };
		int rc = tm_smap_bottlenecks(c->rd, &q, c->arena, &b);
		if (rc == -ESRCH) {
			snprintf(c->err, sizeof(c->err), "invalid value for parameter 'service': "
				 "unknown service '%.*s' (no spans from it were received)",
				 (int)(service.len < 100 ? service.len : 100), service.ptr);
			return -EINVAL;
		}
		if (rc)
			return rc;
	} else if (operation.len) {
		snprintf(c->err, sizeof(c->err), "parameter 'service' is required with "
			 "'operation'");
		return -EINVAL;
	}
	tm_web_page_begin(out, c, "Bottlenecks", "bottlenecks");
	tm_buf_add_str(out, "<h1>Bottlenecks</h1>");
	if (!c->static_site) {
		int rc = form(out, c, service, operation, w);
		if (rc)
			return rc;
	}
	if (!service.len) {
		tm_buf_add_str(out, "<p>Choose a service (an entry point) to rank what its slow "
				    "traces spend their time on.</p>");
	} else {
		tm_buf_add_str(out, "<h2>Ranking</h2>");
		entry_point(out, c, service, operation, w);
		tm_web_bottleneck_report(out, c, &b, b.n_rows, w);
	}
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}
