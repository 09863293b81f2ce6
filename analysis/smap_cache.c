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

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES (64u << 20)

/* one merged row: its histogram in the stored form when few of the
 * buckets between its min and max are in use, else dense, which merges
 * faster */
struct entry_row {
	unsigned char key[SMAP_KEY_LEN];
	uint8_t is_dense;
	struct smap_value v;          /* counts; v.hist into bytes */
	struct tm_hist_dense dense;   /* dense.counts into counts */
	size_t off;                   /* while made: offset of either */
};

struct smap_cache_entry {
	struct smap_cache_entry *next;
	uint64_t hash;
	int op_level;
	size_t n_blocks;
	struct smap_block *blocks;   /* heap, owned */
	uint64_t *versions;          /* heap, owned */
	struct entry_row *rows;      /* heap, owned */
	size_t n_rows;
	unsigned char *bytes;        /* stored-form histograms; heap, owned */
	uint32_t *counts;            /* dense histograms; heap, owned */
	size_t bytes_cost;           /* what it costs against max_bytes */
	unsigned refs;               /* the list's 1 and each reader's */
	uint64_t last_used;
};

struct smap_answer;

struct tm_smap_cache {
	pthread_mutex_t lock;
	struct smap_cache_entry *head;
	struct smap_answer *answers;
	size_t n_answers;
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

static void drop_answer(struct tm_smap_cache *c);

static void entry_free(struct smap_cache_entry *e)
{
	free(e->blocks);
	free(e->versions);
	free(e->rows);
	free(e->bytes);
	free(e->counts);
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
	while (c->answers)
		drop_answer(c);
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
		c->bytes -= e->bytes_cost;
		c->stats.evictions++;
		if (--e->refs == 0)
			entry_free(e);
	}
}

/* keeps e (with one reference for the caller), unless it is bigger than
 * the whole cache or another query kept the same run meanwhile */
static void insert(struct tm_smap_cache *c, struct smap_cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	e->refs = 1;
	struct smap_cache_entry *x = c->head;
	while (x && !entry_is(x, e->hash, e->blocks, e->versions, e->n_blocks, e->op_level))
		x = x->next;
	if (!x && e->bytes_cost <= c->max_bytes) {
		make_room(c, e->bytes_cost);
		e->refs++;
		e->last_used = ++c->clock;
		e->next = c->head;
		c->head = e;
		c->bytes += e->bytes_cost;
	}
	pthread_mutex_unlock(&c->lock);
}

/*---- making an entry ----*/

/* the merged rows of a run while they are made */
struct builder {
	struct entry_row *rows;
	size_t n, cap;
	struct tm_buf bytes;
	uint32_t *counts;
	size_t n_counts, cap_counts;
};

/* dense when a stored-form pair (~2 bytes, a few ns to merge) stands for
 * more than ~8 buckets of the range (4 bytes, well under 1 ns each) */
static int wants_dense(const struct tm_hist *h, size_t n)
{
	size_t lo = tm_hist_bucket_of(h->min_ns), used = 0;
	for (size_t i = 0; i < n; i++)
		used += h->buckets[lo + i] != 0;
	return used * 8 > n;
}

static int put_dense(struct builder *b, struct entry_row *r, const struct tm_hist *h, size_t n)
{
	if (b->n_counts + n > b->cap_counts) {
		size_t cap = b->cap_counts ? b->cap_counts * 2 : 1 << 16;
		while (cap < b->n_counts + n)
			cap *= 2;
		uint32_t *p = realloc(b->counts, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->counts = p;
		b->cap_counts = cap;
	}
	if (tm_hist_to_dense(h, b->counts + b->n_counts, &r->dense))
		return 1;   /* a count too big for 32 bits: the stored form */
	r->is_dense = 1;
	r->off = b->n_counts;
	b->n_counts += n;
	return 0;
}

static int put_row(struct builder *b, const struct smap_sum *x, const struct tm_hist *h)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct entry_row *p = realloc(b->rows, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->rows = p;
		b->cap = cap;
	}
	struct entry_row *r = &b->rows[b->n++];
	memset(r, 0, sizeof(*r));
	struct smap_key k = { x->type, x->a, x->b, 0 };
	smap_key_encode(r->key, 0, 0, &k);
	r->v = (struct smap_value){ x->calls, x->errors, x->http4xx, x->http5xx, x->throttled,
				    x->node_kind, NULL, 0 };
	size_t n = tm_hist_dense_len(h);
	int rc = n && wants_dense(h, n) ? put_dense(b, r, h, n) : 1;
	if (rc <= 0)
		return rc;
	r->off = b->bytes.len;
	tm_hist_encode(h, &b->bytes);
	r->v.hist_len = b->bytes.len - r->off;
	return b->bytes.failed ? -ENOMEM : 0;
}

