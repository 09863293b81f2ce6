/* fuzz_http_server.c - the real tracemap server inside the fuzzing process,
 * seeded with a small fixed data set, and a minimal HTTP client for it.
 *
 * The server is put together as server/main.c does for `tracemap` (store,
 * analyzer, writer, HTTP on 127.0.0.1:0), with a store in a fresh directory
 * under $TMPDIR that is removed at exit.  The seed is the golden data set of
 * tests/clients/api_golden.test.mjs in small (six traces, four services,
 * OTLP/JSON plus one Zipkin trace with a shared span), sent over the socket
 * like any client's, its times ten minutes before the start. */
#include "fuzz_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "analyzer.h"
#include "batch.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "writer.h"

static struct {
	int started;
	char dir[256];
	char address[2][64];          /* open, guarded */
	struct sockaddr_in sa[2];
	char log_path[300];
	struct tm_access_log *log;
	struct tm_store *store;
	struct tm_analyzer *analyzer;
	struct tm_writer *writer;
	struct tm_http *http[2];
	uint64_t base_us;   /* trace k starts at base + k minutes */
} srv;

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz_http: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*---- the client ----*/

static void parse_headers(struct fuzz_response *r, const char *end)
{
	for (const char *line = strstr(r->raw, "\r\n"); line && line < end;
	     line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (!strncasecmp(h, "Content-Type:", 13)) {
			h += 13;
			h += strspn(h, " ");
			size_t n = strcspn(h, "\r");
			snprintf(r->content_type, sizeof(r->content_type), "%.*s", (int)n, h);
		} else if (!strncasecmp(h, "Content-Length:", 15)) {
			r->content_length = strtol(h + 15, NULL, 10);
		} else if (!strncasecmp(h, "Allow:", 6)) {
			r->has_allow = 1;
		} else if (!strncasecmp(h, "Location:", 9)) {
			r->has_location = 1;
		} else if (!strncasecmp(h, "WWW-Authenticate:", 17)) {
			r->has_www_authenticate = 1;
		}
	}
}

static void parse_response(struct fuzz_response *r)
{
	unsigned status;
	if (sscanf(r->raw, "HTTP/1.%*1[01] %3u ", &status) == 1)
		r->status = status;
	char *end = strstr(r->raw, "\r\n\r\n");
	if (!end)
		return;
	parse_headers(r, end);
	r->body = end + 4;
	r->body_len = r->raw_len - (size_t)(r->body - r->raw);
}

