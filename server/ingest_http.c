/* ingest_http.c - every span-ingest route: body in, durable, then answered.
 *
 * One table names each ingest path, the media types it takes, the decoder
 * of each, and how that ecosystem expects to be answered.  OTLP/HTTP status
 * codes apply to all: 400 undecodable (never retried), 413 over --max-body
 * after inflation, 415 other content types, 405 other methods, 503 +
 * Retry-After when the write queue is full or the store cannot take the
 * batch now (retried by OTLP exporters), 507 when the store is full.  Error
 * bodies are google.rpc.Status for OTLP (protobuf or JSON, as the request)
 * and a plain-text message for Zipkin and Jaeger clients. */
#define LOG_MODULE "ingest"
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest_jaeger.h"
#include "ingest_otlp.h"
#include "ingest_zipkin.h"
#include "json.h"
#include "log.h"
#include "otlp_response.h"

#define RETRY_AFTER_S 1

struct ingest_format {
	const char *media_type;
	tm_ingest_decode_fn decode;
	enum ingest_reply reply;
};

struct ingest_route {
	const char *path;
	const char *supported;          /* for the 415 message */
	struct ingest_format formats[3];
	enum tm_protocol protocol;      /* in /metrics */
};

static const struct ingest_route routes[] = {
	{ "/v1/traces", "application/x-protobuf, application/json",
	  { { "application/x-protobuf", tm_ingest_otlp_proto, REPLY_OTLP_PROTO },
	    { "application/json", tm_ingest_otlp_json, REPLY_OTLP_JSON } },
	  TM_PROTO_OTLP },
	{ "/api/v2/spans", "application/json, application/x-protobuf",
	  { { "application/json", tm_ingest_zipkin_v2_json, REPLY_ACCEPTED },
	    { "application/x-protobuf", tm_ingest_zipkin_proto, REPLY_ACCEPTED } },
	  TM_PROTO_ZIPKIN_V2 },
	{ "/api/v1/spans", "application/json",
	  { { "application/json", tm_ingest_zipkin_v1_json, REPLY_ACCEPTED } },
	  TM_PROTO_ZIPKIN_V1 },
	{ "/api/traces", "application/x-thrift, application/vnd.apache.thrift.binary",
	  { { "application/x-thrift", tm_ingest_jaeger_thrift, REPLY_ACCEPTED },
	    { "application/vnd.apache.thrift.binary", tm_ingest_jaeger_thrift,
	      REPLY_ACCEPTED } },
	  TM_PROTO_JAEGER_THRIFT },
};

int ingest_route_exists(const char *path, const char *method)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(routes[i].path, path))
			/* GET /api/traces is the Jaeger search, GET /api/v2/spans
			 * Zipkin's span names: queries, not ingest */
			return (strcmp(method, "GET") && strcmp(method, "HEAD")) ||
			       (strcmp(path, "/api/traces") && strcmp(path, "/api/v2/spans"));
	return 0;
}

static const struct ingest_route *find_route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(routes[i].path, path))
			return &routes[i];
	return NULL;
}

enum tm_protocol ingest_route_protocol(const char *path)
{
	const struct ingest_route *route = find_route(path);
	return route ? route->protocol : TM_PROTO_OTLP;
}

/* the reason of a refusal whose cause did not name one */
static enum tm_refusal refusal_of(unsigned status)
{
	switch (status) {
	case 405: return TM_REFUSE_METHOD;
	case 413: return TM_REFUSE_TOO_LARGE;
	case 415: return TM_REFUSE_MEDIA_TYPE;
	case 429: return TM_REFUSE_CLIENT_RATE;
	case 507: return TM_REFUSE_STORE_FULL;
	case 503: return TM_REFUSE_STORE_ERROR;
	default: return status >= 500 ? TM_REFUSE_STORE_ERROR : TM_REFUSE_INVALID;
	}
}

