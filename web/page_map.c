/* page_map.c - GET /: the service map of a window.
 *
 * The map as a picture (web/graph.h: Graphviz SVG inline, every node and
 * edge a link with a <title> and a tooltip), then the same nodes and edges
 * as tables: the text alternative, and what a reader without the picture
 * gets.  The controls are plain links and one GET form: window, level
 * (services or operations), focus on a service and a number of hops.  A
 * few lines of script add zoom and pan (wheel, drag, + and - keys, buttons)
 * to the picture; without script it scrolls at its natural size.
 *
 * Query parameters (read by server/web_http.c into tm_web_map_params):
 * window=15m|1h|6h|24h|custom, start, end (as every page), level=service|
 * operation, focus=<service>, hops=<0..10>.  The links an edge carries go
 * to /search?service=<callee>&operation=<callee's operation>&sort=slowest
 * and the window: the slow traces that cross the edge. */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "servicemap.h"
#include "svg_chart.h"

#define FOCUS_SELECT_MAX 2000     /* more services: a text input */
/* a bigger picture is not inlined: with its tables the page would pass 1 MB */
#define PICTURE_BUDGET (700u * 1024u)
/* the tables stop here (with a note) so that a page stays under 1 MB */
#define TABLES_BUDGET TM_WEB_PAGE_BUDGET

static const struct tm_str NONE = { "", 0 };

/* what the page reads before it writes a byte */
struct map_page {
	struct tm_web_ctx *c;
	const struct tm_web_map_params *p;
	struct tm_smap_map m;
	struct tm_name *services;     /* every service, for the focus field */
	size_t n_services;
	double window_s;
};

/*---- links ----*/

/* the service a node belongs to, or empty for a database, queue, API or
 * the users: those have no page of their own */
static struct tm_str node_service(const struct tm_smap_node *n)
{
	if (n->kind != TM_SMAP_SERVICE)
		return NONE;
	return n->service.len ? n->service : n->id;
}

/* appends the href of this page with the window `window` (NULL: this
 * one), the level, and this page's focus when keep_focus (live only) */
static void map_href(struct tm_buf *out, const struct map_page *mp, const char *window,
		     int operation_level, int keep_focus)
{
	const struct tm_web_map_params *p = mp->p;
	tm_web_href(out, mp->c, TM_LINK_MAP, NONE, NONE);
	if (window)
		tm_web_printf(out, "?window=%s", window);
	else
		tm_web_window_query(out, mp->c, &p->window, "?");
	if (operation_level)
		tm_buf_add_str(out, "&amp;level=operation");
	if (keep_focus && p->focus.len) {
		tm_buf_add_str(out, "&amp;");
		tm_web_query_arg(out, "focus", p->focus);
		tm_web_printf(out, "&amp;hops=%u", p->hops);
	}
}

/* the slow traces through an edge: the callee's, or for a callee with no
 * spans of its own (a database) the caller's */
static void edge_href(struct tm_buf *out, const struct map_page *mp, const struct tm_smap_edge *e)
{
	const struct tm_smap_node *to = &mp->m.nodes[e->target];
	if (to->kind != TM_SMAP_SERVICE)
		to = &mp->m.nodes[e->source];
	struct tm_str svc = node_service(to);
	if (!svc.len)
		return;
	if (mp->c->static_site) {
		tm_web_href(out, mp->c, TM_LINK_SERVICE, svc, NONE);
		return;
	}
	tm_web_href(out, mp->c, TM_LINK_SEARCH, NONE, NONE);
	tm_buf_add_str(out, "?");
	tm_web_query_arg(out, "service", svc);
	if (to->operation.len) {
		tm_buf_add_str(out, "&amp;");
		tm_web_query_arg(out, "operation", to->operation);
	}
	tm_buf_add_str(out, "&amp;sort=slowest");
	tm_web_window_query(out, mp->c, &mp->p->window, "&amp;");
}

static void service_href(struct tm_buf *out, const struct map_page *mp, struct tm_str svc)
{
	tm_web_href(out, mp->c, TM_LINK_SERVICE, svc, NONE);
	tm_web_window_query(out, mp->c, &mp->p->window, "?");
}

