/* graph.c - the service map as DOT, laid out by libgvc, filled in as SVG.
 *
 * Measured first (Graphviz 2.43 from Debian 12 with pango text layout and
 * DejaVu fonts, on this 2-core machine; CPU ms of layout + SVG render of
 * random layered graphs, median of three):
 *
 *   edges drawn as                 20/40   40/110   50/150   300/900 (nodes/edges)
 *   dot, `label`                     15       25      90-150
 *   dot, `xlabel`                     3       12      44-80     660-780
 *   dot, no labels                                    30-50     390-680
 *   sfdp (prism), `xlabel`                                      ~200
 *   sfdp (prism), no labels                                     ~140-180
 *
 * A `label` becomes a virtual node in dot's ranking and triples the layout,
 * but dot then makes room for it; an `xlabel` is placed after layout, cheap,
 * wherever it fits.  So: labels up to TM_GRAPH_LAYOUT_LABELS_MAX edges,
 * xlabels (with wider rank gaps) up to TM_GRAPH_EDGE_LABELS_MAX, then the
 * numbers only in the titles; dot up to TM_GRAPH_SFDP_NODES nodes, then
 * sfdp with straight edges.  Graphviz's own SVG of 300 nodes and 900 edges
 * is ~0.8 MB: fill_svg() halves it (see there), or a page with its tables
 * would not stay under 1 MB.
 *
 * Layout still dominates, so it is memoized on the DOT that was laid out
 * (the layout DOT), which holds all that shapes the picture: names (cut to
 * TM_GRAPH_LABEL_CHARS), kinds, colour and width classes, links, and for
 * every number a placeholder as wide as the widest the formats write
 * ("8.88k req/s · p99 8.88 min").  Titles and every <text> are then written
 * into a copy of the cached SVG from the map at hand.  Graphviz writes one
 * element per line and escapes '<', '>', '"' and '&' in every text and
 * attribute, so our named groups (id="gn3", "ge7", "gc2") and their
 * <title>, <a> and <text> are found without an XML parser; names reach
 * the page only through our escaping, links as the href function wrote
 * them.
 *
 * The whole tm_graph_svg() (tests/unit/test_graph.c prints it), cold and
 * with a cached layout: 50 nodes/100 edges (labels) 28 ms, 2 ms; 50/150
 * (xlabels) 39 ms, 3 ms; 100/300 ~100 ms, 5 ms; 200/600 (dot) ~330 ms,
 * 8 ms; 300/900 (sfdp) 180-280 ms, 8-13 ms.  The first layout of a process
 * costs 10-15 ms more (plugins, fontconfig): tm_graph_warm_up(). */
#include "graph.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gvc.h>

#include "svg_chart.h"
#include "web.h"

/*---- text: UTF-8 cleaned for display, then escaped for DOT or HTML ----*/

/* decodes the character at s[i]; invalid UTF-8 (bad bytes, overlongs,
 * surrogates, beyond U+10FFFF) reads as U+FFFD one byte long */
static size_t utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
	unsigned c = s[i];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
		: c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	*cp = 0xfffd;
	if (!n || i + n > len)
		return 1;
	uint32_t v = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
	for (size_t k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 1;
		v = (v << 6) | (s[i + k] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 1;
	*cp = v;
	return n;
}

/* characters never shown as they are: controls, line separators, bidi
 * overrides (they can reorder the text around them), non-characters */
static int is_hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfffe || cp == 0xffff;
}

/* appends s as clean UTF-8, cut to max_chars characters (0: all) */
static void clean_text(struct tm_buf *out, struct tm_str s, size_t max_chars)
{
	static const char repl[] = "\xef\xbf\xbd", ellipsis[] = "\xe2\x80\xa6";
	const unsigned char *p = (const unsigned char *)s.ptr;
	if (!s.len) {
		tm_buf_add_str(out, "(no name)");
		return;
	}
	size_t total = 0;
	uint32_t cp;
	for (size_t i = 0; i < s.len; total++)
		i += utf8_next(p, s.len, i, &cp);
	size_t keep = max_chars && total > max_chars ? max_chars - 1 : total;
	size_t i = 0;
	for (size_t k = 0; k < keep; k++) {
		size_t n = utf8_next(p, s.len, i, &cp);
		if (is_hidden(cp) || cp == 0xfffd)
			tm_buf_add(out, repl, 3);
		else
			tm_buf_add(out, p + i, n);
		i += n;
	}
	if (keep < total)
		tm_buf_add(out, ellipsis, 3);
}

enum esc { ESC_DOT, ESC_HTML };

/* appends clean text escaped; '\n' (ours: clean text has none) is a line
 * break: "\n" in DOT, &#10; in HTML.  In a DOT quoted string Graphviz
 * reads \" and \\, and in a label also entities (&amp;). */
static const char *escaped(char c, enum esc how)
{
	if (how == ESC_DOT)
		return c == '\n' ? "\\n" : c == '"' ? "\\\"" : c == '\\' ? "\\\\"
			: c == '&' ? "&amp;" : NULL;
	return c == '\n' ? "&#10;" : c == '"' ? "&quot;" : c == '&' ? "&amp;" : c == '<' ? "&lt;"
		: c == '>' ? "&gt;" : c == '\'' ? "&#39;" : NULL;
}

static void escape(struct tm_buf *out, const char *s, size_t len, enum esc how)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep = escaped(s[i], how);
		if (!rep)
			continue;
		tm_buf_add(out, s + run, i - run);
		tm_buf_add_str(out, rep);
		run = i + 1;
	}
	tm_buf_add(out, s + run, len - run);
}

static void escape_buf(struct tm_buf *out, const struct tm_buf *text, enum esc how)
{
	escape(out, (const char *)text->data, text->len, how);
}

static void label_generic(struct tm_buf *out, struct tm_str s, size_t max_chars, enum esc how)
{
	struct tm_buf t;
	tm_buf_init(&t);
	clean_text(&t, s, max_chars);
	if (t.failed)
		out->failed = 1;
	escape_buf(out, &t, how);
	tm_buf_free(&t);
}

void tm_graph_dot_label(struct tm_buf *out, struct tm_str s, size_t max_chars)
{
	label_generic(out, s, max_chars, ESC_DOT);
}

void tm_graph_html_label(struct tm_buf *out, struct tm_str s, size_t max_chars)
{
	label_generic(out, s, max_chars, ESC_HTML);
}

/*---- numbers ----*/

/* v in [0, 999.5): three significant digits, trailing zeros dropped */
static void sig3(char *out, size_t size, double v)
{
	snprintf(out, size, v < 9.995 ? "%.2f" : v < 99.95 ? "%.1f" : "%.0f", v);
	char *dot = strchr(out, '.');
	if (dot) {
		char *end = out + strlen(out);
		while (end > dot && (end[-1] == '0' || end[-1] == '.'))
			*--end = '\0';
	}
}

