/* smap_internal.h - what the service-map files share: the rollup row
 * format, the profile row format, and the pairing rules (smap_rules.c). */
#ifndef TM_SMAP_INTERNAL_H
#define TM_SMAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "histogram.h"
#include "servicemap.h"
#include "store.h"

/* rollup keys: res[1] t[4] type[1] a[4] b[4], big-endian
 *   res  'm' minute, 't' ten minutes, 'h' hour; t counts those since the epoch
 *   type 'E' service edge (a, b: node ids; 0 = user)
 *        'e' operation edge (a, b: operation ids or node ids)
 *        'N' service node (a: service id), 'n' operation node (a: op id)
 * value: calls, errors, 4xx, 5xx, 429 (varints), node kind of b (1 byte),
 *        then the latency histogram (tm_hist_encode). */
#define SMAP_KEY_LEN 14

/* version rows: res[1] t[4] 'V' -> the generation (8 bytes, big-endian)
 * of the flush that last changed a row of that block; the generation
 * counter itself under SMAP_GEN_KEY.  A block without one was never
 * changed since (or by an older tracemap: its rows stay as they are). */
#define SMAP_VERSION_KEY_LEN 6
#define SMAP_VERSION 'V'
#define SMAP_GEN_KEY ((const unsigned char *)"\xff" "generation")
#define SMAP_GEN_LEN 11

static inline void smap_version_key(unsigned char out[SMAP_VERSION_KEY_LEN], unsigned char res,
				    uint32_t t)
{
	out[0] = res;
	for (int i = 0; i < 4; i++)
		out[1 + i] = (unsigned char)(t >> (24 - 8 * i));
	out[5] = SMAP_VERSION;
}

