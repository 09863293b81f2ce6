/* http.c - libmicrohttpd plumbing: listener, request life cycle, routing. */
#define LOG_MODULE "http"
#include "http_internal.h"
#include "api_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"
#include "otlp_response.h"
#include "web.h"

/* the defaults of the limits (tm_http_options) */
#define IDLE_TIMEOUT_S 60
#define REQUEST_TIMEOUT_S 120
#define CONNECTION_LIMIT 4096

/*---- responses ----*/

static enum MHD_Result queue(struct http_request *r, unsigned status,
			     struct MHD_Response *resp, const char *content_type, size_t bytes)
{
	if (!resp)
		return MHD_NO;
	r->status = status;
	r->bytes = bytes;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (r->retry_after_s) {
		char v[16];
		snprintf(v, sizeof(v), "%u", r->retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->cache_control)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache_control);
	if (r->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_authenticate);
	if (r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);   /* the queue holds its own reference */
	return rc;
}

enum MHD_Result http_respond_buf(struct http_request *r, unsigned status,
				 const char *content_type, struct tm_buf *body)
{
	if (body->failed) {
		tm_buf_free(body);
		return http_respond_text(r, 500, "text/plain", "out of memory\n");
	}
	size_t bytes = body->len;
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		body->len, body->data, body->data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp)
		tm_buf_init(body);   /* the response owns the bytes now */
	else
		tm_buf_free(body);
	return queue(r, status, resp, content_type, bytes);
}

enum MHD_Result http_respond_text(struct http_request *r, unsigned status,
				  const char *content_type, const char *text)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	return queue(r, status, resp, content_type, strlen(text));
}

/*---- routing ----*/

typedef enum MHD_Result (*route_fn)(struct http_request *r, const char *method);

static enum MHD_Result not_found(struct http_request *r, const char *method);

/* browsers ask every origin for an icon, JSON responses too: answer with
 * nothing rather than a 404 in their consoles */
static enum MHD_Result no_icon(struct http_request *r, const char *method)
{
	(void)method;
	r->cache_control = "max-age=86400";
	return http_respond_text(r, 204, "image/x-icon", "");
}

const char *http_route_name(enum http_route route)
{
	static const char *const names[HTTP_ROUTE_COUNT] = {
		"not_found",	"ingest_otlp",	 "ingest_zipkin_v2", "ingest_zipkin_v1",
		"ingest_jaeger", "trace",	 "critical_path",    "jaeger_query",
		"zipkin_query", "slow_traces",	 "servicemap",	     "page",
		"favicon",	"metrics",	 "healthz",	     "readyz",
	};
	return route < HTTP_ROUTE_COUNT ? names[route] : "not_found";
}

#define ROUTE(id, fn) (*rid = (id), (fn))

/* ingest routes look at the headers first (content type, size, encoding);
 * every other route answers once the request is read in full, which keeps
 * the connection alive (an answer before the body makes MHD close it) */
static route_fn route(const char *path, const char *method, int *at_headers,
		      enum http_route *rid)
{
	*at_headers = 0;
	if (ingest_route_exists(path, method)) {
		*at_headers = 1;
		return ROUTE(ROUTE_INGEST_OTLP + (int)ingest_route_protocol(path), ingest_begin);
	}
	if (api_critical_path_route_exists(path))   /* before /api/traces/{id} takes it */
		return ROUTE(ROUTE_CRITICAL_PATH, api_critical_path_get);
	if (!strncmp(path, "/api/traces/", 12) || !strncmp(path, "/api/v3/traces/", 15))
		return ROUTE(ROUTE_TRACE, api_trace_get);
	if (!strcmp(path, "/api/services") || !strncmp(path, "/api/services/", 14) ||
	    !strcmp(path, "/api/operations") || !strcmp(path, "/api/traces") ||
	    !strcmp(path, "/api/v3/services") || !strcmp(path, "/api/v3/operations") ||
	    !strcmp(path, "/api/v3/traces"))
		return ROUTE(ROUTE_JAEGER_QUERY, api_jaeger);
	if (!strncmp(path, "/api/v2/", 8))
		return ROUTE(ROUTE_ZIPKIN_QUERY, api_zipkin);
	if (!strcmp(path, "/api/slow-traces"))
		return ROUTE(ROUTE_SLOW_TRACES, api_slow);
	if (!strcmp(path, "/favicon.ico"))
		return ROUTE(ROUTE_FAVICON, no_icon);
	if (!strcmp(path, "/api/servicemap") || !strcmp(path, "/api/dependencies") ||
	    !strcmp(path, "/api/bottlenecks"))
		return ROUTE(ROUTE_SERVICEMAP, api_servicemap);
	if (!strcmp(path, "/") || !strcmp(path, "/lookup") || !strncmp(path, "/traces/", 8) ||
	    !strncmp(path, "/services/", 10) || !strcmp(path, "/search") ||
	    !strcmp(path, "/bottlenecks"))
		return ROUTE(ROUTE_PAGE, web_page_get);
	if (!strcmp(path, "/metrics"))
		return ROUTE(ROUTE_METRICS, http_metrics_get);
	if (!strcmp(path, "/healthz"))
		return ROUTE(ROUTE_HEALTHZ, http_healthz_get);
	if (!strcmp(path, "/readyz"))
		return ROUTE(ROUTE_READYZ, http_readyz_get);
	return ROUTE(ROUTE_NOT_FOUND, not_found);
}

