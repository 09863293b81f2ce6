/* querybench.c - latency of tracemap's query endpoints, each against a
 * baseline measured in the same run.
 *
 * Trace mode (--ids): N persistent HTTP/1.1 connections, one blocking
 * thread each, ask GET /api/traces/{id} for trace IDs picked at random from
 * --ids, read every response in full and check it (status 200; with
 * --expect-spans, the number of spans in the Jaeger JSON).  Direct mode
 * (--direct DATA_DIR) opens the store read-only in this process and times
 * tm_store_trace_get() alone, so the two runs side by side show what HTTP
 * and JSON add to the storage cost.  With --critical-path both ask for
 * the trace's critical path instead: GET /api/traces/{id}/critical-path,
 * and directly tm_store_trace_get() then tm_cp_analyze(), timed apart.
 *
 * Endpoint mode (--search, --slow, --services, --servicemap, --bottlenecks,
 * in any number): one phase per endpoint, each --duration long, on the
 * same connections; the service of each query is --service, or one picked
 * at random from GET /api/services, and the time window ends at --end, or
 * at the wall clock's now.  The baseline is GET
 * /api/v2/autocompleteKeys, which answers from the configuration without
 * touching the store: the floor of HTTP and the server's request handling.
 * It runs as the first and the last phase, so a drift of the machine over
 * the run shows.  Every answer must be 200; answers with no result are
 * counted, so that a broken endpoint cannot look fast.
 *
 * Prints one "name value" line per result on stdout; the first failure goes
 * to stderr.  Exit 0 when no query failed (endpoint mode: and every answer
 * held at least one result). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "critical_path.h"
#include "httpc.h"
#include "span.h"
#include "store.h"

#define IO_TIMEOUT_S 30
#define MAX_BODY_BYTES (256u << 20)   /* a bigger answer is a failure */
#define HEX_ID_LEN (TM_TRACE_ID_LEN * 2)
#define SPAN_MARKER "\"operationName\""   /* once per Jaeger span object;
					   * "spanID" also appears in references */
#define TRACE_MARKER "\"processes\""      /* once per Jaeger trace object */
#define SLOW_MARKER "\"rootService\""     /* once per slow-traces entry */
#define CP_SPAN_MARKER "\"onPath\""       /* once per span of a critical-path answer */
#define EDGE_MARKER "\"source\""          /* once per service-map edge */
#define NODE_MARKER "\"kind\""            /* once per service-map node */
#define BOTTLENECK_MARKER "\"excess\""    /* once per bottleneck row */
#define MAX_PHASES 16
#define DEFAULT_LIMIT 20
#define FLOOR_PATH "/api/v2/autocompleteKeys"

/*---- options and shared state ----*/

enum query_kind {
	QUERY_TRACE,                 /* GET /api/traces/{id} (--ids) */
	QUERY_FLOOR,                 /* GET /api/v2/autocompleteKeys: the baseline */
	QUERY_SEARCH,                /* GET /api/traces?service=&start=&end=&limit= */
	QUERY_SLOW,                  /* GET /api/slow-traces?service=&start=&end=&limit= */
	QUERY_SERVICES,              /* GET /api/services */
	QUERY_SERVICEMAP,            /* GET /api/servicemap?start=&end= */
	QUERY_BOTTLENECKS,           /* GET /api/bottlenecks?service=&start=&end= */
};

/* one endpoint timed for --duration (or --requests) */
struct phase {
	enum query_kind kind;
	char name[32];               /* prefix of its output lines */
	uint64_t window_us;          /* search, slow: end - start */
};

/* what one phase measured */
struct phase_result {
	struct httpc_latency latency;   /* one sample per successful query */
	uint64_t failed, reconnects, body_bytes, results, nonempty, totals;
	double elapsed_s;
};

struct options {
	struct httpc_target target;  /* resolved by main() in HTTP mode */
	const char *ids_path;
	const char *direct_dir;      /* NULL = HTTP mode */
	int connections;
	double duration_s;           /* 0 = not given */
	uint64_t requests;           /* 0 = not given */
	uint64_t seed;
	int64_t expect_spans;        /* -1 = do not check */
	int is_critical_path;        /* trace mode: the critical path, not the trace */
	const char *service;         /* endpoint mode: every query's; NULL = random */
	uint64_t end_us;             /* endpoint mode: windows end here; 0 = now */
	struct phase phases[MAX_PHASES];   /* endpoint mode; as given */
	int n_phases;                /* 0 = trace mode */
	uint32_t limit;              /* of searches and slow-traces */
};

struct run {
	const struct options *opt;
	char (*hex_ids)[HEX_ID_LEN + 1];
	uint8_t (*ids)[TM_TRACE_ID_LEN];
	size_t n_ids;
	struct tm_store *store;      /* direct mode */
	char (*services)[192];       /* endpoint mode: names, URL-encoded */
	size_t n_services;
	const struct phase *phase;   /* endpoint mode: the one running */
	uint64_t deadline_ns;        /* CLOCK_MONOTONIC; 0 = none */
	atomic_uint_fast64_t next_ticket;
	atomic_uint_fast64_t failed, reconnects, body_bytes, spans;
	atomic_uint_fast64_t nonempty, totals;
	atomic_int is_failure_printed;
};