void tm_graph_fmt_rate(char out[12], double per_s)
{
	char n[8];
	if (!(per_s > 0)) {
		strcpy(out, "0");
	} else if (per_s < 0.005) {
		strcpy(out, "<0.01");
	} else if (per_s < 999.5) {
		sig3(out, 12, per_s);
	} else if (per_s < 999.5e3) {
		sig3(n, sizeof(n), per_s / 1e3);
		snprintf(out, 12, "%sk", n);
	} else if (per_s < 999.5e6) {
		sig3(n, sizeof(n), per_s / 1e6);
		snprintf(out, 12, "%sM", n);
	} else {
		strcpy(out, ">999M");
	}
}

void tm_graph_fmt_ns(char out[12], uint64_t ns)
{
	static const struct { double div; const char *unit; double below; } units[] = {
		{ 1e3, "\xc2\xb5s", 999.5e3 }, { 1e6, "ms", 999.5e6 }, { 1e9, "s", 59.95e9 },
		{ 60e9, "min", 59.95 * 60e9 }, { 3600e9, "h", 999.5 * 3600e9 },
	};
	char n[8];
	if (ns < 1000) {
		snprintf(out, 12, "%u ns", (unsigned)ns);
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if ((double)ns < units[i].below) {
			sig3(n, sizeof(n), (double)ns / units[i].div);
			snprintf(out, 12, "%s %s", n, units[i].unit);
			return;
		}
	strcpy(out, ">999 h");
}

void tm_graph_fmt_share(char out[12], uint64_t part, uint64_t whole)
{
	char n[8];
	double pct = whole ? 100.0 * (double)part / (double)whole : 0;
	if (!part || !whole) {
		strcpy(out, "0%");
	} else if (pct < 0.05) {
		strcpy(out, "<0.1%");
	} else {
		sig3(n, sizeof(n), pct > 100 ? 100 : pct);
		snprintf(out, 12, "%s%%", n);
	}
}

int tm_graph_error_class(uint64_t errors, uint64_t calls)
{
	if (!calls)
		return 0;
	double r = (double)errors / (double)calls;
	return r < 0.01 ? 1 : r < 0.05 ? 2 : 3;
}

/*---- what is drawn, decided once per map ----*/

/* the percentiles of a node's or edge's latencies, worked out once */
struct pcts {
	uint64_t p50, p90, p99;
};

struct plan {
	const struct tm_smap_map *m;
	const struct tm_graph_options *opt;
	double window_s;
	struct pcts *node_pct, *edge_pct;
	int sfdp;               /* else dot */
	int edge_labels;        /* numbers on edges at all */
	int layout_labels;      /* as dot `label`s, which the layout makes room for */
	size_t *cluster_of;     /* per node: its box, or SIZE_MAX; NULL: none */
	size_t *cluster_node;   /* per box: its first node */
	size_t n_clusters;
};

static int plan_init(struct plan *p, const struct tm_smap_map *m,
		     const struct tm_graph_options *opt)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->opt = opt;
	p->window_s = opt->window_s > 1e-3 ? opt->window_s : 1;
	p->sfdp = m->n_nodes > (opt->sfdp_nodes ? opt->sfdp_nodes : TM_GRAPH_SFDP_NODES);
	p->edge_labels = m->n_edges <= TM_GRAPH_EDGE_LABELS_MAX;
	p->layout_labels = !p->sfdp && m->n_edges <= TM_GRAPH_LAYOUT_LABELS_MAX;
	p->node_pct = malloc((m->n_nodes + 1) * sizeof(struct pcts));
	p->edge_pct = malloc((m->n_edges + 1) * sizeof(struct pcts));
	if (!p->node_pct || !p->edge_pct)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_nodes + m->n_edges; i++) {
		int is_node = i < m->n_nodes;
		const struct tm_smap_stat *s = is_node ? &m->nodes[i].stat
						       : &m->edges[i - m->n_nodes].stat;
		struct pcts *x = is_node ? &p->node_pct[i] : &p->edge_pct[i - m->n_nodes];
		memset(x, 0, sizeof(*x));
		if (s->calls) {   /* the query's own percentiles: hist may be left out */
			x->p50 = s->p50_ns;
			x->p90 = s->p90_ns;
			x->p99 = s->p99_ns;
		}
	}
	if (!opt->operation_level || p->sfdp || !m->n_nodes)
		return 0;
	/* operation nodes of one service share a box (a dot cluster) */
	p->cluster_of = malloc(m->n_nodes * sizeof(size_t));
	p->cluster_node = malloc(m->n_nodes * sizeof(size_t));
	if (!p->cluster_of || !p->cluster_node)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_nodes; i++) {
		const struct tm_smap_node *n = &m->nodes[i];
		p->cluster_of[i] = SIZE_MAX;
		if (!n->operation.len)
			continue;
		for (size_t c = 0; c < p->n_clusters; c++)
			if (tm_str_eq(m->nodes[p->cluster_node[c]].service, n->service)) {
				p->cluster_of[i] = c;
				break;
			}
		if (p->cluster_of[i] == SIZE_MAX) {
			p->cluster_node[p->n_clusters] = i;
			p->cluster_of[i] = p->n_clusters++;
		}
	}
	return 0;
}

static void plan_clear(struct plan *p)
{
	free(p->cluster_of);
	free(p->cluster_node);
	free(p->node_pct);
	free(p->edge_pct);
	memset(p, 0, sizeof(*p));
}

/* the name a node's label starts with */
static struct tm_str node_title(const struct plan *p, size_t i)
{
	const struct tm_smap_node *n = &p->m->nodes[i];
	if (p->cluster_of && p->cluster_of[i] != SIZE_MAX)
		return n->operation;
	return n->id;
}

/*---- the parts' texts, as clean UTF-8 lines ----*/

static void stat_line(struct tm_buf *t, const struct tm_smap_stat *s, const struct pcts *x,
		      double window_s, const char *unit)
{
	char rate[12], p99[12];
	tm_graph_fmt_rate(rate, (double)s->calls / window_s);
	tm_graph_fmt_ns(p99, x->p99);
	tm_web_printf(t, "%s%s \xc2\xb7 p99 %s", rate, unit, s->calls ? p99 : "-");
}

/* node label lines 2 and 3 */
static void node_numbers(struct tm_buf *t, const struct plan *p, size_t i, int line)
{
	const struct tm_smap_stat *s = &p->m->nodes[i].stat;
	char share[12];
	if (line == 1) {
		stat_line(t, s, &p->node_pct[i], p->window_s, " req/s");
	} else if (!s->calls) {
		tm_buf_add_str(t, "no requests");
	} else {
		tm_graph_fmt_share(share, s->errors, s->calls);
		tm_web_printf(t, "%s errors", share);
	}
}