/* merges the blocks of a run into one row per key */
static int merge_run(struct tm_store_reader *rd, const struct smap_block *blocks, size_t n,
		     int op_level, struct builder *out)
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
	free(h);
	smap_acc_clear(&acc);
	return rc;
}

/* the rows' pointers, once the buffers stopped moving */
static void settle(struct smap_cache_entry *e)
{
	for (size_t i = 0; i < e->n_rows; i++) {
		struct entry_row *r = &e->rows[i];
		if (r->is_dense)
			r->dense.counts = e->counts + r->off;
		else
			r->v.hist = e->bytes + r->off;
	}
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
	struct builder b = { 0 };
	tm_buf_init(&b.bytes);
	int rc = e->blocks && e->versions ? 0 : -ENOMEM;
	if (!rc)
		rc = merge_run(rd, blocks, n, op_level, &b);
	e->rows = b.rows;
	e->n_rows = b.n;
	e->bytes = (unsigned char *)b.bytes.data;
	e->counts = b.counts;
	if (rc) {
		entry_free(e);
		*out = NULL;
		return rc;
	}
	memcpy(e->blocks, blocks, n * sizeof(*blocks));
	memcpy(e->versions, versions, n * sizeof(*versions));
	e->n_blocks = n;
	e->op_level = op_level;
	e->hash = hash;
	settle(e);
	e->bytes_cost = sizeof(*e) + n * (sizeof(*blocks) + sizeof(*versions)) +
			b.cap * sizeof(*b.rows) + b.bytes.cap + b.cap_counts * sizeof(*b.counts);
	return 0;
}

/*---- reading a run through the cache ----*/

static int add_entry_rows(const struct smap_cache_entry *e, struct smap_acc *acc)
{
	int rc = 0;
	for (size_t i = 0; i < e->n_rows && !rc; i++) {
		const struct entry_row *r = &e->rows[i];
		rc = r->is_dense ? smap_acc_add_dense(acc, r->key, &r->v, &r->dense)
				 : smap_acc_add(acc, r->key, &r->v);
	}
	return rc;
}

int smap_read_versions(struct tm_store_reader *rd, const struct smap_block *blocks, size_t n,
		       uint64_t *out)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = read_version(rd, &blocks[i], &out[i]);
	return rc;
}

int smap_cache_add_run(struct tm_smap_cache *c, struct tm_store_reader *rd,
		       const struct smap_block *blocks, const uint64_t *versions, size_t n,
		       int op_level, struct smap_acc *acc, struct smap_cache_entry **ref)
{
	*ref = NULL;
	int rc = 0;
	uint64_t hash = run_hash(blocks, versions, n, op_level);
	struct smap_cache_entry *e = lookup(c, hash, blocks, versions, n, op_level);
	if (!e) {
		rc = make_entry(rd, blocks, versions, n, op_level, hash, &e);
		if (!rc)
			insert(c, e);
	}
	if (!rc)
		rc = add_entry_rows(e, acc);
	*ref = e;
	return rc;
}

/*---- whole answers ----
 *
 * Between two flushes every query of one window finds the same versions
 * and gets the same answer: kept here (percentiles only, no focus), keyed
 * like a run by every block of the plan and its version. */

struct smap_answer {
	struct smap_answer *next;
	uint64_t hash;
	int op_level;
	size_t n_blocks;
	struct smap_block *blocks;   /* heap, owned */
	uint64_t *versions;          /* heap, owned */
	struct tm_smap_map map;      /* nodes, edges and strings in `mem` */
	void *mem;                   /* heap, owned */
	size_t bytes_cost;
	uint64_t last_used;
};

#define MAX_ANSWERS 16

static void answer_free(struct smap_answer *a)
{
	if (!a)
		return;
	free(a->blocks);
	free(a->versions);
	free(a->mem);
	free(a);
}

static size_t strings_len(const struct tm_smap_map *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_nodes; i++)
		n += m->nodes[i].id.len + m->nodes[i].service.len + m->nodes[i].operation.len;
	return n;
}

