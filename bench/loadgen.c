/* loadgen.c - HTTP load generator for tracemap's span ingest.
 *
 * Sends batches of spans over N persistent HTTP/1.1 connections, one
 * blocking thread per connection, in one of three formats: OTLP protobuf or
 * OTLP/JSON (POST /v1/traces), or Zipkin v2 JSON (POST /api/v2/spans).
 * Bodies come from templates generated once (otlpgen.c); request number t
 * sends template t % n patched for round t / n, so every request carries
 * fresh IDs while the pieces of one trace keep one trace ID.  The same seed
 * gives the same spans in every format.  Times follow the wall clock, or,
 * with --spread, a virtual clock that moves trace by trace from the start
 * of a past window to now over the run's budget of spans, requests or
 * traces.  --traces N sends exactly N whole traces: the templates then hold
 * a divisor of N traces, each round all of them.
 *
 * Prints one "name value" line per result on stdout; progress and the first
 * failure of each kind go to stderr.  Exit 0 when no request failed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "httpc.h"
#include "otlpgen.h"

#define DEFAULT_TEMPLATE_SPANS 100000
#define MAX_RETRIES 100          /* 429/503 answers for one request */
#define MAX_IO_ERRORS 5          /* consecutive connect/send/receive failures */
#define RETRY_WAIT_CAP_MS 1000   /* Retry-After is capped for benchmarking */
#define RETRY_WAIT_DEFAULT_MS 100
#define IO_TIMEOUT_S 120
#define KEEP_BODY_BYTES 1024     /* response body bytes kept for messages */
#define ROUND_RING 256

/*---- options ----*/

struct options {
	struct httpc_target target;  /* resolved by main() */
	enum otlpgen_format format;
	int connections;
	double duration_s;           /* 0 = not given */
	uint64_t requests;           /* 0 = not given */
	uint64_t spans;              /* 0 = not given */
	uint64_t traces;             /* 0 = not given */
	double spread_s;             /* 0 = times follow the wall clock */
	uint32_t trace_spans_min, trace_spans_max;   /* 0, 0 = the generator's */
	uint32_t services;           /* 0 = the generator's 20 */
	const char *entry;           /* the root service of every trace; NULL = any */
	uint32_t spans_per_batch;
	uint64_t template_spans;
	uint64_t seed;
	int has_seed;
	long server_pid;             /* 0 = not given */
	const char *ids_out;
	int is_gzip;
	int is_quiet;
	const char *dump_batch;
	const char *dump_dir;
	uint64_t dump_count;
	double rate;                 /* spans/s to pace at; 0 = as fast as answered */
	double report_every_s;       /* 0 = no interval lines */
};

/*---- shared run state ----*/

struct round_slot {
	uint64_t round_plus_1;
	uint64_t shift_ns;
};

struct run {
	const struct options *opt;
	struct otlpgen_set set;
	uint64_t base_time_ns;       /* CLOCK_REALTIME the templates start at */
	uint64_t request_limit;      /* from --requests, --spans, --traces; 0 = none */
	uint64_t template_traces;    /* --traces: traces the templates must hold */
	uint64_t trace_step_ns;      /* --spread: virtual time between traces */
	uint64_t start_mono_ns;
	uint64_t deadline_mono_ns;   /* 0 = none */

	atomic_uint_fast64_t next_ticket;
	atomic_uint_fast64_t spans_sent, spans_acked, spans_rejected, roots_acked;
	atomic_uint_fast64_t requests_ok, requests_failed, requests_retried;
	atomic_uint_fast64_t retries_without_retry_after;   /* 429/503 lacking the header */
	atomic_uint_fast64_t reconnects, bytes_sent;
	atomic_uint_fast64_t body_bytes;   /* of every request started, once */
	atomic_uint_fast64_t paced_spans;  /* --rate: spans scheduled so far */
	atomic_int workers_running;

	pthread_mutex_t lock;        /* guards everything below */
	struct round_slot rounds[ROUND_RING];
	int seen_status[32];         /* failures already printed, by status */
	size_t n_seen_status;
	FILE *ids_out;
	struct httpc_latency interval;   /* --report-every: this interval's requests */
};

struct worker {
	struct run *run;
	pthread_t thread;
	struct httpc_conn conn;
	unsigned char *body;         /* patched copy of the current template */
	size_t body_cap;
	const unsigned char *send_body;
	size_t send_len;
#ifdef HAVE_ZLIB
	z_stream zs;
	unsigned char *zbody;
	size_t zbody_cap;
#endif
	struct httpc_latency latency;  /* one per acknowledged request */
};

/* how each format travels over HTTP */
static const struct {
	const char *path;
	const char *content_type;
	const char *file_ext;        /* of --dump-batches files */
} formats[] = {
	[OTLPGEN_OTLP_PROTO] = { "/v1/traces", "application/x-protobuf", "pb" },
	[OTLPGEN_OTLP_JSON] = { "/v1/traces", "application/json", "json" },
	[OTLPGEN_ZIPKIN_JSON] = { "/api/v2/spans", "application/json", "json" },
};

static atomic_int stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, 1);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !atomic_load(&stop_requested))
		;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(2);
	}
	return p;
}

/*---- reporting failures once ----*/

