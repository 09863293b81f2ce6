/* config.c - the option table, and where values come from: defaults, the
 * config file, TRACEMAP_* environment variables, the command line. */
#include "config_internal.h"
#include "log.h"
#include "query_params.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

/* a config file is a few hundred bytes; anything near this is a mistake */
#define CONFIG_FILE_MAX (1u << 20)
#define ENV_PREFIX "TRACEMAP_"

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
	{ "config", "FILE", OPT_CONFIG, OFF(config_file), 0, 0,
	  "read options from FILE: \"name = value\" lines, names as the long options, "
	  "'#' comment lines (docs/tracemap.conf.sample); TRACEMAP_* variables and flags "
	  "override it" },
	{ "log-level", "debug|info|warn|error", OPT_CHOICE, OFF(log_level), 0, 0,
	  "the least severe log lines written (default info; --verbose means debug)" },
	{ "access-log", "FILE", OPT_STRING, OFF(access_log), 0, 0,
	  "append one line per request (time, client, method, path, status, bytes, "
	  "duration) to FILE, or to stderr for - (off by default; SIGHUP reopens FILE)" },
	{ "access-log-query", NULL, OPT_FLAG, OFF(access_log_query), 0, 0,
	  "write the query string's values into the access log too (by default only the "
	  "parameter names)" },
	{ "log-span-content", NULL, OPT_FLAG, OFF(log_span_content), 0, 0,
	  "let log lines quote span content, such as the names and values a rejected span "
	  "was refused for (off by default)" },
	{ "ingest-token-file", "FILE", OPT_STRING, OFF(ingest_token_file), 0, 0,
	  "require \"Authorization: Bearer TOKEN\" on every ingest path; TOKEN is FILE's "
	  "content, read at start (off by default)" },
	{ "query-token-file", "FILE", OPT_STRING, OFF(query_token_file), 0, 0,
	  "require \"Authorization: Bearer TOKEN\" on every query API and page (all but "
	  "ingest, /healthz and /readyz); TOKEN is FILE's content, read at start (off by "
	  "default)" },
	{ "tls-cert", "FILE", OPT_STRING, OFF(tls_cert), 0, 0,
	  "serve HTTPS on every listener with this PEM certificate (chain); needs --tls-key" },
	{ "tls-key", "FILE", OPT_STRING, OFF(tls_key), 0, 0,
	  "the PEM private key of --tls-cert" },
	{ "max-connections", "N", OPT_UINT, OFF(max_connections), 1, 1000000,
	  "connections each listener keeps open at most (default 4096); more wait in the "
	  "listen backlog until one closes" },
	{ "max-connections-per-ip", "N", OPT_UINT, OFF(max_connections_per_ip), 0, 1000000,
	  "connections one client address may keep open on a listener (default 0: no limit)" },
	{ "idle-timeout", "DURATION", OPT_DURATION, OFF(idle_timeout_ns), 1000000000ull,
	  86400ull * 1000000000ull,
	  "a connection that sends nothing this long is closed (default 60s; 1s to 24h)" },
	{ "request-timeout", "DURATION", OPT_DURATION, OFF(request_timeout_ns), 1000000000ull,
	  86400ull * 1000000000ull,
	  "a request whose body is not in this long after its headers is cut off "
	  "(default 120s; 1s to 24h)" },
	{ "client-rate", "SPANS_PER_S", OPT_UINT, OFF(client_rate), 0, 100000000,
	  "spans per second each client address may send; beyond it ingest gets 429 + "
	  "Retry-After (default 0: no limit)" },
	{ "client-burst", "SPANS", OPT_UINT, OFF(client_burst), 0, 1000000000,
	  "spans a client address may send at once above --client-rate (default: one "
	  "second's worth)" },
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
_Static_assert(N_OPTIONS <= TM_CONFIG_MAX_OPTIONS, "raise TM_CONFIG_MAX_OPTIONS");