static enum MHD_Result not_found(struct http_request *r, const char *method)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "404 not found: no such path %.120s", r->path);
	/* senders of spans get the OTLP error body; people get a page */
	if (!strcmp(method, "POST")) {
		struct tm_buf out;
		tm_buf_init(&out);
		tm_otlp_status_encode(&out, 404, msg);
		return http_respond_buf(r, MHD_HTTP_NOT_FOUND, "application/x-protobuf", &out);
	}
	struct tm_buf out;
	tm_buf_init(&out);
	tm_web_error_page(&out, NULL, 404, msg);
	return http_respond_buf(r, MHD_HTTP_NOT_FOUND, "text/html; charset=utf-8", &out);
}

/*---- request life cycle ----*/

static struct http_request *request_new(struct tm_http *h, struct MHD_Connection *conn,
					const char *path)
{
	struct http_request *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->http = h;
	r->conn = conn;
	r->path = path;
	r->start_ns = http_mono_ns();
	r->refusal = -1;
	tm_buf_init(&r->body);
	tm_arena_init(&r->arena, 0);
	return r;
}

static void request_free(struct http_request *r)
{
	free(r->access_head);
	tm_buf_free(&r->body);
	tm_inflate_free(r->inflater);
	tm_batch_done(&r->batch);
	tm_arena_clear(&r->arena);
	free(r);
}

uint64_t http_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct tm_http *h = cls;
	(void)conn;
	struct http_request *r = *con_cls;
	if (r) {
		uint64_t took = http_mono_ns() - r->start_ns;
		tm_mhist_observe(&h->route_seconds[r->route], took);
		/* a lowered timeout was the time left of --request-timeout */
		if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && !r->status)
			tm_counter_add(&h->requests_cut[r->timeout_lowered ? HTTP_CUT_REQUEST_TIMEOUT
									    : HTTP_CUT_IDLE_TIMEOUT],
					1);
		http_access_log_end(r);
		request_free(r);
	}
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct tm_http *h = cls;
	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		tm_counter_add(&h->connections_total, 1);
		tm_counter_add(&h->connections_open, 1);
	} else {
		atomic_fetch_sub_explicit(&h->connections_open, 1, memory_order_relaxed);
	}
}

/* --request-timeout bounds the time from the headers to the end of the
 * body, which the idle timeout alone does not (a body may trickle in a
 * byte at a time): the connection's idle timeout is lowered to the time
 * left, so that a body that stops is cut at the deadline, and one that
 * keeps trickling is cut at its first chunk past it.  Returns 0 when past. */
static int bound_request_time(struct http_request *r)
{
	struct tm_http *h = r->http;
	uint64_t elapsed_s = (http_mono_ns() - r->start_ns) / 1000000000u;
	if (elapsed_s >= h->request_timeout_s) {
		tm_counter_add(&h->requests_cut[HTTP_CUT_REQUEST_TIMEOUT], 1);
		LOG(TM_LOG_INFO, "%s: request body not complete after %us (--request-timeout): "
		    "connection closed", r->path, h->request_timeout_s);
		return 0;
	}
	unsigned left = h->request_timeout_s - (unsigned)elapsed_s;
	if (left < h->idle_timeout_s || r->timeout_lowered) {
		MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
					  left < h->idle_timeout_s ? left : h->idle_timeout_s);
		r->timeout_lowered = 1;
	}
	return 1;
}

