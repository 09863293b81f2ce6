/* ingest.c - helpers every span decoder shares. */
#include "ingest.h"

#include <stdarg.h>
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