const struct option_def *config_options(size_t *n)
{
	*n = N_OPTIONS;
	return options;
}

/*---- texts the config owns ----*/

struct tm_config_text {
	struct tm_config_text *next;
	char text[];
};

/* a NUL-terminated copy of s[0..len) that lives as long as cfg; NULL when
 * out of memory */
static char *keep_text(struct tm_config *cfg, const char *s, size_t len)
{
	struct tm_config_text *t = malloc(sizeof(*t) + len + 1);
	if (!t)
		return NULL;
	memcpy(t->text, s, len);
	t->text[len] = '\0';
	t->next = cfg->texts;
	cfg->texts = t;
	return t->text;
}

void tm_config_free(struct tm_config *cfg)
{
	while (cfg->texts) {
		struct tm_config_text *next = cfg->texts->next;
		free(cfg->texts);
		cfg->texts = next;
	}
}

/*---- where a value came from, for messages ----*/

struct origin {
	enum tm_config_source source;
	const char *file;   /* TM_SRC_FILE */
	unsigned line;
};

static void env_name(const struct option_def *o, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, ENV_PREFIX "%s", o->name);
	for (size_t i = 0; i < n && i < len; i++)
		buf[i] = buf[i] == '-' ? '_' : (char)toupper((unsigned char)buf[i]);
}

/* "--threads 0: <why>", "TRACEMAP_THREADS=0: <why>", "FILE:3: threads = 0: <why>" */
static int fail_at(const struct origin *at, const struct option_def *o, const char *val,
		   char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int fail_at(const struct origin *at, const struct option_def *o, const char *val,
		   char *err, size_t errlen, const char *fmt, ...)
{
	char env[80];
	int n = 0;
	switch (at->source) {
	case TM_SRC_FLAG:
	case TM_SRC_DEFAULT:
		n = snprintf(err, errlen, "--%s%s%s: ", o->name, val ? " " : "", val ? val : "");
		break;
	case TM_SRC_ENV:
		env_name(o, env, sizeof(env));
		n = snprintf(err, errlen, "%s=%s: ", env, val);
		break;
	case TM_SRC_FILE:
		n = snprintf(err, errlen, "%s:%u: %s = %s: ", at->file, at->line, o->name, val);
		break;
	}
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*---- values ----*/

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

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	}
	return -EINVAL;
}

/* the index of val among the '|'-separated words of choices, or -1 */
static int choice_index(const char *choices, const char *val)
{
	size_t len = strlen(val);
	int i = 0;
	for (const char *w = choices; w; i++) {
		const char *bar = strchr(w, '|');
		size_t wlen = bar ? (size_t)(bar - w) : strlen(w);
		if (wlen == len && !strncmp(w, val, len))
			return i;
		w = bar ? bar + 1 : NULL;
	}
	return -1;
}