/* the body is in: keep-alive gets the idle timeout back */
static void unbound_request_time(struct http_request *r)
{
	if (!r->timeout_lowered)
		return;
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
				  r->http->idle_timeout_s);
	r->timeout_lowered = 0;
}

/* takes one chunk of the body: inflated when gzip, always within the cap */
static void receive_chunk(struct http_request *r, const char *data, size_t len)
{
	if (r->upload_status)
		return;   /* already failed: the rest is read and dropped */
	int rc = 0;
	if (r->inflater)
		rc = tm_inflate_feed(r->inflater, data, len, &r->body);
	else if (r->body.len + len > r->http->max_body_bytes)
		rc = -EFBIG;
	else
		tm_buf_add(&r->body, data, len);
	if (!rc && r->body.failed)
		rc = -ENOMEM;
	if (rc == -EFBIG) {
		r->upload_status = 413;
		snprintf(r->upload_message, sizeof(r->upload_message),
			 "request body exceeds the limit of %zu bytes%s", r->http->max_body_bytes,
			 r->inflater ? " after gzip inflation" : "");
	} else if (rc == -EBADMSG) {
		r->upload_status = MHD_HTTP_BAD_REQUEST;
		snprintf(r->upload_message, sizeof(r->upload_message),
			 "Content-Encoding is gzip but the body is not valid gzip data");
	} else if (rc) {
		r->refusal = TM_REFUSE_NO_MEMORY;
		r->upload_status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(r->upload_message, sizeof(r->upload_message), "out of memory");
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct http_request *r = *con_cls;
	if (!r) {
		r = request_new(cls, conn, url);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		http_access_log_begin(r, method);
		if (!http_access_allowed(r, method))
			return http_access_refuse(r, method);
		int at_headers;
		route_fn fn = route(url, method, &at_headers, &r->route);
		if (!bound_request_time(r))
			return MHD_NO;
		if (at_headers)
			return fn(r, method);
		r->at_end = fn;
		r->method = method;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (r->state == REQ_RECEIVING && !bound_request_time(r))
			return MHD_NO;   /* closes the connection: past --request-timeout */
		if (r->on_body_done)
			receive_chunk(r, upload_data, *upload_data_size);
		*upload_data_size = 0;   /* consumed (or dropped): MHD spins otherwise */
		return MHD_YES;
	}
	unbound_request_time(r);
	if (r->at_end) {
		route_fn fn = r->at_end;
		r->at_end = NULL;
		return fn(r, r->method);
	}
	if (!r->on_body_done)
		return MHD_NO;   /* a handler that answered at once; nothing more to do */
	return r->on_body_done(r);
}

/*---- listener ----*/

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	LOG(TM_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

int tm_http_check_listen(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	return tm_netaddr_parse(spec, &sa, err, errlen);
}

/* binds the socket ourselves: exact errors ("address in use") and the real
 * port when 0 was asked for */
static int open_listener(const char *spec, char *addr_out, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int rc = tm_netaddr_parse(spec, &sa, err, errlen);
	if (rc)
		return rc;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	socklen_t len = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		close(fd);
		return rc;
	}
	tm_netaddr_format(&sa, addr_out, HTTP_ADDR_LEN);
	return fd;
}

/* one libmicrohttpd daemon on one socket we bound */
static int start_listener(struct tm_http *h, struct http_listener *l, const char *spec,
			  const struct tm_http_options *opt, char *err, size_t errlen)
{
	unsigned threads = opt->threads;
	unsigned max_connections = opt->max_connections ? opt->max_connections : CONNECTION_LIMIT;
	/* MHD divides the limit among its threads: each must have room */
	if (threads > 1 && max_connections < threads)
		max_connections = threads;
	unsigned max_per_ip = opt->max_connections_per_ip;
	int fd = open_listener(spec, l->address, err, errlen);
	if (fd < 0)
		return fd;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	/* MHD copies neither: the PEM texts outlive the daemon (tm_http_options) */
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)h->tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)h->tls_key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	if (h->tls_cert_pem)
		flags |= MHD_USE_TLS;
	else
		tls[0].option = MHD_OPTION_END;
	l->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,   /* first, or MHD logs before it */
		MHD_OPTION_ARRAY, tls,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
		MHD_OPTION_CONNECTION_TIMEOUT, h->idle_timeout_s,
		MHD_OPTION_CONNECTION_LIMIT, max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, max_per_ip,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_END);
	if (!l->daemon) {
		snprintf(err, errlen, "libmicrohttpd failed to start on %s%s", l->address,
			 h->tls_cert_pem ? " with TLS: are --tls-cert and --tls-key a PEM "
					   "certificate and its private key?" : "");
		close(fd);
		return -EIO;
	}
	return 0;
}

