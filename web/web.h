/* web.h - the browser UI: server-rendered pages (docs/web.md).
 *
 * Every page is one complete HTML document with its stylesheet and its few
 * lines of JavaScript inline, and no request to any other host; with
 * JavaScript off it still shows all its content.  Every string that came
 * from a client is HTML-escaped (tm_html_escape).  Pages are drawn from
 * what analysis/ computes; web/ never speaks HTTP: server/ routes the
 * requests (server/web_http.c) and `tracemap export` writes the same pages
 * as files (ctx->static_site), with relative links that work from file://.
 *
 * Threads: any, each call with its own context; the Graphviz layout inside
 * is serialized (web/graph.h).  Errors: 0, -ENOENT (no such trace or
 * service: the caller answers 404), -EINVAL (a bad parameter, message in
 * ctx->err), -ENOMEM, or a store error.
 * Memory: output is appended to a tm_buf the caller owns; scratch comes
 * from ctx->arena. */
#ifndef TM_WEB_H
#define TM_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "span.h"
#include "store.h"

struct tm_smap_cache;

struct tm_web_ctx {
	struct tm_store_reader *rd;
	struct tm_arena *arena;
	uint64_t now_ns;
	int static_site;            /* links for `tracemap export` (file://) */
	struct tm_smap_cache *smap_cache;   /* of rd's store, borrowed; NULL: none */
	char err[256];
};

/* a window of time: [start_ns, end_ns] */
struct tm_web_window {
	uint64_t start_ns, end_ns;
	const char *name;           /* "15m", "1h", "6h", "24h" or "custom" */
};

/*---- links: live paths, or relative file names of an exported site ----*/

enum tm_web_link {
	TM_LINK_MAP,          /* arg: none */
	TM_LINK_SERVICE,      /* arg: service name */
	TM_LINK_TRACE,        /* arg: trace ID (32 hex) */
	TM_LINK_SEARCH,       /* arg: none (live only) */
	TM_LINK_BOTTLENECKS,  /* arg: service name, arg2: operation or NULL */
};

/* appends the escaped href of a page */
void tm_web_href(struct tm_buf *out, const struct tm_web_ctx *c, enum tm_web_link what,
		 struct tm_str arg, struct tm_str arg2);

/*---- the parts every page shares (web/layout.c) ----*/

/* appends s with &, <, >, " and ' escaped. */
void tm_html_escape(struct tm_buf *out, const char *s, size_t len);
void tm_html_escape_str(struct tm_buf *out, struct tm_str s);

/* doctype, head (title, stylesheet, script), the navigation bar with the
 * trace-ID lookup form; `active` names the nav entry to mark ("map",
 * "search", "bottlenecks", or NULL). */
void tm_web_page_begin(struct tm_buf *out, const struct tm_web_ctx *c, const char *title,
		       const char *active);
void tm_web_page_end(struct tm_buf *out, const struct tm_web_ctx *c);

/* a page that says what went wrong (404, 400, 500), with the navigation */
void tm_web_error_page(struct tm_buf *out, const struct tm_web_ctx *c, unsigned status,
		       const char *message);

/*---- pages ----*/

struct tm_web_map_params {
	struct tm_web_window window;
	int operation_level;
	struct tm_str focus;        /* empty: the whole map */
	unsigned hops;
};

/* GET / : the service map of a window, laid out by Graphviz */
int tm_web_map_page(struct tm_buf *out, struct tm_web_ctx *c, const struct tm_web_map_params *p);

/* GET /services/{name} */
int tm_web_service_page(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
			const struct tm_web_window *w);

struct tm_web_search_params {
	struct tm_str service, operation;
	struct tm_str tags;         /* logfmt "k=v k2=v2", as Grafana takes them */
	uint64_t min_duration_ns, max_duration_ns;   /* 0 / UINT64_MAX: none */
	struct tm_web_window window;
	size_t limit;
	int slowest_first;          /* else newest first */
	int submitted;              /* else only the form */
};

/* GET /search */
int tm_web_search_page(struct tm_buf *out, struct tm_web_ctx *c,
		       const struct tm_web_search_params *p);

/* GET /traces/{id} */
int tm_web_trace_page(struct tm_buf *out, struct tm_web_ctx *c,
		      const uint8_t trace_id[TM_TRACE_ID_LEN]);

/* GET /traces/{id}?span={spanID} (16 hex digits): the trace page with the
 * details of that span on top (of each copy, for a Zipkin shared span ID).
 * A trace of more than 2,000 spans, or whose details would weigh over
 * about 2 MB, carries no span details inline: each row's name links here,
 * as the relative URL "?span={spanID}".  A span ID the trace does not hold
 * gives the page with a notice, not an error. */
int tm_web_trace_span_page(struct tm_buf *out, struct tm_web_ctx *c,
			   const uint8_t trace_id[TM_TRACE_ID_LEN],
			   const uint8_t span_id[TM_SPAN_ID_LEN]);

/* GET /bottlenecks?service=&operation= */
int tm_web_bottlenecks_page(struct tm_buf *out, struct tm_web_ctx *c, struct tm_str service,
			    struct tm_str operation, const struct tm_web_window *w);

#endif