/* edge label line 0 (calls/s and p99) or 1 (the error rate; only an edge
 * with errors has it) */
static void edge_numbers(struct tm_buf *t, const struct plan *p, size_t i, int line)
{
	const struct tm_smap_stat *s = &p->m->edges[i].stat;
	char share[12];
	if (line == 0) {
		stat_line(t, s, &p->edge_pct[i], p->window_s, "/s");
	} else if (s->errors) {
		tm_graph_fmt_share(share, s->errors, s->calls);
		tm_web_printf(t, "%s err", share);
	}
}

static void stat_tooltip(struct tm_buf *t, const struct tm_smap_stat *s, const struct pcts *x,
			 double window_s, const char *what)
{
	char rate[12], share[12], p50[12], p90[12], p99[12];
	tm_graph_fmt_rate(rate, (double)s->calls / window_s);
	tm_graph_fmt_share(share, s->errors, s->calls);
	tm_web_printf(t, "\n%s: %llu (%s/s)\nerrors: %llu (%s)", what, (unsigned long long)s->calls,
		   rate, (unsigned long long)s->errors, share);
	if (s->calls) {
		tm_graph_fmt_ns(p50, x->p50);
		tm_graph_fmt_ns(p90, x->p90);
		tm_graph_fmt_ns(p99, x->p99);
		tm_web_printf(t, "\np50 %s \xc2\xb7 p90 %s \xc2\xb7 p99 %s", p50, p90, p99);
	}
}

static void node_tooltip(struct tm_buf *t, const struct plan *p, size_t i)
{
	const struct tm_smap_node *n = &p->m->nodes[i];
	clean_text(t, n->id, 0);
	tm_web_printf(t, " (%s)", n->operation.len ? "operation" : tm_smap_kind_name(n->kind));
	stat_tooltip(t, &n->stat, &p->node_pct[i], p->window_s, "requests");
}

static void edge_title(struct tm_buf *t, const struct plan *p, size_t i)
{
	const struct tm_smap_edge *e = &p->m->edges[i];
	clean_text(t, p->m->nodes[e->source].id, 0);
	tm_buf_add_str(t, " \xe2\x86\x92 ");
	clean_text(t, p->m->nodes[e->target].id, 0);
}

/* in a big map (no edge labels) a tooltip says what the label would, to
 * keep the page small */
static void edge_tooltip(struct tm_buf *t, const struct plan *p, size_t i)
{
	edge_title(t, p, i);
	if (p->edge_labels) {
		stat_tooltip(t, &p->m->edges[i].stat, &p->edge_pct[i], p->window_s, "calls");
	} else {
		tm_buf_add_str(t, ": ");
		edge_numbers(t, p, i, 0);
		if (p->m->edges[i].stat.errors) {
			tm_buf_add_str(t, " \xc2\xb7 ");
			edge_numbers(t, p, i, 1);
		}
	}
}

/*---- DOT ----*/

enum dot_mode { DOT_VALUES, DOT_LAYOUT };

/* placeholders as wide as the widest numbers (digits share one width) */
#define PH_NODE_RATE "8.88k req/s \xc2\xb7 p99 8.88 min"
#define PH_NODE_ERRORS "88.8% errors"
#define PH_EDGE "8.88k/s \xc2\xb7 p99 8.88 min"
#define PH_EDGE_ERRORS "\n88.8% err"

static const char FONT[] = "Helvetica";

static const char *const FILL[] = { "#eef0f4", "#e3f4e8", "#fcefd0", "#f9dcdc" };
static const char *const STROKE[] = { "#8a93a3", "#2c8a4b", "#b7791f", "#c62f2f" };
static const char *const EDGE_COLOUR[] = { "#8a93a3", "#6b7588", "#c98a12", "#c62f2f" };

/* the same edge colours by class (the SVG leaves them to the page) */
const char tm_graph_style[] =
	"<style>"
	"svg.tm-map .edge{stroke:#6b7588;fill:#6b7588}"
	"svg.tm-map .edge.e0{stroke:#8a93a3;fill:#8a93a3}"
	"svg.tm-map .edge.e2{stroke:#c98a12;fill:#c98a12}"
	"svg.tm-map .edge.e3{stroke:#c62f2f;fill:#c62f2f}"
	"svg.tm-map .edge text{stroke:none}"
	"</style>";

static const char *kind_shape(enum tm_smap_node_kind k, const char **style)
{
	*style = "filled";
	switch (k) {
	case TM_SMAP_DATABASE: return "cylinder";
	case TM_SMAP_MESSAGING: return "cds";
	case TM_SMAP_EXTERNAL: return "component";
	case TM_SMAP_USER: return "ellipse";
	default: *style = "rounded,filled"; return "box";
	}
}

/* appends a quoted DOT string of clean text t */
static void dot_quoted(struct tm_buf *out, const struct tm_buf *t)
{
	tm_buf_add_str(out, "\"");
	escape_buf(out, t, ESC_DOT);
	tm_buf_add_str(out, "\"");
}

/* ,URL="..." when the caller links this part; an href has no '"' or '\'
 * (tm_web_href percent-encodes), but a caller's might */
static void dot_url(struct tm_buf *out, const struct plan *p, enum tm_graph_part part, size_t i)
{
	if (!p->opt->href)
		return;
	struct tm_buf u;
	tm_buf_init(&u);
	p->opt->href(p->opt->href_arg, &u, p->m, part, i);
	if (u.len) {
		tm_buf_add_str(out, ",URL=\"");
		for (size_t k = 0; k < u.len; k++) {
			unsigned char c = u.data[k];
			if (c == '"' || c == '\\' || c < 0x20)
				tm_web_printf(out, "%%%02X", c);
			else
				tm_buf_add(out, &c, 1);
		}
		tm_buf_add_str(out, "\"");
	}
	if (u.failed)
		out->failed = 1;
	tm_buf_free(&u);
}

static void dot_tooltip(struct tm_buf *out, struct tm_buf *t, enum dot_mode mode)
{
	tm_buf_add_str(out, ",tooltip=");
	if (mode == DOT_LAYOUT)
		tm_buf_add_str(out, "\".\"");   /* makes the <a>; filled in later */
	else
		dot_quoted(out, t);
}