/* every answer of an ingest request passes here or through reply_stored */
static void count_refused(struct http_request *r, unsigned status)
{
	struct tm_ingest_counters *c = &r->http->ingest;
	enum tm_refusal why = r->refusal >= 0 ? (enum tm_refusal)r->refusal : refusal_of(status);
	tm_counter_add(&c->requests_refused[r->protocol][why], 1);
	tm_counter_add(&c->spans_refused[r->protocol][why], r->batch.n_spans);
}

static enum MHD_Result reply_error(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	count_refused(r, status);
	if ((status == 429 || status == 503 || status == 507) && !r->retry_after_s)
		r->retry_after_s = RETRY_AFTER_S;
	switch (r->reply) {
	case REPLY_OTLP_PROTO:
		tm_otlp_status_encode(&out, status, msg);
		return http_respond_buf(r, status, "application/x-protobuf", &out);
	case REPLY_OTLP_JSON:
		tm_buf_add_str(&out, "{\"code\":");
		tm_json_int(&out, tm_otlp_grpc_code(status));
		tm_buf_add_str(&out, ",\"message\":");
		tm_json_cstr(&out, msg);
		tm_buf_add_str(&out, "}");
		return http_respond_buf(r, status, "application/json", &out);
	case REPLY_ACCEPTED:
		break;
	}
	tm_buf_add_str(&out, msg);
	tm_buf_add_str(&out, "\n");
	return http_respond_buf(r, status, "text/plain; charset=utf-8", &out);
}

static void count_stored(struct http_request *r)
{
	struct tm_ingest_counters *c = &r->http->ingest;
	tm_counter_add(&c->requests_accepted[r->protocol], 1);
	tm_counter_add(&c->spans_accepted[r->protocol], r->batch.n_spans);
}

static enum MHD_Result reply_stored(struct http_request *r)
{
	struct tm_buf out;
	tm_buf_init(&out);
	const struct tm_ingest_report *rep = &r->report;
	/* Zipkin and Jaeger have no partial success: all-rejected is a 400 */
	if (r->reply == REPLY_ACCEPTED && rep->rejected && !rep->accepted)
		return reply_error(r, 400, rep->message);
	count_stored(r);
	switch (r->reply) {
	case REPLY_OTLP_PROTO:
		if (rep->rejected)
			tm_otlp_partial_success_encode(&out, rep->rejected, rep->message);
		return http_respond_buf(r, 200, "application/x-protobuf", &out);
	case REPLY_OTLP_JSON:
		if (rep->rejected) {
			tm_buf_add_str(&out, "{\"partialSuccess\":{\"rejectedSpans\":");
			tm_json_uint_str(&out, rep->rejected);
			tm_buf_add_str(&out, ",\"errorMessage\":");
			tm_json_cstr(&out, rep->message);
			tm_buf_add_str(&out, "}}");
		} else {
			tm_buf_add_str(&out, "{}");
		}
		return http_respond_buf(r, 200, "application/json", &out);
	case REPLY_ACCEPTED:
		break;
	}
	if (rep->rejected) {
		char why[sizeof(rep->message) + 64];
		LOG(TM_LOG_WARN, "%s: %zu spans rejected: %s", r->path, rep->rejected,
		    tm_log_content(rep->message, why, sizeof(why)));
	}
	return http_respond_buf(r, 202, NULL, &out);
}