/* extracts google.rpc.Status.message (field 2) from a protobuf error body. */
static int rpc_status_message(const unsigned char *p, size_t len, char *out, size_t size)
{
	const unsigned char *end = p + len;

	while (p < end) {
		uint64_t key = 0, v = 0;
		int shift = 0;

		while (p < end && shift < 64) {
			key |= (uint64_t)(*p & 0x7F) << shift;
			shift += 7;
			if (!(*p++ & 0x80))
				break;
		}
		if ((key & 7) == 0 || (key & 7) == 2) {
			for (shift = 0; p < end && shift < 64; shift += 7) {
				v |= (uint64_t)(*p & 0x7F) << shift;
				if (!(*p++ & 0x80))
					break;
			}
		} else {
			return -1;
		}
		if ((key & 7) == 2) {
			if (v > (uint64_t)(end - p))
				return -1;
			if ((key >> 3) == 2) {
				snprintf(out, size, "%.*s", (int)v, (const char *)p);
				return 0;
			}
			p += v;
		}
	}
	return -1;
}

/* the message of an error answer: google.rpc.Status.message for protobuf,
 * else the printable bytes of the body (JSON or plain text). */
static void describe_body(const struct options *opt, const struct httpc_response *r,
			  char *out, size_t size)
{
	size_t n = 0;

	if (opt->format == OTLPGEN_OTLP_PROTO &&
	    rpc_status_message(r->body, r->body_len, out, size) == 0 && out[0])
		return;
	for (size_t i = 0; i < r->body_len && n + 1 < size; i++) {
		unsigned char c = r->body[i];

		out[n++] = (c >= 0x20 && c < 0x7F) ? (char)c : '.';
	}
	while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r' || r->body[n - 1] == ' '))
		n--;   /* a text answer's final newline */
	out[n] = 0;
}

/* prints the first failure of each kind (an HTTP status, or 0 for I/O). */
static void report_failure_once(struct run *run, int status, const char *what)
{
	int is_new = 1;

	pthread_mutex_lock(&run->lock);
	for (size_t i = 0; i < run->n_seen_status; i++)
		is_new &= run->seen_status[i] != status;
	if (is_new && run->n_seen_status < sizeof(run->seen_status) / sizeof(int))
		run->seen_status[run->n_seen_status++] = status;
	pthread_mutex_unlock(&run->lock);
	if (is_new)
		fprintf(stderr, "loadgen: request failed: %s (further failures of this kind "
			"are only counted)\n", what);
}

/*---- preparing a request ----*/

/* sends the prepared body and reads the whole response. */
static int http_exchange(struct worker *w, struct httpc_response *r)
{
	const struct options *opt = w->run->opt;
	char head[768];
	int n = snprintf(head, sizeof(head),
			 "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
			 "User-Agent: tracemap-loadgen/0.1\r\n"
			 "Content-Type: %s\r\n%s"
			 "Content-Length: %zu\r\n\r\n",
			 opt->target.path, opt->target.host, opt->target.port,
			 formats[opt->format].content_type,
			 opt->is_gzip ? "Content-Encoding: gzip\r\n" : "", w->send_len);

	return httpc_exchange(&w->conn, head, (size_t)n, w->send_body, w->send_len, r);
}

/* the time shift of a round: how far the wall clock has moved since the
 * templates were made, fixed the first time anyone asks for that round. */
static uint64_t round_shift(struct run *run, uint64_t round)
{
	struct round_slot *slot = &run->rounds[round % ROUND_RING];
	uint64_t shift;

	pthread_mutex_lock(&run->lock);
	if (slot->round_plus_1 != round + 1) {
		uint64_t now = clock_ns(CLOCK_REALTIME);

		slot->round_plus_1 = round + 1;
		slot->shift_ns = now > run->base_time_ns ? now - run->base_time_ns : 0;
	}
	shift = slot->shift_ns;
	pthread_mutex_unlock(&run->lock);
	return shift;
}

#ifdef HAVE_ZLIB
static int gzip_body(struct worker *w)
{
	size_t bound = deflateBound(&w->zs, w->send_len);

	if (bound > w->zbody_cap) {
		free(w->zbody);
		w->zbody_cap = bound;
		w->zbody = xmalloc(bound);
	}
	deflateReset(&w->zs);
	w->zs.next_in = (unsigned char *)w->send_body;
	w->zs.avail_in = (unsigned)w->send_len;
	w->zs.next_out = w->zbody;
	w->zs.avail_out = (unsigned)w->zbody_cap;
	if (deflate(&w->zs, Z_FINISH) != Z_STREAM_END)
		return -EIO;
	w->send_body = w->zbody;
	w->send_len = w->zs.total_out;
	return 0;
}
#endif

static const struct otlpgen_template *prepare_body(struct worker *w, uint64_t ticket)
{
	struct run *run = w->run;
	const struct otlpgen_template *t = &run->set.items[ticket % run->set.n];
	uint64_t round = ticket / run->set.n;
	struct otlpgen_round r;

	if (t->len > w->body_cap) {
		free(w->body);
		w->body_cap = t->len;
		w->body = xmalloc(t->len);
	}
	memcpy(w->body, t->body, t->len);
	otlpgen_round_init(&r, run->opt->seed, round);
	if (run->trace_step_ns) {
		/* trace k of the round is trace round * n_traces + k of the run */
		r.trace_step_ns = run->trace_step_ns;
		r.time_shift_ns = round * run->set.n_traces * run->trace_step_ns;
	} else {
		r.time_shift_ns = round_shift(run, round);
	}
	otlpgen_patch(t, &r, w->body);
	w->send_body = w->body;
	w->send_len = t->len;
#ifdef HAVE_ZLIB
	if (run->opt->is_gzip && gzip_body(w) < 0) {
		fprintf(stderr, "loadgen: gzip failed\n");
		exit(2);
	}
#endif
	return t;
}

/*---- handling answers ----*/