static void dot_node(struct tm_buf *out, const struct plan *p, size_t i, enum dot_mode mode)
{
	const struct tm_smap_node *n = &p->m->nodes[i];
	const char *style, *shape = kind_shape(n->kind, &style);
	int cls = tm_graph_error_class(n->stat.errors, n->stat.calls);
	int focus = p->opt->focus.len && tm_str_eq(p->opt->focus, n->id);
	struct tm_buf t;
	tm_buf_init(&t);
	clean_text(&t, node_title(p, i), TM_GRAPH_LABEL_CHARS);
	tm_buf_add_str(&t, "\n");
	if (mode == DOT_LAYOUT) {
		tm_buf_add_str(&t, PH_NODE_RATE "\n" PH_NODE_ERRORS);
	} else {
		node_numbers(&t, p, i, 1);
		tm_buf_add_str(&t, "\n");
		node_numbers(&t, p, i, 2);
	}
	tm_web_printf(out, "gn%zu [id=\"gn%zu\",class=\"k%d e%d\",label=", i, i, (int)n->kind, cls);
	dot_quoted(out, &t);
	tm_web_printf(out, ",shape=%s,style=\"%s\",fillcolor=\"%s\",color=\"%s\",penwidth=%s", shape,
		   style, FILL[cls], STROKE[cls], focus ? "3" : "1.2");
	t.len = 0;
	if (mode == DOT_VALUES)
		node_tooltip(&t, p, i);
	dot_tooltip(out, &t, mode);
	dot_url(out, p, TM_GRAPH_NODE, i);
	tm_buf_add_str(out, "];\n");
	if (t.failed)
		out->failed = 1;
	tm_buf_free(&t);
}

/* edge width by calls/s on a log scale, in steps of 0.5: 1 (rare) to 6 */
static double edge_width(double per_s)
{
	double w = 1 + 1.2 * log10(1 + per_s);
	w = w > 6 ? 6 : w;
	return floor(w * 2 + 0.5) / 2;
}

static void dot_edge(struct tm_buf *out, const struct plan *p, size_t i, enum dot_mode mode)
{
	const struct tm_smap_edge *e = &p->m->edges[i];
	int cls = tm_graph_error_class(e->stat.errors, e->stat.calls);
	struct tm_buf t;
	tm_buf_init(&t);
	tm_web_printf(out, "gn%zu -> gn%zu [id=\"ge%zu\",class=\"e%d\",penwidth=%.1f,color=\"%s\"",
		   e->source, e->target, i, cls,
		   edge_width((double)e->stat.calls / p->window_s), EDGE_COLOUR[cls]);
	if (p->edge_labels) {
		if (mode == DOT_LAYOUT) {
			tm_buf_add_str(&t, e->stat.errors ? PH_EDGE PH_EDGE_ERRORS : PH_EDGE);
		} else {
			edge_numbers(&t, p, i, 0);
			if (e->stat.errors) {
				tm_buf_add_str(&t, "\n");
				edge_numbers(&t, p, i, 1);
			}
		}
		tm_buf_add_str(out, p->layout_labels ? ",label=" : ",xlabel=");
		dot_quoted(out, &t);
	}
	t.len = 0;
	if (mode == DOT_VALUES)
		edge_tooltip(&t, p, i);
	dot_tooltip(out, &t, mode);
	dot_url(out, p, TM_GRAPH_EDGE, i);
	tm_buf_add_str(out, "];\n");
	if (t.failed)
		out->failed = 1;
	tm_buf_free(&t);
}

static void dot_cluster(struct tm_buf *out, const struct plan *p, size_t c, enum dot_mode mode)
{
	size_t first = p->cluster_node[c];
	struct tm_buf t;
	tm_buf_init(&t);
	tm_web_printf(out, "subgraph cluster_%zu {\ngraph [id=\"gc%zu\",label=", c, c);
	clean_text(&t, p->m->nodes[first].service, TM_GRAPH_LABEL_CHARS);
	dot_quoted(out, &t);
	tm_buf_add_str(out, ",style=\"rounded,dashed\",color=\"#8a93a3\",fontsize=11");
	t.len = 0;
	if (mode == DOT_VALUES) {
		clean_text(&t, p->m->nodes[first].service, 0);
		tm_buf_add_str(&t, " (service)");
	}
	dot_tooltip(out, &t, mode);
	dot_url(out, p, TM_GRAPH_CLUSTER, first);
	tm_buf_add_str(out, "];\n");
	for (size_t i = first; i < p->m->n_nodes; i++)
		if (p->cluster_of[i] == c)
			dot_node(out, p, i, mode);
	tm_buf_add_str(out, "}\n");
	if (t.failed)
		out->failed = 1;
	tm_buf_free(&t);
}

static void dot_graph(struct tm_buf *out, const struct plan *p, enum dot_mode mode)
{
	tm_web_printf(out, "digraph tracemap {\n"
			"graph [layout=%s,fontname=\"%s\",fontsize=10,bgcolor=\"transparent\","
			"pad=0.15,outputorder=edgesfirst,forcelabels=true,",
		   p->sfdp ? "sfdp" : "dot", FONT);
	/* xlabels take no room in the layout: wider gaps between ranks leave
	 * them some */
	tm_buf_add_str(out, p->sfdp ? "overlap=prism,sep=\"+6\",splines=false];\n"
			    : p->layout_labels ? "rankdir=LR,nodesep=0.2,ranksep=0.4];\n"
			    : "rankdir=LR,nodesep=0.25,ranksep=1.4];\n");
	tm_web_printf(out, "node [fontname=\"%s\",fontsize=10,margin=\"0.12,0.05\"];\n"
			"edge [fontname=\"%s\",fontsize=9,fontcolor=\"#3b4556\",arrowsize=0.7];\n",
		   FONT, FONT);
	for (size_t c = 0; c < p->n_clusters; c++)
		dot_cluster(out, p, c, mode);
	for (size_t i = 0; i < p->m->n_nodes; i++)
		if (!p->cluster_of || p->cluster_of[i] == SIZE_MAX)
			dot_node(out, p, i, mode);
	for (size_t i = 0; i < p->m->n_edges; i++)
		dot_edge(out, p, i, mode);
	tm_buf_add_str(out, "}\n");
}

int tm_graph_dot(const struct tm_smap_map *m, const struct tm_graph_options *opt,
		 struct tm_buf *dot)
{
	struct plan p;
	int rc = plan_init(&p, m, opt);
	if (!rc) {
		dot_graph(dot, &p, DOT_VALUES);
		rc = dot->failed ? -ENOMEM : 0;
	}
	plan_clear(&p);
	return rc;
}

/*---- filling the texts into a laid-out SVG ----*/

/* What changes from Graphviz's SVG, besides our texts: the prolog and
 * comments go; each part's <title> moves into its link, where it is the
 * link's accessible name and the tooltip (xlink:title, which said the
 * same, goes); the <g> around each link goes; the font, its size and
 * text-anchor are said once on the top group; an edge's width once on its
 * group, its colour by the page's style sheet (tm_graph_style);
 * coordinates are rounded to 0.1, a polygon's repeated point goes; a rounded box
 * becomes a <rect>, a straight sfdp edge "M..L..".  The SVG of a map
 * shrinks by about half, which is what lets a 300-service page with its
 * tables stay under 1 MB. */