static int wait_for(int fd, short events, uint64_t deadline)
{
	uint64_t now = now_ms();
	if (now >= deadline)
		return -ETIMEDOUT;
	struct pollfd p = { fd, events, 0 };
	int n = poll(&p, 1, (int)(deadline - now));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *req, size_t len, uint64_t deadline)
{
	while (len) {
		int rc = wait_for(fd, POLLOUT, deadline);
		if (rc)
			return rc;
		ssize_t n = send(fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			/* the server may answer (413, 431) and close before the
			 * rest is sent: read what it said */
			return errno == EPIPE || errno == ECONNRESET ? 0 : -errno;
		if (n > 0) {
			req += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

static int read_all(int fd, struct fuzz_response *r, uint64_t deadline)
{
	size_t cap = 0;
	for (;;) {
		if (cap - r->raw_len < 65536) {
			cap = cap ? cap * 2 : 65536;
			char *p = realloc(r->raw, cap + 1);
			if (!p)
				fatal("out of memory reading a response");
			r->raw = p;
		}
		int rc = wait_for(fd, POLLIN, deadline);
		if (rc)
			return rc;
		ssize_t n = recv(fd, r->raw + r->raw_len, cap - r->raw_len, MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n < 0 && errno == ECONNRESET)
			return 0;   /* closed after answering, with bytes unread */
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			r->raw_len += (size_t)n;
	}
}

/* a non-blocking connect, so that a signal (libFuzzer's timers) cannot
 * cut it short with EINTR */
static int connect_to(int fd, const struct sockaddr_in *sa, uint64_t deadline)
{
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	for (;;) {
		int rc = wait_for(fd, POLLOUT, deadline);
		if (rc)
			return rc;
		struct pollfd p = { fd, POLLOUT, 0 };
		if (poll(&p, 1, 0) == 1)
			break;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

int fuzz_http_exchange(int guarded, const char *req, size_t len, struct fuzz_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	uint64_t deadline = now_ms() + FUZZ_HTTP_DEADLINE_MS;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int rc = connect_to(fd, &srv.sa[guarded], deadline);
	if (!rc)
		rc = send_all(fd, req, len, deadline);
	if (!rc)
		rc = read_all(fd, resp, deadline);
	close(fd);
	if (!resp->raw) {
		resp->raw = malloc(1);
		if (!resp->raw)
			fatal("out of memory");
	}
	resp->raw[resp->raw_len] = '\0';
	parse_response(resp);
	return rc;
}

void fuzz_response_free(struct fuzz_response *resp)
{
	free(resp->raw);
	resp->raw = NULL;
}

/*---- the seed ----*/

/* OTLP attribute fragments */
#define S(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define I(k, v) "{\"key\":\"" k "\",\"value\":{\"intValue\":\"" #v "\"}}"

struct seed_span {
	int k, j, parent;   /* trace, span, parent span (0: root) */
	const char *service, *name;
	int kind;           /* OTLP: 1 internal 2 server 3 client 4 producer 5 consumer */
	unsigned s_ms, e_ms;
	const char *attrs;  /* attribute objects, comma-separated */
	int status;         /* OTLP status code */
	enum { NO_EXTRA, EXCEPTION_AT_560MS, LINK_TO_T1 } extra;
};

static const struct seed_span seed_spans[] = {
	{ 1, 1, 0, "frontend", "GET /checkout", 2, 0, 250,
	  S("http.method", "GET") "," S("http.route", "/checkout") "," I("http.status_code", 200), 1,
	  NO_EXTRA },
	{ 1, 2, 1, "frontend", "POST /orders", 3, 10, 200,
	  S("http.method", "POST") "," S("peer.service", "checkout"), 0, NO_EXTRA },
	{ 1, 3, 2, "checkout", "POST /orders", 2, 15, 195, I("http.response.status_code", 201), 0,
	  NO_EXTRA },
	{ 1, 4, 3, "checkout", "SELECT orders", 3, 30, 80,
	  S("db.system", "postgresql") "," S("server.address", "pg-main"), 0, NO_EXTRA },
	{ 1, 5, 3, "checkout", "orders publish", 4, 90, 95,
	  S("messaging.system", "kafka") "," S("messaging.destination.name", "orders-topic"), 0,
	  NO_EXTRA },
	{ 1, 6, 5, "inventory", "orders-topic process", 5, 120, 180,
	  S("messaging.system", "kafka"), 0, NO_EXTRA },
	{ 1, 7, 6, "inventory", "reserve stock", 1, 130, 170, I("stock.items", 3), 0, NO_EXTRA },
	{ 2, 1, 0, "frontend", "GET /checkout", 2, 0, 600, I("http.status_code", 502), 2, NO_EXTRA },
	{ 2, 2, 1, "frontend", "POST /charge", 3, 20, 580, S("peer.service", "payments"), 2, NO_EXTRA },
	{ 2, 3, 2, "payments", "POST /charge", 2, 25, 570, I("http.status_code", 500), 2,
	  EXCEPTION_AT_560MS },
	{ 2, 4, 3, "payments", "POST /v1/charges", 3, 40, 550,
	  S("server.address", "api.bank.example"), 0, NO_EXTRA },
	{ 3, 1, 0, "frontend", "GET /health", 2, 0, 2, I("http.status_code", 200), 0, NO_EXTRA },
	{ 3, 2, 1, "frontend", "health check", 0, 0, 1, "", 0, NO_EXTRA },
	{ 5, 1, 0, "inventory", "GET /stock", 2, 0, 40, S("http.method", "GET"), 0, LINK_TO_T1 },
	{ 5, 2, 1, "inventory", "GET supplier", 3, 5, 35,
	  S("server.address", "api.supplier.example"), 0, NO_EXTRA },
	{ 6, 1, 0, "frontend", "GET /checkout", 2, 0, 50, S("http.method", "GET"), 1, NO_EXTRA },
	{ 6, 2, 1, "frontend", "POST /orders", 3, 5, 45, S("peer.service", "checkout"), 0, NO_EXTRA },
	{ 6, 3, 2, "checkout", "POST /orders", 2, 8, 42, I("http.response.status_code", 429), 0,
	  NO_EXTRA },
};

#define N_SEED_SPANS (sizeof(seed_spans) / sizeof(seed_spans[0]))

struct text {
	char buf[32768];
	size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		fatal("the seed does not fit its buffer");
	t->len += (size_t)n;
}

static void time_ns(char *out, size_t len, int k, unsigned ms)
{
	uint64_t us = srv.base_us + (uint64_t)k * 60000000ull + (uint64_t)ms * 1000ull;
	snprintf(out, len, "%llu", (unsigned long long)us * 1000ull);
}

static void add_span(struct text *t, const struct seed_span *s, int first)
{
	char start[32], end[32], parent[48] = "";
	time_ns(start, sizeof(start), s->k, s->s_ms);
	time_ns(end, sizeof(end), s->k, s->e_ms);
	if (s->parent)
		snprintf(parent, sizeof(parent), ",\"parentSpanId\":\"a%db%d00000000ee0f\"", s->k,
			 s->parent);
	add(t, "%s{\"traceId\":\"" FUZZ_TRACE_ID_PREFIX "%d\",\"spanId\":\"a%db%d00000000ee0f\"%s,"
	    "\"name\":\"%s\",\"kind\":%d,\"startTimeUnixNano\":\"%s\",\"endTimeUnixNano\":\"%s\","
	    "\"attributes\":[%s],\"status\":{\"code\":%d}",
	    first ? "" : ",", s->k, s->k, s->j, parent, s->name, s->kind, start, end, s->attrs,
	    s->status);
	char ev[32];
	time_ns(ev, sizeof(ev), s->k, 560);
	if (s->extra == EXCEPTION_AT_560MS)
		add(t, ",\"events\":[{\"timeUnixNano\":\"%s\",\"name\":\"exception\","
		    "\"attributes\":[" S("exception.type", "CardError") ","
		    S("exception.message", "card declined") "]}]", ev);
	else if (s->extra == LINK_TO_T1)
		add(t, ",\"links\":[{\"traceId\":\"" FUZZ_TRACE_ID_PREFIX "1\","
		    "\"spanId\":\"a1b100000000ee0f\"}]");
	add(t, "}");
}

static void otlp_body(struct text *t)
{
	static const char *const services[] = { "frontend", "checkout", "payments", "inventory" };
	add(t, "{\"resourceSpans\":[");
	for (size_t i = 0; i < 4; i++) {
		add(t, "%s{\"resource\":{\"attributes\":[" S("service.name", "%s") "]},"
		    "\"scopeSpans\":[{\"scope\":{\"name\":\"fuzz-seed\",\"version\":\"1.0\"},"
		    "\"spans\":[", i ? "," : "", services[i]);
		int first = 1;
		for (size_t k = 0; k < N_SEED_SPANS; k++)
			if (!strcmp(seed_spans[k].service, services[i])) {
				add_span(t, &seed_spans[k], first);
				first = 0;
			}
		add(t, "]}]}");
	}
	add(t, "]}");
}

/* T4 in Zipkin v2 JSON: a B3 shared client/server span */
static void zipkin_body(struct text *t)
{
	unsigned long long us = (unsigned long long)(srv.base_us + 4 * 60000000ull);
	const char *tid = FUZZ_TRACE_ID_PREFIX "4";
	add(t, "[{\"traceId\":\"%s\",\"id\":\"a4b100000000ee0f\",\"kind\":\"SERVER\","
	    "\"name\":\"get /stock\",\"timestamp\":%llu,\"duration\":100000,"
	    "\"localEndpoint\":{\"serviceName\":\"frontend\",\"ipv4\":\"10.0.0.1\"},"
	    "\"tags\":{\"http.method\":\"GET\",\"http.path\":\"/stock\"}},", tid, us);
	add(t, "{\"traceId\":\"%s\",\"parentId\":\"a4b100000000ee0f\",\"id\":\"a4b200000000ee0f\","
	    "\"kind\":\"CLIENT\",\"name\":\"get /stock\",\"timestamp\":%llu,\"duration\":90000,"
	    "\"localEndpoint\":{\"serviceName\":\"frontend\"},"
	    "\"remoteEndpoint\":{\"serviceName\":\"inventory\",\"port\":9000},"
	    "\"annotations\":[{\"timestamp\":%llu,\"value\":\"ws\"}]},", tid, us + 5000, us + 6000);
	add(t, "{\"traceId\":\"%s\",\"parentId\":\"a4b100000000ee0f\",\"id\":\"a4b200000000ee0f\","
	    "\"kind\":\"SERVER\",\"name\":\"get /stock\",\"timestamp\":%llu,\"duration\":80000,"
	    "\"shared\":true,\"localEndpoint\":{\"serviceName\":\"inventory\"},"
	    "\"tags\":{\"http.status_code\":\"200\"}},", tid, us + 10000);
	add(t, "{\"traceId\":\"%s\",\"parentId\":\"a4b200000000ee0f\",\"id\":\"a4b300000000ee0f\","
	    "\"kind\":\"CLIENT\",\"name\":\"get\",\"timestamp\":%llu,\"duration\":20000,"
	    "\"localEndpoint\":{\"serviceName\":\"inventory\"},"
	    "\"remoteEndpoint\":{\"serviceName\":\"redis\"},\"tags\":{\"db.system\":\"redis\"}}]",
	    tid, us + 20000);
}

static void post(const char *path, const char *type, const struct text *body, unsigned want)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", path, srv.address[0], type,
			 body->len);
	char *req = malloc((size_t)n + body->len);
	if (!req)
		fatal("out of memory");
	memcpy(req, head, (size_t)n);
	memcpy(req + n, body->buf, body->len);
	struct fuzz_response r;
	int rc = fuzz_http_exchange(0, req, (size_t)n + body->len, &r);
	if (rc || r.status != want)
		fatal("seeding: POST %s answered %u (%s): %.300s", path, r.status, strerror(-rc),
		      r.raw);
	fuzz_response_free(&r);
	free(req);
}

/* the analyzer pairs a trace once it has been quiet for its wait: until
 * then the service map and the bottlenecks have nothing to show */
static void wait_for_pairing(void)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET /api/servicemap?start=%llu&end=%llu HTTP/1.1\r\n"
			 "Host: %s\r\nConnection: close\r\n\r\n",
			 (unsigned long long)fuzz_seed_start_us(),
			 (unsigned long long)fuzz_seed_end_us(), srv.address[0]);
	uint64_t give_up = now_ms() + 20000;
	for (;;) {
		struct fuzz_response r;
		fuzz_http_exchange(0, req, (size_t)n, &r);
		int done = r.status == 200 && strstr(r.raw, "pg-main") && strstr(r.raw, "redis");
		fuzz_response_free(&r);
		if (done)
			return;
		if (now_ms() > give_up)
			fatal("seeding: the service map did not show the seed's calls in 20 s");
		usleep(50000);
	}
}

static void seed(void)
{
	static struct text t;   /* 32 KiB: not on the stack */
	t.len = 0;
	otlp_body(&t);
	post("/v1/traces", "application/json", &t, 200);
	t.len = 0;
	zipkin_body(&t);
	post("/api/v2/spans", "application/json", &t, 202);
	wait_for_pairing();
}

uint64_t fuzz_seed_start_us(void)
{
	return srv.base_us - 5 * 60000000ull;
}

uint64_t fuzz_seed_end_us(void)
{
	return srv.base_us + 55 * 60000000ull;
}

/*---- start and stop ----*/

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* the order of server/main.c's stop_all */
static void stop(void)
{
	for (int i = 0; i < 2; i++)
		tm_http_quiesce(srv.http[i], 1000);
	tm_writer_stop(srv.writer);
	tm_analyzer_stop(srv.analyzer);
	for (int i = 0; i < 2; i++)
		tm_http_stop(srv.http[i]);
	tm_access_log_close(srv.log);
	tm_store_close(srv.store);
	nftw(srv.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* what --autocomplete-keys gives by default (server/main.c set_value_keys) */
static void set_value_keys(void)
{
	static char buf[] = TM_DEFAULT_AUTOCOMPLETE_KEYS;
	static const char *keys[TM_BATCH_MAX_VALUE_KEYS];
	size_t n = 0;
	for (char *save = NULL, *k = strtok_r(buf, ",", &save); k && n < TM_BATCH_MAX_VALUE_KEYS;
	     k = strtok_r(NULL, ",", &save))
		keys[n++] = k;
	tm_batch_set_value_keys(keys, n);
}

/* the open server, or the guarded one: bearer tokens on every path but
 * /healthz and /readyz, and an access log with query values */
static void start_http(int guarded)
{
	static const char *const listen[] = { "127.0.0.1:0" };
	struct tm_http_options hopt = { .listen = listen, .n_listen = 1,
					.max_body_bytes = 1u << 20, .threads = 2,
					.smap = tm_analyzer_smap(srv.analyzer) };
	if (guarded) {
		hopt.query_token = FUZZ_QUERY_TOKEN;
		hopt.ingest_token = FUZZ_INGEST_TOKEN;
		hopt.access_log = srv.log;
	}
	char err[256];
	int rc = tm_http_start(&hopt, srv.store, srv.writer, &srv.http[guarded], err, sizeof(err));
	if (rc)
		fatal("http: %s", err);
	snprintf(srv.address[guarded], sizeof(srv.address[guarded]), "%s",
		 tm_http_address(srv.http[guarded], 0));
	unsigned port = 0;
	if (sscanf(srv.address[guarded], "127.0.0.1:%u", &port) != 1)
		fatal("unexpected address %s", srv.address[guarded]);
	srv.sa[guarded].sin_family = AF_INET;
	srv.sa[guarded].sin_port = htons((uint16_t)port);
	srv.sa[guarded].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void start_server(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(srv.dir, sizeof(srv.dir), "%s/tracemap-fuzz-http.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(srv.dir))
		fatal("mkdtemp %s: %s", srv.dir, strerror(errno));
	set_value_keys();
	struct tm_store_options sopt = { .dir = srv.dir, .sync = TM_SYNC_NONE };
	int rc = tm_store_open(&sopt, &srv.store);
	if (rc)
		fatal("store in %s: %s", srv.dir, tm_store_strerror(rc));
	struct tm_smap_options mopt = { .wait_ns = 100000000ull };
	if ((rc = tm_analyzer_start(srv.store, &mopt, &srv.analyzer)))
		fatal("analyzer: %s", tm_store_strerror(rc));
	if ((rc = tm_writer_start(srv.store, 64u << 20, &srv.writer)))
		fatal("writer: %s", strerror(-rc));
	start_http(0);
	snprintf(srv.log_path, sizeof(srv.log_path), "%s/access.log", srv.dir);
	char err[256];
	if ((rc = tm_access_log_open(srv.log_path, 1, &srv.log, err, sizeof(err))))
		fatal("access log: %s", err);
	start_http(1);
	atexit(stop);
}

void fuzz_server_start(void)
{
	if (srv.started)
		return;
	srv.started = 1;
	signal(SIGPIPE, SIG_IGN);
	tm_log_min_level = TM_LOG_ERROR;   /* store errors only: the run prints little */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* whole seconds, ten minutes back: inside every default window */
	srv.base_us = ((uint64_t)ts.tv_sec - 600) * 1000000ull;
	start_server();
	seed();
}

const char *fuzz_server_address(int guarded)
{
	return srv.address[guarded];
}

const char *fuzz_server_access_log(void)
{
	return srv.log_path;
}
