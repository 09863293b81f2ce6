/* page_service.c - GET /services/{name}: one service in a window: its
 * operations, the latency of its requests, its callers and callees, its
 * slowest traces and what makes them slow.
 *
 * Everything comes from analysis/: the operation-level map focused on the
 * service (its operations), the service-level map focused on it with one
 * hop (its node's histogram, and the edges in and out), tm_slow_traces and
 * tm_smap_bottlenecks.  The page is how a person gets from "the map looks
 * red" to "this operation in this service is why": map -> service page,
 * whose bottleneck table names the operation and links example traces. */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "servicemap.h"
#include "svg_chart.h"

#define SLOWEST_SHOWN 10
#define BOTTLENECKS_SHOWN 10
#define NAME_SHOWN 160      /* bytes of a name shown before "…" */
/* where the unbounded tables stop, so that what follows them (bounded:
 * a chart, 10 traces, 10 bottlenecks) still fits under 1 MB */
#define OPERATIONS_BUDGET (TM_WEB_PAGE_BUDGET * 2 / 3)
#define EDGES_BUDGET (TM_WEB_PAGE_BUDGET * 5 / 6)

static const struct tm_str NONE = { "", 0 };

/* what the page reads before it writes a byte (so a failure is a clean
 * error page, not half a page) */
struct service_data {
	struct tm_smap_map svc_map, op_map;
	const struct tm_smap_node *node;    /* the service's node, or NULL */
	struct tm_slow_result slowest;
	struct tm_bottlenecks bottlenecks;
};

/*---- reading ----*/

static int load(struct tm_web_ctx *c, struct tm_str service, const struct tm_web_window *w,
		struct service_data *d)
{
	memset(d, 0, sizeof(*d));
	struct tm_smap_query q = { w->start_ns, w->end_ns, 0, service, 1 };
	int rc = tm_smap_query(c->rd, &q, c->arena, &d->svc_map);
	if (rc)
		return rc;
	for (size_t i = 0; i < d->svc_map.n_nodes; i++)
		if (d->svc_map.nodes[i].kind == TM_SMAP_SERVICE &&
		    tm_str_eq(d->svc_map.nodes[i].id, service))
			d->node = &d->svc_map.nodes[i];
	q.operation_level = 1;
	q.hops = 0;
	rc = tm_smap_query(c->rd, &q, c->arena, &d->op_map);
	if (rc)
		return rc;
	struct tm_slow_query sq = { service, NONE, w->start_ns, w->end_ns, SLOWEST_SHOWN };
	rc = tm_slow_traces(c->rd, &sq, c->arena, &d->slowest);
	if (rc)
		return rc == -ESRCH ? -ENOENT : rc;
	struct tm_bottleneck_query bq = { service, NONE, w->start_ns, w->end_ns, 0 };
	rc = tm_smap_bottlenecks(c->rd, &bq, c->arena, &d->bottlenecks);
	return rc == -ESRCH ? -ENOENT : rc;
}

/*---- cells ----*/

static void num_cell(struct tm_buf *out, uint64_t v)
{
	tm_web_printf(out, "<td class=\"n\">%" PRIu64 "</td>", v);
}

static void duration_cell(struct tm_buf *out, double ns)
{
	char d[32];
	tm_web_fmt_duration(d, sizeof(d), ns);
	tm_web_printf(out, "<td class=\"n\">%s</td>", d);
}

/* the error rate as text; red as well when not zero */
static void error_rate_cell(struct tm_buf *out, uint64_t errors, uint64_t calls)
{
	double pct = calls ? 100.0 * (double)errors / (double)calls : 0;
	if (!errors)
		tm_buf_add_str(out, "<td class=\"n\">0%</td>");
	else
		tm_web_printf(out, "<td class=\"n err\">%.*f%%</td>", pct < 10 ? 2 : 1, pct);
}

static void percentile_cells(struct tm_buf *out, const struct tm_smap_stat *s, int with_p90)
{
	duration_cell(out, s->calls ? (double)tm_hist_percentile(s->hist, 0.5) : 0);
	if (with_p90)
		duration_cell(out, s->calls ? (double)tm_hist_percentile(s->hist, 0.9) : 0);
	duration_cell(out, s->calls ? (double)tm_hist_percentile(s->hist, 0.99) : 0);
}

