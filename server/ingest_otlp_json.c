/* ingest_otlp_json.c - PLACEHOLDER until the decoder lands. */
#include "ingest_otlp.h"

#include <errno.h>
#include <stdio.h>

int tm_ingest_otlp_json(const void *body, size_t len, struct tm_arena *arena,
			struct tm_batch *batch, struct tm_ingest_report *report)
{
	(void)body; (void)len; (void)arena; (void)batch;
	snprintf(report->message, sizeof(report->message), "not implemented yet");
	return -EBADMSG;
}