static int set_number(const struct option_def *o, const char *val, const struct origin *at,
		      void *field, char *err, size_t errlen)
{
	uint64_t n;
	char lo[32], hi[32];
	if (o->kind == OPT_UINT) {
		if (!*val || strspn(val, "0123456789") != strlen(val) || parse_bytes(val, &n) ||
		    n < o->min || n > o->max)
			return fail_at(at, o, val, err, errlen, "must be a whole number from %llu to %llu",
				       (unsigned long long)o->min, (unsigned long long)o->max);
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	if (parse_bytes(val, &n) || n < o->min || n > o->max) {
		config_format_bytes(o->min, lo, sizeof(lo));
		config_format_bytes(o->max, hi, sizeof(hi));
		return fail_at(at, o, val, err, errlen, "must be a size from %s to %s (suffixes K, M, "
			       "G: powers of 1024)", lo, hi);
	}
	*(uint64_t *)field = n;
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

static int set_duration(const struct option_def *o, const char *val, const struct origin *at,
			void *field, char *err, size_t errlen)
{
	int64_t ns;
	char why[160], lo[32], hi[32];
	if (tm_config_duration(val, &ns, why, sizeof(why)) < 0 || ns < 0 ||
	    (uint64_t)ns < o->min || (uint64_t)ns > o->max) {
		config_format_duration(o->min, lo, sizeof(lo));
		config_format_duration(o->max, hi, sizeof(hi));
		return fail_at(at, o, val, err, errlen, "must be a duration from %s to %s (e.g. "
			       "500ms, 10s, 1m, 7d)", lo, hi);
	}
	*(uint64_t *)field = (uint64_t)ns;
	return 0;
}

static char *trim(char *s);

/* one or more comma-separated addresses, each trimmed as a config line is
 * (so that what --print-config shows reads back the same); a new source
 * replaces the list */
static int add_listen(const struct option_def *o, const char *val, const struct origin *at,
		      struct tm_config *cfg, char *err, size_t errlen)
{
	size_t row = (size_t)(o - options);
	size_t n = cfg->source[row] == at->source ? cfg->n_listen : 0, added = 0;
	char *copy = keep_text(cfg, val, strlen(val));
	if (!copy)
		return fail_at(at, o, val, err, errlen, "out of memory");
	for (char *save = NULL, *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		a = trim(a);
		if (!*a)
			continue;
		if (n == TM_MAX_LISTEN)
			return fail_at(at, o, val, err, errlen, "at most %d addresses", TM_MAX_LISTEN);
		cfg->listen[n++] = a;
		added++;
	}
	/* an empty address would only fail later, at bind, without naming
	 * the line it came from */
	if (!added)
		return fail_at(at, o, val, err, errlen, "names no address (ADDR:PORT)");
	cfg->n_listen = n;
	return 0;
}

/* sets option o from val (NULL only for a flag on the command line) */
static int set_option(const struct option_def *o, const char *val, const struct origin *at,
		      struct tm_config *cfg, char *err, size_t errlen)
{
	void *field = (char *)cfg + o->offset;
	int rc = 0, i;
	switch (o->kind) {
	case OPT_CONFIG:
		if (at->source == TM_SRC_FILE)
			return fail_at(at, o, val, err, errlen, "a config file cannot name another");
		/* fall through */
	case OPT_STRING:
		*(const char **)field = val;
		break;
	case OPT_LISTEN:
		rc = add_listen(o, val, at, cfg, err, errlen);
		break;
	case OPT_FLAG:
		if (!val)
			*(int *)field = 1;
		else if (parse_bool(val, &i) < 0)
			return fail_at(at, o, val, err, errlen, "must be true or false");
		else
			*(int *)field = i;
		break;
	case OPT_SYNC:
	case OPT_CHOICE:
		i = choice_index(o->arg, val);
		if (i < 0)
			return fail_at(at, o, val, err, errlen, "must be one of %s", o->arg);
		*(int *)field = i;
		break;
	case OPT_BYTES:
	case OPT_UINT:
		rc = set_number(o, val, at, field, err, errlen);
		break;
	case OPT_DURATION:
		rc = set_duration(o, val, at, field, err, errlen);
		break;
	}
	if (!rc)
		cfg->source[o - options] = (unsigned char)at->source;
	return rc;
}

static const struct option_def *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

/*---- the config file ----*/

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* the whole file as a text cfg owns, or NULL with a message */
static char *read_config_file(struct tm_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "--config %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(CONFIG_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, CONFIG_FILE_MAX + 1, f) : 0;
	int failed = !buf || ferror(f);
	fclose(f);
	char *text = NULL;
	if (failed)
		snprintf(err, errlen, "--config %s: cannot read it", path);
	else if (n > CONFIG_FILE_MAX)
		snprintf(err, errlen, "--config %s: larger than %u bytes", path, CONFIG_FILE_MAX);
	else if (memchr(buf, '\0', n))
		snprintf(err, errlen, "--config %s: holds a NUL byte; not a text file", path);
	else if (!(text = keep_text(cfg, buf, n)))
		snprintf(err, errlen, "--config %s: out of memory", path);
	free(buf);
	return text;
}

static int parse_config_line(char *line, const struct origin *at, struct tm_config *cfg,
			     char *err, size_t errlen)
{
	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	char *eq = strchr(line, '=');
	if (!eq) {
		snprintf(err, errlen, "%s:%u: expected \"name = value\", got \"%.60s\"", at->file,
			 at->line, line);
		return -EINVAL;
	}
	*eq = '\0';
	char *name = trim(line), *val = trim(eq + 1);
	const struct option_def *o = find_option(name, strlen(name));
	if (!o) {
		snprintf(err, errlen, "%s:%u: unknown option \"%.60s\" (names are the long options "
			 "without --; see tracemap --help)", at->file, at->line, name);
		return -EINVAL;
	}
	return set_option(o, val, at, cfg, err, errlen);
}

static int load_config_file(struct tm_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = read_config_file(cfg, path, err, errlen);
	if (!text)
		return -EINVAL;
	struct origin at = { TM_SRC_FILE, path, 0 };
	for (char *line = text; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		at.line++;
		int rc = parse_config_line(line, &at, cfg, err, errlen);
		if (rc)
			return rc;
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/*---- the environment ----*/

static const char *env_lookup(char *const *envp, const char *name)
{
	size_t len = strlen(name);
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, len) && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static int apply_environment(struct tm_config *cfg, char *const *envp, char *err, size_t errlen)
{
	struct origin at = { TM_SRC_ENV, NULL, 0 };
	char name[80];
	for (size_t i = 0; i < N_OPTIONS; i++) {
		env_name(&options[i], name, sizeof(name));
		const char *val = env_lookup(envp, name);
		int rc = val ? set_option(&options[i], val, &at, cfg, err, errlen) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

/*---- the command line ----*/

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

/* the subcommand in first place, if any; *i is left after it */
static int parse_command(int argc, char **argv, int *i, struct tm_config *cfg, char *err,
			 size_t errlen)
{
	static const struct { const char *word; enum tm_command command; } commands[] = {
		{ "check", TM_CMD_CHECK }, { "stats", TM_CMD_STATS }, { "demo", TM_CMD_DEMO },
		{ "export", TM_CMD_EXPORT }, { "query", TM_CMD_QUERY }, { "compact", TM_CMD_COMPACT },
	};
	if (*i >= argc || argv[*i][0] == '-')
		return 0;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[*i], commands[k].word))
			continue;
		cfg->command = commands[k].command;
		if (cfg->command == TM_CMD_QUERY &&
		    parse_query_words(argc, argv, i, cfg, err, errlen) < 0)
			return -EINVAL;
		*i += 1;
		return 0;
	}
	snprintf(err, errlen, "unknown command '%s' (try --help)", argv[*i]);
	return -EINVAL;
}

/* a flag and its value, kept until the lower sources are applied */
struct flag_value {
	const struct option_def *o;
	const char *val;
};

/* 1 when argument a is an action that needs no value (--help, ...) */
static int take_action(const char *a, struct tm_config *cfg)
{
	if (!strcmp(a, "--help") || !strcmp(a, "-h"))
		cfg->command = TM_CMD_HELP;
	else if (!strcmp(a, "--version"))
		cfg->command = TM_CMD_VERSION;
	else if (!strcmp(a, "--print-config"))
		cfg->print_config = 1;
	else if (!strcmp(a, "--sample-config"))
		cfg->print_sample = 1;
	else
		return 0;
	return 1;
}

/* reads argv[*i] (and its value) into *fv */
static int read_flag(int argc, char **argv, int *i, struct flag_value *fv, char *err,
		     size_t errlen)
{
	const char *a = argv[*i];
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
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "--%s needs a value: %s", o->name, o->arg);
			return -EINVAL;
		}
		val = argv[++*i];
	}
	fv->o = o;
	fv->val = val;
	return 0;
}

