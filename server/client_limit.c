/* client_limit.c - token buckets of spans per client address. */
#include "client_limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* a new address looks this many slots on for its own or the oldest */
#define PROBE 8

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

struct bucket {
	uint8_t addr[16];   /* IPv6, or IPv4 mapped */
	uint8_t used;
	double tokens;
	uint64_t last_ns;
};

struct tm_client_limit {
	pthread_mutex_t lock;
	double rate, burst;
	struct bucket slots[TM_CLIENT_LIMIT_SLOTS];
};

struct tm_client_limit *tm_client_limit_new(double spans_per_s, double burst)
{
	struct tm_client_limit *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->rate = spans_per_s;
	l->burst = burst >= 1 ? burst : 1;
	return l;
}

void tm_client_limit_free(struct tm_client_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void key_of(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static size_t hash_of(const uint8_t key[16])
{
	uint64_t a, b;
	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	return (size_t)(h >> 32) & (TM_CLIENT_LIMIT_SLOTS - 1);
}

/* the bucket of key, refilled to now; a new one starts full */
static struct bucket *bucket_of(struct tm_client_limit *l, const uint8_t key[16], uint64_t now)
{
	size_t h = hash_of(key);
	struct bucket *oldest = NULL;
	for (size_t i = 0; i < PROBE; i++) {
		struct bucket *b = &l->slots[(h + i) & (TM_CLIENT_LIMIT_SLOTS - 1)];
		if (b->used && !memcmp(b->addr, key, 16)) {
			double dt = now > b->last_ns ? (double)(now - b->last_ns) / 1e9 : 0;
			b->tokens = min_d(l->burst, b->tokens + dt * l->rate);
			b->last_ns = now;
			return b;
		}
		if (!oldest || !b->used || (oldest->used && b->last_ns < oldest->last_ns))
			oldest = b;
	}
	memcpy(oldest->addr, key, 16);
	oldest->used = 1;
	oldest->tokens = l->burst;
	oldest->last_ns = now;
	return oldest;
}

unsigned tm_client_limit_take(struct tm_client_limit *l, const struct sockaddr *addr,
			      uint64_t n, uint64_t now_ns)
{
	uint8_t key[16];
	key_of(addr, key);
	pthread_mutex_lock(&l->lock);
	struct bucket *b = bucket_of(l, key, now_ns);
	double need = min_d((double)n, l->burst);
	unsigned wait = 0;
	if (b->tokens >= need) {
		b->tokens -= (double)n;
	} else {
		double s = min_d((need - b->tokens) / l->rate, 3600);
		wait = (unsigned)s + ((double)(unsigned)s < s);   /* rounded up */
		wait = wait ? wait : 1;
	}
	pthread_mutex_unlock(&l->lock);
	return wait;
}

void tm_client_limit_give_back(struct tm_client_limit *l, const struct sockaddr *addr,
			       uint64_t n)
{
	uint8_t key[16];
	key_of(addr, key);
	pthread_mutex_lock(&l->lock);
	size_t h = hash_of(key);
	for (size_t i = 0; i < PROBE; i++) {
		struct bucket *b = &l->slots[(h + i) & (TM_CLIENT_LIMIT_SLOTS - 1)];
		if (b->used && !memcmp(b->addr, key, 16)) {
			b->tokens = min_d(l->burst, b->tokens + (double)n);
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
}
