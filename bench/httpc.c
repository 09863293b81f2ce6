/* httpc.c - the blocking HTTP/1.1 keep-alive client of the benchmarks, and
 * their latency statistics.  See httpc.h. */
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fprintf(stderr, "httpc: out of memory\n");
		exit(2);
	}
	return p;
}

/*---- target ----*/

int httpc_target_parse(struct httpc_target *t, const char *url, const char *default_port)
{
	const char *hostport = url, *slash, *colon;
	size_t host_len;

	if (strncmp(url, "http://", 7) == 0)
		hostport = url + 7;
	else if (strstr(url, "://"))
		return -EINVAL;   /* no TLS here */
	slash = strchr(hostport, '/');
	if (!slash)
		slash = hostport + strlen(hostport);
	colon = memchr(hostport, ':', (size_t)(slash - hostport));
	host_len = (size_t)((colon ? colon : slash) - hostport);
	if (host_len == 0 || host_len >= sizeof(t->host))
		return -EINVAL;
	memcpy(t->host, hostport, host_len);
	t->host[host_len] = 0;
	if (colon)
		snprintf(t->port, sizeof(t->port), "%.*s", (int)(slash - colon - 1), colon + 1);
	else
		snprintf(t->port, sizeof(t->port), "%s", default_port);
	snprintf(t->path, sizeof(t->path), "%s", strcmp(slash, "/") != 0 ? slash : "");
	return 0;
}

int httpc_target_resolve(struct httpc_target *t, const char *prog)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(t->host, t->port, &hints, &res);

	if (rc != 0) {
		fprintf(stderr, "%s: %s:%s: %s\n", prog, t->host, t->port, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*---- connection ----*/

void httpc_conn_init(struct httpc_conn *c, const struct httpc_target *t,
		     enum httpc_body_mode body_mode, size_t body_max)
{
	c->target = t;
	c->fd = -1;
	c->rpos = c->rlen = 0;
	c->body_mode = body_mode;
	c->body_max = body_max;
	c->body = NULL;
	c->body_len = c->body_cap = 0;
}

void httpc_conn_clear(struct httpc_conn *c)
{
	httpc_conn_close(c);
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
}

int httpc_conn_open(struct httpc_conn *c)
{
	const struct httpc_target *t = c->target;
	struct timeval tv = { t->io_timeout_s, 0 };
	int one = 1;
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addr_len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	c->fd = fd;
	c->rpos = c->rlen = 0;
	return 0;
}

void httpc_conn_close(struct httpc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

/*---- sending ----*/

static int send_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*---- receiving ----*/

/* reads more bytes into rbuf; returns the count, 0 at EOF, or -errno. */
static ssize_t rbuf_fill(struct httpc_conn *c)
{
	ssize_t n;

	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
	} else if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == sizeof(c->rbuf))
		return -EMSGSIZE;
	do
		n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	c->rlen += (size_t)n;
	return n;
}

/* returns a NUL-terminated line (CRLF cut off) from rbuf, or NULL. */
static char *rbuf_line(struct httpc_conn *c, int *err)
{
	for (;;) {
		unsigned char *start = c->rbuf + c->rpos;
		unsigned char *crlf = memmem(start, c->rlen - c->rpos, "\r\n", 2);
		ssize_t n;

		if (crlf) {
			*crlf = 0;
			c->rpos = (size_t)(crlf + 2 - c->rbuf);
			return (char *)start;
		}
		n = rbuf_fill(c);
		if (n <= 0) {
			*err = n < 0 ? (int)n : -ECONNRESET;
			return NULL;
		}
	}
}

static void parse_header(char *line, struct httpc_response *r)
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
	else if (strcasecmp(line, "Retry-After") == 0)
		r->retry_after_s = (int)strtol(val, NULL, 10);
}

static int read_head(struct httpc_conn *c, struct httpc_response *r)
{
	int err = 0;
	char *line = rbuf_line(c, &err);

	if (!line)
		return err;
	if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
		return -EPROTO;
	r->status = atoi(line + 9);
	if (line[7] == '0')
		r->is_close = 1;   /* HTTP/1.0 without keep-alive */
	while ((line = rbuf_line(c, &err)) && *line)
		parse_header(line, r);
	return line ? 0 : err;
}