struct worker {
	struct run *run;
	pthread_t thread;
	uint64_t rng;
	struct httpc_conn conn;      /* keeps the whole body of each response */
	struct httpc_latency latency;  /* one per successful query */
	struct httpc_latency read_latency, analysis_latency;   /* --direct --critical-path */
};

static atomic_int stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, 1);
}

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fprintf(stderr, "querybench: out of memory\n");
		exit(2);
	}
	return p;
}

/* splitmix64: a cheap, well-mixed generator; one state per thread */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* counts a failed query (of a trace ID, or a request path); prints only
 * the first one. */
static void fail_query(struct run *run, const char *what_query, const char *why)
{
	atomic_fetch_add(&run->failed, 1);
	if (!atomic_exchange(&run->is_failure_printed, 1))
		fprintf(stderr, "querybench: %s%s: %s (further failures are only counted)\n",
			run->phase ? "" : "trace ", what_query, why);
}

/*---- one query ----*/

/* sends GET path and reads the whole response. */
static int http_get(struct httpc_conn *conn, const char *path, struct httpc_response *r)
{
	const struct httpc_target *t = conn->target;
	char head[1024];
	int n = snprintf(head, sizeof(head),
			 "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
			 "User-Agent: tracemap-querybench/0.1\r\n"
			 "Accept: application/json\r\n\r\n",
			 path, t->host, t->port);

	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENAMETOOLONG;
	return httpc_exchange(conn, head, (size_t)n, NULL, 0, r);
}

static size_t count_marker(const char *body, size_t len, const char *marker)
{
	const char *p = body, *end = body + len;
	size_t n = 0, marker_len = strlen(marker);

	while ((p = memmem(p, (size_t)(end - p), marker, marker_len))) {
		n++;
		p += marker_len;
	}
	return n;
}

/* the strings of the first JSON array in body (a Jaeger "data" array of
 * names, or a Zipkin array); calls on_string, if not NULL, with each one
 * (unescaped only as far as names need: none contain a quote).  Returns
 * how many there are. */
static size_t array_strings(const char *body, void (*on_string)(void *, const char *, size_t),
			    void *arg)
{
	const char *p = strchr(body, '[');
	size_t n = 0;

	if (!p)
		return 0;
	for (p++; *p && *p != ']'; p++) {
		const char *start;

		if (*p != '"')
			continue;
		start = ++p;
		while (*p && *p != '"')
			p += (*p == '\\' && p[1]) ? 2 : 1;
		if (!*p)
			break;
		if (on_string)
			on_string(arg, start, (size_t)(p - start));
		n++;
	}
	return n;
}

/* the first number after "key": in body, or 0. */
static uint64_t json_number(const char *body, const char *key)
{
	const char *p = strstr(body, key);

	if (!p)
		return 0;
	p += strlen(key);
	p += strspn(p, " \t\r\n:");
	return strtoull(p, NULL, 10);
}

/* counts the results of an answer of the running phase into *results
 * (*total: slow-traces' "total"); returns NULL, or why the answer is
 * wrong. */
static const char *count_results(const struct run *run, const struct httpc_response *r,
				 size_t *results, uint64_t *total, char *why, size_t size)
{
	const char *body = (const char *)r->body;
	enum query_kind kind = run->phase ? run->phase->kind : QUERY_TRACE;
	uint32_t limit = run->opt->limit;

	*total = 0;
	switch (kind) {
	case QUERY_TRACE:
		*results = count_marker(body, r->body_len,
					run->opt->is_critical_path ? CP_SPAN_MARKER : SPAN_MARKER);
		if (run->opt->expect_spans >= 0 && *results != (uint64_t)run->opt->expect_spans) {
			snprintf(why, size, "%zu spans in the answer, expected %" PRId64,
				 *results, run->opt->expect_spans);
			return why;
		}
		return NULL;
	case QUERY_SEARCH:
		*results = count_marker(body, r->body_len, TRACE_MARKER);
		break;
	case QUERY_SLOW:
		*results = count_marker(body, r->body_len, SLOW_MARKER);
		*total = json_number(body, "\"total\"");
		/* "total" counts every match: a full page unless fewer matched */
		if (*results != (*total < limit ? *total : limit)) {
			snprintf(why, size, "%zu traces in the answer, total %" PRIu64 ", limit %u",
				 *results, *total, limit);
			return why;
		}
		break;
	case QUERY_FLOOR:
	case QUERY_SERVICES:
		*results = array_strings(body, NULL, NULL);
		return NULL;
	case QUERY_SERVICEMAP:
		*results = count_marker(body, r->body_len, EDGE_MARKER);
		*total = count_marker(body, r->body_len, NODE_MARKER);
		return NULL;
	case QUERY_BOTTLENECKS:
		*results = count_marker(body, r->body_len, BOTTLENECK_MARKER);
		*total = json_number(body, "\"slowTraces\"") + json_number(body, "\"typicalTraces\"");
		return NULL;
	}
	if (*results > limit) {
		snprintf(why, size, "%zu traces in the answer, more than limit %u", *results, limit);
		return why;
	}
	return NULL;
}

