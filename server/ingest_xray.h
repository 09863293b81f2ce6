/* ingest_xray.h - AWS X-Ray daemon datagrams into span batches.
 * The contract of every decoder is in ingest.h. */
#ifndef TM_INGEST_XRAY_H
#define TM_INGEST_XRAY_H

#include "ingest.h"

/* one UDP datagram: the header line {"format":"json","version":1}, a
 * newline, then a segment or an independent subsegment document, 64 KiB in
 * all at most.  A (sub)segment still in_progress is counted as accepted but
 * adds no span: the SDK sends its completed form later. */
int tm_ingest_xray_datagram(const void *data, size_t len, struct tm_arena *arena,
			    struct tm_batch *batch, struct tm_ingest_report *report);

#endif
