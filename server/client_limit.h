/* client_limit.h - the per-client ingest rate (--client-rate): a token
 * bucket of spans per client address.
 *
 * A bucket holds up to `burst` spans and refills at `spans_per_s`.  A
 * request of n spans is taken when its client's bucket holds min(n, burst)
 * (a batch larger than the burst is let through on a full bucket and
 * leaves it in debt); otherwise it is refused and told how many seconds
 * until it would be taken.  The table remembers at most
 * TM_CLIENT_LIMIT_SLOTS addresses: a new one replaces the longest idle of
 * its neighbours, which loses nothing once that bucket has refilled.
 * Threads: any; one mutex.  Memory: the limiter owns its table. */
#ifndef TM_CLIENT_LIMIT_H
#define TM_CLIENT_LIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define TM_CLIENT_LIMIT_SLOTS 4096u

struct tm_client_limit;

/* NULL with errno ENOMEM */
struct tm_client_limit *tm_client_limit_new(double spans_per_s, double burst);
void tm_client_limit_free(struct tm_client_limit *l);

/* takes n spans for the client at addr at monotonic time now_ns: 0 when
 * taken, else the seconds to wait (at least 1) */
unsigned tm_client_limit_take(struct tm_client_limit *l, const struct sockaddr *addr,
			      uint64_t n, uint64_t now_ns);

/* gives n spans back (the request was refused for another reason) */
void tm_client_limit_give_back(struct tm_client_limit *l, const struct sockaddr *addr,
			       uint64_t n);

#endif