/* checks a response and accounts for it; returns 0 when it is a success. */
static int check_answer(struct worker *w, const char *what_query, const struct httpc_response *r)
{
	struct run *run = w->run;
	char why[160];
	size_t results = 0;
	uint64_t total;

	if (r->status != 200) {
		snprintf(why, sizeof(why), "HTTP status %d: %.100s", r->status,
			 (const char *)r->body);
		fail_query(run, what_query, why);
		return -1;
	}
	if (count_results(run, r, &results, &total, why, sizeof(why))) {
		fail_query(run, what_query, why);
		return -1;
	}
	atomic_fetch_add(&run->spans, results);
	atomic_fetch_add(&run->totals, total);
	if (results)
		atomic_fetch_add(&run->nonempty, 1);
	atomic_fetch_add(&run->body_bytes, r->body_len);
	return 0;
}

/* one query over HTTP; a keep-alive connection the server has closed is
 * reopened and the query sent again once.  what_query names it in a
 * failure message. */
static void query_http(struct worker *w, const char *path, const char *what_query)
{
	struct run *run = w->run;
	struct httpc_response r;

	for (int attempt = 0; attempt < 2; attempt++) {
		int is_reused = httpc_conn_is_open(&w->conn);
		int rc = is_reused ? 0 : httpc_conn_open(&w->conn);
		uint64_t t0 = clock_ns();

		if (rc == 0)
			rc = http_get(&w->conn, path, &r);
		if (rc < 0) {
			httpc_conn_close(&w->conn);
			if (is_reused && attempt == 0) {
				atomic_fetch_add(&run->reconnects, 1);
				continue;
			}
			fail_query(run, what_query, strerror(-rc));
			return;
		}
		if (r.is_close)
			httpc_conn_close(&w->conn);
		if (check_answer(w, what_query, &r) == 0)
			httpc_latency_add(&w->latency, clock_ns() - t0);
		return;
	}
}

static uint64_t realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* one query of the running endpoint phase: a random service, and a window
 * that ends now. */
static void query_endpoint(struct worker *w)
{
	struct run *run = w->run;
	const struct phase *ph = run->phase;
	const char *service = run->services[rng_next(&w->rng) % run->n_services];
	uint64_t end = run->opt->end_us ? run->opt->end_us : realtime_us();
	uint64_t start = end > ph->window_us ? end - ph->window_us : 0;
	char path[512];

	switch (ph->kind) {
	case QUERY_SEARCH:
	case QUERY_SLOW:
		snprintf(path, sizeof(path), "%s?service=%s&start=%" PRIu64 "&end=%" PRIu64
			 "&limit=%u", ph->kind == QUERY_SEARCH ? "/api/traces" : "/api/slow-traces",
			 service, start, end, run->opt->limit);
		break;
	case QUERY_SERVICES:
		snprintf(path, sizeof(path), "/api/services");
		break;
	case QUERY_SERVICEMAP:
		snprintf(path, sizeof(path), "/api/servicemap?start=%" PRIu64 "&end=%" PRIu64,
			 start, end);
		break;
	case QUERY_BOTTLENECKS:
		snprintf(path, sizeof(path), "/api/bottlenecks?service=%s&start=%" PRIu64
			 "&end=%" PRIu64, service, start, end);
		break;
	case QUERY_FLOOR:
	case QUERY_TRACE:
		snprintf(path, sizeof(path), FLOOR_PATH);
		break;
	}
	query_http(w, path, path);
}

/* the critical path of trace (as GET /api/traces/{id}/critical-path
 * computes it) from arena; returns 0 or a negative errno. */
static int analyze_trace(const struct tm_trace *trace, struct tm_arena *arena)
{
	struct tm_cp_analysis cp;

	return tm_cp_analyze(trace, NULL, arena, &cp);
}

/* one lookup in the store itself, with a fresh arena as the server uses;
 * with --critical-path, then the analysis, each timed on its own. */
static void query_direct(struct worker *w, size_t i)
{
	struct run *run = w->run;
	struct tm_arena arena;
	struct tm_trace trace;
	char what[128];
	uint64_t t0 = clock_ns(), t1, t2;
	int rc;

	tm_arena_init(&arena, 0);
	rc = tm_store_trace_get(run->store, run->ids[i], &arena, &trace);
	t1 = clock_ns();
	if (rc == 0 && run->opt->is_critical_path)
		rc = analyze_trace(&trace, &arena);
	t2 = clock_ns();
	tm_arena_clear(&arena);
	if (rc < 0) {
		fail_query(run, run->hex_ids[i], tm_store_strerror(rc));
		return;
	}
	if (run->opt->expect_spans >= 0 && trace.n_spans != (uint64_t)run->opt->expect_spans) {
		snprintf(what, sizeof(what), "%zu spans in the store, expected %" PRId64,
			 trace.n_spans, run->opt->expect_spans);
		fail_query(run, run->hex_ids[i], what);
		return;
	}
	atomic_fetch_add(&run->spans, trace.n_spans);
	httpc_latency_add(&w->latency, clock_ns() - t0);
	if (run->opt->is_critical_path) {
		httpc_latency_add(&w->read_latency, t1 - t0);
		httpc_latency_add(&w->analysis_latency, t2 - t1);
	}
}