/* rejectedSpans of an OTLP/JSON partialSuccess (a string or a number). */
static uint64_t rejected_spans_json(const struct httpc_response *r)
{
	const char *p = strstr((const char *)r->body, "\"rejectedSpans\"");

	if (!p)
		return 0;
	p += strlen("\"rejectedSpans\"");
	p += strspn(p, " \t\r\n:\"");
	return strtoull(p, NULL, 10);
}

/* rejected_spans of an ExportTraceServiceResponse's partial_success; a
 * Zipkin answer has none. */
static uint64_t rejected_spans(const struct options *opt, const struct httpc_response *r)
{
	if (opt->format == OTLPGEN_OTLP_JSON)
		return rejected_spans_json(r);
	if (opt->format != OTLPGEN_OTLP_PROTO)
		return 0;
	const unsigned char *p = r->body + 1, *end = r->body + r->body_len;

	/* 0A len { 08 varint ... }: partial_success with rejected_spans first,
	 * which is how protobuf writers order it */
	if (r->body_len < 4 || r->body[0] != 0x0A)
		return 0;
	while (p < end && (*p & 0x80))
		p++;
	p++;
	if (p < end && *p == 0x08) {
		uint64_t v = 0;
		int shift = 0;

		for (p++; p < end && shift < 64; p++, shift += 7) {
			v |= (uint64_t)(*p & 0x7F) << shift;
			if (!(*p & 0x80))
				break;
		}
		return v;
	}
	return 0;
}

static void write_ids(struct worker *w, const struct otlpgen_template *t)
{
	size_t line = OTLPGEN_TRACE_ID_LEN * 2 + 1 + OTLPGEN_SPAN_ID_LEN * 2 + 1;
	char *out = xmalloc(line * t->n_spans);
	char *o = out;

	for (uint32_t i = 0; i < t->n_spans; i++) {
		char trace_hex[OTLPGEN_TRACE_ID_LEN * 2 + 1], span_hex[OTLPGEN_SPAN_ID_LEN * 2 + 1];

		otlpgen_span_ids_hex(t, w->body, i, trace_hex, span_hex);
		memcpy(o, trace_hex, OTLPGEN_TRACE_ID_LEN * 2);
		o += OTLPGEN_TRACE_ID_LEN * 2;
		*o++ = ' ';
		memcpy(o, span_hex, OTLPGEN_SPAN_ID_LEN * 2);
		o += OTLPGEN_SPAN_ID_LEN * 2;
		*o++ = '\n';
	}
	pthread_mutex_lock(&w->run->lock);
	fwrite(out, 1, (size_t)(o - out), w->run->ids_out);
	pthread_mutex_unlock(&w->run->lock);
	free(out);
}

static void on_success(struct worker *w, const struct otlpgen_template *t,
		       const struct httpc_response *r, uint64_t latency_ns)
{
	struct run *run = w->run;
	uint64_t rejected = rejected_spans(run->opt, r);

	if (rejected > t->n_spans)
		rejected = t->n_spans;
	if (rejected) {
		atomic_fetch_add(&run->spans_rejected, rejected);
		report_failure_once(run, -1, "partial success: the server rejected spans");
	}
	atomic_fetch_add(&run->spans_acked, t->n_spans - rejected);
	/* which spans were rejected is unknown: count roots only when none was */
	if (!rejected)
		atomic_fetch_add(&run->roots_acked, t->n_roots);
	atomic_fetch_add(&run->requests_ok, 1);
	httpc_latency_add(&w->latency, latency_ns);
	if (run->opt->report_every_s > 0) {
		pthread_mutex_lock(&run->lock);
		httpc_latency_add(&run->interval, latency_ns);
		pthread_mutex_unlock(&run->lock);
	}
	if (run->ids_out)
		write_ids(w, t);
}

static void on_failure(struct worker *w, int status, const char *what)
{
	atomic_fetch_add(&w->run->requests_failed, 1);
	report_failure_once(w->run, status, what);
}

static void on_bad_status(struct worker *w, const struct httpc_response *r)
{
	char text[256], what[320];

	describe_body(w->run->opt, r, text, sizeof(text));
	snprintf(what, sizeof(what), "HTTP %d: %s", r->status, text);
	on_failure(w, r->status, what);
}

static unsigned retry_wait_ms(const struct httpc_response *r)
{
	if (r->retry_after_s < 0)
		return RETRY_WAIT_DEFAULT_MS;
	if (r->retry_after_s * 1000 > RETRY_WAIT_CAP_MS)
		return RETRY_WAIT_CAP_MS;
	return (unsigned)r->retry_after_s * 1000;
}

/* sends one request until it is answered: reconnects when the server closed
 * the connection, waits and retries on 429/503. */
static void deliver(struct worker *w, const struct otlpgen_template *t)
{
	struct run *run = w->run;
	struct httpc_response r;
	int retries = 0, io_errors = 0;

	atomic_fetch_add(&run->spans_sent, t->n_spans);
	atomic_fetch_add(&run->body_bytes, w->send_len);
	for (;;) {
		uint64_t t0 = 0;
		int rc = httpc_conn_is_open(&w->conn) ? 0 : httpc_conn_open(&w->conn);

		if (rc == 0) {
			t0 = clock_ns(CLOCK_MONOTONIC);
			rc = http_exchange(w, &r);
		}
		if (rc < 0) {
			char what[128];

			httpc_conn_close(&w->conn);
			if (++io_errors >= MAX_IO_ERRORS || atomic_load(&stop_requested)) {
				snprintf(what, sizeof(what), "connection: %s", strerror(-rc));
				on_failure(w, 0, what);
				return;
			}
			atomic_fetch_add(&run->reconnects, 1);
			if (io_errors > 1)
				sleep_ms(100);
			continue;
		}
		atomic_fetch_add(&run->bytes_sent, w->send_len);
		io_errors = 0;
		if (r.is_close)
			httpc_conn_close(&w->conn);
		if (r.status / 100 == 2) {
			on_success(w, t, &r, clock_ns(CLOCK_MONOTONIC) - t0);
			return;
		}
		if (r.status != 429 && r.status != 503) {
			on_bad_status(w, &r);
			return;
		}
		atomic_fetch_add(&run->requests_retried, 1);
		if (r.retry_after_s < 0)
			atomic_fetch_add(&run->retries_without_retry_after, 1);
		if (++retries > MAX_RETRIES) {
			on_failure(w, -2, "gave up after too many 429/503 answers");
			return;
		}
		sleep_ms(retry_wait_ms(&r));
	}
}

