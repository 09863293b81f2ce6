/* otlp_response.h - OTLP/HTTP response bodies in protobuf.
 *
 * google.rpc.Status for every 4xx/5xx, ExportTraceServiceResponse with
 * partial_success when some spans were rejected (an empty body means full
 * success).  Memory: appends to a tm_buf the caller owns. */
#ifndef TM_OTLP_RESPONSE_H
#define TM_OTLP_RESPONSE_H

#include <stddef.h>

#include "span.h"

/* google.rpc.Status{code, message}; code is derived from the HTTP status. */
void tm_otlp_status_encode(struct tm_buf *out, unsigned http_status, const char *message);

void tm_otlp_partial_success_encode(struct tm_buf *out, size_t rejected, const char *message);

/* the google.rpc.Code that matches an HTTP status (protocols.md 1.5.4). */
int tm_otlp_grpc_code(unsigned http_status);

#endif