static int next_ticket(struct run *run)
{
	uint64_t ticket;

	if (atomic_load(&stop_requested))
		return 0;
	if (run->deadline_ns && clock_ns() >= run->deadline_ns)
		return 0;
	ticket = atomic_fetch_add(&run->next_ticket, 1);
	return !run->opt->requests || ticket < run->opt->requests;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	char path[96];

	while (next_ticket(run)) {
		size_t i;

		if (run->phase) {
			query_endpoint(w);
			continue;
		}
		i = (size_t)(rng_next(&w->rng) % run->n_ids);
		if (run->store) {
			query_direct(w, i);
		} else {
			snprintf(path, sizeof(path), "/api/traces/%s%s", run->hex_ids[i],
				 run->opt->is_critical_path ? "/critical-path" : "");
			query_http(w, path, run->hex_ids[i]);
		}
	}
	return NULL;
}

/*---- results ----*/

/* prints NAME_p50_ms, NAME_p99_ms and NAME_max_ms of the latencies at
 * offset in every worker (--direct --critical-path: the read and the
 * analysis apart). */
static void print_part(struct worker *workers, int n_workers, const char *name, size_t offset)
{
	struct httpc_latency all = { 0 };

	for (int i = 0; i < n_workers; i++)
		httpc_latency_merge(&all, (const struct httpc_latency *)
				    ((const char *)&workers[i] + offset));
	printf("%s_p50_ms %.3f\n", name, httpc_latency_ms(&all, 0.50));
	printf("%s_p99_ms %.3f\n", name, httpc_latency_ms(&all, 0.99));
	printf("%s_max_ms %.3f\n", name, httpc_latency_ms(&all, 1));
	httpc_latency_clear(&all);
}

static void print_results(struct run *run, struct worker *workers, double elapsed_s)
{
	struct httpc_latency all = { 0 };
	size_t n;

	for (int i = 0; i < run->opt->connections; i++)
		httpc_latency_merge(&all, &workers[i].latency);
	n = all.n;
	printf("mode %s\n", run->store ? "direct" : "http");
	printf("connections %d\n", run->opt->connections);
	printf("ids %zu\n", run->n_ids);
	printf("queries %zu\n", n);
	printf("failed %" PRIu64 "\n", (uint64_t)atomic_load(&run->failed));
	printf("reconnects %" PRIu64 "\n", (uint64_t)atomic_load(&run->reconnects));
	printf("elapsed_s %.3f\n", elapsed_s);
	printf("qps %.0f\n", elapsed_s > 0 ? (double)n / elapsed_s : 0.0);
	printf("latency_p50_ms %.3f\n", httpc_latency_ms(&all, 0.50));
	printf("latency_p90_ms %.3f\n", httpc_latency_ms(&all, 0.90));
	printf("latency_p99_ms %.3f\n", httpc_latency_ms(&all, 0.99));
	printf("latency_max_ms %.3f\n", httpc_latency_ms(&all, 1));
	printf("spans_per_response %.1f\n",
	       n ? (double)atomic_load(&run->spans) / (double)n : 0.0);
	if (!run->store)
		printf("bytes_per_response %.0f\n",
		       n ? (double)atomic_load(&run->body_bytes) / (double)n : 0.0);
	httpc_latency_clear(&all);
	if (run->store && run->opt->is_critical_path) {
		print_part(workers, run->opt->connections, "read",
			   offsetof(struct worker, read_latency));
		print_part(workers, run->opt->connections, "analysis",
			   offsetof(struct worker, analysis_latency));
	}
}

/* adds src to dst. */
static void merge_phase(struct phase_result *dst, const struct phase_result *src)
{
	httpc_latency_merge(&dst->latency, &src->latency);
	dst->failed += src->failed;
	dst->reconnects += src->reconnects;
	dst->body_bytes += src->body_bytes;
	dst->results += src->results;
	dst->nonempty += src->nonempty;
	dst->totals += src->totals;
	dst->elapsed_s += src->elapsed_s;
}

/* moves what the workers and the counters measured into res (adding to
 * what it holds) and resets them for the next phase. */
static void collect_phase(struct run *run, struct worker *workers, double elapsed_s,
			  struct phase_result *res)
{
	for (int i = 0; i < run->opt->connections; i++) {
		httpc_latency_merge(&res->latency, &workers[i].latency);
		httpc_latency_clear(&workers[i].latency);
	}
	res->failed += atomic_exchange(&run->failed, 0);
	res->reconnects += atomic_exchange(&run->reconnects, 0);
	res->body_bytes += atomic_exchange(&run->body_bytes, 0);
	res->results += atomic_exchange(&run->spans, 0);
	res->nonempty += atomic_exchange(&run->nonempty, 0);
	res->totals += atomic_exchange(&run->totals, 0);
	res->elapsed_s += elapsed_s;
}