static int next_ticket(struct run *run, uint64_t *ticket)
{
	if (atomic_load(&stop_requested))
		return 0;
	if (run->deadline_mono_ns && clock_ns(CLOCK_MONOTONIC) >= run->deadline_mono_ns)
		return 0;
	*ticket = atomic_fetch_add(&run->next_ticket, 1);
	return !run->request_limit || *ticket < run->request_limit;
}

/* --rate: the request of n spans goes when the run's schedule says, so the
 * load stays the same while answers slow down (an open loop, as services
 * that produce spans at their own pace are) */
static void wait_for_schedule(struct run *run, uint64_t n_spans)
{
	uint64_t before = atomic_fetch_add(&run->paced_spans, n_spans);
	uint64_t due = run->start_mono_ns + (uint64_t)((double)before * 1e9 / run->opt->rate);

	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (now >= due || atomic_load(&stop_requested))
			return;
		if (run->deadline_mono_ns && now >= run->deadline_mono_ns)
			return;
		sleep_ms((unsigned)((due - now) / 1000000 < 100 ? (due - now) / 1000000 + 1 : 100));
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t ticket;

	while (next_ticket(w->run, &ticket)) {
		const struct otlpgen_template *t = prepare_body(w, ticket);

		if (w->run->opt->rate > 0)
			wait_for_schedule(w->run, t->n_spans);
		deliver(w, t);
	}
	httpc_conn_close(&w->conn);
	atomic_fetch_sub(&w->run->workers_running, 1);
	return NULL;
}

/*---- server memory sampler ----*/

struct rss_sampler {
	long pid;
	atomic_int is_stopping;
	pthread_t thread;
	uint64_t peak_rss_kb, peak_anon_kb, peak_file_kb;
	uint64_t samples;
};