/* tm_graph_options.href */
static void graph_href(void *arg, struct tm_buf *out, const struct tm_smap_map *m,
		       enum tm_graph_part part, size_t i)
{
	const struct map_page *mp = arg;
	if (part == TM_GRAPH_EDGE) {
		edge_href(out, mp, &m->edges[i]);
		return;
	}
	struct tm_str svc = node_service(&m->nodes[i]);
	if (svc.len)
		service_href(out, mp, svc);
}

/*---- controls ----*/

/* a select of every service (the option values spelled out: a browser
 * would trim the spaces of a name taken from the text) */
static void focus_field(struct tm_buf *out, const struct map_page *mp)
{
	if (mp->n_services > FOCUS_SELECT_MAX) {
		tm_buf_add_str(out, "<label>Focus on <input name=\"focus\" size=\"24\" "
				    "placeholder=\"a service\" value=\"");
		tm_html_escape_str(out, mp->p->focus);
		tm_buf_add_str(out, "\"></label> ");
		return;
	}
	tm_buf_add_str(out, "<label>Focus on <select name=\"focus\">"
			    "<option value=\"\">(the whole map)</option>");
	for (size_t i = 0; i < mp->n_services; i++) {
		struct tm_str name = mp->services[i].name;
		tm_buf_add_str(out, "<option value=\"");
		tm_html_escape_str(out, name);
		tm_buf_add_str(out, tm_str_eq(name, mp->p->focus) ? "\" selected>" : "\">");
		tm_web_escape_short(out, name, 80);
		tm_buf_add_str(out, "</option>");
	}
	tm_buf_add_str(out, "</select></label> ");
}

static void controls(struct tm_buf *out, const struct map_page *mp)
{
	static const char *const presets[] = { "15m", "1h", "6h", "24h" };
	const struct tm_web_map_params *p = mp->p;
	tm_buf_add_str(out, "<p>");
	tm_buf_add_str(out, p->operation_level ? "Operations" : "Services");
	if (p->focus.len) {
		tm_buf_add_str(out, " within ");
		tm_web_printf(out, "%u hop%s of <strong>", p->hops, p->hops == 1 ? "" : "s");
		tm_html_escape_str(out, p->focus);
		tm_buf_add_str(out, "</strong>");
	}
	tm_buf_add_str(out, ", ");
	tm_web_window_text(out, &p->window);
	if (mp->c->static_site) {
		tm_buf_add_str(out, ".</p>");
		return;
	}
	tm_buf_add_str(out, ". Show the last");
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		int on = p->window.name && !strcmp(p->window.name, presets[i]);
		tm_buf_add_str(out, i ? ", <a href=\"" : " <a href=\"");
		map_href(out, mp, presets[i], p->operation_level, 1);
		tm_web_printf(out, "\"%s>%s</a>", on ? " aria-current=\"page\" class=\"on\"" : "",
			      presets[i]);
	}
	tm_buf_add_str(out, ". <a href=\"");
	map_href(out, mp, NULL, !p->operation_level, 1);
	tm_buf_add_str(out, p->operation_level ? "\">Services</a> instead"
					       : "\">Operations</a> instead");
	if (p->focus.len) {
		tm_buf_add_str(out, " &middot; <a href=\"");
		map_href(out, mp, NULL, p->operation_level, 0);
		tm_buf_add_str(out, "\">the whole map</a>");
	}
	tm_buf_add_str(out, "</p><form method=\"get\" class=\"tm-controls\" action=\"");
	tm_web_href(out, mp->c, TM_LINK_MAP, NONE, NONE);
	tm_buf_add_str(out, "\">");
	tm_web_window_fields(out, &p->window);
	tm_web_printf(out, "<label>Level <select name=\"level\"><option value=\"service\">"
			   "services</option><option value=\"operation\"%s>operations</option>"
			   "</select></label> ", p->operation_level ? " selected" : "");
	focus_field(out, mp);
	tm_web_printf(out, "<label>Hops <input type=\"number\" name=\"hops\" min=\"0\" "
			   "max=\"10\" value=\"%u\"></label> <button>Show</button></form>",
		      p->focus.len ? p->hops : 1);
}

