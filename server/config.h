/* config.h - the options of tracemap and its subcommands.
 *
 * One table (config.c) names every option with its kind, range and help
 * text; it drives the command line, the TRACEMAP_* environment variables,
 * the config file (--config FILE: "name = value" lines), --help,
 * --print-config and the sample file.  Precedence: flag over environment
 * over file over default; each option remembers where its value came from.
 * Errors: tm_config_parse returns -EINVAL with a one-line message naming the
 * option as it was given (--threads 0, TRACEMAP_THREADS=0, FILE:LINE:
 * threads = 0) and what it accepts.
 * Memory: strings in struct tm_config point into argv, the environment or
 * texts the config owns; tm_config_free releases the latter. */
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

/* the table may grow to this many options */
#define TM_CONFIG_MAX_OPTIONS 128

/* where an option's value came from, lowest precedence first */
enum tm_config_source {
	TM_SRC_DEFAULT,
	TM_SRC_FILE,
	TM_SRC_ENV,
	TM_SRC_FLAG,
};

struct tm_config_text;

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
	/* configuration, access control, TLS, logs */
	const char *config_file;         /* --config; NULL: none */
	int log_level;                   /* --log-level, enum tm_log_level order */
	const char *access_log;          /* --access-log FILE or "-" (stderr); NULL: off */
	int access_log_query;            /* --access-log-query: query values too */
	int log_span_content;            /* --log-span-content */
	const char *ingest_token_file;   /* NULL: ingest is open */
	const char *query_token_file;    /* NULL: queries and pages are open */
	const char *tls_cert;            /* PEM files; both or neither */
	const char *tls_key;
	int print_config;                /* --print-config: print, then exit */
	int print_sample;                /* --sample-config: print the sample, exit */
	unsigned char source[TM_CONFIG_MAX_OPTIONS];   /* enum tm_config_source, by table row */
	struct tm_config_text *texts;    /* owned: file text, split lists */
	/* connection and request limits, per-client rate (docs/operations.md) */
	unsigned max_connections;        /* per listener */
	unsigned max_connections_per_ip; /* per listener; 0: no limit */
	uint64_t idle_timeout_ns;
	uint64_t request_timeout_ns;
	unsigned client_rate;            /* spans/s per client address; 0: no limit */
	unsigned client_burst;           /* spans; 0: one second of client_rate */
	/* retention and room (server/retention.c) */
	uint64_t retention_ns;           /* --retention; 0: keep by age forever */
	uint64_t max_size_bytes;         /* --max-size; 0: what the disk allows */
	uint64_t min_free_disk_bytes;    /* --min-free-disk */
	int no_size_eviction;            /* --no-size-eviction */
	uint64_t clock_offset_ns;        /* --clock-offset (for tests) */
	const char *clock_offset_file;   /* --clock-offset-file (for tests) */
};

/* fills cfg from the defaults, the config file, the process environment and
 * argv (argv[0] is the program).  Call tm_config_free(cfg) afterwards, also
 * after an error. */
int tm_config_parse(int argc, char **argv, struct tm_config *cfg, char *err, size_t errlen);

/* the same with the environment given: envp is a NULL-terminated array of
 * "NAME=value" (NULL: none), borrowed for as long as cfg lives. */
int tm_config_load(int argc, char **argv, char *const *envp, struct tm_config *cfg, char *err,
		   size_t errlen);

/* releases what cfg owns (its strings die with it); cfg may be reused. */
void tm_config_free(struct tm_config *cfg);
/* parses a duration as a Go duration, or with a leading count of days
 * ("7d", "1d12h"); 0 or -EINVAL with a message in err. */
int tm_config_duration(const char *text, int64_t *out_ns, char *err, size_t errlen);

/* writes the usage text, every option with its default. */
void tm_config_usage(FILE *out);

/* writes every option with its value and where the value came from:
 * "name  source  value" lines after a header line starting with '#'. */
void tm_config_print(const struct tm_config *cfg, FILE *out);

/* writes docs/tracemap.conf.sample: every option as a commented-out line at
 * its default, with its help text. */
void tm_config_write_sample(FILE *out);

#endif
