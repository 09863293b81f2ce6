/* access_log.h - one line per HTTP request, appended to a file or stderr.
 *
 * A line is: TIME CLIENT METHOD PATH STATUS BYTES DURATION, e.g.
 *   2025-01-31T12:00:00.123Z 127.0.0.1 GET /api/traces?service&limit 200 5123 1.234ms
 * TIME is when the answer was done (UTC), BYTES the response body, DURATION
 * from the request's headers to the end of its answer; STATUS is - when the
 * client went away before an answer.  The query string shows its parameter
 * names only, unless the log was opened with values too: values can carry
 * span content (service names, tags).  Bytes outside printable ASCII, and
 * spaces, are written as %XX so that a line stays one line.
 * Threads: tm_access_log_write may be called from any thread (one write(2)
 * per line, O_APPEND); open, reopen and close from one.
 * Errors: negative errno with a one-line message. */
#ifndef TM_ACCESS_LOG_H
#define TM_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct tm_access_log;

/* opens path for appending ("-": stderr).  The caller closes *out with
 * tm_access_log_close. */
int tm_access_log_open(const char *path, int with_query_values, struct tm_access_log **out,
		       char *err, size_t errlen);

/* opens the file again (after logrotate moved it); a no-op for stderr. */
int tm_access_log_reopen(struct tm_access_log *log, char *err, size_t errlen);

/* NULL is a no-op. */
void tm_access_log_close(struct tm_access_log *log);

/* whether query values are to be written */
int tm_access_log_with_query_values(const struct tm_access_log *log);

/* appends s[0..len) to out, %XX-escaping spaces, bytes outside printable
 * ASCII, '%' and every byte of also (may be NULL). */
void tm_access_log_escape(struct tm_buf *out, const char *s, size_t len, const char *also);

/* writes one line: head is "CLIENT METHOD PATH" (already escaped). */
void tm_access_log_write(struct tm_access_log *log, const char *head, int status,
			 uint64_t bytes, uint64_t duration_ns);

#endif
