/* ingest_jaeger.h - Jaeger thrift batches into span batches.
 * The contract of every decoder is in ingest.h. */
#ifndef TM_INGEST_JAEGER_H
#define TM_INGEST_JAEGER_H

#include "ingest.h"

/* POST /api/traces: one TBinaryProtocol jaeger.thrift Batch. */
int tm_ingest_jaeger_thrift(const void *body, size_t len, struct tm_arena *arena,
			    struct tm_batch *batch, struct tm_ingest_report *report);

/* one datagram of the Jaeger agent's UDP port (6832): an Agent.emitBatch
 * call, TBinaryProtocol, whose Batch goes to tm_ingest_jaeger_thrift().
 * Offsets in report->message count from the datagram's start, or, past
 * "Batch at datagram byte N: ", from the Batch's. */
int tm_ingest_jaeger_agent_datagram(const void *data, size_t len, struct tm_arena *arena,
				    struct tm_batch *batch, struct tm_ingest_report *report);

#endif