static uint64_t status_field_kb(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

static int sample_rss(struct rss_sampler *s, const char *path)
{
	char text[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	uint64_t v;

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	text[n] = 0;
	if ((v = status_field_kb(text, "\nVmRSS:")) > s->peak_rss_kb)
		s->peak_rss_kb = v;
	if ((v = status_field_kb(text, "\nRssAnon:")) > s->peak_anon_kb)
		s->peak_anon_kb = v;
	if ((v = status_field_kb(text, "\nRssFile:")) > s->peak_file_kb)
		s->peak_file_kb = v;
	s->samples++;
	return 0;
}

static void *sampler_main(void *arg)
{
	struct rss_sampler *s = arg;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/status", s->pid);
	while (!atomic_load(&s->is_stopping)) {
		if (sample_rss(s, path) < 0)
			break;   /* the server is gone */
		sleep_ms(100);
	}
	return NULL;
}

/*---- results ----*/

static void print_latency(struct worker *workers, int n_workers)
{
	struct httpc_latency all = { 0 };

	for (int i = 0; i < n_workers; i++)
		httpc_latency_merge(&all, &workers[i].latency);
	printf("latency_p50_ms %.2f\n", httpc_latency_ms(&all, 0.50));
	printf("latency_p99_ms %.2f\n", httpc_latency_ms(&all, 0.99));
	printf("latency_max_ms %.2f\n", httpc_latency_ms(&all, 1));
	httpc_latency_clear(&all);
}

static void print_results(struct run *run, struct worker *workers, double elapsed_s,
			  const struct rss_sampler *rss)
{
	uint64_t acked = atomic_load(&run->spans_acked);
	uint64_t sent = atomic_load(&run->spans_sent);

	printf("seed %" PRIu64 "\n", run->opt->seed);
	printf("format %s\n", otlpgen_format_name(run->opt->format));
	printf("spans_sent %" PRIu64 "\n", sent);
	printf("spans_acked %" PRIu64 "\n", acked);
	printf("spans_rejected %" PRIu64 "\n", (uint64_t)atomic_load(&run->spans_rejected));
	printf("requests_ok %" PRIu64 "\n", (uint64_t)atomic_load(&run->requests_ok));
	printf("requests_failed %" PRIu64 "\n", (uint64_t)atomic_load(&run->requests_failed));
	printf("requests_retried %" PRIu64 "\n", (uint64_t)atomic_load(&run->requests_retried));
	printf("retries_without_retry_after %" PRIu64 "\n",
	       (uint64_t)atomic_load(&run->retries_without_retry_after));
	printf("reconnects %" PRIu64 "\n", (uint64_t)atomic_load(&run->reconnects));
	printf("bytes_sent %" PRIu64 "\n", (uint64_t)atomic_load(&run->bytes_sent));
	printf("bytes_per_span %.0f\n",
	       sent ? (double)atomic_load(&run->body_bytes) / (double)sent : 0.0);
	printf("spans_per_trace %.1f\n", (double)run->set.n_spans / (double)run->set.n_traces);
	printf("traces_acked %" PRIu64 "\n", (uint64_t)atomic_load(&run->roots_acked));
	printf("services %u\n", run->opt->services ? run->opt->services : OTLPGEN_SERVICES_DEFAULT);
	if (run->opt->spread_s > 0)
		printf("spread_s %.0f\n", run->opt->spread_s);
	printf("elapsed_s %.3f\n", elapsed_s);
	printf("spans_per_s %.0f\n", elapsed_s > 0 ? (double)acked / elapsed_s : 0.0);
	print_latency(workers, run->opt->connections);
	if (rss) {
		printf("server_peak_rss_mb %.1f\n", rss->peak_rss_kb / 1024.0);
		printf("server_peak_rss_anon_mb %.1f\n", rss->peak_anon_kb / 1024.0);
		printf("server_peak_rss_file_mb %.1f\n", rss->peak_file_kb / 1024.0);
	}
}

/*---- options ----*/

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen [options]\n"
		"  --url http://HOST:PORT[/PATH]   server (default http://127.0.0.1:4318; path\n"
		"                           /v1/traces, or /api/v2/spans for zipkin-json)\n"
		"  --format FORMAT          otlp-proto (default), otlp-json or zipkin-json\n"
		"  --connections N          parallel keep-alive connections (default 8)\n"
		"  --duration SECONDS       run this long (default 10 unless --requests/--spans)\n"
		"  --requests N             send exactly N requests in total\n"
		"  --spans N                send the fewest requests that hold N spans\n"
		"  --traces N               send exactly N whole traces (the templates hold a\n"
		"                           divisor of N traces; --template-spans bounds it)\n"
		"  --spans-per-batch N      spans per request (default 512)\n"
		"  --trace-spans MIN-MAX    spans per trace, uniform (default 5-50; N = exactly N)\n"
		"  --spread SECONDS         trace k of K starts at now - SECONDS + k * SECONDS / K,\n"
		"                           K from --requests, --spans or --traces (one is needed)\n"
		"  --services N             services of the simulated system (default 20; at most\n"
		"                           1000; beyond 20 copies named frontend-2, ...)\n"
		"  --entry SERVICE          every trace's root span is in SERVICE\n"
		"  --template-spans N       spans pre-generated as templates (default 100000)\n"
		"  --seed N                 generator and ID-mask seed (default: random)\n"
		"  --server-pid PID         sample /proc/PID/status every 100 ms, report peaks\n"
		"  --ids-out FILE           write 'traceid spanid' per acknowledged span\n"
		"  --rate SPANS_PER_S       pace requests to this many spans per second\n"
		"  --report-every SECONDS   print an 'interval' line (spans/s, latency p50/p99,\n"
		"                           the server's RSS with --server-pid) this often\n"
		"  --gzip                   gzip request bodies (if built with zlib)\n"
		"  --quiet                  no progress lines on stderr\n"
		"  --dump-batch FILE        write one request body to FILE and exit\n"
		"  --dump-batches DIR N     write N bodies as DIR/batch-000.pb (.json) ... and exit\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || end == s || *end || *s == '-') ? -EINVAL : 0;
}

/* "N" or "MIN-MAX" within 1 .. OTLPGEN_TRACE_SPANS_LIMIT. */
static int parse_range(const char *s, uint32_t *min, uint32_t *max)
{
	char text[64];
	char *dash;
	uint64_t lo, hi;

	snprintf(text, sizeof(text), "%s", s);
	dash = strchr(text, '-');
	if (dash)
		*dash = 0;
	if (parse_u64(text, &lo) < 0 || (dash && parse_u64(dash + 1, &hi) < 0))
		return -EINVAL;
	if (!dash)
		hi = lo;
	if (lo < 1 || lo > hi || hi > OTLPGEN_TRACE_SPANS_LIMIT)
		return -EINVAL;
	*min = (uint32_t)lo;
	*max = (uint32_t)hi;
	return 0;
}

enum {
	OPT_URL = 256, OPT_FORMAT, OPT_CONNECTIONS, OPT_DURATION, OPT_REQUESTS, OPT_SPANS,
	OPT_TRACES, OPT_SPB, OPT_TRACE_SPANS, OPT_SPREAD, OPT_SERVICES, OPT_ENTRY,
	OPT_TEMPLATE_SPANS, OPT_SEED, OPT_PID, OPT_IDS_OUT, OPT_GZIP, OPT_QUIET, OPT_DUMP,
	OPT_DUMPS, OPT_RATE, OPT_REPORT_EVERY, OPT_HELP,
};

static const struct option long_options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "spans", required_argument, NULL, OPT_SPANS },
	{ "traces", required_argument, NULL, OPT_TRACES },
	{ "spans-per-batch", required_argument, NULL, OPT_SPB },
	{ "trace-spans", required_argument, NULL, OPT_TRACE_SPANS },
	{ "spread", required_argument, NULL, OPT_SPREAD },
	{ "services", required_argument, NULL, OPT_SERVICES },
	{ "entry", required_argument, NULL, OPT_ENTRY },
	{ "template-spans", required_argument, NULL, OPT_TEMPLATE_SPANS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "server-pid", required_argument, NULL, OPT_PID },
	{ "ids-out", required_argument, NULL, OPT_IDS_OUT },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "report-every", required_argument, NULL, OPT_REPORT_EVERY },
	{ "gzip", no_argument, NULL, OPT_GZIP },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "dump-batch", required_argument, NULL, OPT_DUMP },
	{ "dump-batches", required_argument, NULL, OPT_DUMPS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* handles one option; returns 0, or -EINVAL with a message printed. */
static int apply_option(int c, const char *arg, int argc, char **argv, struct options *opt)
{
	uint64_t v = 0;
	int rc = 0;

	switch (c) {
	case OPT_URL:
		rc = httpc_target_parse(&opt->target, arg, "4318");
		break;
	case OPT_FORMAT:
		rc = otlpgen_format_parse(arg, &opt->format) < 0 ? -EINVAL : 0;
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
	case OPT_SPANS:
		rc = parse_u64(arg, &opt->spans);
		rc = rc ? rc : (opt->spans ? 0 : -EINVAL);
		break;
	case OPT_TRACES:
		rc = parse_u64(arg, &opt->traces);
		rc = rc ? rc : (opt->traces ? 0 : -EINVAL);
		break;
	case OPT_TRACE_SPANS:
		rc = parse_range(arg, &opt->trace_spans_min, &opt->trace_spans_max);
		break;
	case OPT_SERVICES:
		rc = parse_u64(arg, &v);
		opt->services = (uint32_t)v;
		rc = rc ? rc : (v < 1 || v > OTLPGEN_SERVICES_LIMIT ? -EINVAL : 0);
		break;
	case OPT_ENTRY:
		opt->entry = arg;
		break;
	case OPT_SPREAD:
		opt->spread_s = strtod(arg, NULL);
		rc = opt->spread_s > 0 && opt->spread_s < 1e8 ? 0 : -EINVAL;
		break;
	case OPT_SPB:
		rc = parse_u64(arg, &v);
		opt->spans_per_batch = (uint32_t)v;
		rc = rc ? rc : (v < 1 || v > 1000000 ? -EINVAL : 0);
		break;
	case OPT_TEMPLATE_SPANS:
		rc = parse_u64(arg, &opt->template_spans);
		break;
	case OPT_SEED:
		rc = parse_u64(arg, &opt->seed);
		opt->has_seed = 1;
		break;
	case OPT_PID:
		rc = parse_u64(arg, &v);
		opt->server_pid = (long)v;
		break;
	case OPT_IDS_OUT:
		opt->ids_out = arg;
		break;
	case OPT_RATE:
		opt->rate = strtod(arg, NULL);
		rc = opt->rate > 0 ? 0 : -EINVAL;
		break;
	case OPT_REPORT_EVERY:
		opt->report_every_s = strtod(arg, NULL);
		rc = opt->report_every_s > 0 ? 0 : -EINVAL;
		break;
	case OPT_GZIP:
		opt->is_gzip = 1;
		break;
	case OPT_QUIET:
		opt->is_quiet = 1;
		break;
	case OPT_DUMP:
		opt->dump_batch = arg;
		break;
	case OPT_DUMPS:
		opt->dump_dir = arg;
		if (optind >= argc || parse_u64(argv[optind], &opt->dump_count) < 0 ||
		    !opt->dump_count)
			rc = -EINVAL;
		else
			optind++;
		break;
	case OPT_HELP:
		usage(stdout);
		exit(0);
	default:
		rc = -EINVAL;
	}
	if (rc < 0)
		fprintf(stderr, "loadgen: bad value for option %s\n", argv[optind - 1]);
	return rc;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	int c;

	memset(opt, 0, sizeof(*opt));
	httpc_target_parse(&opt->target, "http://127.0.0.1:4318", "4318");
	opt->target.io_timeout_s = IO_TIMEOUT_S;
	opt->connections = 8;
	opt->spans_per_batch = 512;
	opt->template_spans = DEFAULT_TEMPLATE_SPANS;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (apply_option(c, optarg, argc, argv, opt) < 0) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
#ifndef HAVE_ZLIB
	if (opt->is_gzip) {
		fprintf(stderr, "loadgen: built without zlib; --gzip is not available\n");
		return -EINVAL;
	}
#endif
	if (opt->spread_s > 0 && !opt->requests && !opt->spans && !opt->traces) {
		fprintf(stderr, "loadgen: --spread needs --requests, --spans or --traces\n");
		return -EINVAL;
	}
	if (opt->entry && otlpgen_service_index(opt->services, opt->entry) < 0) {
		fprintf(stderr, "loadgen: --entry %s: no such service among the %u (frontend, "
			"api-gateway, ..., frontend-2, ...)\n", opt->entry,
			opt->services ? opt->services : OTLPGEN_SERVICES_DEFAULT);
		return -EINVAL;
	}
	if (!opt->duration_s && !opt->requests && !opt->spans && !opt->traces)
		opt->duration_s = 10;
	if (!opt->has_seed)
		opt->seed = clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
	if (!opt->target.path[0])
		strcpy(opt->target.path, formats[opt->format].path);
	return 0;
}

/*---- setup ----*/

static void generate(struct run *run, uint64_t min_spans)
{
	const struct options *opt = run->opt;
	struct otlpgen_options go = {
		.format = opt->format,
		.seed = opt->seed,
		.spans_per_batch = opt->spans_per_batch,
		.min_spans = min_spans ? min_spans : 1,
		.base_time_ns = run->base_time_ns,
		.trace_spans_min = opt->trace_spans_min,
		.trace_spans_max = opt->trace_spans_max,
		.n_traces = run->template_traces,
		.n_services = opt->services,
		.entry_service = opt->entry,
	};
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

	otlpgen_generate(&go, &run->set);
	if (!opt->is_quiet)
		fprintf(stderr, "loadgen: %zu template batches, %" PRIu64 " spans in %" PRIu64
			" traces, %.1f MB, %.0f bytes/span, generated in %.2f s\n",
			run->set.n, run->set.n_spans, run->set.n_traces, run->set.bytes / 1e6,
			(double)run->set.bytes / (double)run->set.n_spans,
			(double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f || fwrite(data, 1, len, f) != len)
		rc = -errno;
	if (f && fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(-rc ? -rc : EIO));
	return rc;
}

/* writes request bodies 0..count-1 exactly as a run would send them (except
 * for the time shift) and exits. */
static int dump_batches(struct run *run, const char *dir, const char *file, uint64_t count)
{
	unsigned char *buf = NULL;
	char path[4096];
	int rc = 0;

	if (dir && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "loadgen: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (uint64_t i = 0; i < count && rc == 0; i++) {
		const struct otlpgen_template *t = &run->set.items[i % run->set.n];
		struct otlpgen_round r;

		buf = realloc(buf, t->len);
		if (!buf)
			return 2;
		memcpy(buf, t->body, t->len);
		otlpgen_round_init(&r, run->opt->seed, i / run->set.n);
		otlpgen_patch(t, &r, buf);
		if (dir)
			snprintf(path, sizeof(path), "%s/batch-%03" PRIu64 ".%s", dir, i,
				 formats[run->opt->format].file_ext);
		else
			snprintf(path, sizeof(path), "%s", file);
		rc = write_file(path, buf, t->len);
	}
	free(buf);
	return rc < 0 ? 1 : 0;
}

static void run_init(struct run *run, const struct options *opt)
{
	memset(run, 0, sizeof(*run));
	run->opt = opt;
	pthread_mutex_init(&run->lock, NULL);
	run->base_time_ns = clock_ns(CLOCK_REALTIME) - (uint64_t)(opt->spread_s * 1e9);
}

/* the fewest requests whose spans add up to at least spans: request t
 * sends template t % n. */
static uint64_t requests_for_spans(const struct otlpgen_set *set, uint64_t spans)
{
	uint64_t rounds = spans / set->n_spans;
	uint64_t rest = spans - rounds * set->n_spans;
	uint64_t requests = rounds * set->n;

	for (size_t i = 0; rest > 0 && i < set->n; i++) {
		rest -= rest < set->items[i].n_spans ? rest : set->items[i].n_spans;
		requests++;
	}
	return requests;
}

/* sets the request limit from --requests and --spans, and with --spread
 * the virtual time between consecutive traces: the run's traces (about
 * n_traces per round of n requests) share the window evenly. */
static void plan_run(struct run *run)
{
	const struct options *opt = run->opt;
	uint64_t limit = opt->requests;
	double traces;

	if (opt->spans) {
		uint64_t n = requests_for_spans(&run->set, opt->spans);

		limit = limit && limit < n ? limit : n;
	}
	if (opt->traces) {
		/* the templates hold a divisor of --traces traces, all complete */
		uint64_t n = opt->traces / run->set.n_traces * run->set.n;

		limit = limit && limit < n ? limit : n;
	}
	run->request_limit = limit;
	if (opt->spread_s > 0) {
		traces = (double)limit * (double)run->set.n_traces / (double)run->set.n;
		run->trace_step_ns = (uint64_t)(opt->spread_s * 1e9 / (traces > 1 ? traces : 1));
		if (!run->trace_step_ns)
			run->trace_step_ns = 1;
	}
}

/* --traces N: the templates hold D traces, the largest divisor of N whose
 * traces fit in about --template-spans spans (by the mean trace size), so
 * that N / D rounds over all the templates send exactly N whole traces.
 * 0 without --traces. */
static uint64_t template_traces_for(const struct options *opt)
{
	double mean = opt->trace_spans_max ?
		(opt->trace_spans_min + opt->trace_spans_max) / 2.0 : 27.5;
	uint64_t cap = (uint64_t)((double)opt->template_spans / mean), rounds;

	if (!opt->traces || opt->dump_batch || opt->dump_dir)
		return 0;
	cap = cap ? cap : 1;
	for (rounds = (opt->traces + cap - 1) / cap; opt->traces % rounds; rounds++)
		;
	return opt->traces / rounds;
}

static uint64_t template_spans_needed(const struct options *opt)
{
	uint64_t n = opt->template_spans;

	if (opt->dump_batch)
		return opt->spans_per_batch;
	if (opt->dump_dir)
		return opt->dump_count * opt->spans_per_batch;
	if (opt->requests && opt->requests < n / opt->spans_per_batch)
		n = opt->requests * opt->spans_per_batch;
	if (opt->spans && opt->spans < n)
		n = opt->spans;
	return n;
}

static void print_progress(struct run *run, uint64_t *last_acked, uint64_t *last_ns)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t acked = atomic_load(&run->spans_acked);

	fprintf(stderr, "[%6.1fs] %8.0f spans/s  acked %" PRIu64 "  ok %" PRIu64 "  retried %"
		PRIu64 "  failed %" PRIu64 "\n", (double)(now - run->start_mono_ns) / 1e9,
		(double)(acked - *last_acked) * 1e9 / (double)(now - *last_ns), acked,
		(uint64_t)atomic_load(&run->requests_ok),
		(uint64_t)atomic_load(&run->requests_retried),
		(uint64_t)atomic_load(&run->requests_failed));
	*last_acked = acked;
	*last_ns = now;
}

/* the server's RSS now, and the anonymous part of it (heap, stacks: what
 * can leak; the rest is the store's mapped file, which the kernel reclaims) */
static void current_rss_kb(long pid, uint64_t *rss_kb, uint64_t *anon_kb)
{
	struct rss_sampler s = { .pid = pid };
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	*rss_kb = *anon_kb = 0;
	if (pid && sample_rss(&s, path) == 0) {
		*rss_kb = s.peak_rss_kb;
		*anon_kb = s.peak_anon_kb;
	}
}

/* --report-every: one line per interval on stdout, for soak curves */
static void print_interval(struct run *run, uint64_t *last_acked, uint64_t *last_ns)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t acked = atomic_load(&run->spans_acked);
	struct httpc_latency l;
	uint64_t rss_kb, anon_kb;

	current_rss_kb(run->opt->server_pid, &rss_kb, &anon_kb);
	pthread_mutex_lock(&run->lock);
	l = run->interval;
	memset(&run->interval, 0, sizeof(run->interval));
	pthread_mutex_unlock(&run->lock);
	printf("interval t_s %.0f spans_per_s %.0f requests %zu p50_ms %.2f p99_ms %.2f max_ms %.2f "
	       "rss_kb %" PRIu64 " anon_kb %" PRIu64 " retried %" PRIu64 " failed %" PRIu64 "\n",
	       (double)(now - run->start_mono_ns) / 1e9,
	       (double)(acked - *last_acked) * 1e9 / (double)(now - *last_ns), l.n,
	       httpc_latency_ms(&l, 0.50), httpc_latency_ms(&l, 0.99), httpc_latency_ms(&l, 1),
	       rss_kb, anon_kb,
	       (uint64_t)atomic_load(&run->requests_retried),
	       (uint64_t)atomic_load(&run->requests_failed));
	fflush(stdout);
	httpc_latency_clear(&l);
	*last_acked = acked;
	*last_ns = now;
}

