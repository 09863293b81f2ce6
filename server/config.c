/* config.c - the option table, parsing and --help. */
#include "config.h"
#include "query_params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_kind { OPT_STRING, OPT_LISTEN, OPT_BYTES, OPT_UINT, OPT_SYNC, OPT_FLAG, OPT_DURATION };

struct option_def {
	const char *name;
	const char *arg;           /* shown in --help; NULL for flags */
	enum opt_kind kind;
	size_t offset;             /* into struct tm_config */
	uint64_t min, max;         /* for numbers */
	const char *help;
};

#define OFF(f) offsetof(struct tm_config, f)
#define TM_MAX_DURATION_NS (100ull * 366 * 24 * 3600 * 1000000000ull)

static const struct option_def options[] = {
	{ "listen", "ADDR:PORT", OPT_LISTEN, OFF(listen), 0, 0,
	  "address to serve HTTP on (default 127.0.0.1:4318; port 0 = any free port); "
	  "may be given up to 8 times, every listener serves every path" },
	{ "xray-udp", "ADDR:PORT", OPT_STRING, OFF(xray_udp), 0, 0,
	  "receive AWS X-Ray segments as the X-Ray daemon does, over UDP (off by default; "
	  "the customary address is 127.0.0.1:2000)" },
	{ "jaeger-udp", "ADDR:PORT", OPT_STRING, OFF(jaeger_udp), 0, 0,
	  "receive Jaeger agent emitBatch datagrams (binary thrift) over UDP, as jaeger-client "
	  "sends them by default (off by default; the customary address is 127.0.0.1:6832)" },
	{ "data", "DIR", OPT_STRING, OFF(data_dir), 0, 0,
	  "directory of the LMDB store, created if missing (default ./tracemap-data)" },
	{ "sync", "full|none", OPT_SYNC, OFF(sync_none), 0, 0,
	  "full: fsync every commit before answering (default); none: leave it to the OS" },
	{ "max-body", "BYTES", OPT_BYTES, OFF(max_body_bytes), 1024, 1ull << 32,
	  "largest request body after gzip inflation (default 64MiB); larger gets 413" },
	{ "queue-bytes", "BYTES", OPT_BYTES, OFF(queue_bytes), 1u << 20, 1ull << 40,
	  "bound of the write queue (default 256MiB); beyond it ingest gets 503 + Retry-After" },
	{ "threads", "N", OPT_UINT, OFF(threads), 1, 256,
	  "HTTP threads (default: number of CPUs)" },
	{ "verbose", NULL, OPT_FLAG, OFF(verbose), 0, 0, "log debug messages" },
	{ "pair-wait", "DURATION", OPT_DURATION, OFF(pair_wait_ns), 100000000ull,
	  3600ull * 1000000000ull,
	  "how long a trace must be quiet before its spans are paired into service-map calls "
	  "(default 10s; 100ms to 1h); a client span still without a callee then counts as a "
	  "call to the peer it names" },
	{ "no-service-map", NULL, OPT_FLAG, OFF(no_service_map), 0, 0,
	  "do not pair spans into the service map (its APIs then show what earlier runs "
	  "paired); for measuring what the pairing costs" },
	{ "service", "NAME", OPT_STRING, OFF(query_service), 0, 0,
	  "query slow: only traces with a span of this service" },
	{ "operation", "NAME", OPT_STRING, OFF(query_operation), 0, 0,
	  "query slow: only traces with a span of this name (of --service, when given)" },
	{ "since", "DURATION", OPT_STRING, OFF(query_since), 0, 0,
	  "query slow, export: traces that started this long ago or later (default 1h; "
	  "e.g. 30m, 24h)" },
	{ "limit", "N", OPT_UINT, OFF(query_limit), 1, 10000,
	  "query slow: how many traces to list (default 20)" },
	{ "target", "URL", OPT_STRING, OFF(demo_target), 0, 0,
	  "demo: the OTLP/HTTP endpoint to send to (default http://127.0.0.1:4318; "
	  "/v1/traces is added as OTEL_EXPORTER_OTLP_ENDPOINT's is)" },
	{ "rate", "N", OPT_UINT, OFF(demo_rate), 1, 100000,
	  "demo: traces per second (default 20)" },
	{ "duration", "DURATION", OPT_DURATION, OFF(demo_duration_ns), 100000000ull,
	  366ull * 24 * 3600 * 1000000000ull,
	  "demo: how long to send, e.g. 30s, 10m (default: until interrupted)" },
	{ "seed", "N", OPT_UINT, OFF(demo_seed), 1, 4294967295ull,
	  "demo: seed of the made-up traffic (which requests, which fail, which are slow), "
	  "to send the same again with fresh IDs (default: random)" },
	{ "out", "DIR", OPT_STRING, OFF(export_out), 0, 0,
	  "export: directory of the static site, created if missing (required)" },
	{ "autocomplete-keys", "K1,K2,...", OPT_STRING, OFF(autocomplete_keys), 0, 0,
	  "span attribute keys whose values /api/v2/autocompleteValues offers (at most 32; "
	  "default " TM_DEFAULT_AUTOCOMPLETE_KEYS "; empty = none)" },
	{ "retention", "DURATION", OPT_DURATION, OFF(retention_ns), 0, TM_MAX_DURATION_NS,
	  "how long traces are kept (default 7d; 0 = no limit by age); a trace is deleted whole "
	  "once the commit that first stored part of it is this old" },
	{ "max-size", "BYTES", OPT_BYTES, OFF(max_size_bytes), 1u << 20, 1ull << 50,
	  "bound of the store (default: what the disk allows beside --min-free-disk); above 90% "
	  "of it the oldest traces are deleted, down to 80%" },
	{ "min-free-disk", "BYTES", OPT_BYTES, OFF(min_free_disk_bytes), 0, 1ull << 50,
	  "free disk to leave (default 256M): the store grows no further, evicting old traces "
	  "instead, and ingest gets 507 + Retry-After when it cannot" },
	{ "no-size-eviction", NULL, OPT_FLAG, OFF(no_size_eviction), 0, 0,
	  "never delete traces for room, only by --retention: a full store answers ingest "
	  "with 507 + Retry-After until retention frees room" },
	{ "clock-offset", "DURATION", OPT_DURATION, OFF(clock_offset_ns), 0, TM_MAX_DURATION_NS,
	  "for tests: add this to the store's notion of now (commit times, retention ages)" },
	{ "clock-offset-file", "FILE", OPT_STRING, OFF(clock_offset_file), 0, 0,
	  "for tests: read the clock offset (a duration such as 8d or 90m) from FILE every "
	  "second; it replaces --clock-offset while the file holds one" },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

void tm_config_usage(FILE *out)
{
	fprintf(out, "usage: tracemap [OPTIONS]              run the collector\n"
		     "       tracemap check --data DIR       verify a store, change nothing\n"
		     "       tracemap stats --data DIR       print what a store holds\n"
		     "       tracemap query slow --data DIR [--service S] [--operation O]\n"
		     "                [--since 1h] [--limit 20]  the slowest traces, as a table\n"
		     "       tracemap query trace ID --data DIR   one trace, as a tree\n"
		     "       tracemap demo [--target URL] [--rate 20] [--duration D]\n"
		     "                traffic from a made-up shop, to see a living map\n"
		     "       tracemap export --data DIR --out SITE [--since 1h]\n"
		     "                the map, services, slowest traces as files for file://\n"
		     "       tracemap compact --data DIR     shrink the store's file (server stopped)\n"
		     "       tracemap --help | --version\n\noptions:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char left[40];
		snprintf(left, sizeof(left), "--%s%s%s", options[i].name, options[i].arg ? " " : "",
			 options[i].arg ? options[i].arg : "");
		fprintf(out, "  %-24s %s\n", left, options[i].help);
	}
	fprintf(out, "  %-24s %s\n  %-24s %s\n", "--help", "show this text", "--version",
		"print the version");
	fprintf(out, "\nBYTES accept a suffix: K, M, G (powers of 1024), e.g. 64M.\n");
}

/* "64M", "1G", "4096" -> bytes */
static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'B' || end[1] == 'b'))
		end += 2;
	else if (shift && (*end == 'B' || *end == 'b'))
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int tm_config_duration(const char *text, int64_t *out_ns, char *err, size_t errlen)
{
	/* Go durations have no days; retention wants them: "7d", "1d12h" */
	char *end;
	errno = 0;
	unsigned long long days = strtoull(text, &end, 10);
	if (end == text || *end != 'd' || errno || *text == '-' || *text == '+')
		return tm_qp_duration("duration", text, out_ns, err, errlen);
	int64_t rest = 0;
	if (end[1] && tm_qp_duration("duration", end + 1, &rest, err, errlen) < 0)
		return -EINVAL;
	if (days > (uint64_t)(INT64_MAX - rest) / 86400000000000ull)
		return -EINVAL;
	*out_ns = (int64_t)(days * 86400000000000ull) + rest;
	return 0;
}

