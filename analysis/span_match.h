/* span_match.h - does a span satisfy a search condition?  The exact check
 * behind every search (the index only narrows the candidates).
 *
 * Jaeger's tag rule (docs/query.md): a key matches in the span's, its
 * scope's, its resource's, its events' or its links' attributes, values
 * compared as text; special keys error, span.kind, span.status, scope.name,
 * scope.version, and resource.K.  Zipkin's: the span's tags as Zipkin would
 * show them (attributes, otel.status_code, error), and bare words naming an
 * event or a tag key.
 * Threads: pure.  Errors: none.  Memory: nothing kept. */
#ifndef TM_SPAN_MATCH_H
#define TM_SPAN_MATCH_H

#include "span.h"

/* 1 when v, written as text the way the query APIs do, equals text:
 * strings as they are, booleans true/false, integers in decimal, doubles
 * compared as numbers. */
int tm_value_matches_text(const struct tm_value *v, struct tm_str text);

int tm_span_matches_jaeger_tag(const struct tm_span *s, struct tm_str key, struct tm_str text);

/* bare: a word without '=' (matches an event name or a tag key) */
int tm_span_matches_zipkin_term(const struct tm_span *s, struct tm_str key, struct tm_str text,
				int bare);

/* the lower-case name of a span kind as Jaeger writes it, "" for unspecified */
const char *tm_span_kind_name(unsigned kind);

/* the service.name of the span's resource, or "" */
struct tm_str tm_span_service(const struct tm_span *s);

#endif
