/* page_search.c - GET /search: the filters of the query API as a form, and
 * the traces found, as a duration-over-time scatter plot and a table.
 *
 * Two orders, two engines, and the page says which one answered:
 * newest first is tm_search with Jaeger's rule (one span meets every
 * filter; the window is on that span's start; durations are that span's);
 * slowest first is tm_slow_traces (the trace start lies in the window;
 * durations are whole-trace durations, and attribute filters do not apply,
 * which the page says when some are given). */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "span_match.h"
#include "svg_chart.h"

#define NAME_SHOWN 120
#define SERVICES_SHOWN 6         /* per trace row, then "+N more" */
#define MAX_SELECT_SERVICES 500  /* beyond it the service is a text input */
#define MAX_SELECT_BYTES 65536   /* ...and beyond this many bytes of names */
#define MAX_SUGGESTED_OPS 300
#define MAX_SUGGESTED_BYTES 65536
#define SLOW_FETCH_MAX 10000     /* slowest traces read to apply duration bounds */
#define SEARCH_MAX_LIMIT 500

static const struct tm_str NONE = { "", 0 };

/*---- shared with the other pages ----*/

static void services_cell(struct tm_buf *out, const struct tm_trace_info *t)
{
	tm_buf_add_str(out, "<td>");
	for (size_t k = 0; k < t->n_services && k < SERVICES_SHOWN; k++) {
		if (k)
			tm_buf_add_str(out, ", ");
		tm_web_escape_short(out, t->services[k], 60);
	}
	if (t->n_services > SERVICES_SHOWN)
		tm_web_printf(out, " and %zu more", t->n_services - SERVICES_SHOWN);
	tm_buf_add_str(out, "</td>");
}

static void trace_row(struct tm_buf *out, const struct tm_web_ctx *c, const struct tm_trace_info *t)
{
	char when[32], dur[32];
	tm_web_fmt_time(when, sizeof(when), t->start_ns, 1);
	tm_web_fmt_duration(dur, sizeof(dur), (double)(t->end_ns - t->start_ns));
	tm_buf_add_str(out, "<tr><td>");
	tm_web_trace_link(out, c, t->trace_id, 16);
	tm_buf_add_str(out, "</td><td>");
	tm_web_escape_short(out, t->root_service, NAME_SHOWN);
	tm_buf_add_str(out, ": ");
	tm_web_escape_short(out, t->root_operation, NAME_SHOWN);
	tm_web_printf(out, "</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%" PRIu64 "</td>",
		      when, dur, t->n_spans);
	if (t->n_errors)
		tm_web_printf(out, "<td class=\"n err\">%" PRIu64 "</td>", t->n_errors);
	else
		tm_buf_add_str(out, "<td class=\"n\">0</td>");
	services_cell(out, t);
	tm_buf_add_str(out, "</tr>");
}

void tm_web_trace_table(struct tm_buf *out, const struct tm_web_ctx *c,
			const struct tm_trace_info *items, size_t n)
{
	tm_buf_add_str(out, "<table><thead><tr><th scope=\"col\">trace</th>"
			    "<th scope=\"col\">root service: operation</th>"
			    "<th scope=\"col\">start (UTC)</th><th scope=\"col\" class=\"n\">duration</th>"
			    "<th scope=\"col\" class=\"n\">spans</th>"
			    "<th scope=\"col\" class=\"n\">errors</th>"
			    "<th scope=\"col\">services</th></tr></thead><tbody>");
	size_t i = 0;
	for (; i < n && out->len < TM_WEB_PAGE_BUDGET; i++)
		trace_row(out, c, &items[i]);
	tm_buf_add_str(out, "</tbody></table>");
	if (i < n)
		tm_web_printf(out, "<p class=\"muted\">%zu more traces are not shown, to keep this "
				   "page under 1 MB: narrow the search.</p>", n - i);
}