/* what a phase's totals count: slow-traces' "total" (the matching
 * traces), the nodes of a service map, slowTraces + typicalTraces of
 * bottlenecks */
static const char *totals_name(enum query_kind kind)
{
	switch (kind) {
	case QUERY_SERVICEMAP:
		return "nodes";
	case QUERY_BOTTLENECKS:
		return "traces";
	default:
		return "total";
	}
}

/* prints a phase as "NAME_what value" lines; floor_p99_ms > 0 adds the
 * p99 as a multiple of the floor's. */
static void print_phase(const char *name, enum query_kind kind, struct phase_result *res,
			double floor_p99_ms)
{
	size_t n = res->latency.n;
	double per = n ? 1.0 / (double)n : 0.0;
	double p99 = httpc_latency_ms(&res->latency, 0.99);

	printf("%s_queries %zu\n", name, n);
	printf("%s_failed %" PRIu64 "\n", name, res->failed);
	printf("%s_reconnects %" PRIu64 "\n", name, res->reconnects);
	printf("%s_qps %.0f\n", name, res->elapsed_s > 0 ? (double)n / res->elapsed_s : 0.0);
	printf("%s_p50_ms %.3f\n", name, httpc_latency_ms(&res->latency, 0.50));
	printf("%s_p90_ms %.3f\n", name, httpc_latency_ms(&res->latency, 0.90));
	printf("%s_p99_ms %.3f\n", name, p99);
	printf("%s_max_ms %.3f\n", name, httpc_latency_ms(&res->latency, 1));
	printf("%s_nonempty %" PRIu64 "\n", name, res->nonempty);
	printf("%s_results_per_response %.1f\n", name, (double)res->results * per);
	printf("%s_bytes_per_response %.0f\n", name, (double)res->body_bytes * per);
	if (kind == QUERY_SLOW || kind == QUERY_SERVICEMAP || kind == QUERY_BOTTLENECKS)
		printf("%s_%s_per_response %.0f\n", name, totals_name(kind),
		       (double)res->totals * per);
	if (floor_p99_ms > 0)
		printf("%s_p99_of_floor %.1f\n", name, p99 / floor_p99_ms);
}

/* a phase is sound when no query failed and every answer held a result */
static int is_phase_sound(const struct phase_result *res)
{
	return res->failed == 0 && res->latency.n > 0 && res->nonempty == res->latency.n;
}

/* prints the endpoint phases; the floor's two runs (first and last phase)
 * count as one baseline.  Returns 0 when every phase is sound. */
static int print_phases(struct run *run, struct phase_result *res)
{
	const struct options *opt = run->opt;
	struct phase_result *floor = &res[0], *floor_last = &res[opt->n_phases + 1];
	double first_p99 = httpc_latency_ms(&floor->latency, 0.99);
	double last_p99 = httpc_latency_ms(&floor_last->latency, 0.99);
	double floor_p99;
	int rc = 0;

	rc |= !is_phase_sound(floor) || !is_phase_sound(floor_last);
	merge_phase(floor, floor_last);
	floor_p99 = httpc_latency_ms(&floor->latency, 0.99);
	printf("mode endpoints\n");
	printf("connections %d\n", opt->connections);
	printf("services %zu\n", run->n_services);
	printf("limit %u\n", opt->limit);
	print_phase("floor", QUERY_FLOOR, floor, 0);
	printf("floor_first_p99_ms %.3f\n", first_p99);
	printf("floor_last_p99_ms %.3f\n", last_p99);
	for (int i = 0; i < opt->n_phases; i++) {
		print_phase(opt->phases[i].name, opt->phases[i].kind, &res[i + 1], floor_p99);
		rc |= !is_phase_sound(&res[i + 1]);
	}
	return rc;
}

/*---- setup ----*/

/* reads the first word of every line of path as a hex trace ID. */
static int load_ids(struct run *run, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t cap = 0, lineno = 0;

	if (!f) {
		int err = errno;

		fprintf(stderr, "querybench: %s: %s\n", path, strerror(err));
		return -err;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, " \t\r\n");

		lineno++;
		if (len == 0)
			continue;
		if (run->n_ids == cap) {
			cap = cap ? cap * 2 : 1024;
			run->hex_ids = xrealloc(run->hex_ids, cap * sizeof(*run->hex_ids));
			run->ids = xrealloc(run->ids, cap * sizeof(*run->ids));
		}
		if (len > HEX_ID_LEN || tm_trace_id_parse(line, len, run->ids[run->n_ids]) < 0) {
			fprintf(stderr, "querybench: %s:%zu: not a trace ID\n", path, lineno);
			fclose(f);
			return -EINVAL;
		}
		memcpy(run->hex_ids[run->n_ids], line, len);
		run->hex_ids[run->n_ids++][len] = 0;
	}
	fclose(f);
	if (run->n_ids == 0) {
		fprintf(stderr, "querybench: %s: no trace IDs\n", path);
		return -EINVAL;
	}
	return 0;
}

