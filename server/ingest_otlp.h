/* ingest_otlp.h - OTLP/HTTP protobuf request bodies into span batches.
 *
 * Decodes an ExportTraceServiceRequest with protobuf-c, allocating from the
 * request's arena (no malloc per field), checks every span, and adds the
 * valid ones to a tm_batch.  Spans with an invalid trace or span ID are
 * rejected one by one (OTLP partial success), the rest are kept.
 * Threads: reentrant.  Errors: -EBADMSG for a body that is not a valid
 * message, -E2BIG when decoding it would pass the arena's limit (both with
 * report->message saying why), -ENOMEM.
 * Memory: the batch and everything in it live in the arena; body may be
 * freed once the call returns. */
#ifndef TM_INGEST_OTLP_H
#define TM_INGEST_OTLP_H

#include <stddef.h>

#include "ingest.h"

int tm_ingest_otlp_proto(const void *body, size_t len, struct tm_arena *arena,
			 struct tm_batch *batch, struct tm_ingest_report *report);

/* the same for OTLP/JSON (application/json): lowerCamelCase or snake_case
 * keys, hex IDs in either case, 64-bit integers as strings or numbers, enums
 * as integers (or their names), unknown keys ignored. */
int tm_ingest_otlp_json(const void *body, size_t len, struct tm_arena *arena,
			struct tm_batch *batch, struct tm_ingest_report *report);

/* checks the wire structure of an ExportTraceServiceRequest without
 * allocating: lengths inside their parent, wire types of known fields, and
 * nesting of attribute values no deeper than max_depth.  Returns 0, or
 * -EBADMSG with a message in err (errlen bytes). */
int tm_otlp_wire_check(const void *body, size_t len, int max_depth,
		       char *err, size_t errlen);

#endif
