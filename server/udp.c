/* udp.c - the UDP listener thread: receive, decode, hand to the writer. */
#define LOG_MODULE "udp"
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"

#define UDP_ADDR_LEN 64
/* what the kernel queues while one datagram is decoded; it caps this at
 * net.core.rmem_max */
#define UDP_RCVBUF_BYTES (4 << 20)
/* datagrams read per wake-up before the stop pipe is looked at again, so
 * that a flood cannot delay tm_udp_stop */
#define UDP_BURST 64
#define DROP_LOG_INTERVAL_MS 1000

struct udp_req {
	struct tm_write_req write;   /* first member: done() gets the request back */
	struct tm_udp *udp;
	struct tm_arena arena;
	struct tm_batch batch;
};

struct tm_udp {
	int fd;
	int wake[2];                 /* a byte written to wake[1] ends the thread */
	pthread_t thread;
	tm_ingest_decode_fn decode;
	struct tm_writer *writer;
	char address[UDP_ADDR_LEN];
	unsigned char *buf;          /* TM_UDP_MAX_DATAGRAM + 1: one more shows a larger one */
	pthread_mutex_t lock;        /* guards stats and in_flight */
	pthread_cond_t idle;         /* in_flight reached 0 */
	unsigned in_flight;          /* submitted, done() not yet called */
	struct tm_udp_stats stats;
	/* the listener thread's own: at most one drop message a second */
	int64_t last_log_ms;
	uint64_t unlogged;
};

/*---- addresses ----*/

int tm_udp_check_address(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	return tm_netaddr_parse(addr, &sa, err, errlen);
}

/*---- drops ----*/

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct tm_udp *u, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&u->lock);
	*counter += n;
	pthread_mutex_unlock(&u->lock);
}

/* logs what happened to a datagram, unless a message went out less than a
 * second ago: a flood of bad datagrams must not become a flood of lines */
static void log_limited(struct tm_udp *u, const struct sockaddr_in *from, size_t len,
			const char *what, const char *why)
{
	int64_t now = now_ms();
	if (u->last_log_ms && now - u->last_log_ms < DROP_LOG_INTERVAL_MS) {
		u->unlogged++;
		return;
	}
	char peer[UDP_ADDR_LEN], more[64] = "";
	tm_netaddr_format(from, peer, sizeof(peer));
	if (u->unlogged)
		snprintf(more, sizeof(more), " (%" PRIu64 " more not logged)", u->unlogged);
	LOG(TM_LOG_WARN, "%s: %s a datagram of %zu bytes from %s: %s%s", u->address, what, len,
	    peer, why, more);
	u->last_log_ms = now;
	u->unlogged = 0;
}

static void drop(struct tm_udp *u, uint64_t *counter, const struct sockaddr_in *from,
		 size_t len, const char *why)
{
	count(u, counter, 1);
	log_limited(u, from, len, "dropped", why);
}

/*---- datagrams ----*/

static void req_free(struct udp_req *r)
{
	tm_arena_clear(&r->arena);
	free(r);
}

/* runs on the writer thread once the batch is committed (or not) */
static void on_written(struct tm_write_req *w, int result)
{
	struct udp_req *r = (struct udp_req *)w;
	struct tm_udp *u = r->udp;
	size_t spans = r->batch.n_spans;
	req_free(r);
	pthread_mutex_lock(&u->lock);
	if (result)
		u->stats.dropped_failed_commit++;
	else
		u->stats.stored_spans += spans;
	if (--u->in_flight == 0)
		pthread_cond_broadcast(&u->idle);
	pthread_mutex_unlock(&u->lock);
}

/* the counter a decoder's refusal is counted under */
static uint64_t *refusal_counter(struct tm_udp *u, int rc)
{
	if (rc == -E2BIG)
		return &u->stats.dropped_oversize;
	if (rc == -EBADMSG)
		return &u->stats.dropped_invalid;
	return &u->stats.dropped_queue_full;   /* -ENOMEM: no room, as a full queue */
}

static void hand_over(struct tm_udp *u, struct udp_req *r, const struct sockaddr_in *from,
		      size_t len)
{
	r->write.batch = &r->batch;
	r->write.bytes = len + r->batch.bytes;
	r->write.done = on_written;
	int rc = tm_writer_reserve(u->writer, r->write.bytes);
	if (rc) {
		req_free(r);
		drop(u, &u->stats.dropped_queue_full, from, len,
		     rc == -EAGAIN ? "write queue is full" : "server is shutting down");
		return;
	}
	pthread_mutex_lock(&u->lock);
	u->in_flight++;
	pthread_mutex_unlock(&u->lock);
	tm_writer_submit(u->writer, &r->write);
}

