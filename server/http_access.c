/* http_access.c - who may use which path (bearer tokens), and each
 * request's line in the access log.
 *
 * Three classes of path: ingest (every route of ingest_http.c's table, by
 * path and method), open (/healthz and /readyz, so that probes need no
 * secret), and query: everything else, which is every query API, every
 * page, the favicon and paths that do not exist, so that a refused client
 * learns nothing about what is there.  A refusal is the same 401 with
 * "WWW-Authenticate: Bearer" whatever was wrong. */
#define LOG_MODULE "http"
#include "http_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "access_log.h"
#include "auth.h"

/* longest path and query written to the access log */
#define LOGGED_TARGET_MAX 2048

enum access_class { ACCESS_OPEN, ACCESS_INGEST, ACCESS_QUERY };

static enum access_class access_class(const char *path, const char *method)
{
	if (ingest_route_exists(path, method))
		return ACCESS_INGEST;
	if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz"))
		return ACCESS_OPEN;
	return ACCESS_QUERY;
}

int http_access_allowed(struct http_request *r, const char *method)
{
	const struct tm_http *h = r->http;
	const char *token = NULL;
	switch (access_class(r->path, method)) {
	case ACCESS_OPEN:
		return 1;
	case ACCESS_INGEST:
		token = h->ingest_token;
		break;
	case ACCESS_QUERY:
		token = h->query_token;
		break;
	}
	if (!token)
		return 1;
	const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	return tm_auth_bearer_matches(auth, token);
}

static enum MHD_Result respond_unauthorized(struct http_request *r, const char *method)
{
	(void)method;
	r->www_authenticate = "Bearer";
	return http_respond_text(r, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8",
				 "401 unauthorized\n");
}

/* as ingest_http.c: most clients read the answer only once they have sent
 * the body, so a body of sane size is read (and dropped) first; a client
 * that waits for "100 Continue", or an absurd length, is answered at once */
static int answer_now(struct http_request *r)
{
	const char *expect = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_EXPECT);
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	return (expect && !strcasecmp(expect, "100-continue")) ||
	       (cl && strtoull(cl, NULL, 10) > r->http->max_body_bytes);
}

enum MHD_Result http_access_refuse(struct http_request *r, const char *method)
{
	if (answer_now(r))
		return respond_unauthorized(r, method);
	r->at_end = respond_unauthorized;   /* on_body_done stays NULL: the body is dropped */
	r->method = method;
	return MHD_YES;
}

/*---- the access log ----*/

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void add_client(struct tm_buf *b, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char addr[INET6_ADDRSTRLEN] = "-";
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
			  sizeof(addr));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  addr, sizeof(addr));
	tm_buf_add_str(b, addr);
}

struct query_walk {
	struct tm_buf *b;
	int with_values;
	size_t n;
};

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	struct query_walk *q = cls;
	if (q->b->len > LOGGED_TARGET_MAX)
		return MHD_NO;
	tm_buf_add_str(q->b, q->n++ ? "&" : "?");
	tm_access_log_escape(q->b, key, strlen(key), "&=?");
	if (q->with_values && value) {
		tm_buf_add_str(q->b, "=");
		tm_access_log_escape(q->b, value, strlen(value), "&=?");
	}
	return MHD_YES;
}

void http_access_log_begin(struct http_request *r, const char *method)
{
	struct tm_access_log *log = r->http->access_log;
	if (!log)
		return;
	struct tm_buf b;   /* r->start_ns was set with the request */
	tm_buf_init(&b);
	add_client(&b, r->conn);
	tm_buf_add_str(&b, " ");
	tm_access_log_escape(&b, method, strlen(method), NULL);
	tm_buf_add_str(&b, " ");
	size_t path_len = strlen(r->path);
	tm_access_log_escape(&b, r->path, path_len < LOGGED_TARGET_MAX ? path_len
								     : LOGGED_TARGET_MAX, "?");
	struct query_walk q = { &b, tm_access_log_with_query_values(log), 0 };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
	tm_buf_add(&b, "", 1);
	if (b.failed) {
		tm_buf_free(&b);
		return;
	}
	r->access_head = (char *)b.data;   /* taken: freed in http_access_log_end */
}

void http_access_log_end(struct http_request *r)
{
	if (!r->access_head)
		return;
	tm_access_log_write(r->http->access_log, r->access_head, (int)r->status, r->bytes,
			    monotonic_ns() - r->start_ns);
	free(r->access_head);
	r->access_head = NULL;
}