/*---- sections ----*/

static void window_chooser(struct tm_buf *out, const struct tm_web_ctx *c, struct tm_str service,
			   const struct tm_web_window *w)
{
	static const char *const presets[] = { "15m", "1h", "6h", "24h" };
	tm_buf_add_str(out, "<p>Window: ");
	tm_web_window_text(out, w);
	if (c->static_site) {
		tm_buf_add_str(out, ".</p>");
		return;
	}
	tm_buf_add_str(out, ". Show the last");
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		int on = w->name && !strcmp(w->name, presets[i]);
		tm_buf_add_str(out, i ? ", " : " ");
		tm_buf_add_str(out, "<a href=\"");
		tm_web_href(out, c, TM_LINK_SERVICE, service, NONE);
		tm_web_printf(out, "?window=%s\"%s>%s</a>", presets[i],
			      on ? " aria-current=\"page\" style=\"font-weight:700\"" : "", presets[i]);
	}
	tm_buf_add_str(out, ".</p><details><summary>Another window</summary>"
			    "<form method=\"get\" action=\"");
	tm_web_href(out, c, TM_LINK_SERVICE, service, NONE);
	tm_buf_add_str(out, "\">");
	tm_web_window_fields(out, w);
	tm_buf_add_str(out, "<button>Show</button></form></details>");
}

static void summary(struct tm_buf *out, const struct service_data *d, double window_s)
{
	if (!d->node || !d->node->stat.calls) {
		tm_buf_add_str(out, "<p class=\"muted\">No requests reached this service in this "
				    "window (requests are its server and consumer spans).</p>");
		return;
	}
	const struct tm_smap_stat *s = &d->node->stat;
	char p50[32], p90[32], p99[32];
	tm_web_fmt_duration(p50, sizeof(p50), (double)tm_hist_percentile(s->hist, 0.5));
	tm_web_fmt_duration(p90, sizeof(p90), (double)tm_hist_percentile(s->hist, 0.9));
	tm_web_fmt_duration(p99, sizeof(p99), (double)tm_hist_percentile(s->hist, 0.99));
	tm_web_printf(out, "<p><strong>%" PRIu64 "</strong> requests (%.2f/s), <strong%s>%" PRIu64
			   "</strong> errors (%.2f%%); latency p50 %s, p90 %s, p99 %s.",
		      s->calls, (double)s->calls / window_s, s->errors ? " class=\"err\"" : "",
		      s->errors, 100.0 * (double)s->errors / (double)s->calls, p50, p90, p99);
	if (s->http4xx || s->http5xx || s->throttled)
		tm_web_printf(out, " HTTP: %" PRIu64 " 4xx, %" PRIu64 " 5xx, %" PRIu64
				   " throttled (429).", s->http4xx, s->http5xx, s->throttled);
	tm_buf_add_str(out, "</p>");
}

static int op_cmp(const void *a, const void *b)
{
	const struct tm_smap_node *x = *(const struct tm_smap_node *const *)a;
	const struct tm_smap_node *y = *(const struct tm_smap_node *const *)b;
	if (x->stat.calls != y->stat.calls)
		return x->stat.calls < y->stat.calls ? 1 : -1;
	return x < y ? -1 : x > y;   /* the map sorts by id already */
}