static void handle_datagram(struct tm_udp *u, const struct sockaddr_in *from, size_t len)
{
	struct udp_req *r = calloc(1, sizeof(*r));
	struct tm_ingest_report report;
	char why[sizeof(report.message) + 64];   /* as the log may show it */
	if (!r) {
		drop(u, &u->stats.dropped_queue_full, from, len, "out of memory");
		return;
	}
	r->udp = u;
	/* as ingest_http.c: decoding may take several times the datagram */
	tm_arena_init(&r->arena, 16 * len + (1u << 20));
	int rc = u->decode(u->buf, len, &r->arena, &r->batch, &report);
	if (!rc && report.rejected && !report.accepted)
		rc = -EBADMSG;   /* nothing left to store */
	if (rc) {
		req_free(r);
		drop(u, refusal_counter(u, rc), from, len,
		     report.message[0] ? tm_log_content(report.message, why, sizeof(why))
				       : "cannot be decoded");
		return;
	}
	if (report.rejected) {
		count(u, &u->stats.rejected_spans, report.rejected);
		log_limited(u, from, len, "refused some spans of",
			    tm_log_content(report.message, why, sizeof(why)));
	}
	if (r->batch.n_spans == 0) {
		req_free(r);   /* only in-progress documents: nothing to store yet */
		return;
	}
	hand_over(u, r, from, len);
}

/* reads what is queued, up to UDP_BURST datagrams */
static void receive_burst(struct tm_udp *u)
{
	for (int i = 0; i < UDP_BURST; i++) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		/* MSG_TRUNC: the datagram's real length, even past the buffer */
		ssize_t n = recvfrom(u->fd, u->buf, TM_UDP_MAX_DATAGRAM + 1,
				     MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LOG(TM_LOG_ERROR, "%s: recvfrom: %s", u->address, strerror(errno));
			return;
		}
		count(u, &u->stats.received, 1);
		if ((size_t)n > TM_UDP_MAX_DATAGRAM)
			drop(u, &u->stats.dropped_oversize, &from, (size_t)n,
			     "over 64 KiB, the most one datagram may hold");
		else
			handle_datagram(u, &from, (size_t)n);
	}
}

static void *udp_main(void *arg)
{
	struct tm_udp *u = arg;
	struct pollfd fds[2] = { { u->fd, POLLIN, 0 }, { u->wake[0], POLLIN, 0 } };
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			LOG(TM_LOG_ERROR, "%s: poll: %s; no more datagrams are received",
			    u->address, strerror(errno));
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents)
			receive_burst(u);
	}
	return NULL;
}

/*---- start and stop ----*/

static void udp_free(struct tm_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	if (u->wake[0] >= 0)
		close(u->wake[0]);
	if (u->wake[1] >= 0)
		close(u->wake[1]);
	free(u->buf);
	free(u);
}

static int open_socket(struct tm_udp *u, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int rc = tm_netaddr_parse(addr, &sa, err, errlen);
	if (rc)
		return rc;
	u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (u->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "UDP socket: %s", strerror(errno));
		return rc;
	}
	int rcvbuf = UDP_RCVBUF_BYTES;
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	socklen_t len = sizeof(sa);
	if (bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(u->fd, (struct sockaddr *)&sa, &len) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot receive UDP on %s: %s", addr, strerror(errno));
		return rc;
	}
	tm_netaddr_format(&sa, u->address, sizeof(u->address));
	return 0;
}

int tm_udp_start(const char *addr, tm_ingest_decode_fn decode, struct tm_writer *writer,
		 struct tm_udp **out, char *err, size_t errlen)
{
	*out = NULL;
	struct tm_udp *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->fd = u->wake[0] = u->wake[1] = -1;
	u->decode = decode;
	u->writer = writer;
	int rc = open_socket(u, addr, err, errlen);
	if (!rc && pipe2(u->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
	}
	if (!rc && !(u->buf = malloc(TM_UDP_MAX_DATAGRAM + 1))) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
	}
	if (rc) {
		udp_free(u);
		return rc;
	}
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->idle, NULL);
	rc = pthread_create(&u->thread, NULL, udp_main, u);
	if (rc) {
		snprintf(err, errlen, "cannot start the UDP thread: %s", strerror(rc));
		pthread_mutex_destroy(&u->lock);
		pthread_cond_destroy(&u->idle);
		udp_free(u);
		return -rc;
	}
	*out = u;
	return 0;
}

const char *tm_udp_address(const struct tm_udp *u)
{
	return u->address;
}

void tm_udp_get_stats(struct tm_udp *u, struct tm_udp_stats *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->stats;
	pthread_mutex_unlock(&u->lock);
}

void tm_udp_stop(struct tm_udp *u)
{
	if (!u)
		return;
	char byte = 1;
	while (write(u->wake[1], &byte, 1) < 0 && errno == EINTR)
		;
	pthread_join(u->thread, NULL);
	/* every batch handed over comes back through on_written, which touches u */
	pthread_mutex_lock(&u->lock);
	while (u->in_flight)
		pthread_cond_wait(&u->idle, &u->lock);
	pthread_mutex_unlock(&u->lock);
	struct tm_udp_stats s = u->stats;
	LOG(TM_LOG_INFO, "%s: stopped; received %" PRIu64 " datagrams, stored %" PRIu64
	    " spans, rejected %" PRIu64 " spans; dropped %" PRIu64 " invalid, %" PRIu64
	    " queue full, %" PRIu64 " oversize, %" PRIu64 " failed commit",
	    u->address, s.received, s.stored_spans, s.rejected_spans, s.dropped_invalid,
	    s.dropped_queue_full, s.dropped_oversize, s.dropped_failed_commit);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->idle);
	udp_free(u);
}