enum part_kind { PART_NONE, PART_GRAPH, PART_NODE, PART_EDGE, PART_CLUSTER };

/* what Graphviz writes for FONT, and the size every node's text has */
#define SVG_FONT "Helvetica,sans-Serif"
#define SVG_FONT_SIZE "10.00"

struct span {
	const char *ptr;
	size_t len;
};

struct fill {
	const struct plan *p;
	struct tm_buf *out;
	enum part_kind kind;
	size_t index;
	unsigned n_text;         /* <text>s seen in the part */
	unsigned n_shapes;       /* <path>s seen in the part */
	int title_pending;       /* the part's <title> waits for its link */
	int quiet_anchor;        /* the next <a> is an edge label's: no tab stop */
	int in_wrapper;          /* inside a <g id="a_..."> left out */
	int drop_close_g;        /* the next </g> closes it */
	struct span stroke, stroke_width;   /* an edge's, said on its <g> */
	struct tm_buf tmp;
};

static const char *find(const char *s, const char *end, const char *what)
{
	size_t n = strlen(what);
	for (; s + n <= end; s++) {
		s = memchr(s, what[0], (size_t)(end - s));
		if (!s || s + n > end)
			return NULL;
		if (!memcmp(s, what, n))
			return s;
	}
	return NULL;
}

