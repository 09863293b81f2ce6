/* layout.c - what every page shares: escaping, links, the head with the
 * stylesheet and script, the navigation bar, and error pages. */
#include "web.h"

#include <stdio.h>
#include <string.h>

/* one small stylesheet for every page; colours carry meaning (error red,
 * critical path amber), so every one of them also has a text or shape cue */
static const char STYLE[] =
	"<style>"
	":root{--fg:#1d2430;--muted:#5b6576;--line:#e3e7ee;--bg:#fff;--accent:#2f62c9;"
	"--err:#c62f2f;--warn:#c98a12;--ok:#2c8a4b}"
	"*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;"
	"margin:0;color:var(--fg);background:var(--bg)}"
	"header{display:flex;gap:1.2em;align-items:center;padding:.5em 1.2em;"
	"border-bottom:1px solid var(--line);flex-wrap:wrap}"
	"header .brand{font-weight:700;color:var(--fg);text-decoration:none}"
	"header nav a{margin-right:1em;color:var(--accent);text-decoration:none}"
	"header nav a.on{font-weight:700;text-decoration:underline}"
	"header form{margin-left:auto}main{padding:1em 1.2em}"
	"h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .5em}"
	"table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid var(--line);"
	"text-align:left;vertical-align:top}th{color:var(--muted);font-weight:600}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	"a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus,summary:focus"
	"{outline:2px solid var(--accent);outline-offset:1px}"
	".err{color:var(--err)}.muted{color:var(--muted)}code{background:#f3f5f8;padding:0 3px}"
	".bar{display:inline-block;height:10px;background:var(--accent);vertical-align:middle}"
	"</style>";

/* conveniences only: the pages work without it */
static const char SCRIPT[] =
	"<script>document.documentElement.classList.add('js');</script>";

void tm_html_escape(struct tm_buf *out, const char *s, size_t len)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		tm_buf_add(out, s + run, i - run);
		tm_buf_add_str(out, rep);
		run = i + 1;
	}
	tm_buf_add(out, s + run, len - run);
}

void tm_html_escape_str(struct tm_buf *out, struct tm_str s)
{
	tm_html_escape(out, s.ptr, s.len);
}

/* percent-encodes a path segment or query value, then HTML-escapes it */
static void url_part(struct tm_buf *out, struct tm_str s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			tm_buf_add(out, &s.ptr[i], 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			tm_buf_add(out, e, 3);
		}
	}
}

void tm_web_href(struct tm_buf *out, const struct tm_web_ctx *c, enum tm_web_link what,
		 struct tm_str arg, struct tm_str arg2)
{
	int file = c && c->static_site;
	switch (what) {
	case TM_LINK_MAP:
		tm_buf_add_str(out, file ? "index.html" : "/");
		break;
	case TM_LINK_SERVICE:
		tm_buf_add_str(out, file ? "service-" : "/services/");
		url_part(out, arg);
		if (file)
			tm_buf_add_str(out, ".html");
		break;
	case TM_LINK_TRACE:
		tm_buf_add_str(out, file ? "trace-" : "/traces/");
		url_part(out, arg);
		if (file)
			tm_buf_add_str(out, ".html");
		break;
	case TM_LINK_SEARCH:
		tm_buf_add_str(out, file ? "index.html" : "/search");
		break;
	case TM_LINK_BOTTLENECKS:
		if (file) {
			tm_buf_add_str(out, "bottlenecks-");
			url_part(out, arg);
			tm_buf_add_str(out, ".html");
			break;
		}
		tm_buf_add_str(out, "/bottlenecks?service=");
		url_part(out, arg);
		if (arg2.len) {
			tm_buf_add_str(out, "&amp;operation=");
			url_part(out, arg2);
		}
		break;
	}
}

static void nav_link(struct tm_buf *out, const struct tm_web_ctx *c, enum tm_web_link what,
		     const char *label, const char *name, const char *active)
{
	tm_buf_add_str(out, "<a href=\"");
	tm_web_href(out, c, what, (struct tm_str){ "", 0 }, (struct tm_str){ "", 0 });
	tm_buf_add_str(out, active && !strcmp(active, name) ? "\" class=\"on\">" : "\">");
	tm_buf_add_str(out, label);
	tm_buf_add_str(out, "</a>");
}

void tm_web_page_begin(struct tm_buf *out, const struct tm_web_ctx *c, const char *title,
		       const char *active)
{
	tm_buf_add_str(out, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
			    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
			    /* no icon request: browsers would ask the server for one */
			    "<link rel=\"icon\" href=\"data:,\">"
			    "<title>");
	tm_html_escape(out, title, strlen(title));
	tm_buf_add_str(out, " - tracemap</title>");
	tm_buf_add_str(out, STYLE);
	tm_buf_add_str(out, SCRIPT);
	tm_buf_add_str(out, "</head><body><header><a class=\"brand\" href=\"");
	tm_web_href(out, c, TM_LINK_MAP, (struct tm_str){ "", 0 }, (struct tm_str){ "", 0 });
	tm_buf_add_str(out, "\">tracemap</a><nav>");
	nav_link(out, c, TM_LINK_MAP, "Service map", "map", active);
	if (!c || !c->static_site) {
		nav_link(out, c, TM_LINK_SEARCH, "Search", "search", active);
		tm_buf_add_str(out, "<a href=\"/bottlenecks\"");
		tm_buf_add_str(out, active && !strcmp(active, "bottlenecks") ? " class=\"on\">"
									      : ">");
		tm_buf_add_str(out, "Bottlenecks</a>");
		tm_buf_add_str(out, "</nav><form action=\"/lookup\" method=\"get\" role=\"search\">"
				    "<label>Trace ID <input name=\"id\" size=\"34\" "
				    "autocomplete=\"off\" spellcheck=\"false\"></label> "
				    "<button>Open</button></form>");
	} else {
		tm_buf_add_str(out, "</nav>");
	}
	tm_buf_add_str(out, "</header><main>");
}

void tm_web_page_end(struct tm_buf *out, const struct tm_web_ctx *c)
{
	(void)c;
	tm_buf_add_str(out, "</main></body></html>");
}

void tm_web_error_page(struct tm_buf *out, const struct tm_web_ctx *c, unsigned status,
		       const char *message)
{
	char title[48];
	snprintf(title, sizeof(title), "%u %s", status,
		 status == 404 ? "Not found" : status == 400 ? "Bad request" : "Error");
	tm_web_page_begin(out, c, title, NULL);
	tm_buf_add_str(out, "<h1>");
	tm_html_escape(out, title, strlen(title));
	tm_buf_add_str(out, "</h1><p>");
	tm_html_escape(out, message, strlen(message));
	tm_buf_add_str(out, "</p><p><a href=\"");
	tm_web_href(out, c, TM_LINK_MAP, (struct tm_str){ "", 0 }, (struct tm_str){ "", 0 });
	tm_buf_add_str(out, "\">Back to the service map</a></p>");
	tm_web_page_end(out, c);
}
