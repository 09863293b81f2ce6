/* smap_cache.c - merged runs of rollup blocks, kept for the next query.
 *
 * A window's plan (smap_plan) is minutes, ten-minute blocks and hours;
 * all but the newest minutes change seldom (late spans only), yet every
 * query used to read and merge each of their rows again: ~20 rows per
 * edge for an hour, ~50 for a day.  Here a run of blocks of one
 * resolution is merged once into one row per key and kept, under the
 * versions its blocks had in the snapshot it was read from (the version
 * rows the pairer writes with every flush, servicemap.c).  A later query
 * whose snapshot shows the same versions for the same blocks reads that
 * one row per key instead; one that shows another version merges the run
 * anew.  Being keyed by what the snapshot holds, an entry is never stale
 * for a query that uses it, whatever the order of flushes and queries.
 *
 * Threads: any; one mutex guards the list, entries are immutable once
 * made and reference-counted while a query reads them. */
#include "servicemap.h"
#include "smap_internal.h"
#include "varint.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES (256u << 20)

struct smap_cache_entry {
	struct smap_cache_entry *next;
	uint64_t hash;
	int op_level;
	size_t n_blocks;
	struct smap_block *blocks;   /* heap, owned */
	uint64_t *versions;          /* heap, owned */
	unsigned char *rows;         /* key[14] len[4, LE] value ...; heap, owned */
	size_t len, n_rows;
	size_t bytes;                /* what it costs against max_bytes */
	unsigned refs;               /* the list's 1 and each reader's */
	uint64_t last_used;
};

struct tm_smap_cache {
	pthread_mutex_t lock;
	struct smap_cache_entry *head;
	size_t bytes, max_bytes;
	uint64_t clock;
	struct tm_smap_cache_stats stats;
};