/*---- the picture ----*/

static const char MAP_STYLE[] =
	"<style>"
	".tm-controls{display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center;margin:.4em 0}"
	".tm-mapbox{overflow:auto;max-height:75vh;border:1px solid var(--line);"
	"border-radius:4px;background:#fbfcfd}"
	".js .tm-mapbox{height:70vh;cursor:grab}.tm-mapbox.drag{cursor:grabbing}"
	".tm-mapbox svg{display:block}"
	"svg.tm-map a:focus{outline:none}"
	"svg.tm-map a:focus>rect,svg.tm-map a:focus>path,svg.tm-map a:focus>polygon,"
	"svg.tm-map a:focus>ellipse{stroke:var(--accent);stroke-width:4px}"
	".tm-zoom{display:none}.js .tm-zoom{display:flex;gap:.3em;align-items:center;"
	"margin:.3em 0}"
	".tm-stats td:nth-child(n+3),.tm-stats th:nth-child(n+3){text-align:right;"
	"font-variant-numeric:tabular-nums}.tm-edges td:last-child{text-align:left}"
	".legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;padding:0;list-style:none;"
	"color:var(--muted);font-size:.92em}.legend svg{vertical-align:middle;margin-right:.3em}"
	"</style>";

/* zoom: the picture's size in CSS pixels times k; pan: the box's scroll */
static const char MAP_SCRIPT[] =
	"<script>(function(){var b=document.getElementById('tm-mapbox'),"
	"s=b&&b.querySelector('svg');if(!s)return;var v=s.viewBox.baseVal,"
	"W=v.width*4/3,H=v.height*4/3,k=1,d=null;"
	"function set(n,x,y){n=Math.max(.05,Math.min(8,n));"
	"if(x===undefined){x=b.clientWidth/2;y=b.clientHeight/2}"
	"var px=(b.scrollLeft+x)/k,py=(b.scrollTop+y)/k;k=n;"
	"s.style.width=W*k+'px';s.style.height=H*k+'px';"
	"b.scrollLeft=px*k-x;b.scrollTop=py*k-y}"
	"function fit(){var h=innerHeight*.7;set(Math.min(1,b.clientWidth/W,h/H));"
	"b.style.height=Math.max(160,Math.min(h,H*k+4))+'px'}"
	"b.addEventListener('wheel',function(e){e.preventDefault();"
	"var r=b.getBoundingClientRect();set(k*(e.deltaY<0?1.2:1/1.2),e.clientX-r.left,"
	"e.clientY-r.top)},{passive:false});"
	"b.addEventListener('mousedown',function(e){if(e.button||e.target.closest('a'))return;"
	"d=[e.clientX,e.clientY];b.classList.add('drag');e.preventDefault()});"
	"addEventListener('mousemove',function(e){if(!d)return;b.scrollLeft-=e.clientX-d[0];"
	"b.scrollTop-=e.clientY-d[1];d=[e.clientX,e.clientY]});"
	"addEventListener('mouseup',function(){d=null;b.classList.remove('drag')});"
	"b.addEventListener('keydown',function(e){if(e.key=='+'||e.key=='=')set(k*1.2);"
	"else if(e.key=='-')set(k/1.2);else if(e.key=='0')fit();else if(e.key=='1')set(1);"
	"else return;e.preventDefault()});"
	"document.querySelectorAll('[data-zoom]').forEach(function(x){"
	"x.addEventListener('click',function(){var z=x.getAttribute('data-zoom');"
	"z=='fit'?fit():set(z=='1'?1:k*z)})});fit()})();</script>";

