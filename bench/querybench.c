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
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "span.h"
#include "store.h"

#define IO_TIMEOUT_S 30
#define RBUF_BYTES 16384
#define MAX_BODY_BYTES (256u << 20)   /* a bigger answer is a failure */
#define HEX_ID_LEN (TM_TRACE_ID_LEN * 2)
#define SPAN_MARKER "\"operationName\""   /* once per Jaeger span object;
					   * "spanID" also appears in references */

/*---- options and shared state ----*/

struct options {
	char host[256];
	char port[16];
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
	struct sockaddr_storage addr;
	socklen_t addr_len;
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
	int fd;
	unsigned char rbuf[RBUF_BYTES];
	size_t rpos, rlen;
	char *body;                  /* the whole body of the last response */
	size_t body_len, body_cap;
	uint64_t *latency_ns;        /* one per successful query */
	size_t n_latency, cap_latency;
};

struct response {
	int status;
	int64_t content_length;      /* -1 = absent */
	int is_chunked;
	int is_close;
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

static void record_latency(struct worker *w, uint64_t ns)
{
	if (w->n_latency == w->cap_latency) {
		w->cap_latency = w->cap_latency ? w->cap_latency * 2 : 4096;
		w->latency_ns = xrealloc(w->latency_ns, w->cap_latency * sizeof(uint64_t));
	}
	w->latency_ns[w->n_latency++] = ns;
}

/*---- HTTP/1.1 client (the approach of loadgen.c, keeping whole bodies) ----*/

static void conn_close(struct worker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->rpos = w->rlen = 0;
}

static int conn_open(struct worker *w)
{
	struct run *run = w->run;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1;
	int fd = socket(run->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&run->addr, run->addr_len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	w->fd = fd;
	w->rpos = w->rlen = 0;
	return 0;
}

static int send_get(struct worker *w, const char *hex_id)
{
	const struct options *opt = w->run->opt;
	char req[768];
	int n = snprintf(req, sizeof(req),
			 "GET /api/traces/%s HTTP/1.1\r\nHost: %s:%s\r\n"
			 "User-Agent: tracemap-querybench/0.1\r\n"
			 "Accept: application/json\r\n\r\n",
			 hex_id, opt->host, opt->port);
	size_t off = 0;

	while (off < (size_t)n) {
		ssize_t k = send(w->fd, req + off, (size_t)n - off, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		off += (size_t)k;
	}
	return 0;
}

/* reads more bytes into rbuf; returns the count, 0 at EOF, or -errno. */
static ssize_t rbuf_fill(struct worker *w)
{
	ssize_t n;

	if (w->rpos == w->rlen) {
		w->rpos = w->rlen = 0;
	} else if (w->rpos > 0) {
		memmove(w->rbuf, w->rbuf + w->rpos, w->rlen - w->rpos);
		w->rlen -= w->rpos;
		w->rpos = 0;
	}
	if (w->rlen == sizeof(w->rbuf))
		return -EMSGSIZE;
	do
		n = recv(w->fd, w->rbuf + w->rlen, sizeof(w->rbuf) - w->rlen, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	w->rlen += (size_t)n;
	return n;
}

/* returns a NUL-terminated line (CRLF cut off) from rbuf, or NULL. */
static char *rbuf_line(struct worker *w, int *err)
{
	for (;;) {
		unsigned char *start = w->rbuf + w->rpos;
		unsigned char *crlf = memmem(start, w->rlen - w->rpos, "\r\n", 2);
		ssize_t n;

		if (crlf) {
			*crlf = 0;
			w->rpos = (size_t)(crlf + 2 - w->rbuf);
			return (char *)start;
		}
		n = rbuf_fill(w);
		if (n <= 0) {
			*err = n < 0 ? (int)n : -ECONNRESET;
			return NULL;
		}
	}
}

static void parse_header(char *line, struct response *r)
{
	char *colon = strchr(line, ':');
	char *val;

	if (!colon)
		return;
	*colon = 0;
	for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
		;
	if (strcasecmp(line, "Content-Length") == 0)
		r->content_length = strtoll(val, NULL, 10);
	else if (strcasecmp(line, "Transfer-Encoding") == 0)
		r->is_chunked = strcasestr(val, "chunked") != NULL;
	else if (strcasecmp(line, "Connection") == 0)
		r->is_close = strcasestr(val, "close") != NULL;
}

static int read_head(struct worker *w, struct response *r)
{
	int err = 0;
	char *line = rbuf_line(w, &err);

	if (!line)
		return err;
	if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
		return -EPROTO;
	r->status = atoi(line + 9);
	if (line[7] == '0')
		r->is_close = 1;   /* HTTP/1.0 without keep-alive */
	while ((line = rbuf_line(w, &err)) && *line)
		parse_header(line, r);
	return line ? 0 : err;
}

/* appends n body bytes (or up to EOF when n < 0) to w->body. */
static int read_body_bytes(struct worker *w, int64_t n)
{
	while (n != 0) {
		size_t avail = w->rlen - w->rpos;
		size_t take;
		ssize_t got;

		if (avail == 0) {
			got = rbuf_fill(w);
			if (got == 0 && n < 0)
				return 0;
			if (got <= 0)
				return got < 0 ? (int)got : -ECONNRESET;
			continue;
		}
		take = (n < 0 || (uint64_t)n > avail) ? avail : (size_t)n;
		if (w->body_len + take > MAX_BODY_BYTES)
			return -EMSGSIZE;
		if (w->body_len + take + 1 > w->body_cap) {
			w->body_cap = (w->body_len + take + 1) * 2;
			w->body = xrealloc(w->body, w->body_cap);
		}
		memcpy(w->body + w->body_len, w->rbuf + w->rpos, take);
		w->body_len += take;
		w->rpos += take;
		if (n > 0)
			n -= (int64_t)take;
	}
	return 0;
}

static int read_chunked(struct worker *w)
{
	int err = 0;

	for (;;) {
		char *line = rbuf_line(w, &err);
		int64_t size;

		if (!line)
			return err;
		size = strtoll(line, NULL, 16);
		if (size < 0)
			return -EPROTO;
		if (size == 0)
			break;
		err = read_body_bytes(w, size);
		if (err < 0)
			return err;
		if (!(line = rbuf_line(w, &err)))
			return err;
	}
	for (;;) {   /* trailers, up to the empty line */
		char *line = rbuf_line(w, &err);

		if (!line)
			return err;
		if (!*line)
			return 0;
	}
}

/* sends GET /api/traces/{hex_id} and reads the whole response into w->body
 * (NUL-terminated). */
static int http_get(struct worker *w, const char *hex_id, struct response *r)
{
	int rc = send_get(w, hex_id);

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	w->body_len = 0;
	if (rc == 0)
		rc = read_head(w, r);
	if (rc < 0)
		return rc;
	if (r->is_chunked) {
		rc = read_chunked(w);
	} else if (r->content_length >= 0) {
		rc = read_body_bytes(w, r->content_length);
	} else {
		r->is_close = 1;
		rc = read_body_bytes(w, -1);
	}
	if (w->body)
		w->body[w->body_len] = 0;
	return rc;
}

/*---- one query ----*/

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
static int check_answer(struct worker *w, const char *hex_id, const struct response *r)
{
	struct run *run = w->run;
	char what[128];
	size_t spans;

	if (r->status != 200) {
		snprintf(what, sizeof(what), "HTTP status %d", r->status);
		fail_query(run, hex_id, what);
		return -1;
	}
	spans = count_spans(w->body, w->body_len);
	if (run->opt->expect_spans >= 0 && spans != (uint64_t)run->opt->expect_spans) {
		snprintf(what, sizeof(what), "%zu spans in the answer, expected %" PRId64,
			 spans, run->opt->expect_spans);
		fail_query(run, hex_id, what);
		return -1;
	}
	atomic_fetch_add(&run->spans, spans);
	atomic_fetch_add(&run->body_bytes, w->body_len);
	return 0;
}

/* one query over HTTP; a keep-alive connection the server has closed is
 * reopened and the query sent again once. */
static void query_http(struct worker *w, const char *hex_id)
{
	struct run *run = w->run;
	struct response r;

	for (int attempt = 0; attempt < 2; attempt++) {
		int is_reused = w->fd >= 0;
		int rc = is_reused ? 0 : conn_open(w);
		uint64_t t0 = clock_ns();

		if (rc == 0)
			rc = http_get(w, hex_id, &r);
		if (rc < 0) {
			conn_close(w);
			if (is_reused && attempt == 0) {
				atomic_fetch_add(&run->reconnects, 1);
				continue;
			}
			fail_query(run, hex_id, strerror(-rc));
			return;
		}
		if (r.is_close)
			conn_close(w);
		if (check_answer(w, hex_id, &r) == 0)
			record_latency(w, clock_ns() - t0);
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
	record_latency(w, t1 - t0);
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
	conn_close(w);
	return NULL;
}

/*---- results ----*/

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static double percentile_ms(const uint64_t *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	return (double)sorted[(size_t)(q * (double)(n - 1) + 0.5)] / 1e6;
}

static void print_results(struct run *run, struct worker *workers, double elapsed_s)
{
	size_t n = 0, k = 0;
	uint64_t *all;

	for (int i = 0; i < run->opt->connections; i++)
		n += workers[i].n_latency;
	all = xrealloc(NULL, n * sizeof(*all));
	for (int i = 0; i < run->opt->connections; i++) {
		if (workers[i].n_latency)
			memcpy(all + k, workers[i].latency_ns,
			       workers[i].n_latency * sizeof(*all));
		k += workers[i].n_latency;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	printf("mode %s\n", run->store ? "direct" : "http");
	printf("connections %d\n", run->opt->connections);
	printf("ids %zu\n", run->n_ids);
	printf("queries %zu\n", n);
	printf("failed %" PRIu64 "\n", (uint64_t)atomic_load(&run->failed));
	printf("reconnects %" PRIu64 "\n", (uint64_t)atomic_load(&run->reconnects));
	printf("elapsed_s %.3f\n", elapsed_s);
	printf("qps %.0f\n", elapsed_s > 0 ? (double)n / elapsed_s : 0.0);
	printf("latency_p50_ms %.3f\n", percentile_ms(all, n, 0.50));
	printf("latency_p90_ms %.3f\n", percentile_ms(all, n, 0.90));
	printf("latency_p99_ms %.3f\n", percentile_ms(all, n, 0.99));
	printf("latency_max_ms %.3f\n", n ? (double)all[n - 1] / 1e6 : 0.0);
	printf("spans_per_response %.1f\n",
	       n ? (double)atomic_load(&run->spans) / (double)n : 0.0);
	if (!run->store)
		printf("bytes_per_response %.0f\n",
		       n ? (double)atomic_load(&run->body_bytes) / (double)n : 0.0);
	free(all);
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

static int resolve(struct run *run)
{
	const struct options *opt = run->opt;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(opt->host, opt->port, &hints, &res);

	if (rc != 0) {
		fprintf(stderr, "querybench: %s:%s: %s\n", opt->host, opt->port, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&run->addr, res->ai_addr, res->ai_addrlen);
	run->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
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
		workers[i].fd = -1;
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
		free(workers[i].body);
		free(workers[i].latency_ns);
	}
	free(workers);
	return atomic_load(&run->failed) == 0 ? 0 : 1;
}

/*---- options ----*/

static int parse_url(const char *url, struct options *opt)
{
	const char *hostport = url, *end, *colon;
	size_t host_len;

	if (strncmp(url, "http://", 7) == 0)
		hostport = url + 7;
	else if (strstr(url, "://"))
		return -EINVAL;   /* no TLS here */
	end = hostport + strcspn(hostport, "/");
	colon = memchr(hostport, ':', (size_t)(end - hostport));
	host_len = (size_t)((colon ? colon : end) - hostport);
	if (host_len == 0 || host_len >= sizeof(opt->host))
		return -EINVAL;
	memcpy(opt->host, hostport, host_len);
	opt->host[host_len] = 0;
	snprintf(opt->port, sizeof(opt->port), "%.*s", colon ? (int)(end - colon - 1) : 4,
		 colon ? colon + 1 : "4318");
	return 0;
}

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
		rc = parse_url(arg, opt);
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
	parse_url("http://127.0.0.1:4318", opt);
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
	else if (opt.direct_dir ? open_store(&run) < 0 : resolve(&run) < 0)
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