static int starts(const char *s, const char *end, const char *what)
{
	size_t n = strlen(what);
	return (size_t)(end - s) >= n && !memcmp(s, what, n);
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int span_is(struct span a, const char *b, size_t blen)
{
	return a.ptr && a.len == blen && !memcmp(a.ptr, b, blen);
}

/* the value of attribute `name` in the tag [tag, gt) */
static struct span attr_value(const char *tag, const char *gt, const char *name)
{
	char key[32];
	snprintf(key, sizeof(key), " %s=\"", name);
	const char *a = find(tag, gt, key);
	const char *v = a ? a + strlen(key) : NULL;
	const char *q = v ? memchr(v, '"', (size_t)(gt - v)) : NULL;
	return q ? (struct span){ v, (size_t)(q - v) } : (struct span){ NULL, 0 };
}

/* the next number in [*s, end): its text, *s moved past it */
static struct span next_number(const char **s, const char *end)
{
	const char *p = *s;
	while (p < end && !is_digit(*p) &&
	       !((*p == '-' || *p == '.') && p + 1 < end && (is_digit(p[1]) || p[1] == '.')))
		p++;
	const char *start = p;
	if (p < end && *p == '-')
		p++;
	while (p < end && (is_digit(*p) || *p == '.'))
		p++;
	*s = p;
	return (struct span){ start, (size_t)(p - start) };
}

/* appends one number of Graphviz's (up to two decimals) rounded to 0.1: a
 * tenth of a point is finer than a pixel at any useful zoom */
static void put_rounded(struct tm_buf *out, struct span num)
{
	const char *p = num.ptr, *end = num.ptr + num.len;
	int neg = p < end && *p == '-';
	uint64_t whole = 0, hundredths = 0, scale = 10;
	for (p += neg; p < end && is_digit(*p); p++)
		whole = whole < 100000000000ull ? whole * 10 + (uint64_t)(*p - '0') : whole;
	if (p < end && *p == '.')
		for (p++; p < end && is_digit(*p); p++, scale /= 10)
			hundredths += (uint64_t)(*p - '0') * scale;
	uint64_t tenths = (whole * 100 + hundredths + 5) / 10;
	char digits[24], *d = digits + sizeof(digits);
	if (tenths % 10) {
		*--d = (char)('0' + tenths % 10);
		*--d = '.';
	}
	uint64_t w = tenths / 10;
	do
		*--d = (char)('0' + w % 10);
	while (w /= 10);
	if (neg && tenths)
		*--d = '-';
	tm_buf_add(out, d, (size_t)(digits + sizeof(digits) - d));
}

/* copies an attribute value with every number rounded */
static void copy_rounded(struct tm_buf *out, const char *v, size_t len)
{
	const char *s = v, *end = v + len, *run = v;
	for (;;) {
		struct span num = next_number(&s, end);
		if (!num.len)
			break;
		tm_buf_add(out, run, (size_t)(num.ptr - run));
		put_rounded(out, num);
		run = s;
	}
	tm_buf_add(out, run, (size_t)(end - run));
}

/* a straight edge (sfdp) is one cubic with its control points on the line:
 * "M x0,y0 C x1,y1 x2,y2 x3,y3" says no more than "Mx0,y0Lx3,y3" */
static int copy_straight(struct tm_buf *out, const char *v, size_t len)
{
	struct span n[9];
	const char *s = v;
	size_t k = 0;
	while (k < 9 && (n[k] = next_number(&s, v + len)).len)
		k++;
	if (k != 8)
		return 0;
	tm_buf_add_str(out, "M");
	put_rounded(out, n[0]);
	tm_buf_add_str(out, ",");
	put_rounded(out, n[1]);
	tm_buf_add_str(out, "L");
	put_rounded(out, n[6]);
	tm_buf_add_str(out, ",");
	put_rounded(out, n[7]);
	return 1;
}

/* copies the attributes of a tag from s (after its name) to gt: numbers
 * rounded, and left out what the enclosing groups already say */
static void copy_attrs(struct fill *f, const char *s, const char *gt, int is_text)
{
	static const char *const coords[] = { "d", "points", "x", "y", "cx", "cy", "rx", "ry" };
	struct tm_buf *out = f->out;
	int in_edge = f->kind == PART_EDGE && f->stroke.ptr;
	while (s < gt) {
		const char *eq = memchr(s, '=', (size_t)(gt - s));
		if (!eq || eq + 1 >= gt || eq[1] != '"')
			break;
		const char *val = eq + 2, *q = memchr(val, '"', (size_t)(gt - val));
		if (!q)
			break;
		const char *name = s;
		while (name < eq && *name == ' ')
			name++;
		size_t nlen = (size_t)(eq - name), vlen = (size_t)(q - val);
		struct span v = { val, vlen };
#define IS(lit) (nlen == sizeof(lit) - 1 && !memcmp(name, lit, nlen))
		int drop = (is_text && ((IS("text-anchor") && span_is(v, "middle", 6)) ||
					(IS("font-family") && span_is(v, SVG_FONT, strlen(SVG_FONT))) ||
					(IS("font-size") && span_is(v, SVG_FONT_SIZE, 5)))) ||
			   (in_edge && !is_text && (IS("stroke") || IS("fill")) &&
			    span_is(f->stroke, val, vlen)) ||
			   (in_edge && IS("stroke-width") && span_is(f->stroke_width, val, vlen));
		int round = 0;
		for (size_t k = 0; k < sizeof(coords) / sizeof(coords[0]); k++)
			round |= nlen == strlen(coords[k]) && !memcmp(name, coords[k], nlen);
		if (!drop) {
			tm_buf_add_str(out, " ");
			tm_buf_add(out, name, nlen + 2);
			/* a polygon closes itself: Graphviz's repeated first point goes */
			const char *last = IS("points") ? memrchr(val, ' ', vlen) : NULL;
			const char *first_end = last ? memchr(val, ' ', vlen) : NULL;
			if (last && first_end < last &&
			    (size_t)(val + vlen - last - 1) == (size_t)(first_end - val) &&
			    !memcmp(last + 1, val, (size_t)(first_end - val)))
				vlen = (size_t)(last - val);
			if (!(round && IS("d") && f->kind == PART_EDGE && f->p->sfdp &&
			      copy_straight(out, val, vlen))) {
				if (round)
					copy_rounded(out, val, vlen);
				else
					tm_buf_add(out, val, vlen);
			}
			tm_buf_add_str(out, "\"");
		}
#undef IS
		s = q + 1;
	}
	tm_buf_add(out, s, (size_t)(gt - s));
}

/* the clean text of the current part's title ('T': which is also its
 * tooltip) or label line ('L', line) */
static void part_text(struct fill *f, int what, unsigned line)
{
	const struct plan *p = f->p;
	struct tm_buf *t = &f->tmp;
	size_t i = f->index;
	t->len = 0;
	switch (f->kind) {
	case PART_GRAPH:
		tm_buf_add_str(t, "Service map");
		break;
	case PART_NODE:
		if (what == 'T')
			node_tooltip(t, p, i);
		else if (line == 0)
			clean_text(t, node_title(p, i), TM_GRAPH_LABEL_CHARS);
		else
			node_numbers(t, p, i, (int)line);
		break;
	case PART_EDGE:
		if (what == 'T')
			edge_tooltip(t, p, i);
		else
			edge_numbers(t, p, i, (int)line);
		break;
	case PART_CLUSTER:
		clean_text(t, p->m->nodes[p->cluster_node[i]].service,
			   what == 'L' ? TM_GRAPH_LABEL_CHARS : 0);
		if (what == 'T')
			tm_buf_add_str(t, " (service)");
		break;
	default:
		break;
	}
}

static void put_title(struct fill *f)
{
	tm_buf_add_str(f->out, f->kind == PART_GRAPH ? "<title>" : "\n<title>");
	part_text(f, 'T', 0);
	escape_buf(f->out, &f->tmp, ESC_HTML);
	tm_buf_add_str(f->out, f->kind == PART_GRAPH ? "</title>\n" : "</title>");
	f->title_pending = 0;
}

/* an edge's line and arrowhead share a colour (the page's style sheet
 * gives it by class: tm_graph_style) and a width (said on the group):
 * those of its first <path>, before the next part */
static void edge_paint(struct fill *f, const char *gt, const char *end)
{
	const char *next = find(gt, end, "<g id=\"g");
	const char *path = find(gt, next ? next : end, "<path ");
	const char *path_end = path ? memchr(path, '>', (size_t)(end - path)) : NULL;
	f->stroke = f->stroke_width = (struct span){ NULL, 0 };
	if (!path_end)
		return;
	f->stroke = attr_value(path, path_end, "stroke");
	f->stroke_width = attr_value(path, path_end, "stroke-width");
	if (f->stroke.ptr && f->stroke_width.ptr) {
		tm_buf_add_str(f->out, " stroke-width=\"");
		tm_buf_add(f->out, f->stroke_width.ptr, f->stroke_width.len);
		tm_buf_add_str(f->out, "\"");
	}
}

/* <g id="...">: a part of ours starts (gn12, ge3, gc0, graph0), or the
 * wrapper Graphviz puts around each link, which is left out */
static void fill_group(struct fill *f, const char *tag, const char *gt, const char *end)
{
	static const struct { const char *prefix; enum part_kind kind; } ids[] = {
		{ "<g id=\"gn", PART_NODE }, { "<g id=\"ge", PART_EDGE },
		{ "<g id=\"gc", PART_CLUSTER },
	};
	if (starts(tag, gt, "<g id=\"a_")) {
		f->quiet_anchor = starts(tag, gt, "<g id=\"a_ge") && find(tag, gt, "&#45;label\"");
		f->in_wrapper = 1;
		return;
	}
	f->kind = PART_NONE;
	f->n_text = f->n_shapes = 0;
	f->stroke = f->stroke_width = (struct span){ NULL, 0 };
	if (starts(tag, gt, "<g id=\"graph0\"")) {
		f->kind = PART_GRAPH;
		tm_buf_add_str(f->out, "<g font-family=\"" SVG_FONT "\" font-size=\"10\" "
				       "text-anchor=\"middle\"");
		copy_attrs(f, tag + 2, gt, 0);
		return;
	}
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		size_t n = strlen(ids[k].prefix);
		if (!starts(tag, gt, ids[k].prefix) || !is_digit(tag[n]))
			continue;
		size_t v = strtoul(tag + n, NULL, 10);
		size_t limit = ids[k].kind == PART_NODE ? f->p->m->n_nodes
			: ids[k].kind == PART_EDGE ? f->p->m->n_edges : f->p->n_clusters;
		f->kind = v < limit ? ids[k].kind : PART_NONE;
		f->index = v;
	}
	tm_buf_add(f->out, tag, (size_t)(gt - tag - 1));
	if (f->kind == PART_EDGE)
		edge_paint(f, gt, end);
	tm_buf_add_str(f->out, ">");
}

/* an <a ...> tag without Graphviz's tooltip, then the part's title; an
 * edge label's link (its second) gets tabindex="-1": one tab stop an edge */
static void fill_anchor(struct fill *f, const char *tag, const char *gt)
{
	struct span tt = attr_value(tag, gt, "xlink:title");
	tm_buf_add_str(f->out, f->quiet_anchor ? "<a tabindex=\"-1\"" : "<a");
	f->quiet_anchor = 0;
	if (!tt.ptr || f->kind == PART_NONE) {
		tm_buf_add(f->out, tag + 2, (size_t)(gt - tag - 2));
	} else {
		const char *cut = tt.ptr - strlen(" xlink:title=\"");
		tm_buf_add(f->out, tag + 2, (size_t)(cut - tag - 2));
		tm_buf_add(f->out, tt.ptr + tt.len + 1, (size_t)(gt - tt.ptr - tt.len - 1));
	}
	if (f->title_pending)
		put_title(f);
}

/* the content of a <text> at s (after the start tag) up to its end tag:
 * ours when the part has that line, else Graphviz's */