static int set_option(const struct option_def *o, const char *val, struct tm_config *cfg,
		      char *err, size_t errlen)
{
	void *field = (char *)cfg + o->offset;
	uint64_t n;
	switch (o->kind) {
	case OPT_STRING:
		*(const char **)field = val;
		return 0;
	case OPT_LISTEN:
		if (cfg->n_listen == TM_MAX_LISTEN) {
			snprintf(err, errlen, "--%s: at most %d addresses", o->name, TM_MAX_LISTEN);
			return -EINVAL;
		}
		cfg->listen[cfg->n_listen++] = val;
		return 0;
	case OPT_FLAG:
		*(int *)field = 1;
		return 0;
	case OPT_SYNC:
		if (strcmp(val, "full") && strcmp(val, "none"))
			break;
		*(int *)field = !strcmp(val, "none");
		return 0;
	case OPT_BYTES:
	case OPT_UINT:
		if ((o->kind == OPT_UINT && strspn(val, "0123456789") != strlen(val)) ||
		    parse_bytes(val, &n) || n < o->min || n > o->max) {
			snprintf(err, errlen, "--%s %s: expected %s from %llu to %llu", o->name, val,
				 o->kind == OPT_BYTES ? "a size in bytes" : "a whole number",
				 (unsigned long long)o->min, (unsigned long long)o->max);
			return -EINVAL;
		}
		if (o->kind == OPT_BYTES)
			*(uint64_t *)field = n;
		else
			*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_DURATION: {
		int64_t ns;
		char why[160];
		if (tm_config_duration(val, &ns, why, sizeof(why)) < 0 || ns < 0 ||
		    (uint64_t)ns < o->min || (uint64_t)ns > o->max) {
			snprintf(err, errlen, "--%s %s: expected a duration from %llums to %llus "
				 "(e.g. 500ms, 10s, 1m, 7d)", o->name, val,
				 (unsigned long long)(o->min / 1000000),
				 (unsigned long long)(o->max / 1000000000));
			return -EINVAL;
		}
		*(uint64_t *)field = (uint64_t)ns;
		return 0;
	}
	}
	snprintf(err, errlen, "--%s %s: expected %s", o->name, val, o->arg);
	return -EINVAL;
}

