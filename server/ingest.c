/* ingest.c - helpers every span decoder shares. */
#include "ingest.h"

#include <stdarg.h>
#include <errno.h>
#include <stdio.h>

void tm_ingest_reject(struct tm_ingest_report *report, const char *fmt, ...)
{
	if (report->rejected++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(report->message, sizeof(report->message), fmt, ap);
		va_end(ap);
	}
}

int tm_ingest_too_big(const struct tm_arena *arena, struct tm_ingest_report *report)
{
	snprintf(report->message, sizeof(report->message),
		 "decoding this body needs more than %zu bytes of memory; send smaller batches",
		 arena->max_bytes);
	return -E2BIG;
}