static const char *fill_text(struct fill *f, const char *s, const char *end)
{
	const char *stop = find(s, end, "</text>");
	if (!stop)
		stop = end;
	unsigned line = f->n_text++;
	unsigned lines = f->kind == PART_NODE ? 3 : f->kind == PART_EDGE ? 2 : 1;
	if (f->kind != PART_NONE && f->kind != PART_GRAPH && line < lines) {
		part_text(f, 'L', line);
		escape_buf(f->out, &f->tmp, ESC_HTML);
	} else {
		tm_buf_add(f->out, s, (size_t)(stop - s));
	}
	return stop;
}

/* <svg width="Wpt" height="Hpt" viewBox="..." ...>: ours, same size, for
 * an HTML page */
static void fill_root(struct fill *f, const char *tag, const char *end)
{
	double w = 0, h = 0;
	const char *a = find(tag, end, "width=\"");
	const char *b = find(tag, end, "height=\"");
	if (a)
		w = strtod(a + 7, NULL);
	if (b)
		h = strtod(b + 8, NULL);
	/* no xmlns: inside HTML the parser gives <svg> and xlink: theirs, and a
	 * page names no other host, not even as a namespace */
	tm_web_printf(f->out, "<svg class=\"tm-map\" width=\"%.0fpt\" height=\"%.0fpt\" "
			   "viewBox=\"0 0 %.2f %.2f\" aria-label=\"Service map\">", w, h, w, h);
}

/* a rounded box is a path of 24 points (400 bytes); the same <rect> is a
 * quarter of that, and the boxes are most nodes */
static int fill_rounded_box(struct fill *f, const char *lt, const char *gt)
{
	struct span d = attr_value(lt, gt, "d");
	if (!d.ptr)
		return 0;
	double lo[2] = { 1e300, 1e300 }, hi[2] = { -1e300, -1e300 };
	size_t n = 0;
	const char *s = d.ptr;
	struct span num;
	for (; (num = next_number(&s, d.ptr + d.len)).len; n++) {
		double v = strtod(num.ptr, NULL);
		lo[n & 1] = v < lo[n & 1] ? v : lo[n & 1];
		hi[n & 1] = v > hi[n & 1] ? v : hi[n & 1];
	}
	if (n < 4 || n % 2)
		return 0;
	tm_buf_add_str(f->out, "<rect");
	copy_attrs(f, lt + 5, d.ptr - 4, 0);
	tm_web_printf(f->out, " x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"6\"",
		   lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]);
	copy_attrs(f, d.ptr + d.len + 1, gt, 0);
	return 1;
}

/* one tag at lt (gt just after its '>'); returns where to go on */
static const char *fill_tag(struct fill *f, const char *lt, const char *gt, const char *end)
{
	if (f->title_pending && !starts(lt, gt, "<a ") && !starts(lt, gt, "<g id=\"a_"))
		put_title(f);   /* a part without a link keeps its title first */
	if (starts(lt, gt, "<g ")) {
		fill_group(f, lt, gt, end);
	} else if (starts(lt, gt, "</g>") && f->drop_close_g) {
		f->drop_close_g = 0;
	} else if (starts(lt, gt, "<a ")) {
		fill_anchor(f, lt, gt);
	} else if (starts(lt, gt, "</a>")) {
		tm_buf_add(f->out, lt, (size_t)(gt - lt));
		f->drop_close_g = f->in_wrapper;
		f->in_wrapper = 0;
	} else if (starts(lt, gt, "<title>")) {
		const char *stop = find(gt, end, "</title>");
		if (f->kind == PART_NONE || !stop) {
			tm_buf_add(f->out, lt, (size_t)(gt - lt));
			return gt;
		}
		f->title_pending = 1;
		if (f->kind == PART_GRAPH)
			put_title(f);
		return stop + strlen("</title>");
	} else if (starts(lt, gt, "<path ") && f->kind == PART_NODE && !f->n_shapes++ &&
		   f->p->m->nodes[f->index].kind == TM_SMAP_SERVICE &&
		   fill_rounded_box(f, lt, gt)) {
		/* done */
	} else if (starts(lt, gt, "<text ") && gt[-2] != '/') {
		tm_buf_add_str(f->out, "<text");
		copy_attrs(f, lt + 5, gt, 1);
		return fill_text(f, gt, end);
	} else {
		const char *name_end = lt + 1;
		while (name_end < gt && *name_end != ' ' && *name_end != '>' && *name_end != '/')
			name_end++;
		tm_buf_add(f->out, lt, (size_t)(name_end - lt));
		copy_attrs(f, name_end, gt, 0);
	}
	return gt;
}

static int fill_svg(const struct plan *p, const char *svg, size_t len, struct tm_buf *out)
{
	struct fill f = { .p = p, .out = out };
	const char *s = svg, *end = svg + len;
	const char *root = find(s, end, "<svg");
	const char *root_end = root ? memchr(root, '>', (size_t)(end - root)) : NULL;
	if (!root_end)
		return -EIO;
	tm_buf_init(&f.tmp);
	fill_root(&f, root, root_end + 1);
	for (s = root_end + 1; s < end;) {
		const char *lt = memchr(s, '<', (size_t)(end - s));
		if (!lt)
			lt = end;
		tm_buf_add(out, s, (size_t)(lt - s));
		if (lt == end)
			break;
		int comment = starts(lt, end, "<!--");
		const char *gt = comment ? find(lt, end, "-->") : memchr(lt, '>', (size_t)(end - lt));
		if (!gt)
			break;
		gt += comment ? 3 : 1;
		size_t before = out->len;
		s = comment ? gt : fill_tag(&f, lt, gt, end);
		if (out->len == before && s < end && *s == '\n')
			s++;                 /* a tag left out: and its line */
	}
	int rc = f.tmp.failed || out->failed ? -ENOMEM : 0;
	tm_buf_free(&f.tmp);
	return rc;
}

/*---- Graphviz, behind one lock, and the layout cache ----*/

struct cache_entry {
	char *dot;               /* the layout DOT: the key */
	size_t dot_len;
	uint64_t hash;
	char *svg;               /* Graphviz's SVG of it */
	size_t svg_len;
	uint64_t last_use;
};

static struct {
	pthread_mutex_t lock;
	GVC_t *gvc;
	struct cache_entry cache[TM_GRAPH_CACHE_ENTRIES];
	uint64_t clock;
	struct tm_graph_stats stats;
	char gv_err[256];
	int closed;              /* tm_graph_cleanup() ran: no context again */
} G = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Graphviz's errors (cgraph calls this instead of writing to stderr) */
static int gv_error(char *msg)
{
	size_t used = strlen(G.gv_err);
	if (used + 1 < sizeof(G.gv_err))
		snprintf(G.gv_err + used, sizeof(G.gv_err) - used, "%s", msg);
	return 0;
}

/* one context for the life of the process: the pango plugin keeps a
 * pointer into the first context's font table in a static, so a second
 * context after gvFreeContext() reads freed memory (seen with valgrind) */