static int open_store(struct run *run)
{
	struct tm_store_options so = { .dir = run->opt->direct_dir, .read_only = 1 };
	struct tm_store_stats stats;
	int rc = tm_store_open(&so, &run->store);

	if (rc == 0)
		rc = tm_store_stats(run->store, &stats);
	if (rc < 0) {
		fprintf(stderr, "querybench: %s: %s\n", so.dir, tm_store_strerror(rc));
		return rc;
	}
	printf("store_spans %" PRIu64 "\n", stats.spans);
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* keeps the URL-encoded name of a service (or of nothing longer than
 * fits). */
static void add_service(void *arg, const char *name, size_t len)
{
	static const char unreserved[] = "-._~";
	struct run *run = arg;
	char *out;
	size_t n = 0;

	if (len * 3 >= sizeof(run->services[0]))
		return;
	run->services = xrealloc(run->services, (run->n_services + 1) * sizeof(*run->services));
	out = run->services[run->n_services++];
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c && strchr(unreserved, c)))
			out[n++] = (char)c;
		else
			n += (size_t)sprintf(out + n, "%%%02X", c);
	}
	out[n] = 0;
}

/* asks GET /api/services once for the services to search. */
static int load_services(struct run *run)
{
	struct httpc_conn conn;
	struct httpc_response r;
	int rc;

	httpc_conn_init(&conn, &run->opt->target, HTTPC_BODY_WHOLE, MAX_BODY_BYTES);
	rc = httpc_conn_open(&conn);
	if (rc == 0)
		rc = http_get(&conn, "/api/services", &r);
	if (rc < 0)
		fprintf(stderr, "querybench: GET /api/services: %s\n", strerror(-rc));
	else if (r.status != 200)
		fprintf(stderr, "querybench: GET /api/services: HTTP status %d\n", r.status);
	else if (array_strings((const char *)r.body, add_service, run) == 0)
		fprintf(stderr, "querybench: GET /api/services: no services; fill the store first\n");
	rc = rc == 0 && r.status == 200 && run->n_services > 0 ? 0 : -EIO;
	httpc_conn_clear(&conn);
	return rc;
}

/* runs the workers until the deadline or --requests queries; returns the
 * elapsed seconds. */
static double run_workers(struct run *run, struct worker *workers)
{
	const struct options *opt = run->opt;
	uint64_t start = clock_ns();

	atomic_store(&run->next_ticket, 0);
	run->deadline_ns = opt->duration_s > 0 ? start + (uint64_t)(opt->duration_s * 1e9) : 0;
	for (int i = 0; i < opt->connections; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "querybench: cannot start thread %d\n", i);
			exit(2);
		}
	}
	for (int i = 0; i < opt->connections; i++)
		pthread_join(workers[i].thread, NULL);
	return (double)(clock_ns() - start) / 1e9;
}

/* the floor, every endpoint given, the floor again; connections stay open
 * from one phase to the next. */
static int run_phases(struct run *run, struct worker *workers)
{
	const struct options *opt = run->opt;
	struct phase floor = { .kind = QUERY_FLOOR, .name = "floor" };
	struct phase_result res[MAX_PHASES + 2];
	int rc;

	memset(res, 0, sizeof(res));
	for (int i = 0; i < opt->n_phases + 2 && !atomic_load(&stop_requested); i++) {
		run->phase = i == 0 || i == opt->n_phases + 1 ? &floor : &opt->phases[i - 1];
		collect_phase(run, workers, run_workers(run, workers), &res[i]);
	}
	rc = print_phases(run, res);
	for (int i = 0; i < opt->n_phases + 2; i++)
		httpc_latency_clear(&res[i].latency);
	return rc;
}

static int run_queries(struct run *run)
{
	const struct options *opt = run->opt;
	struct worker *workers = calloc((size_t)opt->connections, sizeof(*workers));
	int rc;

	if (!workers)
		return 2;
	for (int i = 0; i < opt->connections; i++) {
		workers[i].run = run;
		httpc_conn_init(&workers[i].conn, &opt->target, HTTPC_BODY_WHOLE, MAX_BODY_BYTES);
		workers[i].rng = opt->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1));
	}
	if (opt->n_phases) {
		rc = run_phases(run, workers);
	} else {
		print_results(run, workers, run_workers(run, workers));
		rc = atomic_load(&run->failed) == 0 ? 0 : 1;
	}
	for (int i = 0; i < opt->connections; i++) {
		httpc_conn_clear(&workers[i].conn);
		httpc_latency_clear(&workers[i].latency);
		httpc_latency_clear(&workers[i].read_latency);
		httpc_latency_clear(&workers[i].analysis_latency);
	}
	free(workers);
	return rc;
}

/*---- options ----*/