static void service_select(struct tm_buf *out, const struct tm_name *svcs, size_t n,
			   struct tm_str service, int any_service)
{
	tm_buf_add_str(out, "<label>Service <select name=\"service\">");
	if (any_service)
		tm_buf_add_str(out, "<option value=\"\">any</option>");
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		int on = tm_str_eq(svcs[i].name, service);
		found |= on;
		tm_buf_add_str(out, "<option value=\"");
		tm_html_escape_str(out, svcs[i].name);
		tm_buf_add_str(out, on ? "\" selected>" : "\">");
		tm_web_escape_short(out, svcs[i].name, NAME_SHOWN);
		tm_buf_add_str(out, "</option>");
	}
	if (!found && service.len) {   /* keep what was asked, even if unknown */
		tm_buf_add_str(out, "<option selected value=\"");
		tm_html_escape_str(out, service);
		tm_buf_add_str(out, "\">");
		tm_web_escape_short(out, service, NAME_SHOWN);
		tm_buf_add_str(out, "</option>");
	}
	tm_buf_add_str(out, "</select></label> ");
}

/* the operations of the service as suggestions (names only, once each) */
static int operation_list(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service)
{
	uint32_t id;
	struct tm_name *ops = NULL;
	size_t n = 0;
	if (!service.len || tm_store_service_id(c->rd, service, &id))
		return 0;
	int rc = tm_store_operations(c->rd, id, c->arena, &ops, &n);
	if (rc)
		return rc;
	tm_buf_add_str(out, "<datalist id=\"operations\">");
	size_t start = out->len;
	for (size_t i = 0, shown = 0; i < n && shown < MAX_SUGGESTED_OPS &&
				      out->len - start < MAX_SUGGESTED_BYTES; i++) {
		int repeat = 0;
		for (size_t k = 0; k < i && !repeat; k++)
			repeat = tm_str_eq(ops[k].name, ops[i].name);
		if (repeat)
			continue;
		tm_buf_add_str(out, "<option value=\"");
		tm_html_escape_str(out, ops[i].name);
		tm_buf_add_str(out, "\"></option>");
		shown++;
	}
	tm_buf_add_str(out, "</datalist>");
	return 0;
}

int tm_web_service_fields(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
			  struct tm_str operation, int any_service)
{
	struct tm_name *svcs;
	size_t n;
	int rc = tm_store_services(c->rd, c->arena, &svcs, &n);
	if (rc)
		return rc;
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += svcs[i].name.len;
	if (n <= MAX_SELECT_SERVICES && bytes <= MAX_SELECT_BYTES) {
		service_select(out, svcs, n, service, any_service);
	} else {
		tm_buf_add_str(out, "<label>Service <input name=\"service\" size=\"24\" value=\"");
		tm_html_escape_str(out, service);
		tm_buf_add_str(out, "\"></label> ");
	}
	tm_buf_add_str(out, "<label>Operation <input name=\"operation\" size=\"24\" "
			    "list=\"operations\" value=\"");
	tm_html_escape_str(out, operation);
	tm_buf_add_str(out, "\"></label> ");
	return operation_list(out, c, service);
}

/*---- reading the filters ----*/

/* reads the tags text, logfmt as Grafana takes it: `k=v k2="v 2"`, pairs
 * separated by spaces, a value quoted when it holds spaces (\" and \\
 * inside quotes) */
static int parse_tags(struct tm_web_ctx *c, struct tm_str text, struct tm_search_tag **out,
		      size_t *n_out)
{
	const char *p = text.ptr, *end = text.ptr + text.len;
	size_t n = 0;
	struct tm_search_tag *tags = tm_arena_alloc(c->arena, (text.len / 2 + 1) * sizeof(*tags));
	char *buf = tm_arena_alloc(c->arena, text.len + 1);
	if (!tags || !buf)
		return -ENOMEM;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		const char *key = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		if (p == end || *p != '=' || p == key) {
			snprintf(c->err, sizeof(c->err), "invalid value for parameter 'tags': expected "
				 "key=value pairs separated by spaces, got '%.*s'",
				 (int)(p - key < 80 ? p - key : 80), key);
			return -EINVAL;
		}
		struct tm_str k = { key, (size_t)(p - key) };
		char *v = buf;
		p++;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				*buf++ = *p;
			}
			if (p == end) {
				snprintf(c->err, sizeof(c->err), "invalid value for parameter 'tags': "
					 "the value of '%.*s' has no closing quote",
					 (int)(k.len < 80 ? k.len : 80), k.ptr);
				return -EINVAL;
			}
			p++;
		} else {
			while (p < end && *p != ' ' && *p != '\t')
				*buf++ = *p++;
		}
		tags[n++] = (struct tm_search_tag){ k, { v, (size_t)(buf - v) }, 0 };
	}
	*out = tags;
	*n_out = n;
	return 0;
}