static struct tm_str copy_str(char **at, struct tm_str s)
{
	struct tm_str out = { *at, s.len };
	if (s.len)
		memcpy(*at, s.ptr, s.len);
	*at += s.len;
	return out;
}

/* copies m (without histograms) into one block of memory from alloc */
static void *copy_map(const struct tm_smap_map *m, struct tm_smap_map *out,
		      void *(*alloc)(void *ctx, size_t n), void *ctx, size_t *size)
{
	size_t nodes = m->n_nodes * sizeof(*m->nodes), edges = m->n_edges * sizeof(*m->edges);
	*size = nodes + edges + strings_len(m) + 1;
	char *mem = alloc(ctx, *size);
	if (!mem)
		return NULL;
	*out = *m;
	out->nodes = (struct tm_smap_node *)mem;
	out->edges = (struct tm_smap_edge *)(mem + nodes);
	if (nodes)
		memcpy(out->nodes, m->nodes, nodes);
	if (edges)
		memcpy(out->edges, m->edges, edges);
	char *at = mem + nodes + edges;
	for (size_t i = 0; i < m->n_nodes; i++) {
		struct tm_smap_node *n = &out->nodes[i];
		n->id = copy_str(&at, m->nodes[i].id);
		n->service = copy_str(&at, m->nodes[i].service);
		n->operation = copy_str(&at, m->nodes[i].operation);
		n->stat.hist = NULL;
	}
	for (size_t i = 0; i < m->n_edges; i++)
		out->edges[i].stat.hist = NULL;
	return mem;
}

static void *heap_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void *arena_alloc(void *ctx, size_t n)
{
	return tm_arena_alloc(ctx, n);
}

int smap_cache_get_answer(struct tm_smap_cache *c, const struct smap_block *blocks,
			  const uint64_t *versions, size_t n, int op_level,
			  struct tm_arena *arena, struct tm_smap_map *out)
{
	uint64_t hash = run_hash(blocks, versions, n, op_level);
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	struct smap_answer *a = c->answers;
	while (a && !(a->hash == hash && a->op_level == op_level && a->n_blocks == n &&
		      !memcmp(a->blocks, blocks, n * sizeof(*blocks)) &&
		      !memcmp(a->versions, versions, n * sizeof(*versions))))
		a = a->next;
	if (a) {
		size_t size;
		a->last_used = ++c->clock;
		rc = copy_map(&a->map, out, arena_alloc, arena, &size) ? 1 : -ENOMEM;
	}
	c->stats.answer_hits += rc == 1;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* drops the least recently used answer; called with the lock held */
static void drop_answer(struct tm_smap_cache *c)
{
	struct smap_answer **victim = &c->answers;
	for (struct smap_answer **p = &c->answers; *p; p = &(*p)->next)
		if ((*p)->last_used < (*victim)->last_used)
			victim = p;
	struct smap_answer *a = *victim;
	*victim = a->next;
	c->n_answers--;
	c->bytes -= a->bytes_cost;
	answer_free(a);
}

void smap_cache_put_answer(struct tm_smap_cache *c, const struct smap_block *blocks,
			   const uint64_t *versions, size_t n, int op_level,
			   const struct tm_smap_map *m)
{
	struct smap_answer *a = calloc(1, sizeof(*a));
	size_t size;
	if (!a || !(a->blocks = malloc(n * sizeof(*blocks) + 1)) ||
	    !(a->versions = malloc(n * sizeof(*versions) + 1)) ||
	    !(a->mem = copy_map(m, &a->map, heap_alloc, NULL, &size))) {
		answer_free(a);   /* an answer not kept costs the next query only */
		return;
	}
	memcpy(a->blocks, blocks, n * sizeof(*blocks));
	memcpy(a->versions, versions, n * sizeof(*versions));
	a->n_blocks = n;
	a->op_level = op_level;
	a->hash = run_hash(blocks, versions, n, op_level);
	a->bytes_cost = sizeof(*a) + n * (sizeof(*blocks) + sizeof(*versions)) + size;
	pthread_mutex_lock(&c->lock);
	while (c->answers && (c->n_answers >= MAX_ANSWERS ||
			      c->bytes + a->bytes_cost > c->max_bytes))
		drop_answer(c);
	a->last_used = ++c->clock;
	a->next = c->answers;
	c->answers = a;
	c->n_answers++;
	c->bytes += a->bytes_cost;
	pthread_mutex_unlock(&c->lock);
}