static inline void smap_put_be64(unsigned char out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline uint64_t smap_get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

enum smap_type { SMAP_EDGE = 'E', SMAP_OP_EDGE = 'e', SMAP_NODE = 'N', SMAP_OP_NODE = 'n' };

static const unsigned char smap_res[3] = { 'm', 't', 'h' };
static const uint32_t smap_res_minutes[3] = { 1, 10, 60 };

struct smap_key {
	uint8_t type;
	uint32_t a, b;
	uint32_t minute;
};

void smap_key_encode(unsigned char out[SMAP_KEY_LEN], unsigned char res, uint32_t t,
		     const struct smap_key *k);

struct smap_value {
	uint64_t calls, errors, http4xx, http5xx, throttled;
	uint8_t node_kind;
	const unsigned char *hist;
	size_t hist_len;
};

int smap_value_decode(const void *p, size_t len, struct smap_value *out);

/* one block of rollup rows: res index (0 minute, 1 ten minutes, 2 hour), t */
struct smap_block {
	uint8_t res;
	uint32_t t;
};

/* the blocks of the minutes [m0, m1], in time order: whole hours, then
 * ten minutes, then minutes, where they fit; at most max of them */
size_t smap_plan(uint32_t m0, uint32_t m1, struct smap_block *out, size_t max);

/*---- rows summed per (type, a, b) (smap_acc.c) ----*/

/* the histogram of one row, and the one before it of its sum: the stored
 * form, or the dense one of a cache entry */
struct smap_hist_ref {
	const unsigned char *p;      /* borrowed: the reader's or a cache entry's */
	const struct tm_hist_dense *dense;   /* instead of p when not NULL; borrowed */
	uint32_t len;
	uint32_t prev;               /* UINT32_MAX: none */
};

struct smap_sum {
	uint8_t type, node_kind;
	uint32_t a, b;
	uint64_t calls, errors, http4xx, http5xx, throttled;
	uint32_t last_hist;          /* its newest smap_hist_ref; UINT32_MAX: none */
};

/* sums in the order their keys came first, with a hash index */
struct smap_acc {
	struct smap_sum *sums;       /* heap, owned */
	size_t n, cap;
	uint32_t *slots;             /* index + 1, 0 empty; heap, owned */
	size_t n_slots;
	struct smap_hist_ref *hists; /* heap, owned; the bytes are not */
	size_t n_hists, cap_hists;
};

void smap_acc_init(struct smap_acc *acc);
void smap_acc_clear(struct smap_acc *acc);
/* the sum of that key, made empty when new; NULL without memory.  Valid
 * until the next call that adds a key. */
struct smap_sum *smap_acc_get(struct smap_acc *acc, uint8_t type, uint32_t a, uint32_t b);
/* adds one rollup row (key SMAP_KEY_LEN bytes); its bytes must outlive
 * acc's use.  -EBADMSG, -ENOMEM */
int smap_acc_add_row(struct smap_acc *acc, const unsigned char *key, const void *val,
		     size_t len);
/* the same with the value decoded */
int smap_acc_add(struct smap_acc *acc, const unsigned char *key, const struct smap_value *v);
/* the same with the histogram in dense form (v->hist unused) */
int smap_acc_add_dense(struct smap_acc *acc, const unsigned char *key, const struct smap_value *v,
		       const struct tm_hist_dense *d);
/* merges the histograms of x's rows into h; -EBADMSG */
int smap_acc_merge_hist(const struct smap_acc *acc, const struct smap_sum *x, struct tm_hist *h);

/* adds the rows of one block of one level (smap_query.c) */
int smap_read_block(struct tm_store_reader *rd, struct smap_acc *acc, int res, uint32_t t,
		    int op_level);

/*---- merged runs of blocks, kept (smap_cache.c) ----*/

struct smap_cache_entry;

/* the version of each block in rd's snapshot (0: none) */
int smap_read_versions(struct tm_store_reader *rd, const struct smap_block *blocks, size_t n,
		       uint64_t *out);

/* adds the rows of the blocks[0..n) (one level) to acc, as one merged row
 * per key: from the cache when it holds them at those versions (rd's),
 * else merged now (and kept).  *ref holds what acc's rows point into:
 * release it once acc is done with. */
int smap_cache_add_run(struct tm_smap_cache *c, struct tm_store_reader *rd,
		       const struct smap_block *blocks, const uint64_t *versions, size_t n,
		       int op_level, struct smap_acc *acc, struct smap_cache_entry **ref);

/* the answer (percentiles only, no focus) of the plan blocks[0..n) at
 * those versions, copied into arena: 1, 0 when not kept, or -ENOMEM */
int smap_cache_get_answer(struct tm_smap_cache *c, const struct smap_block *blocks,
			  const uint64_t *versions, size_t n, int op_level,
			  struct tm_arena *arena, struct tm_smap_map *out);
/* keeps a copy of m (without histograms) as that answer */
void smap_cache_put_answer(struct tm_smap_cache *c, const struct smap_block *blocks,
			   const uint64_t *versions, size_t n, int op_level,
			   const struct tm_smap_map *m);
/* NULL is a no-op */
void smap_cache_release(struct tm_smap_cache *c, struct smap_cache_entry *e);

/* profile keys: minute[4] emitted[8] trace_id[16] (minute of the trace's
 * start); value: start (fixed64), duration, span count, error count, flags
 * (1 byte), root service id, root operation id, the service ids and
 * operation ids of the trace, and per operation its time on the critical
 * path (varints).  One row per trace, written when it is paired; a trace
 * paired again (late spans) gets a newer row that supersedes the older. */
#define PROFILE_KEY_LEN 28

/* a key above every minute: the newest profile row (emission counter) the
 * store holds, written with every flush */
#define PROFILE_MARK_KEY ((const unsigned char *)"\xff\xff\xff\xffM")
#define PROFILE_MARK_LEN 5

enum {
	PROFILE_SUPERSEDES = 1,   /* made from the stored trace: an older row may exist */
	PROFILE_ROOT = 2,         /* the naming span has no parent */
};

struct profile_row {
	uint64_t start, duration, spans, errors;
	uint32_t root_svc, root_op;
	uint8_t flags;
	const unsigned char *svcs, *ops, *path;   /* count-prefixed varint lists */
	const unsigned char *end;
};

/* parses a profile value; 0 or -EBADMSG */
int profile_decode(const void *val, size_t len, struct profile_row *out);

/*---- the pairing rules (smap_rules.c) ----*/

/* one thing a span set contributes: a call on an edge, or a request on a
 * node, at the minute of at_ns */
struct smap_obs {
	uint8_t type;            /* enum smap_type */
	uint32_t a, b;
	uint64_t at_ns;
	uint64_t latency_ns;
	uint8_t failed;
	uint16_t http_status;
	uint8_t node_kind;       /* of b, for a virtual node */
	uint8_t conn;            /* enum tm_smap_conn, for self-metrics */
	uint64_t server_ns;      /* the callee span's duration (latency_ns: the caller's view) */
};

struct smap_obs_list {
	struct smap_obs *o;      /* heap; the owner frees it */
	size_t n, cap;
	uint64_t unpaired;       /* spans whose parent is not in the set */
};

/* the spans of one trace with their span-ID index; arrays in the arena,
 * r borrowed */
struct smap_view {
	const struct tm_span_rec *r;
	size_t n;
	size_t *parent;           /* SIZE_MAX: none in the set */
	uint8_t *cross_child;     /* a child in another service */
	uint32_t *entry_op;
	size_t *slots;            /* span-ID hash: index + 1, 0 empty */
	size_t cap;
};

int smap_view_init(struct smap_view *v, const struct tm_span_rec *r, size_t n,
		   struct tm_arena *a);
/* some span names a parent the set does not hold */
int smap_view_missing_parent(const struct smap_view *v);
/* two records of one span (a client's retry) */
int smap_view_has_copies(const struct smap_view *v);

/* replaces l's contents by what the set v contributes (F(v)) */
int smap_observe(struct smap_view *v, struct smap_obs_list *l);

/* calls fn(+1) for what is in after but not before and fn(-1) for what is
 * in before but not after (as multisets); sorts both lists */
typedef int (*smap_obs_fn)(void *ctx, const struct smap_obs *o, int sign);
int smap_obs_diff(struct smap_obs_list *after, struct smap_obs_list *before,
		  smap_obs_fn fn, void *ctx);

#endif
