/* graph.h - the service map as a picture: DOT, laid out by Graphviz, as SVG.
 *
 * tm_graph_svg() turns a map (analysis/servicemap.h) into an SVG fragment
 * to inline in a page: nodes drawn by kind (service: rounded box, database:
 * cylinder, messaging: cds, external: component, user: ellipse), filled by
 * error rate with the rate also written in the label, labelled with
 * requests/s and p99; edges labelled with calls/s and p99, their width by
 * traffic (log scale); each node, edge and cluster with a <title> and a
 * tooltip, and links where the caller's href function gives one.  Layout is
 * in process through libgvc: dot, or sfdp past `sfdp_nodes` nodes.
 *
 * Layout is memoized.  The DOT that Graphviz lays out holds the topology,
 * the (truncated) names, kinds, colour and width classes, links, and
 * fixed-width placeholders where the numbers go; the numbers, tooltips and
 * titles are written into a copy of the cached SVG afterwards.  So a reload,
 * a new minute of traffic or another window over the same topology costs no
 * layout; a new node or edge, or a node crossing an error-rate class, does.
 * The measurements behind this are at the top of graph.c.
 *
 * Threads: any.  Graphviz (gvc, cgraph) is not thread-safe: all its work,
 * and the cache, sit behind one process-wide mutex.
 * Errors: 0; -ENOMEM; -E2BIG when the map has more than TM_GRAPH_MAX_NODES
 * nodes or TM_GRAPH_MAX_EDGES edges (the caller shows its tables instead);
 * -EIO when Graphviz fails (its message in err).
 * Memory: output is appended to the caller's tm_buf; the cache belongs to
 * this module (at most TM_GRAPH_CACHE_ENTRIES layouts) until
 * tm_graph_cleanup(). */
#ifndef TM_GRAPH_H
#define TM_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "servicemap.h"
#include "span.h"

#define TM_GRAPH_SFDP_NODES 200      /* default: dot up to this many nodes */
#define TM_GRAPH_MAX_NODES 500       /* more: -E2BIG (its SVG would pass ~0.8 MB) */
#define TM_GRAPH_MAX_EDGES 2000
#define TM_GRAPH_LAYOUT_LABELS_MAX 100 /* up to this many edges dot makes room for their labels */
#define TM_GRAPH_EDGE_LABELS_MAX 400 /* more edges: numbers only in tooltips */
#define TM_GRAPH_LABEL_CHARS 40      /* names are cut to this in labels */
#define TM_GRAPH_CACHE_ENTRIES 8

/* what an href function is asked about: node i, edge i, or the box of the
 * service of node i (operation level) */
enum tm_graph_part { TM_GRAPH_NODE, TM_GRAPH_EDGE, TM_GRAPH_CLUSTER };

struct tm_graph_options {
	double window_s;          /* the time the map's counts cover, for rates */
	int operation_level;      /* operation nodes, boxed per service (dot) */
	struct tm_str focus;      /* a node id drawn with a heavy border, or empty */
	/* appends the href of a part, HTML-escaped as tm_web_href writes it,
	 * or nothing for no link.  NULL: no links at all. */
	void (*href)(void *arg, struct tm_buf *out, const struct tm_smap_map *m,
		     enum tm_graph_part part, size_t i);
	void *href_arg;
	size_t sfdp_nodes;        /* 0: TM_GRAPH_SFDP_NODES */
};

/* appends the map as an <svg> element for an HTML page (no XML prolog,
 * no xmlns: the HTML parser supplies them), width and height in pt and a
 * viewBox; the page must carry tm_graph_style.  Each node, edge and
 * service box is a <g class="node|edge|cluster"> whose link (an <a>, with
 * an href when the href function gave one) holds a <title>: the name and
 * the numbers, the link's accessible name and its tooltip.  err gets
 * Graphviz's message on -EIO. */
int tm_graph_svg(const struct tm_smap_map *m, const struct tm_graph_options *opt,
		 struct tm_buf *svg, char *err, size_t errlen);

/* a <style> element with what the SVG leaves to the page: the edges'
 * colours, by error class (also in each edge's title) */
extern const char tm_graph_style[];

/* appends the map as a self-contained DOT graph with its numbers, as it
 * would be laid out (`dot -Tsvg` draws it).  Returns 0 or -ENOMEM. */
int tm_graph_dot(const struct tm_smap_map *m, const struct tm_graph_options *opt,
		 struct tm_buf *dot);

/* appends s as the inside of a DOT quoted string for a label: '"', '\'
 * and '&' escaped (Graphviz reads entities in labels), control characters,
 * bidi controls and invalid UTF-8 replaced by U+FFFD, cut to max_chars
 * characters ending in U+2026 (0: no cut), "(no name)" when empty. */
void tm_graph_dot_label(struct tm_buf *out, struct tm_str s, size_t max_chars);

/* appends the same text as tm_graph_dot_label() shows, HTML-escaped */
void tm_graph_html_label(struct tm_buf *out, struct tm_str s, size_t max_chars);

/* numbers as the map writes them, three significant digits at most:
 * a rate ("0", "<0.01", "0.25", "12.3", "1.23k"), a duration in ns
 * ("850 ns", "12.3 ms", "1.5 s", "2.25 min"), a share ("0%", "<0.1%",
 * "2.5%", "100%").  Each writes at most 11 bytes and the NUL. */
void tm_graph_fmt_rate(char out[12], double per_s);
void tm_graph_fmt_ns(char out[12], uint64_t ns);
void tm_graph_fmt_share(char out[12], uint64_t part, uint64_t whole);

/* the error-rate class of a node or edge: 0 no calls, 1 below 1%,
 * 2 below 5%, 3 from 5% up */
int tm_graph_error_class(uint64_t errors, uint64_t calls);

struct tm_graph_stats {
	uint64_t layouts;          /* Graphviz layouts done */
	uint64_t cache_hits;       /* SVGs made from a cached layout */
	double last_layout_ms;     /* wall time of the last layout + render */
};
void tm_graph_get_stats(struct tm_graph_stats *out);

/* lays out any NUL-terminated DOT with an engine ("dot", "sfdp", ...) and
 * appends Graphviz's SVG as it is (XML prolog included).  This module owns
 * the process's one Graphviz context: anything else that wants Graphviz
 * comes through here, never through a gvContext() of its own.  Returns 0,
 * -ENOMEM or -EIO (Graphviz's message in err). */
int tm_graph_render_dot(const char *dot, const char *engine, struct tm_buf *svg, char *err,
			size_t errlen);

/* lays out a tiny graph so that plugin and font loading (10-15 ms) happen now
 * rather than in the first page; optional.  Returns 0 or -EIO. */
int tm_graph_warm_up(void);

/* frees the cache and the Graphviz context, at exit (valgrind): Graphviz
 * cannot safely make a second context in one process, so every later
 * tm_graph_svg() or tm_graph_render_dot() fails with -EIO. */
void tm_graph_cleanup(void);

#endif