static const struct option_def *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

/* "query slow" or "query trace ID"; *i is at "query" and is left on the last word */
static int parse_query_words(int argc, char **argv, int *i, struct tm_config *cfg, char *err,
			     size_t errlen)
{
	const char *what = *i + 1 < argc ? argv[*i + 1] : "";
	if (!strcmp(what, "slow")) {
		cfg->query_kind = TM_QUERY_SLOW;
		*i += 1;
		return 0;
	}
	if (!strcmp(what, "trace")) {
		cfg->query_kind = TM_QUERY_TRACE;
		if (*i + 2 >= argc || argv[*i + 2][0] == '-') {
			snprintf(err, errlen, "query trace needs a trace ID: tracemap query trace ID");
			return -EINVAL;
		}
		cfg->query_trace_id = argv[*i + 2];
		*i += 2;
		return 0;
	}
	snprintf(err, errlen, "query: expected 'slow' or 'trace ID', got '%s' (try --help)", what);
	return -EINVAL;
}

static void set_defaults(struct tm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = TM_CMD_SERVE;
	cfg->data_dir = "./tracemap-data";
	cfg->autocomplete_keys = TM_DEFAULT_AUTOCOMPLETE_KEYS;
	cfg->query_since = "1h";
	cfg->pair_wait_ns = 10ull * 1000000000ull;
	cfg->query_limit = 20;
	cfg->demo_target = "http://127.0.0.1:4318";
	cfg->demo_rate = 20;
	cfg->max_body_bytes = 64ull << 20;
	cfg->queue_bytes = 256ull << 20;
	cfg->retention_ns = 7ull * 86400 * 1000000000ull;
	cfg->min_free_disk_bytes = 256ull << 20;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->threads = cpus > 0 ? (unsigned)cpus : 2;
}

