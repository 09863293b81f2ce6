/* page_map.c - GET /: the service map of a window. */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "servicemap.h"

int tm_web_map_page(struct tm_buf *out, struct tm_web_ctx *c, const struct tm_web_map_params *p)
{
	struct tm_smap_query q = { p->window.start_ns, p->window.end_ns, p->operation_level,
				   p->focus, p->hops };
	struct tm_smap_map m;
	int rc = tm_smap_query(c->rd, &q, c->arena, &m);
	if (rc)
		return rc;
	tm_web_page_begin(out, c, "Service map", "map");
	tm_buf_add_str(out, "<h1>Service map</h1><table><tr><th>from</th><th>to</th>"
			    "<th class=\"n\">calls</th><th class=\"n\">errors</th></tr>");
	for (size_t i = 0; i < m.n_edges; i++) {
		char n[64];
		tm_buf_add_str(out, "<tr><td>");
		tm_html_escape_str(out, m.nodes[m.edges[i].source].id);
		tm_buf_add_str(out, "</td><td>");
		tm_html_escape_str(out, m.nodes[m.edges[i].target].id);
		snprintf(n, sizeof(n), "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
			 "</td></tr>", m.edges[i].stat.calls, m.edges[i].stat.errors);
		tm_buf_add_str(out, n);
	}
	tm_buf_add_str(out, "</table>");
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}