static void operation_row(struct tm_buf *out, const struct tm_web_ctx *c,
			  const struct tm_smap_node *n, double window_s,
			  const struct tm_web_window *w)
{
	tm_buf_add_str(out, "<tr><td>");
	tm_web_escape_short(out, n->operation, NAME_SHOWN);
	tm_buf_add_str(out, "</td>");
	num_cell(out, n->stat.calls);
	tm_web_printf(out, "<td class=\"n\">%.2f</td>", (double)n->stat.calls / window_s);
	num_cell(out, n->stat.errors);
	error_rate_cell(out, n->stat.errors, n->stat.calls);
	percentile_cells(out, &n->stat, 1);
	tm_buf_add_str(out, "<td><a href=\"");
	tm_web_href(out, c, TM_LINK_BOTTLENECKS, n->service, n->operation);
	tm_web_window_query(out, c, w, "&amp;");
	tm_buf_add_str(out, "\">bottlenecks</a>");
	if (!c->static_site) {
		tm_buf_add_str(out, " &middot; <a href=\"");
		tm_web_href(out, c, TM_LINK_SEARCH, NONE, NONE);
		tm_buf_add(out, "?", 1);
		tm_web_query_arg(out, "service", n->service);
		tm_buf_add_str(out, "&amp;");
		tm_web_query_arg(out, "operation", n->operation);
		tm_buf_add_str(out, "&amp;sort=slowest");
		tm_web_window_query(out, c, w, "&amp;");
		tm_buf_add_str(out, "\">slowest traces</a>");
	}
	tm_buf_add_str(out, "</td></tr>");
}