/* reads every flag into flags[]; stops early at --help or --version */
static int read_flags(int argc, char **argv, int i, struct tm_config *cfg,
		      struct flag_value *flags, size_t *n_flags, char *err, size_t errlen)
{
	*n_flags = 0;
	for (; i < argc; i++) {
		if (take_action(argv[i], cfg)) {
			if (cfg->command == TM_CMD_HELP || cfg->command == TM_CMD_VERSION)
				return 0;
			continue;
		}
		int rc = read_flag(argc, argv, &i, &flags[*n_flags], err, errlen);
		if (rc)
			return rc;
		*n_flags += 1;
	}
	return 0;
}

void config_defaults(struct tm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = TM_CMD_SERVE;
	cfg->listen[cfg->n_listen++] = "127.0.0.1:4318";
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
	cfg->log_level = TM_LOG_INFO;
	/* cfg->threads stays 0 until the end: "as many as CPUs" is not a number
	 * the sample file could show */
	cfg->max_connections = 4096;
	cfg->idle_timeout_ns = 60ull * 1000000000ull;
	cfg->request_timeout_ns = 120ull * 1000000000ull;
}

/* what no single option can check */
static int check_together(struct tm_config *cfg, char *err, size_t errlen)
{
	if (cfg->command == TM_CMD_EXPORT && (!cfg->export_out || !*cfg->export_out)) {
		snprintf(err, errlen, "export needs --out DIR (tracemap export --data DIR "
			 "--out SITE)");
		return -EINVAL;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together: %s is missing",
			 cfg->tls_cert ? "--tls-key" : "--tls-cert");
		return -EINVAL;
	}
	if (cfg->threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->threads = cpus > 0 ? (cpus > 256 ? 256u : (unsigned)cpus) : 2;
	}
	return 0;
}