/* the media type without parameters, compared case-insensitively */
static int media_type_is(const char *header, const char *type)
{
	if (!header)
		return 0;
	size_t n = strlen(type);
	if (strncasecmp(header, type, n))
		return 0;
	char next = header[n];
	return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* the status and message for a request refused on its headers alone, or 0 */
static unsigned check_headers(struct http_request *r, const char *method, char *msg,
			      size_t msglen)
{
	if (strcmp(method, "POST")) {
		r->allow = "POST";
		snprintf(msg, msglen, "405 method not allowed, supported: [POST]");
		return 405;
	}
	const struct ingest_route *route = find_route(r->path);
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	const struct ingest_format *f = route->formats;
	for (; f < route->formats + 3 && f->media_type; f++)
		if (media_type_is(ct, f->media_type))
			break;
	if (f == route->formats + 3 || !f->media_type) {
		snprintf(msg, msglen, "415 unsupported media type %.80s, supported: [%s]",
			 ct ? ct : "(none)", route->supported);
		return 415;
	}
	r->decode = f->decode;
	r->reply = f->reply;
	const char *ce = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (ce && strcasecmp(ce, "gzip") && strcasecmp(ce, "identity")) {
		snprintf(msg, msglen, "unsupported Content-Encoding %.60s, supported: gzip, identity",
			 ce);
		return 415;
	}
	if (atomic_load(&r->http->stopping)) {
		r->refusal = TM_REFUSE_SHUTTING_DOWN;
		snprintf(msg, msglen, "server is shutting down");
		return 503;
	}
	return 0;
}

static enum MHD_Result respond_after_commit(struct http_request *r);
static void decode_job(struct tm_job *job);

/* hands the request back to its HTTP thread, which answers it */
static void finish(struct http_request *r)
{
	r->state = REQ_DONE;
	struct MHD_Connection *conn = r->conn;
	struct tm_http *h = r->http;
	/* r may be answered and freed by an HTTP thread from here on */
	MHD_resume_connection(conn);
	atomic_fetch_sub(&h->suspended, 1);
}

static void finish_with_error(struct http_request *r, unsigned status, const char *msg)
{
	r->answer_status = status;
	snprintf(r->answer_message, sizeof(r->answer_message), "%s", msg);
	finish(r);
}

static void on_committed(struct tm_write_req *w, int result)
{
	struct http_request *r = (struct http_request *)((char *)w -
							  offsetof(struct http_request, write_req));
	r->commit_result = result;
	finish(r);
}

static enum MHD_Result on_body_done(struct http_request *r)
{
	if (r->state == REQ_DONE)
		return r->answer_status ? reply_error(r, r->answer_status, r->answer_message)
					: respond_after_commit(r);
	if (r->state == REQ_SUSPENDED)
		return MHD_YES;   /* spurious call while suspended */
	if (r->upload_status)
		return reply_error(r, (unsigned)r->upload_status, r->upload_message);
	if (r->inflater && tm_inflate_finish(r->inflater) < 0)
		return reply_error(r, 400, "gzip body ends before the gzip stream does");
	/* decode on the worker pool; the connection waits without a thread */
	r->state = REQ_SUSPENDED;
	atomic_fetch_add(&r->http->suspended, 1);
	MHD_suspend_connection(r->conn);
	r->job.run = decode_job;
	tm_workers_submit(r->http->workers, &r->job);
	return MHD_YES;
}

/* a body declared too large is refused.  Most clients only read the answer
 * once they have sent the whole body (an early answer and close is an EPIPE
 * to them), so a body of sane size is read and dropped and then answered;
 * only a client that waits for "100 Continue", or an absurd length, gets the
 * answer at once. */
static int refuse_declared_length_now(struct http_request *r, const char *ce)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t max = r->http->max_body_bytes;
	/* a gzip body may be small on the wire; it is capped while inflating */
	if (!cl || (ce && !strcasecmp(ce, "gzip")))
		return 0;
	unsigned long long declared = strtoull(cl, NULL, 10);
	if (declared <= max)
		return 0;
	r->upload_status = 413;
	snprintf(r->upload_message, sizeof(r->upload_message),
		 "request body of %.20s bytes exceeds the limit of %zu bytes", cl, max);
	const char *expect = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_EXPECT);
	return (expect && !strcasecmp(expect, "100-continue")) || declared / 16 > max;
}

enum MHD_Result ingest_begin(struct http_request *r, const char *method)
{
	r->protocol = ingest_route_protocol(r->path);
	tm_counter_add(&r->http->ingest.requests_received[r->protocol], 1);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	r->client = ci ? ci->client_addr : NULL;
	char msg[256];
	unsigned status = check_headers(r, method, msg, sizeof(msg));
	if (status)
		return reply_error(r, status, msg);
	const char *ce = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (ce && !strcasecmp(ce, "gzip")) {
		r->inflater = tm_inflate_new(r->http->max_body_bytes);
		if (!r->inflater) {
			r->refusal = TM_REFUSE_NO_MEMORY;
			return reply_error(r, 503, "out of memory");
		}
	}
	if (refuse_declared_length_now(r, ce))
		return reply_error(r, 413, r->upload_message);
	r->on_body_done = on_body_done;
	return MHD_YES;
}