static int check_params(struct tm_web_ctx *c, const struct tm_web_search_params *p)
{
	if (p->limit < 1 || p->limit > SEARCH_MAX_LIMIT) {
		snprintf(c->err, sizeof(c->err), "invalid value for parameter 'limit': allowed "
			 "1 to %d", SEARCH_MAX_LIMIT);
		return -EINVAL;
	}
	if (p->max_duration_ns < p->min_duration_ns) {
		snprintf(c->err, sizeof(c->err), "invalid parameters 'minDuration' and "
			 "'maxDuration': maxDuration is below minDuration");
		return -EINVAL;
	}
	if (p->window.end_ns < p->window.start_ns) {
		snprintf(c->err, sizeof(c->err), "invalid parameters 'start' and 'end': end is "
			 "before start");
		return -EINVAL;
	}
	return 0;
}

/*---- running the search ----*/

struct found {
	struct tm_trace_info *items;
	size_t n;
	uint64_t total;          /* slowest: traces in the window */
	int hit_fetch_cap;       /* slowest: only the SLOW_FETCH_MAX slowest looked at */
};

static int str_cmp(const void *a, const void *b)
{
	const struct tm_str *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = n ? memcmp(x->ptr, y->ptr, n) : 0;
	return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* a trace read by tm_search as a row: its summary and its services */
static int info_of(struct tm_arena *a, const struct tm_trace *t, struct tm_trace_info *out)
{
	memcpy(out->trace_id, t->trace_id, TM_TRACE_ID_LEN);
	out->start_ns = t->summary.start_ns;
	out->end_ns = t->summary.end_ns;
	out->n_spans = t->summary.span_count;
	out->n_errors = t->summary.error_count;
	out->root_service = t->summary.root_service;
	out->root_operation = t->summary.root_operation;
	out->services = tm_arena_alloc(a, (t->n_spans + 1) * sizeof(struct tm_str));
	if (!out->services)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_spans; i++)
		out->services[i] = tm_span_service(&t->spans[i]);
	if (t->n_spans)
		qsort(out->services, t->n_spans, sizeof(struct tm_str), str_cmp);
	size_t n = 0;
	for (size_t i = 0; i < t->n_spans; i++)
		if (out->services[i].len && (!n || !tm_str_eq(out->services[n - 1], out->services[i])))
			out->services[n++] = out->services[i];
	out->n_services = n;
	return 0;
}

static int unknown_service(struct tm_web_ctx *c, struct tm_str service)
{
	snprintf(c->err, sizeof(c->err), "invalid value for parameter 'service': unknown service "
		 "'%.*s' (no spans from it were received)",
		 (int)(service.len < 100 ? service.len : 100), service.ptr);
	return -EINVAL;
}

static int search_newest(struct tm_web_ctx *c, const struct tm_web_search_params *p,
			 struct found *f)
{
	struct tm_search_query q = { .dialect = TM_SEARCH_JAEGER, .service = p->service,
				     .operation = p->operation,
				     .min_duration_ns = p->min_duration_ns,
				     .max_duration_ns = p->max_duration_ns,
				     .start_ns = p->window.start_ns, .end_ns = p->window.end_ns,
				     .limit = p->limit };
	struct tm_search_tag *tags;
	int rc = parse_tags(c, p->tags, &tags, &q.n_tags);
	if (rc)
		return rc;
	q.tags = tags;
	struct tm_search_result res;
	rc = tm_search(c->rd, &q, c->arena, &res);
	if (rc == -ESRCH)
		return unknown_service(c, p->service);
	if (rc)
		return rc;
	f->items = tm_arena_alloc(c->arena, (res.n + 1) * sizeof(*f->items));
	if (!f->items)
		return -ENOMEM;
	for (size_t i = 0; i < res.n; i++)
		if (info_of(c->arena, &res.traces[i], &f->items[i]))
			return -ENOMEM;
	f->n = res.n;
	return 0;
}

