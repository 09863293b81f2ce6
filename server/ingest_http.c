/* ingest_http.c - POST /v1/traces: OTLP/HTTP protobuf in, durable, then 200.
 *
 * Status codes follow OTLP/HTTP: 400 undecodable (never retried), 413 over
 * --max-body after inflation, 415 other content types, 405 other methods,
 * 503 + Retry-After when the write queue is full or the store cannot take
 * the batch now (retried by exporters).  Every error body is a
 * google.rpc.Status whose message says what was wrong. */
#define LOG_MODULE "ingest"
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "otlp_response.h"

#define PROTOBUF_TYPE "application/x-protobuf"
#define RETRY_AFTER_S 1

static enum MHD_Result otlp_error(struct http_request *r, unsigned status, const char *msg)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_otlp_status_encode(&out, status, msg);
	if (status == 429 || status == 503)
		r->retry_after_s = RETRY_AFTER_S;
	return http_respond_buf(r, status, PROTOBUF_TYPE, &out);
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
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!media_type_is(ct, PROTOBUF_TYPE)) {
		snprintf(msg, msglen,
			 "415 unsupported media type %.80s, supported: [application/x-protobuf]",
			 ct ? ct : "(none)");
		return 415;
	}
	const char *ce = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (ce && strcasecmp(ce, "gzip") && strcasecmp(ce, "identity")) {
		snprintf(msg, msglen, "unsupported Content-Encoding %.60s, supported: gzip, identity",
			 ce);
		return 415;
	}
	if (atomic_load(&r->http->stopping)) {
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
		return r->answer_status ? otlp_error(r, r->answer_status, r->answer_message)
					: respond_after_commit(r);
	if (r->state == REQ_SUSPENDED)
		return MHD_YES;   /* spurious call while suspended */
	if (r->upload_status)
		return otlp_error(r, (unsigned)r->upload_status, r->upload_message);
	if (r->inflater && tm_inflate_finish(r->inflater) < 0)
		return otlp_error(r, 400, "gzip body ends before the gzip stream does");
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

enum MHD_Result ingest_otlp_begin(struct http_request *r, const char *method)
{
	char msg[256];
	unsigned status = check_headers(r, method, msg, sizeof(msg));
	if (status)
		return otlp_error(r, status, msg);
	const char *ce = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (ce && !strcasecmp(ce, "gzip")) {
		r->inflater = tm_inflate_new(r->http->max_body_bytes);
		if (!r->inflater)
			return otlp_error(r, 503, "out of memory");
	}
	if (refuse_declared_length_now(r, ce))
		return otlp_error(r, 413, r->upload_message);
	r->on_body_done = on_body_done;
	return MHD_YES;
}

/* runs on a worker: decode, then hand over to the writer or answer */
static void decode_job(struct tm_job *job)
{
	struct http_request *r = (struct http_request *)((char *)job -
							  offsetof(struct http_request, job));
	/* decoding may take several times the body in the arena; bound it */
	r->arena.max_bytes = 16 * r->body.len + (1u << 20);
	int rc = tm_ingest_otlp_proto(r->body.data, r->body.len, &r->arena, &r->batch,
				      &r->report);
	if (rc == -EBADMSG)
		return finish_with_error(r, 400, r->report.message);
	if (rc == -E2BIG)
		return finish_with_error(r, 413, r->report.message);
	if (rc)
		return finish_with_error(r, 503, "out of memory while decoding the request");
	if (r->batch.n_spans == 0)
		return finish(r);   /* nothing to store: answer now */
	r->write_req.batch = &r->batch;
	r->write_req.bytes = r->body.len + r->batch.bytes;
	r->write_req.done = on_committed;
	rc = tm_writer_reserve(r->http->writer, r->write_req.bytes);
	if (rc)
		return finish_with_error(r, 503, rc == -EAGAIN ? "write queue is full, retry later"
							       : "server is shutting down");
	/* the body is decoded into the arena; its buffer is not needed any more */
	tm_buf_free(&r->body);
	tm_writer_submit(r->http->writer, &r->write_req);
}

static enum MHD_Result respond_after_commit(struct http_request *r)
{
	if (r->commit_result) {
		LOG(TM_LOG_WARN, "batch of %zu spans not stored: %s", r->batch.n_spans,
		    tm_store_strerror(r->commit_result));
		unsigned status = r->commit_result == -ENOSPC ? 507 : 503;
		char msg[160];
		snprintf(msg, sizeof(msg), "spans not stored: %s", tm_store_strerror(r->commit_result));
		r->retry_after_s = RETRY_AFTER_S;
		struct tm_buf out;
		tm_buf_init(&out);
		tm_otlp_status_encode(&out, status, msg);
		return http_respond_buf(r, status, PROTOBUF_TYPE, &out);
	}
	struct tm_buf out;
	tm_buf_init(&out);
	if (r->report.rejected)
		tm_otlp_partial_success_encode(&out, r->report.rejected, r->report.message);
	return http_respond_buf(r, 200, PROTOBUF_TYPE, &out);
}