int tm_smap_cache_new(size_t max_bytes, struct tm_smap_cache **out)
{
	struct tm_smap_cache *c = calloc(1, sizeof(*c));
	*out = c;
	if (!c)
		return -ENOMEM;
	c->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

static void entry_free(struct smap_cache_entry *e)
{
	free(e->blocks);
	free(e->versions);
	free(e->rows);
	free(e);
}

void tm_smap_cache_free(struct tm_smap_cache *c)
{
	if (!c)
		return;
	while (c->head) {
		struct smap_cache_entry *e = c->head;
		c->head = e->next;
		entry_free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void tm_smap_cache_get_stats(struct tm_smap_cache *c, struct tm_smap_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
}

/*---- versions of a run in a snapshot ----*/

static int read_version(struct tm_store_reader *rd, const struct smap_block *b, uint64_t *out)
{
	unsigned char lo[SMAP_VERSION_KEY_LEN], hi[SMAP_VERSION_KEY_LEN + 1];
	smap_version_key(lo, smap_res[b->res], b->t);
	memcpy(hi, lo, sizeof(lo));
	hi[SMAP_VERSION_KEY_LEN] = 0;   /* [key, key + "\0"): the key alone */
	struct tm_aux_iter *it;
	int rc = tm_aux_iter_open(rd, TM_AUX_ROLLUPS, lo, sizeof(lo), hi, sizeof(hi), &it);
	if (rc)
		return rc;
	const void *k, *v;
	size_t klen, vlen;
	*out = 0;
	rc = tm_aux_iter_next(it, &k, &klen, &v, &vlen);
	if (rc == 1 && klen == SMAP_VERSION_KEY_LEN && vlen == 8)
		*out = smap_get_be64(v);
	tm_aux_iter_close(it);
	return rc < 0 ? rc : 0;
}

static uint64_t run_hash(const struct smap_block *blocks, const uint64_t *versions, size_t n,
			 int op_level)
{
	uint64_t h = 0x84222325cbf29ce4ull ^ (uint64_t)op_level;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ ((uint64_t)blocks[i].t << 8 | blocks[i].res)) * 0x100000001b3ull;
		h = (h ^ versions[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

/*---- the list ----*/

static int entry_is(const struct smap_cache_entry *e, uint64_t hash,
		    const struct smap_block *blocks, const uint64_t *versions, size_t n,
		    int op_level)
{
	if (e->hash != hash || e->n_blocks != n || e->op_level != op_level)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (e->blocks[i].res != blocks[i].res || e->blocks[i].t != blocks[i].t ||
		    e->versions[i] != versions[i])
			return 0;
	return 1;
}

static struct smap_cache_entry *lookup(struct tm_smap_cache *c, uint64_t hash,
				       const struct smap_block *blocks, const uint64_t *versions,
				       size_t n, int op_level)
{
	pthread_mutex_lock(&c->lock);
	struct smap_cache_entry *e = c->head;
	while (e && !entry_is(e, hash, blocks, versions, n, op_level))
		e = e->next;
	if (e) {
		e->refs++;
		e->last_used = ++c->clock;
		c->stats.hits++;
	} else {
		c->stats.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

void smap_cache_release(struct tm_smap_cache *c, struct smap_cache_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&c->lock);
	int last = --e->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		entry_free(e);
}

/* drops the least recently used entries until `need` more bytes fit;
 * called with the lock held */
static void make_room(struct tm_smap_cache *c, size_t need)
{
	while (c->head && c->bytes + need > c->max_bytes) {
		struct smap_cache_entry **victim = &c->head;
		for (struct smap_cache_entry **p = &c->head; *p; p = &(*p)->next)
			if ((*p)->last_used < (*victim)->last_used)
				victim = p;
		struct smap_cache_entry *e = *victim;
		*victim = e->next;
		c->bytes -= e->bytes;
		c->stats.evictions++;
		if (--e->refs == 0)
			entry_free(e);
	}
}

/* keeps e (with one reference for the caller), unless it is bigger than
 * the whole cache */
static void insert(struct tm_smap_cache *c, struct smap_cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	e->refs = 1;
	if (e->bytes <= c->max_bytes) {
		make_room(c, e->bytes);
		e->refs++;
		e->last_used = ++c->clock;
		e->next = c->head;
		c->head = e;
		c->bytes += e->bytes;
	}
	pthread_mutex_unlock(&c->lock);
}

/*---- making an entry ----*/

static int put_row(struct tm_buf *b, const struct smap_sum *x, struct tm_hist *h)
{
	struct smap_key k = { x->type, x->a, x->b, 0 };
	unsigned char key[SMAP_KEY_LEN];
	smap_key_encode(key, 0, 0, &k);
	tm_buf_add(b, key, sizeof(key));
	size_t at = b->len;
	unsigned char len[4] = { 0 };
	tm_buf_add(b, len, sizeof(len));
	varint_put(b, x->calls);
	varint_put(b, x->errors);
	varint_put(b, x->http4xx);
	varint_put(b, x->http5xx);
	varint_put(b, x->throttled);
	tm_buf_add(b, &x->node_kind, 1);
	tm_hist_encode(h, b);
	if (b->failed)
		return -ENOMEM;
	size_t n = b->len - at - sizeof(len);
	if (n > UINT32_MAX)
		return -ENOMEM;
	for (int i = 0; i < 4; i++)
		b->data[at + i] = (unsigned char)(n >> (8 * i));
	return 0;
}

/* merges the blocks of a run into one row per key */
static int merge_run(struct tm_store_reader *rd, const struct smap_block *blocks, size_t n,
		     int op_level, struct tm_buf *out, size_t *n_rows)
{
	struct smap_acc acc;
	smap_acc_init(&acc);
	struct tm_hist *h = malloc(sizeof(*h));
	int rc = h ? 0 : -ENOMEM;
	if (h)
		tm_hist_init(h);
	for (size_t i = 0; i < n && !rc; i++)
		rc = smap_read_block(rd, &acc, blocks[i].res, blocks[i].t, op_level);
	for (size_t i = 0; i < acc.n && !rc; i++) {
		rc = smap_acc_merge_hist(&acc, &acc.sums[i], h);
		if (!rc)
			rc = put_row(out, &acc.sums[i], h);
		tm_hist_reset(h);
	}
	*n_rows = acc.n;
	free(h);
	smap_acc_clear(&acc);
	return rc;
}

static int make_entry(struct tm_store_reader *rd, const struct smap_block *blocks,
		      const uint64_t *versions, size_t n, int op_level, uint64_t hash,
		      struct smap_cache_entry **out)
{
	struct smap_cache_entry *e = calloc(1, sizeof(*e));
	*out = e;
	if (!e)
		return -ENOMEM;
	e->blocks = malloc(n * sizeof(*blocks));
	e->versions = malloc(n * sizeof(*versions));
	struct tm_buf b;
	tm_buf_init(&b);
	int rc = e->blocks && e->versions ? 0 : -ENOMEM;
	if (!rc)
		rc = merge_run(rd, blocks, n, op_level, &b, &e->n_rows);
	if (rc) {
		tm_buf_free(&b);
		entry_free(e);
		*out = NULL;
		return rc;
	}
	memcpy(e->blocks, blocks, n * sizeof(*blocks));
	memcpy(e->versions, versions, n * sizeof(*versions));
	e->n_blocks = n;
	e->op_level = op_level;
	e->hash = hash;
	e->rows = (unsigned char *)b.data;
	e->len = b.len;
	e->bytes = sizeof(*e) + n * (sizeof(*blocks) + sizeof(*versions)) + b.cap;
	return 0;
}

/*---- reading a run through the cache ----*/

static int add_entry_rows(const struct smap_cache_entry *e, struct smap_acc *acc)
{
	const unsigned char *p = e->rows, *end = p + e->len;
	int rc = 0;
	while (!rc && p < end) {
		const unsigned char *key = p;
		uint32_t len = (uint32_t)p[14] | (uint32_t)p[15] << 8 | (uint32_t)p[16] << 16 |
			       (uint32_t)p[17] << 24;
		p += SMAP_KEY_LEN + 4;
		rc = smap_acc_add_row(acc, key, p, len);
		p += len;
	}
	return rc;
}

int smap_cache_add_run(struct tm_smap_cache *c, struct tm_store_reader *rd,
		       const struct smap_block *blocks, size_t n, int op_level,
		       struct smap_acc *acc, struct smap_cache_entry **ref)
{
	*ref = NULL;
	uint64_t *versions = malloc((n + 1) * sizeof(*versions));
	if (!versions)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = read_version(rd, &blocks[i], &versions[i]);
	uint64_t hash = run_hash(blocks, versions, n, op_level);
	struct smap_cache_entry *e = rc ? NULL : lookup(c, hash, blocks, versions, n, op_level);
	if (!rc && !e) {
		rc = make_entry(rd, blocks, versions, n, op_level, hash, &e);
		if (!rc)
			insert(c, e);
	}
	free(versions);
	if (!rc)
		rc = add_entry_rows(e, acc);
	*ref = e;
	return rc;
}