static int search_slowest(struct tm_web_ctx *c, const struct tm_web_search_params *p,
			  struct found *f)
{
	int bounded = p->min_duration_ns > 0 || p->max_duration_ns < UINT64_MAX;
	struct tm_slow_query q = { p->service, p->operation, p->window.start_ns, p->window.end_ns,
				   bounded ? SLOW_FETCH_MAX : p->limit };
	struct tm_slow_result res;
	int rc = tm_slow_traces(c->rd, &q, c->arena, &res);
	if (rc == -ESRCH)
		return unknown_service(c, p->service);
	if (rc)
		return rc;
	/* whole-trace durations, slowest first: skip those above the max, stop
	 * below the min */
	f->items = res.items;
	f->total = res.total;
	f->hit_fetch_cap = bounded && res.n == SLOW_FETCH_MAX && res.total > res.n;
	for (size_t i = 0; i < res.n && f->n < p->limit; i++) {
		uint64_t d = res.items[i].end_ns - res.items[i].start_ns;
		if (d < p->min_duration_ns)
			break;
		if (d <= p->max_duration_ns)
			f->items[f->n++] = res.items[i];
	}
	return 0;
}

/*---- writing ----*/

static void duration_field(struct tm_buf *out, const char *label, const char *name, uint64_t ns,
			   int is_set)
{
	char v[32] = "";
	if (is_set)
		tm_web_fmt_go_duration(v, sizeof(v), ns);
	tm_web_printf(out, "<label>%s <input name=\"%s\" size=\"8\" placeholder=\"%s\" "
			   "value=\"%s\"></label> ",
		      label, name, !strcmp(name, "minDuration") ? "100ms" : "2s", v);
}

static int form(struct tm_buf *out, struct tm_web_ctx *c, const struct tm_web_search_params *p)
{
	struct tm_buf fields;
	tm_buf_init(&fields);
	int rc = tm_web_service_fields(&fields, c, p->service, p->operation, 1);
	if (rc) {
		tm_buf_free(&fields);
		return rc;
	}
	tm_buf_add_str(out, "<form method=\"get\" action=\"");
	tm_web_href(out, c, TM_LINK_SEARCH, NONE, NONE);
	tm_buf_add_str(out, "\" role=\"search\" style=\"display:flex;flex-wrap:wrap;gap:.5em 1em;"
			    "align-items:end\">");
	tm_buf_add(out, fields.data, fields.len);
	tm_buf_free(&fields);
	tm_buf_add_str(out, "<label>Attributes <input name=\"tags\" size=\"36\" "
			    "placeholder=\"http.status_code=500 error=true\" value=\"");
	tm_html_escape_str(out, p->tags);
	tm_buf_add_str(out, "\"></label> ");
	duration_field(out, "Min duration", "minDuration", p->min_duration_ns,
		       p->min_duration_ns > 0);
	duration_field(out, "Max duration", "maxDuration", p->max_duration_ns,
		       p->max_duration_ns < UINT64_MAX);
	tm_web_window_fields(out, &p->window);
	tm_web_printf(out, "<label>Limit <input type=\"number\" name=\"limit\" min=\"1\" "
			   "max=\"%d\" size=\"5\" value=\"%zu\"></label> "
			   "<fieldset style=\"border:0;padding:0;margin:0\"><legend>Sort</legend>"
			   "<label><input type=\"radio\" name=\"sort\" value=\"newest\"%s> newest "
			   "first</label> <label><input type=\"radio\" name=\"sort\" "
			   "value=\"slowest\"%s> slowest first</label></fieldset> "
			   "<button>Search</button></form>",
		      SEARCH_MAX_LIMIT, p->limit, p->slowest_first ? "" : " checked",
		      p->slowest_first ? " checked" : "");
	tm_buf_add_str(out, "<p class=\"muted\">Durations are Go durations (<code>250us</code>, "
			    "<code>300ms</code>, <code>1.5s</code>). Attributes are "
			    "<code>key=value</code> pairs separated by spaces; quote a value that "
			    "holds spaces (<code>k=\"a b\"</code>). Start and end are UTC "
			    "(<code>2026-08-01T10:00</code>, or microseconds since the epoch) and "
			    "count when the window is &ldquo;custom&rdquo;.</p>");
	return 0;
}

