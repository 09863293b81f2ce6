/* zipkin_json.h - traces as Zipkin v2 JSON (GET /api/v2/trace, /traces, ...).
 *
 * Spans are mapped from the common model the way OpenTelemetry maps OTLP to
 * Zipkin (protocols.md 3.6), and what server/ingest_zipkin.c derived from a
 * Zipkin span is turned back into it, so that a Zipkin span sent to us reads
 * back as sent: remoteEndpoint from peer.service and network.peer.*,
 * localEndpoint from the resource's service.name and host.ip, B3 shared
 * server spans (stored as children of their client side) back to
 * `shared: true` with their parentId.  Keys come in Zipkin's own order
 * (V2SpanWriter); absent, empty and zero fields are left out.
 * zipkin_json.c lists the mapping field by field.
 *
 * Threads: pure functions on the caller's buffer.
 * Errors:  the writers return nothing; when memory runs out the buffer's
 *          sticky `failed` flag is set and the output must be discarded.
 * Memory:  traces and spans are borrowed for the call; scratch memory is
 *          freed before returning. */
#ifndef TM_ZIPKIN_JSON_H
#define TM_ZIPKIN_JSON_H

#include <stddef.h>

#include "span.h"
#include "store.h"

/* appends the spans of one trace as a JSON array of Zipkin v2 spans, in the
 * order of t->spans. */
void tm_zipkin_json_write_spans(struct tm_buf *out, const struct tm_trace *t);

/* appends n traces as an array of such arrays: [[span,...],[span,...]]. */
void tm_zipkin_json_write_traces(struct tm_buf *out, const struct tm_trace *traces,
				 size_t n);

/* receives one Zipkin tag; both strings live only for the call and are not
 * NUL-terminated.  A non-zero return stops the walk. */
typedef int (*tm_zipkin_tag_fn)(void *ctx, struct tm_str key, struct tm_str value);

/* calls fn for every tag the writers put in the span's "tags" object, in
 * the same order and with the same text, so that a query (Zipkin's
 * annotationQuery) sees exactly what a client is shown.
 * Returns 0, fn's first non-zero return, or -ENOMEM. */
int tm_zipkin_json_foreach_tag(const struct tm_span *s, tm_zipkin_tag_fn fn, void *ctx);

/* the span's remoteEndpoint.serviceName as the writers put it: its
 * peer.service, else service.peer.name, else on CLIENT and PRODUCER spans
 * server.address unless that is just the peer's IP address (which
 * Zipkin ingest copies there), else net.peer.name.  Returns 1 and sets
 * *out (pointing into the span), or 0 when there is none. */
int tm_zipkin_json_remote_service(const struct tm_span *s, struct tm_str *out);

#endif
