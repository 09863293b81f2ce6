/* querybench.c - latency of GET /api/traces/{id} on tracemap, and of the
 * store lookup alone as a baseline.
 *
 * HTTP mode: N persistent HTTP/1.1 connections, one blocking thread each,
 * ask for trace IDs picked at random from --ids, read every response in
 * full and check it (status 200; with --expect-spans, the number of spans
 * in the Jaeger JSON).  Direct mode (--direct DATA_DIR) opens the store
 * read-only in this process and times tm_store_trace_get() alone, so the
 * two runs side by side show what HTTP and JSON add to the storage cost.
 *
 * Prints one "name value" line per result on stdout; the first failure goes
 * to stderr.  Exit 0 when no query failed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "httpc.h"
#include "span.h"
#include "store.h"

#define IO_TIMEOUT_S 30
#define MAX_BODY_BYTES (256u << 20)   /* a bigger answer is a failure */
#define HEX_ID_LEN (TM_TRACE_ID_LEN * 2)
#define SPAN_MARKER "\"operationName\""   /* once per Jaeger span object;
					   * "spanID" also appears in references */

/*---- options and shared state ----*/

struct options {
	struct httpc_target target;  /* resolved by main() in HTTP mode */
	const char *ids_path;
	const char *direct_dir;      /* NULL = HTTP mode */
	int connections;
	double duration_s;           /* 0 = not given */
	uint64_t requests;           /* 0 = not given */
	uint64_t seed;
	int64_t expect_spans;        /* -1 = do not check */
};

struct run {
	const struct options *opt;
	char (*hex_ids)[HEX_ID_LEN + 1];
	uint8_t (*ids)[TM_TRACE_ID_LEN];
	size_t n_ids;
	struct tm_store *store;      /* direct mode */
	uint64_t deadline_ns;        /* CLOCK_MONOTONIC; 0 = none */
	atomic_uint_fast64_t next_ticket;
	atomic_uint_fast64_t failed, reconnects, body_bytes, spans;
	atomic_int is_failure_printed;
};