static void usage(FILE *f)
{
	fprintf(f,
		"usage: querybench --ids FILE [options]                 GET /api/traces/{id}\n"
		"       querybench --search[=WINDOW] | --slow WINDOW | --services |\n"
		"                  --servicemap WINDOW | --bottlenecks WINDOW ... [options]\n"
		"  --ids FILE               trace IDs to ask for, one hex ID per line (first word)\n"
		"  --url http://HOST:PORT   server (default http://127.0.0.1:4318)\n"
		"  --direct DATA_DIR        no HTTP: time tm_store_trace_get() on the store, read-only\n"
		"  --search[=WINDOW]        GET /api/traces?service=S&start=now-WINDOW&end=now&limit=L\n"
		"                           (WINDOW: N[smhd], default 1h)\n"
		"  --slow WINDOW            GET /api/slow-traces?service=S&start=now-WINDOW&end=now&limit=L\n"
		"  --services               GET /api/services\n"
		"  --servicemap WINDOW      GET /api/servicemap?start=END-WINDOW&end=END\n"
		"  --bottlenecks WINDOW     GET /api/bottlenecks?service=S&start=END-WINDOW&end=END\n"
		"                           (each a phase of --duration, in the order given, between\n"
		"                           two phases of GET " FLOOR_PATH ", the baseline;\n"
		"                           S is --service or a random service from /api/services)\n"
		"  --limit L                limit of --search and --slow (default 20)\n"
		"  --service S              the service of every query (default: random)\n"
		"  --end US                 windows end at US (µs since the epoch; default now)\n"
		"  --critical-path          with --ids: GET /api/traces/{id}/critical-path; with\n"
		"                           --direct also tm_cp_analyze(), timed apart (read_*,\n"
		"                           analysis_*)\n"
		"  --connections N          parallel keep-alive connections / threads (default 4)\n"
		"  --duration SECONDS       run (each phase) this long (default 10 unless --requests)\n"
		"  --requests N             send exactly N queries in total (per phase)\n"
		"  --seed N                 seed of the random choices (default: random)\n"
		"  --expect-spans N         fail a query whose trace has not exactly N spans\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || end == s || *end || *s == '-') ? -EINVAL : 0;
}

/* "N[smhd]" as microseconds; -EINVAL when it is not one. */
static int parse_window(const char *s, uint64_t *us)
{
	static const struct {
		char suffix;
		uint64_t us;
	} units[] = { { 's', 1000000ull }, { 'm', 60000000ull }, { 'h', 3600000000ull },
		      { 'd', 86400000000ull } };
	char *end;
	uint64_t n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || n == 0 || n > 100000)
		return -EINVAL;
	if (!*end) {
		*us = n * 1000000ull;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (end[0] == units[i].suffix && !end[1]) {
			*us = n * units[i].us;
			return 0;
		}
	}
	return -EINVAL;
}

/* appends an endpoint phase named "PREFIX_WINDOW" (or PREFIX alone). */
static int add_phase(struct options *opt, enum query_kind kind, const char *prefix,
		     const char *window)
{
	struct phase *ph;

	if (opt->n_phases == MAX_PHASES)
		return -EINVAL;
	ph = &opt->phases[opt->n_phases];
	memset(ph, 0, sizeof(*ph));
	ph->kind = kind;
	if (window) {
		if (parse_window(window, &ph->window_us) < 0 || strlen(window) > 12)
			return -EINVAL;
		snprintf(ph->name, sizeof(ph->name), "%s_%s", prefix, window);
	} else {
		snprintf(ph->name, sizeof(ph->name), "%s", prefix);
	}
	opt->n_phases++;
	return 0;
}

enum {
	OPT_IDS = 256, OPT_URL, OPT_DIRECT, OPT_CONNECTIONS, OPT_DURATION, OPT_REQUESTS,
	OPT_SEED, OPT_EXPECT, OPT_SEARCH, OPT_SLOW, OPT_SERVICES, OPT_SERVICEMAP,
	OPT_BOTTLENECKS, OPT_LIMIT, OPT_SERVICE, OPT_END, OPT_CRITICAL_PATH, OPT_HELP,
};