static int operations(struct tm_buf *out, struct tm_web_ctx *c, const struct service_data *d,
		      struct tm_str service, double window_s, const struct tm_web_window *w)
{
	const struct tm_smap_map *m = &d->op_map;
	const struct tm_smap_node **ops = tm_arena_alloc(c->arena, (m->n_nodes + 1) * sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	size_t n = 0, callers_only = 0;
	for (size_t i = 0; i < m->n_nodes; i++) {
		const struct tm_smap_node *x = &m->nodes[i];
		if (x->kind != TM_SMAP_SERVICE || !x->operation.len || !tm_str_eq(x->service, service))
			continue;
		/* a node that only calls out (its calls were paired before the entry
		 * span above them was seen) has no requests to show */
		if (x->stat.calls)
			ops[n++] = x;
		else
			callers_only++;
	}
	tm_buf_add_str(out, "<h2 id=\"operations\">Operations</h2>");
	if (!n) {
		tm_buf_add_str(out, "<p class=\"muted\">No operations with requests in this "
				    "window.</p>");
		return 0;
	}
	qsort(ops, n, sizeof(*ops), op_cmp);
	tm_buf_add_str(out, "<p class=\"muted\">An operation is the name of the service's entry "
			    "span (server or consumer); busiest first.</p>"
			    "<table><thead><tr><th scope=\"col\">operation</th>"
			    "<th scope=\"col\" class=\"n\">requests</th>"
			    "<th scope=\"col\" class=\"n\">req/s</th>"
			    "<th scope=\"col\" class=\"n\">errors</th>"
			    "<th scope=\"col\" class=\"n\">error rate</th>"
			    "<th scope=\"col\" class=\"n\">p50</th><th scope=\"col\" class=\"n\">p90</th>"
			    "<th scope=\"col\" class=\"n\">p99</th><th scope=\"col\">look closer</th>"
			    "</tr></thead><tbody>");
	size_t i = 0;
	for (; i < n && out->len < OPERATIONS_BUDGET; i++)
		operation_row(out, c, ops[i], window_s, w);
	tm_buf_add_str(out, "</tbody></table>");
	if (i < n)
		tm_web_printf(out, "<p class=\"muted\">%zu more operations are not shown, to keep "
				   "this page under 1 MB.</p>", n - i);
	if (callers_only)
		tm_web_printf(out, "<p class=\"muted\">%zu more operation name%s appear%s only as "
				   "the caller of other services, without requests of %s own.</p>",
			      callers_only, callers_only == 1 ? "" : "s", callers_only == 1 ? "s" : "",
			      callers_only == 1 ? "its" : "their");
	return 0;
}

static void latency(struct tm_buf *out, const struct service_data *d, struct tm_str service)
{
	tm_buf_add_str(out, "<h2 id=\"latency\">Latency of its requests</h2>");
	struct tm_buf title;
	tm_buf_init(&title);
	tm_buf_add_str(&title, "Latency histogram of the requests of ");
	tm_buf_add(&title, service.ptr, service.len);
	struct tm_str t = { (const char *)title.data, title.failed ? 0 : title.len };
	tm_svg_latency_histogram(out, d->node ? d->node->stat.hist : NULL, t, "requests");
	tm_buf_free(&title);
}

/* the other end of an edge: a link when it is a service with a page */
static void peer_cell(struct tm_buf *out, const struct tm_web_ctx *c, const struct tm_smap_node *n,
		      const struct tm_web_window *w)
{
	tm_buf_add_str(out, "<td>");
	if (n->kind == TM_SMAP_SERVICE) {
		tm_buf_add_str(out, "<a href=\"");
		tm_web_href(out, c, TM_LINK_SERVICE, n->id, NONE);
		tm_web_window_query(out, c, w, "?");
		tm_buf_add_str(out, "\">");
		tm_web_escape_short(out, n->id, NAME_SHOWN);
		tm_buf_add_str(out, "</a>");
	} else if (n->kind == TM_SMAP_USER) {
		tm_buf_add_str(out, "users (root spans)");
	} else {
		tm_web_escape_short(out, n->id, NAME_SHOWN);
	}
	tm_buf_add_str(out, "</td><td>");
	tm_buf_add_str(out, tm_smap_kind_name(n->kind));
	tm_buf_add_str(out, "</td>");
}

static void edge_table(struct tm_buf *out, const struct tm_web_ctx *c, const struct service_data *d,
		       int callers, const struct tm_web_window *w)
{
	const struct tm_smap_map *m = &d->svc_map;
	size_t self = d->node ? (size_t)(d->node - m->nodes) : SIZE_MAX, shown = 0;
	tm_buf_add_str(out, callers ? "<h3>Callers</h3>" : "<h3>Callees</h3>");
	size_t skipped = 0;
	for (size_t i = 0; i < m->n_edges; i++) {
		const struct tm_smap_edge *e = &m->edges[i];
		if ((callers ? e->target : e->source) != self)
			continue;
		if (out->len >= EDGES_BUDGET) {
			skipped++;
			continue;
		}
		if (!shown++)
			tm_web_printf(out, "<table><thead><tr><th scope=\"col\">%s</th>"
					   "<th scope=\"col\">kind</th>"
					   "<th scope=\"col\" class=\"n\">calls</th>"
					   "<th scope=\"col\" class=\"n\">errors</th>"
					   "<th scope=\"col\" class=\"n\">error rate</th>"
					   "<th scope=\"col\" class=\"n\">p50</th>"
					   "<th scope=\"col\" class=\"n\">p99</th></tr></thead><tbody>",
				      callers ? "caller" : "callee");
		tm_buf_add_str(out, "<tr>");
		peer_cell(out, c, &m->nodes[callers ? e->source : e->target], w);
		num_cell(out, e->stat.calls);
		num_cell(out, e->stat.errors);
		error_rate_cell(out, e->stat.errors, e->stat.calls);
		percentile_cells(out, &e->stat, 0);
		tm_buf_add_str(out, "</tr>");
	}
	if (shown)
		tm_buf_add_str(out, "</tbody></table>");
	if (skipped)
		tm_web_printf(out, "<p class=\"muted\">%zu more are not shown, to keep this page "
				   "under 1 MB.</p>", skipped);
	else if (!shown)
		tm_web_printf(out, "<p class=\"muted\">%s in this window.</p>",
			      callers ? "Nothing called it" : "It called nothing");
}

static void calls(struct tm_buf *out, const struct tm_web_ctx *c, const struct service_data *d,
		  const struct tm_web_window *w)
{
	tm_buf_add_str(out, "<h2 id=\"calls\">Callers and callees</h2><p class=\"muted\">Latency "
			    "of a call as the caller saw it (its client span) when it has one. "
			    "Rows link to the other service's page.</p>");
	edge_table(out, c, d, 1, w);
	edge_table(out, c, d, 0, w);
}

static void slowest(struct tm_buf *out, const struct tm_web_ctx *c, const struct service_data *d,
		    struct tm_str service, const struct tm_web_window *w)
{
	tm_buf_add_str(out, "<h2 id=\"slowest\">Slowest traces</h2>");
	if (!d->slowest.n) {
		tm_buf_add_str(out, "<p class=\"muted\">No trace with a span of this service started "
				    "in this window.</p>");
		return;
	}
	tm_web_printf(out, "<p class=\"muted\">The %zu slowest of the %" PRIu64 " traces that have "
			   "a span of this service and started in this window, by whole-trace "
			   "duration (earliest span start to latest span end).",
		      d->slowest.n, d->slowest.total);
	if (!c->static_site) {
		tm_buf_add_str(out, " <a href=\"");
		tm_web_href(out, c, TM_LINK_SEARCH, NONE, NONE);
		tm_buf_add(out, "?", 1);
		tm_web_query_arg(out, "service", service);
		tm_buf_add_str(out, "&amp;sort=slowest&amp;limit=100");
		tm_web_window_query(out, c, w, "&amp;");
		tm_buf_add_str(out, "\">More slow traces</a>");
	}
	tm_buf_add_str(out, "</p>");
	tm_web_trace_table(out, c, d->slowest.items, d->slowest.n);
}

static void bottlenecks(struct tm_buf *out, const struct tm_web_ctx *c, const struct service_data *d,
			struct tm_str service, const struct tm_web_window *w)
{
	tm_buf_add_str(out, "<h2 id=\"bottlenecks\">What its slow traces spend their time on</h2>");
	tm_web_bottleneck_report(out, c, &d->bottlenecks, BOTTLENECKS_SHOWN, w);
	tm_buf_add_str(out, "<p><a href=\"");
	tm_web_href(out, c, TM_LINK_BOTTLENECKS, service, NONE);
	tm_web_window_query(out, c, w, "&amp;");
	tm_buf_add_str(out, "\">The full bottleneck ranking of this service</a></p>");
}

/*---- the page ----*/

/* the head, titled with the service's name (cut, as a title needs no more) */
static void page_begin(struct tm_buf *out, const struct tm_web_ctx *c, struct tm_str service)
{
	struct tm_buf title;
	tm_buf_init(&title);
	tm_buf_add_str(&title, "Service ");
	size_t cut = service.len < 200 ? service.len : 200;
	while (cut < service.len && cut && ((unsigned char)service.ptr[cut] & 0xc0) == 0x80)
		cut--;   /* not inside a UTF-8 sequence */
	tm_buf_add(&title, service.ptr, cut);
	tm_buf_add(&title, "", 1);
	tm_web_page_begin(out, c, title.failed ? "Service" : (const char *)title.data, NULL);
	tm_buf_free(&title);
}

int tm_web_service_page(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
			const struct tm_web_window *w)
{
	uint32_t id;
	int rc = service.len ? tm_store_service_id(c->rd, service, &id) : -ENOENT;
	if (rc)
		return rc;
	struct service_data d;
	rc = load(c, service, w, &d);
	if (rc)
		return rc;
	/* rates over the whole minutes the map covers, as the map counts them */
	uint64_t span_ns = d.svc_map.end_ns > d.svc_map.start_ns
				   ? d.svc_map.end_ns - d.svc_map.start_ns
				   : w->end_ns - w->start_ns;
	double window_s = span_ns > 1000000000ull ? (double)span_ns / 1e9 : 1;

	page_begin(out, c, service);
	tm_buf_add_str(out, "<h1>Service: ");
	tm_web_escape_short(out, service, NAME_SHOWN);
	tm_buf_add_str(out, "</h1>");
	window_chooser(out, c, service, w);
	tm_buf_add_str(out, "<nav aria-label=\"On this page\"><p>On this page: "
			    "<a href=\"#operations\">operations</a> &middot; "
			    "<a href=\"#latency\">latency</a> &middot; "
			    "<a href=\"#calls\">callers and callees</a> &middot; "
			    "<a href=\"#slowest\">slowest traces</a> &middot; "
			    "<a href=\"#bottlenecks\">bottlenecks</a></p></nav>");
	summary(out, &d, window_s);
	rc = operations(out, c, &d, service, window_s, w);
	if (rc)
		return rc;
	latency(out, &d, service);
	calls(out, c, &d, w);
	slowest(out, c, &d, service, w);
	bottlenecks(out, c, &d, service, w);
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}
