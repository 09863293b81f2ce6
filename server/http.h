/* http.h - the HTTP server: listeners, routing, request bodies, responses.
 *
 * One struct tm_http runs libmicrohttpd on each of its listening sockets
 * (every listener serves every path) with a pool of threads.  An ingest request is suspended (holding no thread) once its
 * body is in, decoded on a pool of worker threads, handed to the writer, and
 * resumed to be answered when its commit is done.
 * Threads: start and stop from one thread; everything else is internal.
 * Errors: tm_http_start returns a negative errno and a one-line message. */
#ifndef TM_HTTP_H
#define TM_HTTP_H

#include <stddef.h>

#include "metrics.h"
#include "store.h"
#include "udp.h"
#include "writer.h"

#define TM_HTTP_MAX_LISTEN 8

struct tm_http_options {
	const char *const *listen; /* "ADDR:PORT" each; port 0 picks a free one */
	size_t n_listen;
	size_t max_body_bytes;     /* after inflation */
	unsigned threads;
	struct tm_smap *smap;      /* the live service map, or NULL (not owned) */
	/* the rest is borrowed and must outlive the server; NULL: off */
	const char *ingest_token;  /* required as a bearer token on ingest paths */
	const char *query_token;   /* ... on every other path but /healthz, /readyz */
	const char *tls_cert_pem;  /* both or neither: every listener serves HTTPS */
	const char *tls_key_pem;
	struct tm_access_log *access_log;
	/* limits (docs/operations.md); 0 = the default in parentheses */
	unsigned max_connections;          /* per listener (4096) */
	unsigned max_connections_per_ip;   /* per listener; 0: no limit */
	unsigned idle_timeout_s;           /* a connection quiet this long is closed (60) */
	unsigned request_timeout_s;        /* headers to the end of the body (120) */
	double client_rate;                /* spans/s per client address; 0: no limit */
	double client_burst;               /* spans; 0: one second of client_rate */
	const struct tm_http_udp *udp;     /* the UDP listeners, counted in /metrics */
	size_t n_udp;
};

/* a UDP listener whose counts /metrics shows under a protocol */
struct tm_http_udp {
	struct tm_udp *udp;
	enum tm_protocol protocol;
};

struct tm_http;
struct tm_smap;
struct tm_access_log;

/* checks an "ADDR:PORT" listen address without binding it; 0 or -EINVAL
 * with a one-line message in err. */
int tm_http_check_listen(const char *spec, char *err, size_t errlen);

/* binds and starts serving.  store and writer must outlive the server. */
int tm_http_start(const struct tm_http_options *opt, struct tm_store *store,
		  struct tm_writer *writer, struct tm_http **out, char *err, size_t errlen);

/* the bound address of listener i, e.g. "127.0.0.1:4318", or NULL past the
 * last (valid until tm_http_stop). */
const char *tm_http_address(const struct tm_http *h, size_t i);

/* stops accepting connections, answers new ingest requests with 503, waits
 * (up to timeout_ms) until no request awaits decoding or its commit, then
 * stops the decoders.  Call before stopping the writer. */
void tm_http_quiesce(struct tm_http *h, int timeout_ms);

/* closes every connection and frees h; the writer must have been stopped
 * (which answers every request still waiting for it).  NULL is a no-op. */
void tm_http_stop(struct tm_http *h);

#endif
