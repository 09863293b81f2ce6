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

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tm_ingest_hex_id(const char *hex, size_t len, uint8_t *out, size_t out_len)
{
	if (len != 2 * out_len)
		return -EINVAL;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
