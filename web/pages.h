/* pages.h - server-rendered HTML pages.
 *
 * Pages are complete HTML documents with an inline stylesheet and no
 * JavaScript or external resources.  Every string that came from a client
 * (service, span and attribute names) is HTML-escaped.
 * Threads: pure.  Errors: -ENOMEM (also reported through out->failed).
 * Memory: output is appended to a tm_buf the caller owns. */
#ifndef TM_PAGES_H
#define TM_PAGES_H

#include <stddef.h>

#include "arena.h"
#include "span.h"
#include "store.h"

/* appends s with &, <, >, " and ' escaped. */
void tm_html_escape(struct tm_buf *out, const char *s, size_t len);

/* the landing page: what the store holds and a trace lookup form. */
void tm_web_home(struct tm_buf *out, const struct tm_store_stats *stats, const char *version);

/* one trace as an indented span table with a time bar per span. */
int tm_web_trace_page(struct tm_buf *out, const struct tm_trace *trace, struct tm_arena *arena);

/* a small page that says what went wrong (404, 400). */
void tm_web_error_page(struct tm_buf *out, unsigned status, const char *message);

#endif