int tm_config_parse(int argc, char **argv, struct tm_config *cfg, char *err, size_t errlen)
{
	set_defaults(cfg);
	int i = 1;
	if (i < argc && argv[i][0] != '-') {
		if (!strcmp(argv[i], "check"))
			cfg->command = TM_CMD_CHECK;
		else if (!strcmp(argv[i], "stats"))
			cfg->command = TM_CMD_STATS;
		else if (!strcmp(argv[i], "demo"))
			cfg->command = TM_CMD_DEMO;
		else if (!strcmp(argv[i], "export"))
			cfg->command = TM_CMD_EXPORT;
		else if (!strcmp(argv[i], "compact"))
			cfg->command = TM_CMD_COMPACT;
		else if (!strcmp(argv[i], "query")) {
			cfg->command = TM_CMD_QUERY;
			if (parse_query_words(argc, argv, &i, cfg, err, errlen) < 0)
				return -EINVAL;
		} else {
			snprintf(err, errlen, "unknown command '%s' (try --help)", argv[i]);
			return -EINVAL;
		}
		i++;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cfg->command = TM_CMD_HELP;
			return 0;
		}
		if (!strcmp(a, "--version")) {
			cfg->command = TM_CMD_VERSION;
			return 0;
		}
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) - 2 : strlen(a) - 2;
		const struct option_def *o = strncmp(a, "--", 2) ? NULL : find_option(a + 2, len);
		if (!o) {
			snprintf(err, errlen, "unknown option '%s' (try --help)", a);
			return -EINVAL;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (val && o->kind == OPT_FLAG) {
			/* else --verbose=no would turn it on */
			snprintf(err, errlen, "--%s takes no value", o->name);
			return -EINVAL;
		}
		if (!val && o->kind != OPT_FLAG) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--%s needs a value: %s", o->name, o->arg);
				return -EINVAL;
			}
			val = argv[++i];
		}
		int rc = set_option(o, val, cfg, err, errlen);
		if (rc)
			return rc;
	}
	if (cfg->command == TM_CMD_EXPORT && (!cfg->export_out || !*cfg->export_out)) {
		snprintf(err, errlen, "export needs --out DIR (tracemap export --data DIR "
			 "--out SITE)");
		return -EINVAL;
	}
	if (cfg->n_listen == 0)
		cfg->listen[cfg->n_listen++] = "127.0.0.1:4318";
	return 0;
}