static void wait_for_workers(struct run *run)
{
	uint64_t last_acked = 0, last_ns = run->start_mono_ns, next = last_ns + 1000000000ull;
	uint64_t every = (uint64_t)(run->opt->report_every_s * 1e9);
	uint64_t i_acked = 0, i_ns = last_ns, i_next = last_ns + every;

	while (atomic_load(&run->workers_running) > 0) {
		sleep_ms(50);
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (!run->opt->is_quiet && now >= next) {
			print_progress(run, &last_acked, &last_ns);
			next += 1000000000ull;
		}
		if (every && now >= i_next) {
			print_interval(run, &i_acked, &i_ns);
			i_next += every;
		}
	}
}

static void start_workers(struct run *run, struct worker *workers)
{
	int n = run->opt->connections;

	atomic_store(&run->workers_running, n);
	run->start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	if (run->opt->duration_s > 0)
		run->deadline_mono_ns = run->start_mono_ns +
			(uint64_t)(run->opt->duration_s * 1e9);
	for (int i = 0; i < n; i++) {
		workers[i].run = run;
		httpc_conn_init(&workers[i].conn, &run->opt->target, HTTPC_BODY_PREFIX,
				KEEP_BODY_BYTES);
#ifdef HAVE_ZLIB
		if (deflateInit2(&workers[i].zs, 1, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			exit(2);
#endif
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start thread %d\n", i);
			exit(2);
		}
	}
}

static void free_workers(struct worker *workers, int n)
{
	for (int i = 0; i < n; i++) {
		free(workers[i].body);
		httpc_conn_clear(&workers[i].conn);
		httpc_latency_clear(&workers[i].latency);
#ifdef HAVE_ZLIB
		deflateEnd(&workers[i].zs);
		free(workers[i].zbody);
#endif
	}
	free(workers);
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

static int run_load(struct run *run)
{
	const struct options *opt = run->opt;
	struct worker *workers = calloc((size_t)opt->connections, sizeof(*workers));
	struct rss_sampler rss = { .pid = opt->server_pid };
	double elapsed_s;

	if (!workers)
		return 2;
	if (opt->ids_out && !(run->ids_out = fopen(opt->ids_out, "w"))) {
		fprintf(stderr, "loadgen: %s: %s\n", opt->ids_out, strerror(errno));
		return 2;
	}
	if (rss.pid && pthread_create(&rss.thread, NULL, sampler_main, &rss) != 0)
		return 2;
	start_workers(run, workers);
	wait_for_workers(run);
	for (int i = 0; i < opt->connections; i++)
		pthread_join(workers[i].thread, NULL);
	elapsed_s = (double)(clock_ns(CLOCK_MONOTONIC) - run->start_mono_ns) / 1e9;
	if (rss.pid) {
		atomic_store(&rss.is_stopping, 1);
		pthread_join(rss.thread, NULL);
	}
	if (run->ids_out && fclose(run->ids_out) != 0)
		fprintf(stderr, "loadgen: %s: %s\n", opt->ids_out, strerror(errno));
	print_results(run, workers, elapsed_s, rss.pid ? &rss : NULL);
	free_workers(workers, opt->connections);
	httpc_latency_clear(&run->interval);
	return atomic_load(&run->requests_failed) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct run run;
	int rc;

	if (parse_options(argc, argv, &opt) < 0)
		return 2;
	run_init(&run, &opt);
	run.template_traces = template_traces_for(&opt);
	generate(&run, template_spans_needed(&opt));
	plan_run(&run);
	if (opt.dump_batch || opt.dump_dir) {
		rc = dump_batches(&run, opt.dump_dir, opt.dump_batch,
				  opt.dump_dir ? opt.dump_count : 1);
	} else if (httpc_target_resolve(&opt.target, "loadgen") < 0) {
		rc = 2;
	} else {
		install_signals();
		rc = run_load(&run);
	}
	otlpgen_free(&run.set);
	pthread_mutex_destroy(&run.lock);
	return rc;
}