static void legend(struct tm_buf *out)
{
	static const struct { const char *shape, *text; } kinds[] = {
		{ "<rect x=\"1\" y=\"2\" width=\"26\" height=\"12\" rx=\"3\"/>", "service" },
		{ "<path d=\"M2 4v8c0 2 24 2 24 0V4c0-2-24-2-24 0c0 2 24 2 24 0\"/>", "database" },
		{ "<path d=\"M2 2h20l5 6-5 6H2z\"/>", "messaging" },
		{ "<path d=\"M4 2h23v12H4zM1 4h6v2H1zM1 10h6v2H1z\"/>", "external API" },
		{ "<ellipse cx=\"14\" cy=\"8\" rx=\"12\" ry=\"6\"/>", "users" },
	};
	static const struct { const char *fill, *stroke, *text; } rates[] = {
		{ "#e3f4e8", "#2c8a4b", "errors below 1%" },
		{ "#fcefd0", "#b7791f", "1% to 5%" },
		{ "#f9dcdc", "#c62f2f", "5% and more" },
	};
	tm_buf_add_str(out, "<ul class=\"legend\" aria-label=\"Legend\">");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		tm_web_printf(out, "<li><svg width=\"28\" height=\"16\" aria-hidden=\"true\" "
				   "fill=\"#eef0f4\" stroke=\"#5b6576\">%s</svg>%s</li>",
			      kinds[i].shape, kinds[i].text);
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		tm_web_printf(out, "<li><svg width=\"28\" height=\"16\" aria-hidden=\"true\">"
				   "<rect x=\"1\" y=\"2\" width=\"26\" height=\"12\" rx=\"3\" "
				   "fill=\"%s\" stroke=\"%s\"/></svg>%s</li>",
			      rates[i].fill, rates[i].stroke, rates[i].text);
	tm_buf_add_str(out, "<li>the error rate is also written in every label; an edge is "
			    "wider the more calls per second it carries (log scale)</li></ul>");
}

static void picture(struct tm_buf *out, struct map_page *mp)
{
	struct tm_graph_options opt = {
		.window_s = mp->window_s,
		.operation_level = mp->p->operation_level,
		.focus = mp->p->focus,
		.href = graph_href,
		.href_arg = mp,
	};
	char err[256];
	struct tm_buf svg;
	tm_buf_init(&svg);
	int rc = tm_graph_svg(&mp->m, &opt, &svg, err, sizeof(err));
	if (!rc && svg.len > PICTURE_BUDGET)
		rc = -E2BIG;
	if (rc == -E2BIG) {
		tm_web_printf(out, "<p>This map has %zu nodes and %zu edges, too many to draw: "
				   "focus on a service (below) or choose the service level. "
				   "The tables list them.</p>", mp->m.n_nodes, mp->m.n_edges);
	} else if (rc) {
		tm_buf_add_str(out, "<p class=\"err\">The map could not be drawn: ");
		if (rc == -ENOMEM)
			tm_buf_add_str(out, "out of memory");
		else
			tm_html_escape(out, err, strlen(err));
		tm_buf_add_str(out, ". The tables below list its nodes and edges.</p>");
	} else {
		tm_buf_add_str(out, "<div class=\"tm-zoom\" aria-hidden=\"true\">Zoom "
				    "<button type=\"button\" data-zoom=\"0.8\">&minus;</button>"
				    "<button type=\"button\" data-zoom=\"1.25\">+</button>"
				    "<button type=\"button\" data-zoom=\"fit\">fit</button>"
				    "<button type=\"button\" data-zoom=\"1\">1:1</button>"
				    "<span class=\"muted\">or the wheel, drag to move; keys + - 0 "
				    "in the map</span></div>"
				    "<div class=\"tm-mapbox\" id=\"tm-mapbox\" tabindex=\"0\" "
				    "role=\"region\" aria-label=\"Service map picture\">");
		tm_buf_add(out, svg.data, svg.len);
		tm_buf_add_str(out, "</div>");
		if (svg.failed)
			out->failed = 1;
	}
	tm_buf_free(&svg);
	legend(out);
}

/*---- the tables ----*/

/* rows are lean (no </td>, alignment by the style sheet): a 300-service
 * map has over a thousand edges, and the page must stay under 1 MB */