static int gv_context_locked(void)
{
	if (G.gvc)
		return 0;
	if (G.closed) {
		snprintf(G.gv_err, sizeof(G.gv_err), "shut down");
		return -EIO;
	}
	agseterr(AGERR);          /* warnings (e.g. label placement) are not failures */
	agseterrf(gv_error);
	G.gvc = gvContext();
	return G.gvc ? 0 : -ENOMEM;
}

/* lays out NUL-terminated DOT and renders it; *svg is malloc'd */
static int layout_locked(const char *dot, const char *engine, char **svg, size_t *svg_len)
{
	G.gv_err[0] = '\0';
	int rc = gv_context_locked();
	if (rc)
		return rc;
	Agraph_t *g = agmemread(dot);
	if (!g)
		return -EIO;
	char *data = NULL;
	unsigned len = 0;
	rc = gvLayout(G.gvc, g, engine) ? -EIO : 0;
	if (!rc && gvRenderData(G.gvc, g, "svg", &data, &len))
		rc = -EIO;
	if (!rc) {
		*svg = malloc(len ? len : 1);
		if (*svg) {
			memcpy(*svg, data, len);
			*svg_len = len;
		} else {
			rc = -ENOMEM;
		}
	}
	if (data)
		gvFreeRenderData(data);
	gvFreeLayout(G.gvc, g);
	agclose(g);
	return rc;
}

static struct cache_entry *cache_find_locked(const char *dot, size_t len, uint64_t hash)
{
	for (size_t i = 0; i < TM_GRAPH_CACHE_ENTRIES; i++) {
		struct cache_entry *e = &G.cache[i];
		if (e->svg && e->hash == hash && e->dot_len == len && !memcmp(e->dot, dot, len)) {
			e->last_use = ++G.clock;
			return e;
		}
	}
	return NULL;
}

static void cache_entry_clear(struct cache_entry *e)
{
	free(e->dot);
	free(e->svg);
	memset(e, 0, sizeof(*e));
}

/* lays out and keeps the result in the least recently used slot */
static int cache_add_locked(const char *dot, size_t len, uint64_t hash, const char *engine,
			    struct cache_entry **out)
{
	struct cache_entry *e = &G.cache[0];
	for (size_t i = 1; i < TM_GRAPH_CACHE_ENTRIES; i++)
		if (G.cache[i].last_use < e->last_use)
			e = &G.cache[i];
	cache_entry_clear(e);
	double t0 = now_ms();
	int rc = layout_locked(dot, engine, &e->svg, &e->svg_len);
	G.stats.last_layout_ms = now_ms() - t0;
	G.stats.layouts++;
	if (!rc && !(e->dot = malloc(len)))
		rc = -ENOMEM;
	if (rc) {
		cache_entry_clear(e);
		return rc;
	}
	memcpy(e->dot, dot, len);
	e->dot_len = len;
	e->hash = hash;
	e->last_use = ++G.clock;
	*out = e;
	return 0;
}

int tm_graph_svg(const struct tm_smap_map *m, const struct tm_graph_options *opt,
		 struct tm_buf *svg, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (m->n_nodes > TM_GRAPH_MAX_NODES || m->n_edges > TM_GRAPH_MAX_EDGES) {
		if (errlen)
			snprintf(err, errlen, "too many nodes (%zu) or edges (%zu) to draw",
				 m->n_nodes, m->n_edges);
		return -E2BIG;
	}
	struct plan p;
	struct tm_buf dot;
	tm_buf_init(&dot);
	int rc = plan_init(&p, m, opt);
	if (!rc) {
		dot_graph(&dot, &p, DOT_LAYOUT);
		tm_buf_add(&dot, "", 1);     /* agmemread wants a C string */
		rc = dot.failed ? -ENOMEM : 0;
	}
	if (!rc) {
		uint64_t hash = fnv1a(dot.data, dot.len);
		struct cache_entry *e;
		pthread_mutex_lock(&G.lock);
		e = cache_find_locked((const char *)dot.data, dot.len, hash);
		if (e)
			G.stats.cache_hits++;
		else
			rc = cache_add_locked((const char *)dot.data, dot.len, hash,
					      p.sfdp ? "sfdp" : "dot", &e);
		if (!rc)
			rc = fill_svg(&p, e->svg, e->svg_len, svg);
		if (rc == -EIO && errlen)
			snprintf(err, errlen, "graphviz: %s",
				 G.gv_err[0] ? G.gv_err : "layout failed");
		pthread_mutex_unlock(&G.lock);
	}
	plan_clear(&p);
	tm_buf_free(&dot);
	return rc;
}

void tm_graph_get_stats(struct tm_graph_stats *out)
{
	pthread_mutex_lock(&G.lock);
	*out = G.stats;
	pthread_mutex_unlock(&G.lock);
}

int tm_graph_render_dot(const char *dot, const char *engine, struct tm_buf *svg, char *err,
			size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	if (errlen)
		err[0] = '\0';
	pthread_mutex_lock(&G.lock);
	int rc = layout_locked(dot, engine, &data, &len);
	if (rc == -EIO && errlen)
		snprintf(err, errlen, "graphviz: %s", G.gv_err[0] ? G.gv_err : "layout failed");
	pthread_mutex_unlock(&G.lock);
	if (!rc) {
		tm_buf_add(svg, data, len);
		rc = svg->failed ? -ENOMEM : 0;
	}
	free(data);
	return rc;
}

int tm_graph_warm_up(void)
{
	struct tm_buf svg;
	tm_buf_init(&svg);
	int rc = tm_graph_render_dot("digraph{a[label=\"a\\nb\"];a->b[xlabel=\"c\"]}", "dot", &svg,
				     NULL, 0);
	tm_buf_free(&svg);
	return rc;
}

void tm_graph_cleanup(void)
{
	pthread_mutex_lock(&G.lock);
	for (size_t i = 0; i < TM_GRAPH_CACHE_ENTRIES; i++)
		cache_entry_clear(&G.cache[i]);
	if (G.gvc)
		gvFreeContext(G.gvc);
	G.gvc = NULL;
	G.closed = 1;
	pthread_mutex_unlock(&G.lock);
}

/* Graphviz leaks a little on every layout (dot_rank, dot_mincross) and
 * once in gvContext and fontconfig; LeakSanitizer (-Dsanitize=true) would
 * fail every binary that draws a map.  These frames are not ours. */
__attribute__((visibility("default"), used)) const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"), used)) const char *__lsan_default_suppressions(void)
{
	return "leak:libgvc.so\n"
	       "leak:libgvplugin_\n"
	       "leak:libcgraph.so\n"
	       "leak:libpango\n"
	       "leak:libfontconfig.so\n"
	       "leak:libglib-2.0.so\n";
}