static const struct option long_options[] = {
	{ "ids", required_argument, NULL, OPT_IDS },
	{ "url", required_argument, NULL, OPT_URL },
	{ "direct", required_argument, NULL, OPT_DIRECT },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "expect-spans", required_argument, NULL, OPT_EXPECT },
	{ "search", optional_argument, NULL, OPT_SEARCH },
	{ "slow", required_argument, NULL, OPT_SLOW },
	{ "services", no_argument, NULL, OPT_SERVICES },
	{ "servicemap", required_argument, NULL, OPT_SERVICEMAP },
	{ "bottlenecks", required_argument, NULL, OPT_BOTTLENECKS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "end", required_argument, NULL, OPT_END },
	{ "critical-path", no_argument, NULL, OPT_CRITICAL_PATH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* handles one option; returns 0, or -EINVAL with a message printed. */
static int apply_option(int c, const char *arg, char **argv, struct options *opt)
{
	uint64_t v = 0;
	int rc = 0;

	switch (c) {
	case OPT_IDS:
		opt->ids_path = arg;
		break;
	case OPT_URL:
		rc = httpc_target_parse(&opt->target, arg, "4318");
		break;
	case OPT_DIRECT:
		opt->direct_dir = arg;
		break;
	case OPT_CONNECTIONS:
		rc = parse_u64(arg, &v);
		opt->connections = (int)v;
		rc = rc ? rc : (v < 1 || v > 4096 ? -EINVAL : 0);
		break;
	case OPT_DURATION:
		opt->duration_s = strtod(arg, NULL);
		rc = opt->duration_s > 0 ? 0 : -EINVAL;
		break;
	case OPT_REQUESTS:
		rc = parse_u64(arg, &opt->requests);
		rc = rc ? rc : (opt->requests ? 0 : -EINVAL);
		break;
	case OPT_SEED:
		rc = parse_u64(arg, &opt->seed);
		break;
	case OPT_EXPECT:
		rc = parse_u64(arg, &v);
		opt->expect_spans = (int64_t)v;
		break;
	case OPT_SEARCH:
		rc = add_phase(opt, QUERY_SEARCH, "search", arg ? arg : "1h");
		break;
	case OPT_SLOW:
		rc = add_phase(opt, QUERY_SLOW, "slow", arg);
		break;
	case OPT_SERVICES:
		rc = add_phase(opt, QUERY_SERVICES, "services", NULL);
		break;
	case OPT_SERVICEMAP:
		rc = add_phase(opt, QUERY_SERVICEMAP, "servicemap", arg);
		break;
	case OPT_BOTTLENECKS:
		rc = add_phase(opt, QUERY_BOTTLENECKS, "bottlenecks", arg);
		break;
	case OPT_SERVICE:
		opt->service = arg;
		rc = *arg ? 0 : -EINVAL;
		break;
	case OPT_END:
		rc = parse_u64(arg, &opt->end_us);
		rc = rc ? rc : (opt->end_us ? 0 : -EINVAL);
		break;
	case OPT_CRITICAL_PATH:
		opt->is_critical_path = 1;
		break;
	case OPT_LIMIT:
		rc = parse_u64(arg, &v);
		opt->limit = (uint32_t)v;
		rc = rc ? rc : (v < 1 || v > 10000 ? -EINVAL : 0);
		break;
	case OPT_HELP:
		usage(stdout);
		exit(0);
	default:
		rc = -EINVAL;
	}
	if (rc < 0)
		fprintf(stderr, "querybench: bad value for option %s\n", argv[optind - 1]);
	return rc;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	int c;

	memset(opt, 0, sizeof(*opt));
	httpc_target_parse(&opt->target, "http://127.0.0.1:4318", "4318");
	opt->target.io_timeout_s = IO_TIMEOUT_S;
	opt->connections = 4;
	opt->expect_spans = -1;
	opt->limit = DEFAULT_LIMIT;
	opt->seed = clock_ns() ^ ((uint64_t)getpid() << 32);
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (apply_option(c, optarg, argv, opt) < 0) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "querybench: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!opt->ids_path == !opt->n_phases) {
		fprintf(stderr, "querybench: give --ids FILE, or endpoints (--search, --slow, "
			"--services, --servicemap, --bottlenecks), not both\n");
		usage(stderr);
		return -EINVAL;
	}
	if (opt->n_phases && opt->direct_dir) {
		fprintf(stderr, "querybench: --direct times trace lookups (--ids) only\n");
		return -EINVAL;
	}
	if (opt->n_phases && opt->is_critical_path) {
		fprintf(stderr, "querybench: --critical-path goes with --ids\n");
		return -EINVAL;
	}
	if (!opt->duration_s && !opt->requests)
		opt->duration_s = 10;
	return 0;
}

/* reads the IDs, opens the store or resolves the server, and finds the
 * services to ask about (run->opt is opt); returns 0, or -1 with a
 * message printed. */
static int prepare(struct run *run, struct options *opt)
{
	if (opt->ids_path && load_ids(run, opt->ids_path) < 0)
		return -1;
	if (opt->direct_dir ? open_store(run) < 0 :
	    httpc_target_resolve(&opt->target, "querybench") < 0)
		return -1;
	if (!opt->n_phases)
		return 0;
	if (!opt->service)
		return load_services(run) < 0 ? -1 : 0;
	add_service(run, opt->service, strlen(opt->service));
	if (run->n_services == 0) {
		fprintf(stderr, "querybench: --service %s: name too long\n", opt->service);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct run run;
	int rc = 2;

	if (parse_options(argc, argv, &opt) < 0)
		return 2;
	memset(&run, 0, sizeof(run));
	run.opt = &opt;
	if (prepare(&run, &opt) == 0) {
		install_signals();
		rc = run_queries(&run);
	}
	tm_store_close(run.store);
	free(run.hex_ids);
	free(run.ids);
	free(run.services);
	return rc;
}
