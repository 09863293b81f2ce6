/* access_log.c - the access log file and its lines. */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tm_access_log {
	int fd;
	int is_stderr;
	int with_query_values;
	char *path;
};

static int open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		snprintf(err, errlen, "--access-log %s: %s", path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

int tm_access_log_open(const char *path, int with_query_values, struct tm_access_log **out,
		       char *err, size_t errlen)
{
	*out = NULL;
	struct tm_access_log *log = calloc(1, sizeof(*log));
	if (!log || !(log->path = strdup(path))) {
		free(log);
		snprintf(err, errlen, "--access-log: out of memory");
		return -ENOMEM;
	}
	log->with_query_values = with_query_values;
	log->is_stderr = !strcmp(path, "-");
	log->fd = log->is_stderr ? STDERR_FILENO : open_file(path, err, errlen);
	if (log->fd < 0) {
		int rc = log->fd;
		free(log->path);
		free(log);
		return rc;
	}
	*out = log;
	return 0;
}

int tm_access_log_reopen(struct tm_access_log *log, char *err, size_t errlen)
{
	if (!log || log->is_stderr)
		return 0;
	int fd = open_file(log->path, err, errlen);
	if (fd < 0)
		return fd;
	/* dup2 swaps the file under the same descriptor at once: a writer on
	 * another thread writes whole lines to the old file or the new one */
	int rc = dup2(fd, log->fd) < 0 ? -errno : 0;
	if (rc)
		snprintf(err, errlen, "--access-log %s: %s", log->path, strerror(-rc));
	close(fd);
	return rc;
}

void tm_access_log_close(struct tm_access_log *log)
{
	if (!log)
		return;
	if (!log->is_stderr)
		close(log->fd);
	free(log->path);
	free(log);
}

int tm_access_log_with_query_values(const struct tm_access_log *log)
{
	return log->with_query_values;
}

void tm_access_log_escape(struct tm_buf *out, const char *s, size_t len, const char *also)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > ' ' && c < 0x7f && c != '%' && c != '"' && !(also && strchr(also, c))) {
			tm_buf_add(out, &s[i], 1);
			continue;
		}
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
		tm_buf_add(out, esc, 3);
	}
}

void tm_access_log_write(struct tm_access_log *log, const char *head, int status,
			 uint64_t bytes, uint64_t duration_ns)
{
	char line[4096], when[32], code[16];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (status > 0)
		snprintf(code, sizeof(code), "%d", status);
	else
		snprintf(code, sizeof(code), "-");
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s %llu %llu.%03llums\n", when,
			 ts.tv_nsec / 1000000, head, code, (unsigned long long)bytes,
			 (unsigned long long)(duration_ns / 1000000),
			 (unsigned long long)(duration_ns / 1000 % 1000));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {   /* a very long path: keep the line a line */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(log->fd, line, (size_t)n);
	(void)w;
}