/* the limits, the UDP listeners to count, and the metrics */
static int http_init_limits(struct tm_http *h, const struct tm_http_options *opt, char *err,
			    size_t errlen)
{
	h->idle_timeout_s = opt->idle_timeout_s ? opt->idle_timeout_s : IDLE_TIMEOUT_S;
	h->request_timeout_s = opt->request_timeout_s ? opt->request_timeout_s
						      : REQUEST_TIMEOUT_S;
	for (size_t i = 0; i < opt->n_udp && h->n_udp < HTTP_MAX_UDP; i++)
		h->udp[h->n_udp++] = opt->udp[i];
	for (int i = 0; i < HTTP_ROUTE_COUNT; i++)
		tm_mhist_init(&h->route_seconds[i], tm_mhist_duration_ns, TM_MHIST_DURATION_N, 1e-9);
	if (opt->client_rate > 0) {
		double burst = opt->client_burst > 0 ? opt->client_burst : opt->client_rate;
		h->client_limit = tm_client_limit_new(opt->client_rate, burst);
		if (!h->client_limit) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int tm_http_start(const struct tm_http_options *opt, struct tm_store *store,
		  struct tm_writer *writer, struct tm_http **out, char *err, size_t errlen)
{
	*out = NULL;
	if (opt->n_listen == 0 || opt->n_listen > TM_HTTP_MAX_LISTEN) {
		snprintf(err, errlen, "between 1 and %d --listen addresses", TM_HTTP_MAX_LISTEN);
		return -EINVAL;
	}
	struct tm_http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->store = store;
	h->smap = opt->smap;
	h->writer = writer;
	h->max_body_bytes = opt->max_body_bytes;
	h->ingest_token = opt->ingest_token;
	h->query_token = opt->query_token;
	h->tls_cert_pem = opt->tls_key_pem ? opt->tls_cert_pem : NULL;
	h->tls_key_pem = opt->tls_cert_pem ? opt->tls_key_pem : NULL;
	h->access_log = opt->access_log;
	int rc = http_init_limits(h, opt, err, errlen);
	if (rc) {
		free(h);
		return rc;
	}
	rc = tm_workers_start(opt->threads ? opt->threads : 1, &h->workers);
	if (rc) {
		snprintf(err, errlen, "cannot start decoder threads: %s", strerror(-rc));
		tm_client_limit_free(h->client_limit);
		free(h);
		return rc;
	}
	for (; h->n_listeners < opt->n_listen; h->n_listeners++) {
		rc = start_listener(h, &h->listeners[h->n_listeners], opt->listen[h->n_listeners],
				    opt, err, errlen);
		if (rc) {
			tm_http_stop(h);
			return rc;
		}
	}
	*out = h;
	return 0;
}

const char *tm_http_address(const struct tm_http *h, size_t i)
{
	return i < h->n_listeners ? h->listeners[i].address : NULL;
}

void tm_http_quiesce(struct tm_http *h, int timeout_ms)
{
	atomic_store(&h->stopping, 1);
	for (size_t i = 0; i < h->n_listeners; i++) {
		MHD_socket fd = MHD_quiesce_daemon(h->listeners[i].daemon);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	struct timespec step = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; waited < timeout_ms && atomic_load(&h->suspended) > 0;
	     waited += 10)
		nanosleep(&step, NULL);
	/* decoders may still hand batches to the writer, so they stop first */
	tm_workers_stop(h->workers);
	h->workers = NULL;
}

void tm_http_stop(struct tm_http *h)
{
	if (!h)
		return;
	tm_workers_stop(h->workers);
	for (size_t i = 0; i < h->n_listeners; i++)
		MHD_stop_daemon(h->listeners[i].daemon);
	tm_client_limit_free(h->client_limit);
	free(h);
}