static void results_intro(struct tm_buf *out, const struct tm_web_search_params *p,
			  const struct found *f)
{
	tm_buf_add_str(out, "<h2 id=\"results\">Results</h2><p>");
	if (!p->slowest_first) {
		tm_web_printf(out, "<strong>%zu</strong> traces, newest first by trace start. "
				   "Newest first is the Jaeger search: one span of the trace meets "
				   "every filter at once, its start lies in ", f->n);
		tm_web_window_text(out, &p->window);
		tm_buf_add_str(out, ", and the duration bounds apply to that span.");
		if (f->n == p->limit)
			tm_buf_add_str(out, " There may be more: raise the limit or narrow the "
					    "window.");
	} else {
		tm_web_printf(out, "<strong>%zu</strong> of the %" PRIu64 " traces that started in ",
			      f->n, f->total);
		tm_web_window_text(out, &p->window);
		tm_buf_add_str(out, p->service.len || p->operation.len
					    ? " and have a matching span"
					    : "");
		tm_buf_add_str(out, ", slowest first by whole-trace duration (earliest span start "
				    "to latest span end); the duration bounds apply to that "
				    "whole-trace duration.");
		if (f->hit_fetch_cap)
			tm_web_printf(out, " Only the %d slowest traces were looked at.",
				      SLOW_FETCH_MAX);
	}
	tm_buf_add_str(out, "</p>");
	if (p->slowest_first && p->tags.len)
		tm_buf_add_str(out, "<p class=\"err\"><strong>Note:</strong> the attribute filters "
				    "were not used: slowest first ranks whole traces by service and "
				    "operation only. Choose newest first to filter by attributes.</p>");
}

static void results(struct tm_buf *out, struct tm_web_ctx *c, const struct tm_web_search_params *p,
		    const struct found *f)
{
	results_intro(out, p, f);
	if (!f->n) {
		tm_buf_add_str(out, "<p>No trace matches. Try a wider window or fewer filters.</p>");
		return;
	}
	struct tm_svg_trace_point *pts = tm_arena_alloc(c->arena, f->n * sizeof(*pts));
	if (pts) {
		for (size_t i = 0; i < f->n; i++) {
			const struct tm_trace_info *t = &f->items[i];
			pts[i] = (struct tm_svg_trace_point){ t->trace_id, t->start_ns,
							      t->end_ns - t->start_ns, t->n_errors,
							      t->root_service, t->root_operation };
		}
		static const char title[] = "Duration of the traces found over time";
		tm_svg_trace_scatter(out, c, pts, f->n, (struct tm_str){ title, sizeof(title) - 1 });
	}
	tm_web_trace_table(out, c, f->items, f->n);
}

int tm_web_search_page(struct tm_buf *out, struct tm_web_ctx *c,
		       const struct tm_web_search_params *p)
{
	struct found f = { 0 };
	if (p->submitted) {
		int rc = check_params(c, p);
		if (!rc)
			rc = p->slowest_first ? search_slowest(c, p, &f) : search_newest(c, p, &f);
		if (rc)
			return rc;
	}
	tm_web_page_begin(out, c, "Search", "search");
	tm_buf_add_str(out, "<h1>Search traces</h1>");
	if (!c->static_site) {
		int rc = form(out, c, p);
		if (rc)
			return rc;
	}
	if (p->submitted)
		results(out, c, p, &f);
	else if (c->static_site)
		tm_buf_add_str(out, "<p>Searching needs the running collector; this is an "
				    "exported copy.</p>");
	else
		tm_buf_add_str(out, "<p>Fill in any filters and search; with none, the newest "
				    "traces of the window come first.</p>");
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}
