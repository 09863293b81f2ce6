/* trace_json.h - traces as Jaeger query JSON and as OTLP/JSON.
 *
 * tm_jaeger_*:   the classic Jaeger query API body (envelope, Trace, Span,
 *                Process), mapped from OTLP the way Jaeger v2 does
 *                (protocols.md 4.1, 4.4, 4.5).
 * tm_otlpjson_*: the /api/v3 body, {"result": TracesData}, lossless
 *                (protocols.md 1.7, 2, 4.6).
 * Threads: pure functions on the caller's buffer.
 * Errors:  nothing returned; when memory runs out the buffer's sticky
 *          `failed` flag is set and the output must be discarded.
 * Memory:  traces are borrowed for the call; scratch memory is freed
 *          before returning. */
#ifndef TM_TRACE_JSON_H
#define TM_TRACE_JSON_H

#include <stddef.h>

#include "span.h"
#include "store.h"

/* appends {"data":[trace...],"total":0,"limit":0,"offset":0,"errors":null}.
 * Spans whose resources hold equal attributes share one process. */
void tm_jaeger_write_traces(struct tm_buf *out, const struct tm_trace *traces,
			    size_t n);

/* appends the error envelope {"data":null,...,"errors":[{"code":..,"msg":..}]};
 * "code" is left out when http_code is 0. */
void tm_jaeger_write_error(struct tm_buf *out, int http_code, const char *msg);

/* appends {"result":{"resourceSpans":[...]}} holding every span of the n
 * traces.  Spans sharing a resource pointer share a ResourceSpans, and
 * within it spans sharing a scope pointer share a ScopeSpans; groups come in
 * order of first appearance and spans keep their order inside a group. */
void tm_otlpjson_write_traces(struct tm_buf *out, const struct tm_trace *traces,
			      size_t n);

/* appends {"error":{"httpCode":..,"message":..}}. */
void tm_otlpjson_write_error(struct tm_buf *out, int http_code, const char *msg);

#endif
