/* httpc.h - the blocking HTTP/1.1 keep-alive client of the benchmarks, and
 * their latency statistics.
 *
 * One struct httpc_conn is one TCP connection used by one thread: it sends
 * a request the caller has formatted, then reads the status line, the
 * headers and the body (Content-Length, chunked, or up to EOF when neither
 * is given).  The caller decides what to do with failures: reconnecting is
 * httpc_conn_close() followed by httpc_conn_open().  No TLS, no pipelining.
 *
 * Threads: a struct httpc_target is read-only once resolved and may be
 *          shared; a connection and a latency set belong to one thread.
 * Errors:  functions return 0 or a negative errno; -EPROTO for a response
 *          that is not HTTP/1.x, -ECONNRESET for a connection closed in the
 *          middle of a response, -EMSGSIZE for a header line over
 *          HTTPC_RBUF_BYTES or (HTTPC_BODY_WHOLE) a body over the limit.
 *          Running out of memory exits the program (these are tools).
 * Memory:  the response body belongs to the connection and stays valid
 *          until its next exchange or httpc_conn_clear(). */
#ifndef HTTPC_H
#define HTTPC_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HTTPC_RBUF_BYTES 16384

/* where requests go: parsed from a URL, then resolved once. */
struct httpc_target {
	char host[256];
	char port[16];
	char path[256];              /* the URL's path; "" = none given */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int io_timeout_s;            /* SO_RCVTIMEO / SO_SNDTIMEO of each socket */
};

/* what a connection keeps of a response body. */
enum httpc_body_mode {
	HTTPC_BODY_PREFIX,           /* the first body_max bytes; the rest is read and dropped */
	HTTPC_BODY_WHOLE,            /* all of it; a longer body fails with -EMSGSIZE */
};

struct httpc_conn {
	const struct httpc_target *target;
	int fd;                      /* -1 when closed */
	unsigned char rbuf[HTTPC_RBUF_BYTES];
	size_t rpos, rlen;
	enum httpc_body_mode body_mode;
	size_t body_max;
	unsigned char *body;         /* NUL-terminated after each exchange */
	size_t body_len, body_cap;
};

struct httpc_response {
	int status;
	int64_t content_length;      /* -1 = absent */
	int is_chunked;
	int is_close;                /* the server closes the connection after it */
	int retry_after_s;           /* -1 = absent */
	const unsigned char *body;   /* borrowed from the connection, NUL-terminated */
	size_t body_len;             /* bytes kept (HTTPC_BODY_PREFIX: at most body_max) */
};

/* splits http://HOST[:PORT][/PATH] into t (no TLS: another scheme is
 * -EINVAL); the port defaults to default_port, and t->path is "" when the
 * URL has no path or just "/". */
int httpc_target_parse(struct httpc_target *t, const char *url, const char *default_port);

/* resolves t->host and t->port into t->addr; prints "prog: host:port: why"
 * to stderr and returns -EINVAL when that fails. */
int httpc_target_resolve(struct httpc_target *t, const char *prog);

/* prepares a closed connection to t; t must outlive it. */
void httpc_conn_init(struct httpc_conn *c, const struct httpc_target *t,
		     enum httpc_body_mode body_mode, size_t body_max);

/* closes the connection and frees the body buffer; the struct may be
 * initialised again. */
void httpc_conn_clear(struct httpc_conn *c);

/* connects (TCP_NODELAY, the target's I/O timeouts); returns 0 or -errno. */
int httpc_conn_open(struct httpc_conn *c);

/* closes the socket if open and drops unread bytes. */
void httpc_conn_close(struct httpc_conn *c);

static inline int httpc_conn_is_open(const struct httpc_conn *c)
{
	return c->fd >= 0;
}

/* sends head (the request line and headers up to the empty line, as the
 * caller formatted them) and body (may be NULL when body_len is 0) on an
 * open connection, then reads the whole response into r.  After an error
 * the connection is in an unknown state: close it.  When r->is_close is
 * set the caller should close it too. */
int httpc_exchange(struct httpc_conn *c, const char *head, size_t head_len,
		   const void *body, size_t body_len, struct httpc_response *r);

/*---- latency statistics ----*/

/* one sample per exchange, in nanoseconds; a struct of zeroes is empty. */
struct httpc_latency {
	uint64_t *ns;
	size_t n, cap;
	int is_sorted;
};

void httpc_latency_add(struct httpc_latency *l, uint64_t ns);

/* appends every sample of src to dst. */
void httpc_latency_merge(struct httpc_latency *dst, const struct httpc_latency *src);

/* the q-quantile (0..1, nearest rank) in milliseconds, 0 when empty; sorts
 * the samples on first use.  q = 1 is the maximum. */
double httpc_latency_ms(struct httpc_latency *l, double q);

void httpc_latency_clear(struct httpc_latency *l);

#endif
