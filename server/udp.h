/* udp.h - a UDP listener that stores what each datagram decodes into.
 *
 * One struct tm_udp owns one bound UDP socket and one thread.  The thread
 * receives a datagram, decodes it with the given decoder into a batch in an
 * arena of its own, and hands that batch to the writer.  Nobody waits for
 * an answer (UDP has none): the request and its arena are freed when the
 * writer is done with them.  A datagram that cannot be decoded, does not
 * fit the write queue, or is larger than 64 KiB is dropped, counted, and
 * logged at most once a second with the reason.
 * Threads: start and stop from one thread, get_stats from any; the
 * listener's thread and the writer's done callbacks are internal.
 * Errors: tm_udp_start returns a negative errno and a one-line message. */
#ifndef TM_UDP_H
#define TM_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "writer.h"

/* the largest datagram decoded; larger ones are dropped as oversize */
#define TM_UDP_MAX_DATAGRAM (64u << 10)

struct tm_udp_stats {
	uint64_t received;            /* datagrams, whatever became of them */
	uint64_t stored_spans;        /* spans the writer committed */
	uint64_t rejected_spans;      /* spans refused inside datagrams stored in part */
	uint64_t dropped_invalid;     /* the decoder refused the datagram, or every span */
	uint64_t dropped_queue_full;  /* no room: write queue full, out of memory, stopping */
	uint64_t dropped_oversize;    /* over TM_UDP_MAX_DATAGRAM, or over the arena's limit */
	uint64_t dropped_failed_commit;   /* the store refused the batch */
};

struct tm_udp;

/* checks an "ADDR:PORT" address (IPv4; port 0 = any free port) without
 * binding it; 0 or -EINVAL with a one-line message in err. */
int tm_udp_check_address(const char *addr, char *err, size_t errlen);

/* binds addr and starts the listener thread.  writer must outlive the
 * listener: stop the listener first. */
int tm_udp_start(const char *addr, tm_ingest_decode_fn decode, struct tm_writer *writer,
		 struct tm_udp **out, char *err, size_t errlen);

/* the bound address, e.g. "127.0.0.1:2000" (valid until tm_udp_stop). */
const char *tm_udp_address(const struct tm_udp *u);

void tm_udp_get_stats(struct tm_udp *u, struct tm_udp_stats *out);

/* stops receiving at once, waits until the writer has taken (committed or
 * failed) every batch handed to it, logs the counts and frees u.  The
 * writer must still be running.  NULL is a no-op. */
void tm_udp_stop(struct tm_udp *u);

#endif