/* --client-rate: 0, or 429 with Retry-After set */
static unsigned take_client_rate(struct http_request *r, const char **msg)
{
	struct tm_client_limit *l = r->http->client_limit;
	if (!l)
		return 0;
	unsigned wait = tm_client_limit_take(l, r->client, r->batch.n_spans, http_mono_ns());
	if (!wait)
		return 0;
	r->retry_after_s = wait;
	r->refusal = TM_REFUSE_CLIENT_RATE;
	*msg = "this client sends more spans per second than --client-rate allows, retry later";
	return 429;
}

/* hands a decoded batch to the writer; 0, or the status to answer with */
static unsigned submit_batch(struct http_request *r, const char **msg)
{
	r->write_req.batch = &r->batch;
	r->write_req.bytes = r->body.len + r->batch.bytes;
	r->write_req.done = on_committed;
	unsigned status = take_client_rate(r, msg);
	if (status)
		return status;
	int rc = tm_writer_reserve(r->http->writer, r->write_req.bytes);
	if (rc) {
		if (r->http->client_limit)
			tm_client_limit_give_back(r->http->client_limit, r->client,
						  r->batch.n_spans);
		r->refusal = rc == -EAGAIN ? TM_REFUSE_QUEUE_FULL : TM_REFUSE_SHUTTING_DOWN;
		*msg = rc == -EAGAIN ? "write queue is full, retry later" : "server is shutting down";
		return 503;
	}
	/* the body is decoded into the arena; its buffer is not needed any more */
	tm_buf_free(&r->body);
	tm_writer_submit(r->http->writer, &r->write_req);
	return 0;
}

/* runs on a worker: decode, then hand over to the writer or answer */
static void decode_job(struct tm_job *job)
{
	struct http_request *r = (struct http_request *)((char *)job -
							  offsetof(struct http_request, job));
	/* decoding may take several times the body in the arena; bound it */
	r->arena.max_bytes = 16 * r->body.len + (1u << 20);
	int rc = r->decode(r->body.data, r->body.len, &r->arena, &r->batch, &r->report);
	const char *msg = r->report.message;
	unsigned status = rc == -EBADMSG ? 400 : rc == -E2BIG ? 413 : rc ? 503 : 0;
	if (rc && status == 503) {
		r->refusal = TM_REFUSE_NO_MEMORY;
		msg = "out of memory while decoding the request";
	}
	struct tm_ingest_counters *c = &r->http->ingest;
	if (rc) {
		r->batch.n_spans = 0;   /* nothing of a refused body counts as decoded */
	} else {
		tm_counter_add(&c->spans_received[r->protocol],
				r->batch.n_spans + r->report.rejected);
		tm_counter_add(&c->spans_refused[r->protocol][TM_REFUSE_INVALID],
				r->report.rejected);
	}
	if (!status && r->batch.n_spans) {
		status = submit_batch(r, &msg);
		if (!status)
			return;   /* on_committed() answers */
	}
	if (status)
		finish_with_error(r, status, msg);
	else
		finish(r);   /* nothing to store: answer now */
}

static enum MHD_Result respond_after_commit(struct http_request *r)
{
	if (!r->commit_result)
		return reply_stored(r);
	LOG(TM_LOG_WARN, "batch of %zu spans not stored: %s", r->batch.n_spans,
	    tm_store_strerror(r->commit_result));
	char msg[160];
	snprintf(msg, sizeof(msg), "spans not stored: %s", tm_store_strerror(r->commit_result));
	return reply_error(r, r->commit_result == -ENOSPC ? 507 : 503, msg);
}