static void duration_cell(struct tm_buf *out, const struct tm_smap_stat *s, uint64_t ns)
{
	char d[32] = "-";
	if (s->calls)
		tm_web_fmt_duration(d, sizeof(d), (double)ns);
	tm_web_printf(out, "<td>%s", d);
}

/* calls, per second, errors, error rate (red from 1%), p50, p90, p99 */
static void stat_cells(struct tm_buf *out, const struct tm_smap_stat *s, double window_s)
{
	char rate[12], share[12];
	tm_graph_fmt_rate(rate, (double)s->calls / window_s);
	tm_graph_fmt_share(share, s->errors, s->calls);
	tm_web_printf(out, "<td>%" PRIu64 "<td>", s->calls);
	tm_html_escape(out, rate, strlen(rate));     /* "<0.01" */
	tm_web_printf(out, "<td>%" PRIu64 "<td%s>", s->errors,
		      tm_graph_error_class(s->errors, s->calls) >= 2 ? " class=\"err\"" : "");
	tm_html_escape(out, share, strlen(share));   /* "<0.1%" */
	duration_cell(out, s, s->p50_ns);
	duration_cell(out, s, s->p90_ns);
	duration_cell(out, s, s->p99_ns);
}

static void node_name(struct tm_buf *out, const struct tm_smap_node *n)
{
	if (n->operation.len) {
		tm_web_escape_short(out, n->service, 120);
		tm_buf_add_str(out, ": ");
		tm_web_escape_short(out, n->operation, 120);
	} else {
		tm_web_escape_short(out, n->id, 160);
	}
}

static const char STAT_HEADS[] =
	"<th>calls<th>per s<th>errors<th>error rate<th>p50<th>p90<th>p99";

/* a note where a table stops to keep the page under 1 MB */
static int over_budget(struct tm_buf *out, size_t left, const char *what)
{
	if (out->len < TABLES_BUDGET)
		return 0;
	tm_web_printf(out, "</table><p class=\"muted\">%zu more %s not listed: the page would "
			   "pass 1 MB. Focus on a service to see them all.</p>", left, what);
	return 1;
}

static void node_table(struct tm_buf *out, const struct map_page *mp)
{
	tm_web_printf(out, "<h2 id=\"nodes\">Nodes (%zu)</h2><table class=\"tm-stats\">"
			   "<tr><th>node<th>kind%s</tr>", mp->m.n_nodes, STAT_HEADS);
	for (size_t i = 0; i < mp->m.n_nodes; i++) {
		const struct tm_smap_node *n = &mp->m.nodes[i];
		struct tm_str svc = node_service(n);
		if (over_budget(out, mp->m.n_nodes - i, "nodes"))
			return;
		tm_buf_add_str(out, "<tr><td>");
		if (svc.len) {
			tm_buf_add_str(out, "<a href=\"");
			service_href(out, mp, svc);
			tm_buf_add_str(out, "\">");
			node_name(out, n);
			tm_buf_add_str(out, "</a>");
		} else {
			node_name(out, n);
		}
		tm_web_printf(out, "<td>%s", n->operation.len ? "operation" : tm_smap_kind_name(n->kind));
		stat_cells(out, &n->stat, mp->window_s);
		tm_buf_add_str(out, "</tr>");
	}
	tm_buf_add_str(out, "</table>");
}

/* names without links here (the node table has them); the last cell
 * links the slow traces through the edge */
static void edge_table(struct tm_buf *out, const struct map_page *mp)
{
	tm_web_printf(out, "<h2 id=\"edges\">Edges (%zu)</h2><table class=\"tm-stats tm-edges\">"
			   "<tr><th>from<th>to%s<th>traces</tr>", mp->m.n_edges, STAT_HEADS);
	for (size_t i = 0; i < mp->m.n_edges; i++) {
		const struct tm_smap_edge *e = &mp->m.edges[i];
		if (over_budget(out, mp->m.n_edges - i, "edges"))
			return;
		tm_buf_add_str(out, "<tr><td>");
		node_name(out, &mp->m.nodes[e->source]);
		tm_buf_add_str(out, "<td>");
		node_name(out, &mp->m.nodes[e->target]);
		stat_cells(out, &e->stat, mp->window_s);
		size_t mark = out->len;
		tm_buf_add_str(out, "<td><a href=\"");
		size_t href = out->len;
		edge_href(out, mp, e);
		if (out->len == href) {
			out->len = mark;   /* no link */
			tm_buf_add_str(out, "<td>");
		} else {
			tm_buf_add_str(out, mp->c->static_site ? "\">service</a>" : "\">slowest</a>");
		}
		tm_buf_add_str(out, "</tr>");
	}
	tm_buf_add_str(out, "</table>");
}

