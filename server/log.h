/* log.h - one line per event: time, level, module, message, on stderr.
 *
 * Each file defines LOG_MODULE before including this header.  The level is
 * checked before the arguments are formatted.  Threads: safe (one write(2)
 * per line). */
#ifndef TM_LOG_H
#define TM_LOG_H

enum tm_log_level { TM_LOG_DEBUG, TM_LOG_INFO, TM_LOG_WARN, TM_LOG_ERROR };

extern enum tm_log_level tm_log_min_level;

void tm_log_write(enum tm_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG(level, ...)                                                  \
	do {                                                             \
		if ((level) >= tm_log_min_level)                         \
			tm_log_write((level), LOG_MODULE, __VA_ARGS__);  \
	} while (0)

#endif
