/* ingest_zipkin.c - PLACEHOLDER until the decoder lands: refuses every body. */
#include "ingest_zipkin.h"

#include <errno.h>
#include <stdio.h>

int tm_ingest_zipkin_v2_json(const void *body, size_t len, struct tm_arena *arena,
		struct tm_batch *batch, struct tm_ingest_report *report)
{
	(void)body; (void)len; (void)arena; (void)batch;
	snprintf(report->message, sizeof(report->message), "not implemented yet");
	return -EBADMSG;
}

int tm_ingest_zipkin_proto(const void *body, size_t len, struct tm_arena *arena,
		struct tm_batch *batch, struct tm_ingest_report *report)
{
	(void)body; (void)len; (void)arena; (void)batch;
	snprintf(report->message, sizeof(report->message), "not implemented yet");
	return -EBADMSG;
}

int tm_ingest_zipkin_v1_json(const void *body, size_t len, struct tm_arena *arena,
		struct tm_batch *batch, struct tm_ingest_report *report)
{
	(void)body; (void)len; (void)arena; (void)batch;
	snprintf(report->message, sizeof(report->message), "not implemented yet");
	return -EBADMSG;
}
