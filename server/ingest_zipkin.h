/* ingest_zipkin.h - Zipkin spans (v2 JSON, v2 protobuf, v1 JSON) into batches.
 * The contract of every decoder is in ingest.h. */
#ifndef TM_INGEST_ZIPKIN_H
#define TM_INGEST_ZIPKIN_H

#include "ingest.h"

/* POST /api/v2/spans, application/json: a JSON array of v2 spans. */
int tm_ingest_zipkin_v2_json(const void *body, size_t len, struct tm_arena *arena,
			     struct tm_batch *batch, struct tm_ingest_report *report);

/* POST /api/v2/spans, application/x-protobuf: zipkin.proto3.ListOfSpans. */
int tm_ingest_zipkin_proto(const void *body, size_t len, struct tm_arena *arena,
			   struct tm_batch *batch, struct tm_ingest_report *report);

/* POST /api/v1/spans, application/json: a JSON array of v1 spans. */
int tm_ingest_zipkin_v1_json(const void *body, size_t len, struct tm_arena *arena,
			     struct tm_batch *batch, struct tm_ingest_report *report);

#endif
