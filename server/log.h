/* log.h - one line per event: time, level, module, message, on stderr.
 *
 * Each file defines LOG_MODULE before including this header.  The level is
 * checked before the arguments are formatted.  Lines never quote span
 * content (names, attribute values, the bytes a decoder refused) unless
 * --log-span-content set tm_log_span_content: such text goes through
 * tm_log_content().  Line breaks in a message are written as spaces.
 * Threads: safe (one write(2) per line); set the two globals before any
 * thread starts. */
#ifndef TM_LOG_H
#define TM_LOG_H

#include <stddef.h>

enum tm_log_level { TM_LOG_DEBUG, TM_LOG_INFO, TM_LOG_WARN, TM_LOG_ERROR };

extern enum tm_log_level tm_log_min_level;
extern int tm_log_span_content;

/* text that may quote span content, as a log line may show it: text itself
 * with --log-span-content, else a copy in buf with every quoted part
 * ("..." or '...', where decoders echo what they read) left out.  Returns
 * text or buf. */
const char *tm_log_content(const char *text, char *buf, size_t len);

void tm_log_write(enum tm_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG(level, ...)                                                  \
	do {                                                             \
		if ((level) >= tm_log_min_level)                         \
			tm_log_write((level), LOG_MODULE, __VA_ARGS__);  \
	} while (0)

#endif