struct worker {
	struct run *run;
	pthread_t thread;
	uint64_t rng;
	struct httpc_conn conn;      /* keeps the whole body of each response */
	struct httpc_latency latency;  /* one per successful query */
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

/* counts a failed query; prints only the first one. */
static void fail_query(struct run *run, const char *hex_id, const char *what)
{
	atomic_fetch_add(&run->failed, 1);
	if (!atomic_exchange(&run->is_failure_printed, 1))
		fprintf(stderr, "querybench: trace %s: %s (further failures are only "
			"counted)\n", hex_id, what);
}

/*---- one query ----*/

/* sends GET /api/traces/{hex_id} and reads the whole response. */
static int http_get(struct worker *w, const char *hex_id, struct httpc_response *r)
{
	const struct httpc_target *t = &w->run->opt->target;
	char head[768];
	int n = snprintf(head, sizeof(head),
			 "GET /api/traces/%s HTTP/1.1\r\nHost: %s:%s\r\n"
			 "User-Agent: tracemap-querybench/0.1\r\n"
			 "Accept: application/json\r\n\r\n",
			 hex_id, t->host, t->port);

	return httpc_exchange(&w->conn, head, (size_t)n, NULL, 0, r);
}

static size_t count_spans(const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	size_t n = 0, marker_len = strlen(SPAN_MARKER);

	while ((p = memmem(p, (size_t)(end - p), SPAN_MARKER, marker_len))) {
		n++;
		p += marker_len;
	}
	return n;
}

/* checks a response and accounts for it; returns 0 when it is a success. */
static int check_answer(struct worker *w, const char *hex_id, const struct httpc_response *r)
{
	struct run *run = w->run;
	char what[128];
	size_t spans;

	if (r->status != 200) {
		snprintf(what, sizeof(what), "HTTP status %d", r->status);
		fail_query(run, hex_id, what);
		return -1;
	}
	spans = count_spans((const char *)r->body, r->body_len);
	if (run->opt->expect_spans >= 0 && spans != (uint64_t)run->opt->expect_spans) {
		snprintf(what, sizeof(what), "%zu spans in the answer, expected %" PRId64,
			 spans, run->opt->expect_spans);
		fail_query(run, hex_id, what);
		return -1;
	}
	atomic_fetch_add(&run->spans, spans);
	atomic_fetch_add(&run->body_bytes, r->body_len);
	return 0;
}

/* one query over HTTP; a keep-alive connection the server has closed is
 * reopened and the query sent again once. */
static void query_http(struct worker *w, const char *hex_id)
{
	struct run *run = w->run;
	struct httpc_response r;

	for (int attempt = 0; attempt < 2; attempt++) {
		int is_reused = httpc_conn_is_open(&w->conn);
		int rc = is_reused ? 0 : httpc_conn_open(&w->conn);
		uint64_t t0 = clock_ns();

		if (rc == 0)
			rc = http_get(w, hex_id, &r);
		if (rc < 0) {
			httpc_conn_close(&w->conn);
			if (is_reused && attempt == 0) {
				atomic_fetch_add(&run->reconnects, 1);
				continue;
			}
			fail_query(run, hex_id, strerror(-rc));
			return;
		}
		if (r.is_close)
			httpc_conn_close(&w->conn);
		if (check_answer(w, hex_id, &r) == 0)
			httpc_latency_add(&w->latency, clock_ns() - t0);
		return;
	}
}

/* one lookup in the store itself, with a fresh arena as the server uses. */
static void query_direct(struct worker *w, size_t i)
{
	struct run *run = w->run;
	struct tm_arena arena;
	struct tm_trace trace;
	char what[128];
	uint64_t t0 = clock_ns(), t1;
	int rc;

	tm_arena_init(&arena, 0);
	rc = tm_store_trace_get(run->store, run->ids[i], &arena, &trace);
	tm_arena_clear(&arena);
	t1 = clock_ns();
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
	httpc_latency_add(&w->latency, t1 - t0);
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

	while (next_ticket(run)) {
		size_t i = (size_t)(rng_next(&w->rng) % run->n_ids);

		if (run->store)
			query_direct(w, i);
		else
			query_http(w, run->hex_ids[i]);
	}
	httpc_conn_close(&w->conn);
	return NULL;
}

/*---- results ----*/

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

static int run_queries(struct run *run)
{
	const struct options *opt = run->opt;
	struct worker *workers = calloc((size_t)opt->connections, sizeof(*workers));
	uint64_t start = clock_ns();

	if (!workers)
		return 2;
	if (opt->duration_s > 0)
		run->deadline_ns = start + (uint64_t)(opt->duration_s * 1e9);
	for (int i = 0; i < opt->connections; i++) {
		workers[i].run = run;
		httpc_conn_init(&workers[i].conn, &opt->target, HTTPC_BODY_WHOLE, MAX_BODY_BYTES);
		workers[i].rng = opt->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1));
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "querybench: cannot start thread %d\n", i);
			exit(2);
		}
	}
	for (int i = 0; i < opt->connections; i++)
		pthread_join(workers[i].thread, NULL);
	print_results(run, workers, (double)(clock_ns() - start) / 1e9);
	for (int i = 0; i < opt->connections; i++) {
		httpc_conn_clear(&workers[i].conn);
		httpc_latency_clear(&workers[i].latency);
	}
	free(workers);
	return atomic_load(&run->failed) == 0 ? 0 : 1;
}

/*---- options ----*/

static void usage(FILE *f)
{
	fprintf(f,
		"usage: querybench --ids FILE [options]\n"
		"  --ids FILE               trace IDs to ask for, one hex ID per line (first word)\n"
		"  --url http://HOST:PORT   server (default http://127.0.0.1:4318)\n"
		"  --direct DATA_DIR        no HTTP: time tm_store_trace_get() on the store, read-only\n"
		"  --connections N          parallel keep-alive connections / threads (default 4)\n"
		"  --duration SECONDS       run this long (default 10 unless --requests)\n"
		"  --requests N             send exactly N queries in total\n"
		"  --seed N                 seed of the random choice of IDs (default: random)\n"
		"  --expect-spans N         fail a query whose trace has not exactly N spans\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || end == s || *end || *s == '-') ? -EINVAL : 0;
}

enum {
	OPT_IDS = 256, OPT_URL, OPT_DIRECT, OPT_CONNECTIONS, OPT_DURATION, OPT_REQUESTS,
	OPT_SEED, OPT_EXPECT, OPT_HELP,
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
	if (!opt->ids_path) {
		fprintf(stderr, "querybench: --ids FILE is required\n");
		usage(stderr);
		return -EINVAL;
	}
	if (!opt->duration_s && !opt->requests)
		opt->duration_s = 10;
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct run run;
	int rc;

	if (parse_options(argc, argv, &opt) < 0)
		return 2;
	memset(&run, 0, sizeof(run));
	run.opt = &opt;
	if (load_ids(&run, opt.ids_path) < 0)
		rc = 2;
	else if (opt.direct_dir ? open_store(&run) < 0 :
		 httpc_target_resolve(&opt.target, "querybench") < 0)
		rc = 2;
	else {
		install_signals();
		rc = run_queries(&run);
	}
	tm_store_close(run.store);
	free(run.hex_ids);
	free(run.ids);
	return rc;
}
