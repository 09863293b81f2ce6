/* http_internal.h - what the request handlers of server/ share. */
#ifndef TM_HTTP_INTERNAL_H
#define TM_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

#include "arena.h"
#include "batch.h"
#include "gzip.h"
#include "http.h"
#include "ingest.h"
#include "workers.h"
#include "writer.h"

/* the address string of a listener: "[v6]:port" fits too */
#define HTTP_ADDR_LEN 64

struct http_listener {
	struct MHD_Daemon *daemon;
	char address[HTTP_ADDR_LEN];
};

struct tm_http {
	struct http_listener listeners[TM_HTTP_MAX_LISTEN];
	size_t n_listeners;
	struct tm_store *store;
	struct tm_smap *smap;         /* may be NULL (--no-service-map) */
	struct tm_writer *writer;
	size_t max_body_bytes;
	struct tm_workers *workers;   /* decoding */
	atomic_int suspended;         /* requests waiting for a decoder or a commit */
	atomic_int stopping;
	/* access (http_access.c); borrowed from tm_http_options */
	const char *ingest_token;     /* NULL: ingest is open */
	const char *query_token;      /* NULL: queries and pages are open */
	struct tm_access_log *access_log;   /* NULL: none */
	const char *tls_cert_pem;     /* NULL: plain HTTP */
	const char *tls_key_pem;
};

/* how an ingest route answers, by the ecosystem of its clients */
enum ingest_reply {
	REPLY_OTLP_PROTO,   /* 200, ExportTraceServiceResponse / google.rpc.Status */
	REPLY_OTLP_JSON,    /* 200 {} / partialSuccess; JSON google.rpc.Status */
	REPLY_ACCEPTED,     /* Zipkin, Jaeger: 202, empty; errors in plain text */
};

enum request_state {
	REQ_RECEIVING,
	REQ_SUSPENDED,   /* on the worker pool or in the writer */
	REQ_DONE,        /* resumed: answer from answer_* or commit_result */
};

struct http_request;
typedef enum MHD_Result (*http_handler_fn)(struct http_request *r);

struct http_request {
	struct tm_http *http;
	struct MHD_Connection *conn;
	const char *path;              /* MHD's, valid for the request */
	http_handler_fn on_body_done;  /* set when the request has a body */
	enum MHD_Result (*at_end)(struct http_request *r, const char *method);
	const char *method;            /* MHD's, valid for the request */
	enum request_state state;
	/* body */
	struct tm_buf body;
	struct tm_inflate *inflater;
	int upload_status;             /* non-zero: answer this once the body is read */
	char upload_message[256];
	/* ingest */
	tm_ingest_decode_fn decode;
	enum ingest_reply reply;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	struct tm_job job;
	struct tm_write_req write_req;
	int commit_result;
	unsigned answer_status;        /* non-zero: answer with this error */
	char answer_message[256];
	/* extra headers of the response */
	unsigned retry_after_s;        /* Retry-After when non-zero */
	const char *allow;             /* Allow, for 405 */
	const char *cache_control;     /* Cache-Control, when set */
	const char *www_authenticate;  /* WWW-Authenticate, for 401 */
	const char *location;          /* Location, for redirects */
	/* what was answered, for the access log */
	unsigned status;               /* 0 until a response is queued */
	uint64_t bytes;                /* of the response body */
	uint64_t start_ns;             /* CLOCK_MONOTONIC at the headers */
	char *access_head;             /* owned: "CLIENT METHOD PATH", or NULL */
};

/* queues a response that takes ownership of body->data (body is reset). */
enum MHD_Result http_respond_buf(struct http_request *r, unsigned status,
				 const char *content_type, struct tm_buf *body);
enum MHD_Result http_respond_text(struct http_request *r, unsigned status,
				  const char *content_type, const char *text);

/* access control and the access log (http_access.c): allowed is 1 when the
 * request may go on; refuse answers 401 (after the body, when there is a
 * sane one); log_begin notes the request, log_end writes its line. */
int http_access_allowed(struct http_request *r, const char *method);
enum MHD_Result http_access_refuse(struct http_request *r, const char *method);
void http_access_log_begin(struct http_request *r, const char *method);
void http_access_log_end(struct http_request *r);

/* handlers, each in its own file */
int ingest_route_exists(const char *path, const char *method);
enum MHD_Result ingest_begin(struct http_request *r, const char *method);
enum MHD_Result api_trace_get(struct http_request *r, const char *method);
int api_critical_path_route_exists(const char *path);   /* /api/traces/{id}/critical-path */
enum MHD_Result api_critical_path_get(struct http_request *r, const char *method);
enum MHD_Result web_page_get(struct http_request *r, const char *method);

#endif
