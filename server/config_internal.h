/* config_internal.h - what config.c (the table, parsing) shares with
 * config_print.c (--help, --print-config, the sample file). */
#ifndef TM_CONFIG_INTERNAL_H
#define TM_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum opt_kind {
	OPT_STRING,
	OPT_LISTEN,     /* appends; a comma-separated value gives several */
	OPT_BYTES,
	OPT_UINT,
	OPT_SYNC,       /* as OPT_CHOICE; kept for the entries that name it */
	OPT_FLAG,       /* no value on the command line; true/false elsewhere */
	OPT_DURATION,
	OPT_CHOICE,     /* an int: the index of the value among arg's "a|b|c" */
	OPT_CONFIG,     /* --config: read before every other source */
};

struct option_def {
	const char *name;
	const char *arg;           /* shown in --help; NULL for flags */
	enum opt_kind kind;
	size_t offset;             /* into struct tm_config */
	uint64_t min, max;         /* for numbers */
	const char *help;
};

/* the table (borrowed, static) and its length */
const struct option_def *config_options(size_t *n);

/* fills cfg with the defaults; threads stays 0 ("as many as CPUs", computed
 * at the end of tm_config_load) */
void config_defaults(struct tm_config *cfg);

/* writes the value of option o in cfg as the options accept it ("64M",
 * "10s", "a,b"); "" for an unset string.  Returns what snprintf would. */
int config_format_value(const struct option_def *o, const struct tm_config *cfg, char *buf,
			size_t len);

/* "64M" for 64 MiB: the largest K/M/G suffix that divides exactly */
void config_format_bytes(uint64_t n, char *buf, size_t len);

/* "10s" for 10e9: the largest unit of h, m, s, ms, us, ns that divides exactly */
void config_format_duration(uint64_t ns, char *buf, size_t len);

#endif