/*---- the page ----*/

static void empty_store(struct tm_buf *out)
{
	tm_buf_add_str(out,
		"<h1>Service map</h1><p>No spans have arrived yet. The map draws itself from the "
		"traces this server receives:</p><ul>"
		"<li>OpenTelemetry SDKs and collectors: OTLP/HTTP to <code>/v1/traces</code> on "
		"this server (protobuf or JSON: point <code>OTEL_EXPORTER_OTLP_ENDPOINT</code> at "
		"this server's address, port 4318 by default, with "
		"<code>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</code>);</li>"
		"<li>Zipkin clients: <code>POST /api/v2/spans</code>;</li>"
		"<li>Jaeger clients: <code>POST /api/traces</code> (Thrift over HTTP).</li></ul>"
		"<p>To see it work first, <code>tracemap demo</code> sends the traffic of a small "
		"made-up shop to a running server.</p>");
}

/* the seconds the map's counts cover: its whole minutes, up to now */
static double covered_s(const struct tm_smap_map *m, uint64_t now_ns)
{
	uint64_t end = m->end_ns + 1;
	if (now_ns && now_ns < end && now_ns > m->start_ns)
		end = now_ns;
	double s = (double)(end - m->start_ns) / 1e9;
	return s > 1 ? s : 1;
}

int tm_web_map_page(struct tm_buf *out, struct tm_web_ctx *c, const struct tm_web_map_params *p)
{
	struct map_page mp = { .c = c, .p = p };
	struct tm_smap_query q = { p->window.start_ns, p->window.end_ns, p->operation_level,
				   p->focus, p->hops };
	/* the same cached, percentiles-only query as /api/servicemap: the map
	 * is the page people keep open and reload */
	struct tm_smap_query_opts opts = { .percentiles_only = 1, .cache = c->smap_cache };
	int rc = tm_smap_query_with(c->rd, &q, &opts, c->arena, &mp.m);
	if (rc == -EINVAL)
		snprintf(c->err, sizeof(c->err), "the window ends before it starts");
	if (rc)
		return rc;
	rc = tm_store_services(c->rd, c->arena, &mp.services, &mp.n_services);
	if (rc)
		return rc;
	mp.window_s = covered_s(&mp.m, c->now_ns);
	tm_web_page_begin(out, c, "Service map", "map");
	tm_buf_add_str(out, MAP_STYLE);
	tm_buf_add_str(out, tm_graph_style);
	if (!mp.n_services) {
		empty_store(out);
		tm_web_page_end(out, c);
		return out->failed ? -ENOMEM : 0;
	}
	tm_buf_add_str(out, "<h1>Service map</h1>");
	controls(out, &mp);
	if (!mp.m.n_nodes) {
		tm_buf_add_str(out, p->focus.len
			? "<p>No calls to or from this service in this window. Try a longer window, "
			  "more hops, or the whole map.</p>"
			: "<p>No calls in this window. Try a longer one.</p>");
	} else {
		picture(out, &mp);
		tm_web_printf(out, "<p class=\"muted\">Rates are per second over the %.0f minutes the "
				   "counts cover. Nodes link to their service's page, edges to %s; "
				   "the <a href=\"#nodes\">node</a> and <a href=\"#edges\">edge</a> "
				   "tables say the same in text.</p>", mp.window_s / 60,
			      c->static_site ? "the page of the service called"
					     : "the slowest traces through them");
		node_table(out, &mp);
		edge_table(out, &mp);
		tm_buf_add_str(out, MAP_SCRIPT);
	}
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}
