/* log.c - line-oriented logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum tm_log_level tm_log_min_level = TM_LOG_INFO;
int tm_log_span_content;

void tm_log_write(enum tm_log_level level, const char *module, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ",
			      ts.tv_nsec / 1000000, names[level], module);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	size_t start = n;
	n = m < 0 ? n : n + (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* one event, one line, whatever a message quotes */
	for (size_t i = start; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	/* one write per line keeps lines whole when threads log at once */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

/* a quote opens a quoted part at the start or after a separator, so that
 * the apostrophe of "a link's trace_id" does not */
static int opens_quote(const char *text, const char *q)
{
	if (*q == '"')
		return 1;
	return *q == '\'' && (q == text || strchr(" ([{=:,", q[-1]));
}

const char *tm_log_content(const char *text, char *buf, size_t len)
{
	if (tm_log_span_content || !len)
		return text;
	size_t n = 0, left_out = 0;
	for (const char *p = text; *p && n + 1 < len; p++) {
		buf[n++] = *p;
		const char *end = opens_quote(text, p) ? strchr(p + 1, *p) : NULL;
		if (!end)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "...%c", *p);
		n = n < len ? n : len - 1;
		p = end;
		left_out++;
	}
	buf[n] = '\0';
	if (left_out && n + 1 < len)
		snprintf(buf + n, len - n, " (quoted parts left out; --log-span-content logs them)");
	return buf;
}