/* the config file named by the last --config flag, else by TRACEMAP_CONFIG */
static const char *config_path(const struct flag_value *flags, size_t n_flags, char *const *envp)
{
	const char *path = NULL;
	for (size_t k = 0; k < n_flags; k++)
		if (flags[k].o->kind == OPT_CONFIG)
			path = flags[k].val;
	return path ? path : env_lookup(envp, ENV_PREFIX "CONFIG");
}

static int apply_sources(struct tm_config *cfg, const struct flag_value *flags, size_t n_flags,
			 char *const *envp, char *err, size_t errlen)
{
	const char *path = config_path(flags, n_flags, envp);
	int rc = path ? load_config_file(cfg, path, err, errlen) : 0;
	if (!rc)
		rc = apply_environment(cfg, envp, err, errlen);
	struct origin at = { TM_SRC_FLAG, NULL, 0 };
	for (size_t k = 0; !rc && k < n_flags; k++)
		rc = set_option(flags[k].o, flags[k].val, &at, cfg, err, errlen);
	return rc ? rc : check_together(cfg, err, errlen);
}

int tm_config_load(int argc, char **argv, char *const *envp, struct tm_config *cfg, char *err,
		   size_t errlen)
{
	config_defaults(cfg);
	int i = 1;
	int rc = parse_command(argc, argv, &i, cfg, err, errlen);
	if (rc)
		return rc;
	struct flag_value *flags = calloc((size_t)argc + 1, sizeof(*flags));
	if (!flags) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t n_flags;
	rc = read_flags(argc, argv, i, cfg, flags, &n_flags, err, errlen);
	if (!rc && cfg->command != TM_CMD_HELP && cfg->command != TM_CMD_VERSION)
		rc = apply_sources(cfg, flags, n_flags, envp, err, errlen);
	free(flags);
	return rc;
}

int tm_config_parse(int argc, char **argv, struct tm_config *cfg, char *err, size_t errlen)
{
	return tm_config_load(argc, argv, environ, cfg, err, errlen);
}
