/* config.h - command-line options of tracemap and its subcommands.
 *
 * One table (config.c) names every option with its default and help text;
 * it drives parsing, validation and --help.  Errors: tm_config_parse returns
 * -EINVAL with a one-line message naming the option and what it accepts. */
#ifndef TM_CONFIG_H
#define TM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum tm_command {
	TM_CMD_SERVE,
	TM_CMD_CHECK,
	TM_CMD_STATS,
	TM_CMD_QUERY,
	TM_CMD_DEMO,
	TM_CMD_EXPORT,
	TM_CMD_HELP,
	TM_CMD_VERSION,
	TM_CMD_COMPACT,
};

/* tracemap query slow | tracemap query trace ID */
enum tm_query_kind { TM_QUERY_SLOW, TM_QUERY_TRACE };

#define TM_MAX_LISTEN 8

#define TM_DEFAULT_AUTOCOMPLETE_KEYS \
	"http.method,http.request.method,http.route,http.status_code," \
	"http.response.status_code,db.system,rpc.method,error.type"

struct tm_config {
	enum tm_command command;
	const char *listen[TM_MAX_LISTEN];
	size_t n_listen;
	const char *xray_udp;    /* NULL: no X-Ray listener */
	const char *jaeger_udp;  /* NULL: no Jaeger agent listener */
	const char *data_dir;
	int sync_none;           /* --sync none */
	uint64_t max_body_bytes;
	uint64_t queue_bytes;
	unsigned threads;
	int verbose;
	const char *autocomplete_keys;   /* comma-separated */
	uint64_t pair_wait_ns;           /* --pair-wait */
	int no_service_map;              /* --no-service-map */
	/* tracemap query */
	enum tm_query_kind query_kind;
	const char *query_trace_id;
	const char *query_service;
	const char *query_operation;
	const char *query_since;         /* Go duration, e.g. 1h (query slow, export) */
	unsigned query_limit;
	/* tracemap demo */
	const char *demo_target;         /* http://HOST:PORT */
	unsigned demo_rate;              /* traces per second */
	uint64_t demo_duration_ns;       /* 0: until interrupted */
	unsigned demo_seed;              /* 0: random */
	/* tracemap export */
	const char *export_out;          /* the site's directory; required */
	/* retention and room (server/retention.c) */
	uint64_t retention_ns;           /* --retention; 0: keep by age forever */
	uint64_t max_size_bytes;         /* --max-size; 0: what the disk allows */
	uint64_t min_free_disk_bytes;    /* --min-free-disk */
	int no_size_eviction;            /* --no-size-eviction */
	uint64_t clock_offset_ns;        /* --clock-offset (for tests) */
	const char *clock_offset_file;   /* --clock-offset-file (for tests) */
};

/* fills cfg from argv (argv[0] is the program); strings point into argv. */
int tm_config_parse(int argc, char **argv, struct tm_config *cfg, char *err, size_t errlen);

/* parses a duration as a Go duration, or with a leading count of days
 * ("7d", "1d12h"); 0 or -EINVAL with a message in err. */
int tm_config_duration(const char *text, int64_t *out_ns, char *err, size_t errlen);

/* writes the usage text, every option with its default. */
void tm_config_usage(FILE *out);

#endif