/* keeps take bytes of body from rbuf, as the body mode says. */
static int body_keep(struct httpc_conn *c, size_t take)
{
	size_t keep = take;

	if (c->body_mode == HTTPC_BODY_WHOLE && c->body_len + take > c->body_max)
		return -EMSGSIZE;
	if (c->body_mode == HTTPC_BODY_PREFIX)
		keep = c->body_len < c->body_max ? c->body_max - c->body_len : 0;
	keep = keep < take ? keep : take;
	if (keep == 0)
		return 0;
	if (c->body_len + keep + 1 > c->body_cap) {
		c->body_cap = (c->body_len + keep + 1) * 2;
		c->body = xrealloc(c->body, c->body_cap);
	}
	memcpy(c->body + c->body_len, c->rbuf + c->rpos, keep);
	c->body_len += keep;
	return 0;
}

/* reads n body bytes (or up to EOF when n < 0). */
static int read_body_bytes(struct httpc_conn *c, int64_t n)
{
	while (n != 0) {
		size_t avail = c->rlen - c->rpos;
		size_t take;
		ssize_t got;
		int rc;

		if (avail == 0) {
			got = rbuf_fill(c);
			if (got == 0 && n < 0)
				return 0;
			if (got <= 0)
				return got < 0 ? (int)got : -ECONNRESET;
			continue;
		}
		take = (n < 0 || (uint64_t)n > avail) ? avail : (size_t)n;
		rc = body_keep(c, take);
		if (rc < 0)
			return rc;
		c->rpos += take;
		if (n > 0)
			n -= (int64_t)take;
	}
	return 0;
}

static int read_chunked(struct httpc_conn *c)
{
	int err = 0;

	for (;;) {
		char *line = rbuf_line(c, &err);
		int64_t size;

		if (!line)
			return err;
		size = strtoll(line, NULL, 16);
		if (size < 0)
			return -EPROTO;
		if (size == 0)
			break;
		err = read_body_bytes(c, size);
		if (err < 0)
			return err;
		if (!(line = rbuf_line(c, &err)))
			return err;
	}
	for (;;) {   /* trailers, up to the empty line */
		char *line = rbuf_line(c, &err);

		if (!line)
			return err;
		if (!*line)
			return 0;
	}
}

static int read_body(struct httpc_conn *c, struct httpc_response *r)
{
	if (r->is_chunked)
		return read_chunked(c);
	if (r->content_length >= 0)
		return read_body_bytes(c, r->content_length);
	r->is_close = 1;
	return read_body_bytes(c, -1);
}

int httpc_exchange(struct httpc_conn *c, const char *head, size_t head_len,
		   const void *body, size_t body_len, struct httpc_response *r)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)head, .iov_len = head_len },
		{ .iov_base = (void *)body, .iov_len = body_len },
	};
	int rc = send_all(c->fd, iov, body_len ? 2 : 1);

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after_s = -1;
	c->body_len = 0;
	if (rc == 0)
		rc = read_head(c, r);
	if (rc == 0)
		rc = read_body(c, r);
	if (c->body)
		c->body[c->body_len] = 0;
	r->body = c->body ? c->body : (const unsigned char *)"";
	r->body_len = c->body_len;
	return rc;
}

/*---- latency statistics ----*/

void httpc_latency_add(struct httpc_latency *l, uint64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->ns = xrealloc(l->ns, l->cap * sizeof(*l->ns));
	}
	l->ns[l->n++] = ns;
	l->is_sorted = 0;
}

void httpc_latency_merge(struct httpc_latency *dst, const struct httpc_latency *src)
{
	if (src->n == 0)
		return;
	if (dst->n + src->n > dst->cap) {
		dst->cap = dst->n + src->n;
		dst->ns = xrealloc(dst->ns, dst->cap * sizeof(*dst->ns));
	}
	memcpy(dst->ns + dst->n, src->ns, src->n * sizeof(*src->ns));
	dst->n += src->n;
	dst->is_sorted = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

double httpc_latency_ms(struct httpc_latency *l, double q)
{
	if (l->n == 0)
		return 0;
	if (!l->is_sorted) {
		qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
		l->is_sorted = 1;
	}
	return (double)l->ns[(size_t)(q * (double)(l->n - 1) + 0.5)] / 1e6;
}

void httpc_latency_clear(struct httpc_latency *l)
{
	free(l->ns);
	l->ns = NULL;
	l->n = l->cap = 0;
	l->is_sorted = 0;
}
