/* servicemap.c - the pairer: span records in, calls and critical-path
 * profiles out (docs/servicemap.md).
 *
 * Crash safety rests on one number, `through`: every record of a commit at
 * or below it has been counted in the rollups written with it, and no
 * record above it has.  A round therefore pairs, of the traces that are
 * due, only their records at or below the oldest commit still waiting in
 * another trace; the rest stays for a later round. */
#include "servicemap.h"
#include "smap_internal.h"
#include "smap_totals.h"
#include "critical_path.h"
#include "trace_map.h"
#include "varint.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_WAIT_NS (10ull * 1000000000ull)
#define DEFAULT_MAX_AGE_NS (60ull * 1000000000ull)
#define DEFAULT_MAX_PENDING (1u << 20)   /* ~80 MB of records */
#define DEFAULT_MAX_QUEUE (4u << 20)
#define DEFAULT_FLUSH_NS (1000000000ull)
#define PRESSED_WAIT_NS (1000000000ull)

struct ptrace {
	struct tm_span_rec *recs;
	uint32_t n, cap;
	uint64_t first_seq, max_seq;
	uint64_t first_seen_ns, last_seen_ns;
	uint8_t partial;        /* some of its records were paired already */
	uint8_t due;
};

/* counts are signed: a round may take back what an earlier one counted */
struct delta {
	struct smap_key key;
	int64_t calls, errors, http4xx, http5xx, throttled;
	uint8_t node_kind, used;
	uint64_t *lat, *unlat;    /* latencies added, and taken back */
	size_t n_lat, cap_lat, n_unlat, cap_unlat;
};

struct seen_filter {
	uint64_t *bits[2];          /* SEEN_BITS each */
	int cur;                    /* the generation being filled */
	uint64_t count, since_ns;   /* of the current generation */
	uint64_t seed;
};

struct delta_map {
	struct delta *slots;
	size_t cap, n;
};

struct tm_smap {
	struct tm_store *st;
	struct tm_smap_options opt;
	/* the queue from the writer */
	pthread_mutex_t lock;
	struct tm_span_rec *queue;
	size_t qn, qcap;
	int overflow;
	uint64_t overflow_from, overflow_to;
	/* analysis thread; `state` is held while it changes `pending`, so that
	 * queries (tm_smap_pending) see it whole */
	pthread_mutex_t state;
	struct trace_map pending;
	size_t pending_spans;
	struct seen_filter seen;
	struct smap_obs_list after, before;   /* scratch of pair_trace */
	uint64_t last_seq;        /* newest commit taken in */
	uint64_t through;         /* written with the rollups */
	uint64_t through_ready;   /* what the next flush may write */
	uint64_t emitted;         /* profile counter */
	uint64_t last_flush_ns;
	struct delta_map deltas;
	struct tm_buf profiles;   /* key_len[1] key value_len[varint] value ... */
	size_t n_profiles;
	/* the rows of the last flush, kept one more flush: a query whose
	 * snapshot began before that commit finds them here (tm_smap_pending) */
	struct tm_buf profiles_prev;
	uint64_t emitted_flushed;   /* the newest row the store holds */
	struct tm_hist *scratch_hist;
	struct tm_buf scratch_buf;
	struct tm_smap_stats stats;
	struct smap_totals totals;   /* per edge since start, for self-metrics */
	struct tm_smap_cache *cache;   /* for queries of the rollups written here */
};

/*---- deltas: what the next flush adds to the rollups ----*/

static size_t delta_hash(const struct smap_key *k, size_t cap)
{
	uint64_t h = ((uint64_t)k->a << 32 | k->b) * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)k->minute << 8 | k->type) * 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

static int key_eq(const struct smap_key *x, const struct smap_key *y)
{
	return x->type == y->type && x->a == y->a && x->b == y->b && x->minute == y->minute;
}

static struct delta *delta_slot(struct delta *slots, size_t cap, const struct smap_key *k)
{
	for (size_t i = delta_hash(k, cap);; i = (i + 1) & (cap - 1))
		if (!slots[i].used || key_eq(&slots[i].key, k))
			return &slots[i];
}

static struct delta *delta_get(struct delta_map *m, const struct smap_key *k)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct delta *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].used)
				*delta_slot(slots, cap, &m->slots[i].key) = m->slots[i];
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	struct delta *d = delta_slot(m->slots, m->cap, k);
	if (!d->used) {
		memset(d, 0, sizeof(*d));
		d->used = 1;
		d->key = *k;
		m->n++;
	}
	return d;
}

static void delta_map_clear(struct delta_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].lat);
		free(m->slots[i].unlat);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static int push_u64(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		uint64_t *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* counts o (sign 1) or takes it back (sign -1) */
static int observe(void *ctx, const struct smap_obs *o, int sign)
{
	struct tm_smap *m = ctx;
	struct smap_key k = { o->type, o->a, o->b, (uint32_t)(o->at_ns / TM_NS_PER_MINUTE) };
	struct delta *d = delta_get(&m->deltas, &k);
	if (!d)
		return -ENOMEM;
	int rc = sign > 0 ? push_u64(&d->lat, &d->n_lat, &d->cap_lat, o->latency_ns)
			  : push_u64(&d->unlat, &d->n_unlat, &d->cap_unlat, o->latency_ns);
	if (rc)
		return rc;
	d->calls += sign;
	d->errors += o->failed ? sign : 0;
	d->http4xx += o->http_status >= 400 && o->http_status < 500 && o->http_status != 429 ? sign : 0;
	d->http5xx += o->http_status >= 500 && o->http_status < 600 ? sign : 0;
	d->throttled += o->http_status == 429 ? sign : 0;
	if (o->node_kind)
		d->node_kind = o->node_kind;
	if (o->type == SMAP_EDGE) {
		m->stats.calls += (uint64_t)(int64_t)sign;
		m->stats.retracted_calls += sign < 0;
		/* counters never go down: a take-back is only counted above */
		if (sign > 0)
			smap_totals_add(&m->totals, o);
	}
	return 0;
}

/*---- traces paired lately ----
 *
 * Whether anything of a trace was paired before decides whether a round
 * may pair its new spans alone or must read the stored trace to know what
 * was counted.  Two generations of a Bloom filter of trace IDs answer
 * that for the last SEEN_MAX_AGE_NS (or SEEN_PER_GEN traces, whichever
 * comes first): a false "maybe" costs one read, never a wrong count.  A
 * span arriving later than that is still paired against the stored trace
 * when its parent is missing. */

#define SEEN_BITS (1u << 25)            /* 4 MB a generation */
#define SEEN_PER_GEN 3000000u            /* ~1% false positives */
#define SEEN_MAX_AGE_NS (600ull * 1000000000ull)
#define SEEN_HASHES 7

static int seen_init(struct seen_filter *f)
{
	f->bits[0] = calloc(SEEN_BITS / 64, sizeof(uint64_t));
	f->bits[1] = calloc(SEEN_BITS / 64, sizeof(uint64_t));
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* trace IDs come from clients: a fixed hash would let them pick IDs
	 * that all look seen, turning every pairing into a store read */
	f->seed = tm_hash64(&ts, sizeof(ts)) ^ (uint64_t)(uintptr_t)f;
	return f->bits[0] && f->bits[1] ? 0 : -ENOMEM;
}

static void seen_free(struct seen_filter *f)
{
	free(f->bits[0]);
	free(f->bits[1]);
}

static void seen_rotate(struct seen_filter *f, uint64_t now)
{
	if (f->count < SEEN_PER_GEN && now - f->since_ns < SEEN_MAX_AGE_NS)
		return;
	f->cur ^= 1;
	memset(f->bits[f->cur], 0, SEEN_BITS / 8);
	f->count = 0;
	f->since_ns = now;
}

static int seen_test(const uint64_t *bits, uint64_t h)
{
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (uint32_t i = 0; i < SEEN_HASHES; i++) {
		uint32_t bit = (h1 + i * h2) & (SEEN_BITS - 1);
		if (!(bits[bit / 64] >> (bit % 64) & 1))
			return 0;
	}
	return 1;
}

static int seen_maybe(const struct seen_filter *f, const uint8_t *trace_id)
{
	uint64_t h = tm_hash64_seeded(f->seed, trace_id, TM_TRACE_ID_LEN);
	return seen_test(f->bits[0], h) || seen_test(f->bits[1], h);
}

static void seen_add(struct seen_filter *f, const uint8_t *trace_id)
{
	uint64_t h = tm_hash64_seeded(f->seed, trace_id, TM_TRACE_ID_LEN);
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (uint32_t i = 0; i < SEEN_HASHES; i++) {
		uint32_t bit = (h1 + i * h2) & (SEEN_BITS - 1);
		f->bits[f->cur][bit / 64] |= 1ull << (bit % 64);
	}
	f->count++;
}

/*---- setup ----*/

int tm_smap_new(struct tm_store *st, const struct tm_smap_options *opt, struct tm_smap **out)
{
	*out = NULL;
	struct tm_smap *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->scratch_hist = malloc(sizeof(*m->scratch_hist));
	if (!m->scratch_hist || seen_init(&m->seen) || tm_smap_cache_new(0, &m->cache)) {
		seen_free(&m->seen);
		free(m->scratch_hist);
		tm_smap_cache_free(m->cache);
		free(m);
		return -ENOMEM;
	}
	m->st = st;
	m->opt = *opt;
	if (!m->opt.wait_ns)
		m->opt.wait_ns = DEFAULT_WAIT_NS;
	if (!m->opt.max_age_ns)
		m->opt.max_age_ns = DEFAULT_MAX_AGE_NS;
	if (m->opt.max_age_ns < m->opt.wait_ns)
		m->opt.max_age_ns = m->opt.wait_ns;
	if (!m->opt.max_pending_spans)
		m->opt.max_pending_spans = DEFAULT_MAX_PENDING;
	if (!m->opt.max_queue_spans)
		m->opt.max_queue_spans = DEFAULT_MAX_QUEUE;
	if (!m->opt.flush_ns)
		m->opt.flush_ns = DEFAULT_FLUSH_NS;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->state, NULL);
	smap_totals_init(&m->totals);
	trace_map_init(&m->pending, sizeof(struct ptrace));
	tm_buf_init(&m->profiles);
	tm_buf_init(&m->profiles_prev);
	tm_buf_init(&m->scratch_buf);
	*out = m;
	return 0;
}

void tm_smap_free(struct tm_smap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->pending.cap; i++) {
		const uint8_t *id;
		struct ptrace *t = trace_map_at(&m->pending, i, &id);
		if (t)
			free(t->recs);
	}
	trace_map_free(&m->pending);
	seen_free(&m->seen);
	free(m->after.o);
	free(m->before.o);
	delta_map_clear(&m->deltas);
	tm_buf_free(&m->profiles);
	tm_buf_free(&m->profiles_prev);
	tm_buf_free(&m->scratch_buf);
	free(m->queue);
	free(m->scratch_hist);
	tm_smap_cache_free(m->cache);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->state);
	smap_totals_clear(&m->totals);
	free(m);
}

/*---- the queue ----*/

void tm_smap_offer(void *smap, uint64_t seq, const struct tm_span_rec *recs, size_t n)
{
	struct tm_smap *m = smap;
	pthread_mutex_lock(&m->lock);
	if (!m->overflow && m->qn + n > m->opt.max_queue_spans) {
		m->overflow = 1;
		m->overflow_from = seq;
		m->stats.queue_overflows++;
	}
	if (m->overflow) {
		m->overflow_to = seq;
	} else {
		if (m->qn + n > m->qcap) {
			size_t cap = m->qcap ? m->qcap : 8192;
			while (cap < m->qn + n)
				cap *= 2;
			struct tm_span_rec *p = realloc(m->queue, cap * sizeof(*p));
			if (!p) {
				m->overflow = 1;
				m->overflow_from = m->overflow_to = seq;
				m->stats.queue_overflows++;
				pthread_mutex_unlock(&m->lock);
				return;
			}
			m->queue = p;
			m->qcap = cap;
		}
		memcpy(m->queue + m->qn, recs, n * sizeof(*recs));
		m->qn += n;
	}
	pthread_mutex_unlock(&m->lock);
}

/*---- taking records in ----*/

static int take_record(struct tm_smap *m, const struct tm_span_rec *r, uint64_t now)
{
	int created;
	struct ptrace *t = trace_map_get(&m->pending, r->trace_id, &created);
	if (!t)
		return -ENOMEM;
	if (created) {
		t->first_seq = r->seq;
		t->first_seen_ns = now;
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 8;
		struct tm_span_rec *p = realloc(t->recs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		t->recs = p;
		t->cap = cap;
	}
	t->recs[t->n++] = *r;
	t->first_seq = r->seq < t->first_seq ? r->seq : t->first_seq;
	t->max_seq = r->seq > t->max_seq ? r->seq : t->max_seq;
	t->last_seen_ns = now;
	m->pending_spans++;
	if (r->seq > m->last_seq)
		m->last_seq = r->seq;
	return 0;
}

struct take_ctx {
	struct tm_smap *m;
	uint64_t now;
	int rc;
};

static void take_commit(void *ctx, uint64_t seq, const struct tm_span_rec *recs, size_t n)
{
	struct take_ctx *c = ctx;
	(void)seq;
	pthread_mutex_lock(&c->m->state);
	for (size_t i = 0; i < n && !c->rc; i++)
		c->rc = take_record(c->m, &recs[i], c->now);
	pthread_mutex_unlock(&c->m->state);
}

static int replay(struct tm_smap *m, uint64_t from, uint64_t to, uint64_t now, uint64_t *last)
{
	struct tm_store_reader *rd;
	int rc = tm_store_reader_begin(m->st, &rd);
	if (rc)
		return rc;
	uint64_t head = tm_store_reader_last_seq(rd);
	if (to > head)
		to = head;
	struct take_ctx c = { m, now, 0 };
	if (from <= to)
		rc = tm_store_replay(rd, from, to, take_commit, &c);
	tm_store_reader_end(rd);
	*last = to;
	if (to > m->last_seq)
		m->last_seq = to;
	return rc ? rc : c.rc;
}

int tm_smap_recover(struct tm_smap *m)
{
	struct tm_store_reader *rd;
	int rc = tm_store_reader_begin(m->st, &rd);
	if (rc)
		return rc;
	m->through = tm_store_reader_analyzed_through(rd);
	uint64_t head = tm_store_reader_last_seq(rd);
	tm_store_reader_end(rd);
	m->last_seq = m->through;
	uint64_t last;
	return head > m->through ? replay(m, m->through + 1, head, 0, &last) : 0;
}

/* the queue, and the commits it dropped while it was full */
static int take_queue(struct tm_smap *m, uint64_t now)
{
	pthread_mutex_lock(&m->lock);
	struct tm_span_rec *q = m->queue;
	size_t n = m->qn;
	int overflow = m->overflow;
	uint64_t from = m->overflow_from, to = m->overflow_to;
	m->queue = NULL;
	m->qn = m->qcap = 0;
	pthread_mutex_unlock(&m->lock);
	int rc = 0;
	pthread_mutex_lock(&m->state);
	for (size_t i = 0; i < n && !rc; i++)
		rc = take_record(m, &q[i], now);
	pthread_mutex_unlock(&m->state);
	free(q);
	if (rc || !overflow)
		return rc;
	uint64_t done;
	rc = replay(m, from, to, now, &done);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	if (m->overflow_to <= done)
		m->overflow = 0;   /* caught up: the writer queues again */
	else
		m->overflow_from = done + 1;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/*---- pairing one trace ----*/

/* the stored trace as records, names resolved to ids */
static int stored_view(struct tm_store_reader *rd, const uint8_t *trace_id,
		       struct tm_arena *a, struct tm_span_rec **out, size_t *n)
{
	struct tm_trace t;
	int rc = tm_store_reader_trace(rd, trace_id, a, &t);
	if (rc)
		return rc;
	struct tm_span_rec *r = tm_arena_zalloc(a, (t.n_spans + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < t.n_spans; i++) {
		const struct tm_span *s = &t.spans[i];
		const struct tm_str *svc = s->resource ? tm_attrs_get_str(&s->resource->attrs,
									  "service.name") : NULL;
		struct tm_str node;
		memcpy(r[i].trace_id, trace_id, TM_TRACE_ID_LEN);
		memcpy(r[i].span_id, s->span_id, TM_SPAN_ID_LEN);
		memcpy(r[i].parent_span_id, s->parent_span_id, TM_SPAN_ID_LEN);
		r[i].seq = s->seq;
		r[i].start_ns = s->start_ns;
		r[i].end_ns = s->end_ns;
		r[i].kind = s->kind;
		if (svc)
			tm_store_service_id(rd, *svc, &r[i].svc);
		tm_store_operation_id(rd, r[i].svc, s->kind, s->name, &r[i].op);
		r[i].node_kind = (uint8_t)tm_span_node(s, &node);
		if (r[i].node_kind)
			tm_store_peer_id(rd, node, &r[i].node);
		r[i].http_status = (uint16_t)tm_span_http_status(s);
		r[i].flags = (uint8_t)((s->status_code == TM_STATUS_ERROR ? TM_REC_ERROR : 0) |
				       (s->has_parent ? TM_REC_HAS_PARENT : 0) |
				       (tm_span_follows_from(s) ? TM_REC_FOLLOWS_FROM : 0));
	}
	*out = r;
	*n = t.n_spans;
	return 0;
}

/*---- critical-path profiles ----*/

static int op_ns_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void put_distinct(struct tm_buf *b, uint32_t *ids, size_t n)
{
	qsort(ids, n, sizeof(uint32_t), u32_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	varint_put(b, k);
	for (size_t i = 0; i < k; i++)
		varint_put(b, ids[i]);
}

/* span and error counts, the span that names the trace (a root before a
 * non-root, then the earliest), and whether an earlier row of this trace
 * may exist (the row was made from the stored trace) */
static void put_summary(struct tm_buf *b, const struct smap_view *v, int stored)
{
	uint64_t errors = 0;
	size_t best = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct tm_span_rec *r = &v->r[i], *x = &v->r[best];
		int root = !(r->flags & TM_REC_HAS_PARENT), best_root = !(x->flags & TM_REC_HAS_PARENT);
		errors += r->flags & TM_REC_ERROR ? 1 : 0;
		if (root != best_root ? root : r->start_ns < x->start_ns)
			best = i;
	}
	unsigned char flags = (unsigned char)((stored ? PROFILE_SUPERSEDES : 0) |
					      (v->r[best].flags & TM_REC_HAS_PARENT ? 0 : PROFILE_ROOT));
	varint_put(b, v->n);
	varint_put(b, errors);
	tm_buf_add(b, &flags, 1);
	varint_put(b, v->r[best].svc);
	varint_put(b, v->r[best].op);
}

static int profile_trace(struct tm_smap *m, const struct smap_view *v, int stored,
			 struct tm_arena *a)
{
	struct tm_trace t;
	memset(&t, 0, sizeof(t));
	t.spans = tm_arena_zalloc(a, (v->n + 1) * sizeof(*t.spans));
	uint32_t *ids = tm_arena_alloc(a, (v->n + 1) * sizeof(uint32_t));
	uint64_t *op_ns = tm_arena_alloc(a, (v->n + 1) * 2 * sizeof(uint64_t));
	if (!t.spans || !ids || !op_ns)
		return -ENOMEM;
	uint64_t start = UINT64_MAX, end = 0;
	memcpy(t.trace_id, v->r[0].trace_id, TM_TRACE_ID_LEN);
	for (size_t i = 0; i < v->n; i++) {
		const struct tm_span_rec *r = &v->r[i];
		struct tm_span *s = &t.spans[i];
		memcpy(s->trace_id, r->trace_id, TM_TRACE_ID_LEN);
		memcpy(s->span_id, r->span_id, TM_SPAN_ID_LEN);
		memcpy(s->parent_span_id, r->parent_span_id, TM_SPAN_ID_LEN);
		s->has_parent = !!(r->flags & TM_REC_HAS_PARENT);
		s->kind = r->kind;
		s->start_ns = r->start_ns;
		s->end_ns = r->end_ns;
		if (r->flags & TM_REC_FOLLOWS_FROM) {
			struct tm_link *l = tm_arena_zalloc(a, sizeof(*l));
			if (!l)
				return -ENOMEM;
			memcpy(l->trace_id, r->trace_id, TM_TRACE_ID_LEN);
			memcpy(l->span_id, r->parent_span_id, TM_SPAN_ID_LEN);
			s->links = l;
			s->n_links = 1;
		}
		start = r->start_ns < start ? r->start_ns : start;
		end = r->end_ns > end ? r->end_ns : end;
	}
	t.n_spans = v->n;
	struct tm_cp_analysis cp;
	int rc = tm_cp_analyze(&t, NULL, a, &cp);
	if (rc)
		return rc;
	size_t n_cp = 0;
	for (size_t i = 0; i < v->n; i++)
		if (cp.path_ns[i]) {
			op_ns[2 * n_cp] = v->r[i].op;
			op_ns[2 * n_cp + 1] = cp.path_ns[i];
			n_cp++;
		}
	qsort(op_ns, n_cp, 2 * sizeof(uint64_t), op_ns_cmp);
	struct tm_buf *b = &m->scratch_buf;
	b->len = 0;
	unsigned char key[PROFILE_KEY_LEN];
	uint32_t minute = (uint32_t)(start / TM_NS_PER_MINUTE);
	key[0] = (unsigned char)(minute >> 24);
	key[1] = (unsigned char)(minute >> 16);
	key[2] = (unsigned char)(minute >> 8);
	key[3] = (unsigned char)minute;
	uint64_t e = ++m->emitted;
	for (int i = 0; i < 8; i++)
		key[4 + i] = (unsigned char)(e >> (56 - 8 * i));
	memcpy(key + 12, t.trace_id, TM_TRACE_ID_LEN);
	fixed64_put(b, start);
	varint_put(b, end > start ? end - start : 0);
	put_summary(b, v, stored);
	for (size_t i = 0; i < v->n; i++)
		ids[i] = v->r[i].svc;
	put_distinct(b, ids, v->n);
	for (size_t i = 0; i < v->n; i++)
		ids[i] = v->r[i].op;
	put_distinct(b, ids, v->n);
	size_t n_out = 0;
	for (size_t i = 0; i < n_cp; i++)
		n_out += !i || op_ns[2 * i] != op_ns[2 * i - 2];
	varint_put(b, n_out);
	for (size_t i = 0; i < n_cp;) {
		uint64_t op = op_ns[2 * i], ns = 0;
		for (; i < n_cp && op_ns[2 * i] == op; i++)
			ns += op_ns[2 * i + 1];
		varint_put(b, op);
		varint_put(b, ns);
	}
	if (b->failed)
		return -ENOMEM;
	unsigned char kl = PROFILE_KEY_LEN;
	tm_buf_add(&m->profiles, &kl, 1);
	tm_buf_add(&m->profiles, key, PROFILE_KEY_LEN);
	varint_put(&m->profiles, b->len);
	tm_buf_add(&m->profiles, b->data, b->len);
	m->n_profiles++;
	return m->profiles.failed ? -ENOMEM : 0;
}

/* a round's records of one trace: those at or below `through` */
static size_t own_records(const struct ptrace *t, uint64_t through, struct tm_span_rec *out)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->recs[i].seq <= through)
			out[n++] = t->recs[i];
	return n;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* the stored spans split by commit: `after` every one at or below through
 * (what has been paired once this round is done), `before` those of them
 * not from this round's commits (what earlier rounds paired) */
static int split_stored(const struct tm_span_rec *stored, size_t n_stored,
			const struct tm_span_rec *own, size_t n_own, uint64_t through,
			struct tm_arena *a, struct smap_view *after, struct smap_view *before)
{
	uint64_t *seqs = tm_arena_alloc(a, (n_own + 1) * sizeof(uint64_t));
	struct tm_span_rec *ra = tm_arena_alloc(a, (n_stored + 1) * sizeof(*ra));
	struct tm_span_rec *rb = tm_arena_alloc(a, (n_stored + 1) * sizeof(*rb));
	if (!seqs || !ra || !rb)
		return -ENOMEM;
	for (size_t i = 0; i < n_own; i++)
		seqs[i] = own[i].seq;
	qsort(seqs, n_own, sizeof(uint64_t), u64_cmp);   /* n_own >= 1 */
	size_t na = 0, nb = 0;
	for (size_t i = 0; i < n_stored; i++) {
		if (stored[i].seq > through)
			continue;   /* a later round's */
		ra[na++] = stored[i];
		if (!bsearch(&stored[i].seq, seqs, n_own, sizeof(uint64_t), u64_cmp))
			rb[nb++] = stored[i];
	}
	int rc = smap_view_init(after, ra, na, a);
	return rc ? rc : smap_view_init(before, rb, nb, a);
}

/* counts F(after) - F(before) from the stored trace; -ENOENT when it is gone */
static int pair_with_stored(struct tm_smap *m, struct tm_store_reader **rd,
			    const struct tm_span_rec *own, size_t n_own, uint64_t through,
			    struct tm_arena *a, struct smap_view *after)
{
	struct tm_span_rec *stored;
	size_t n_stored;
	struct smap_view before;
	int rc = *rd ? 0 : tm_store_reader_begin(m->st, rd);
	if (!rc)
		rc = stored_view(*rd, own[0].trace_id, a, &stored, &n_stored);
	m->stats.stored_reads++;
	if (!rc)
		rc = split_stored(stored, n_stored, own, n_own, through, a, after, &before);
	if (!rc)
		rc = smap_observe(after, &m->after);
	if (!rc)
		rc = smap_observe(&before, &m->before);
	if (!rc) {
		m->stats.unpaired_spans += m->after.unpaired - m->before.unpaired;
		rc = smap_obs_diff(&m->after, &m->before, observe, m);
	}
	return rc;
}

/* pairs what of trace t is at or below `through`; returns 1 when all of it was */
static int pair_trace(struct tm_smap *m, struct tm_store_reader **rd, struct ptrace *t,
		      uint64_t through, struct tm_arena *a)
{
	struct tm_span_rec *own = tm_arena_alloc(a, (t->n + 1) * sizeof(*own));
	if (!own)
		return -ENOMEM;
	size_t n_own = own_records(t, through, own);
	if (!n_own)
		return 0;
	struct smap_view v;
	int rc = smap_view_init(&v, own, n_own, a);
	if (rc)
		return rc;
	/* relatives paired before, missing, or copies: what was counted, and
	 * what is new, is known only from the stored trace */
	int stored = t->partial || seen_maybe(&m->seen, own[0].trace_id) ||
		     smap_view_missing_parent(&v) || smap_view_has_copies(&v);
	if (stored) {
		struct smap_view after;
		rc = pair_with_stored(m, rd, own, n_own, through, a, &after);
		if (!rc)
			v = after;
		stored = !rc;
	}
	if (!stored && (!rc || rc == -ENOENT)) {
		rc = smap_observe(&v, &m->after);
		m->before.n = m->before.unpaired = 0;
		if (!rc) {
			m->stats.unpaired_spans += m->after.unpaired;
			rc = smap_obs_diff(&m->after, &m->before, observe, m);
		}
	}
	seen_add(&m->seen, own[0].trace_id);
	int all = n_own == t->n;
	if (!rc && all && v.n)
		rc = profile_trace(m, &v, stored, a);
	return rc ? rc : all;
}

/*---- rounds ----*/

/* under memory pressure a trace quiet for a second will do: its late
 * relatives are then paired against the stored trace */
static int is_due(const struct tm_smap *m, const struct ptrace *t, uint64_t now, int pressed)
{
	uint64_t wait = pressed && m->opt.wait_ns > PRESSED_WAIT_NS ? PRESSED_WAIT_NS
								    : m->opt.wait_ns;
	return now - t->last_seen_ns >= wait || now - t->first_seen_ns >= m->opt.max_age_ns;
}

/* drops the records at or below through from t */
static void keep_rest(struct tm_smap *m, struct ptrace *t, uint64_t through)
{
	uint32_t k = 0;
	t->first_seq = UINT64_MAX;
	for (uint32_t i = 0; i < t->n; i++) {
		if (t->recs[i].seq <= through) {
			m->pending_spans--;
			continue;
		}
		t->recs[k++] = t->recs[i];
		t->first_seq = t->recs[i].seq < t->first_seq ? t->recs[i].seq : t->first_seq;
	}
	if (k < t->n)
		t->partial = 1;
	t->n = k;
	t->due = 0;
}

static int pair_due(struct tm_smap *m, uint64_t now)
{
	seen_rotate(&m->seen, now);
	pthread_mutex_lock(&m->state);
	int pressed = m->pending_spans > m->opt.max_pending_spans;
	uint64_t through = m->last_seq;
	size_t n_due = 0;
	for (size_t i = 0; i < m->pending.cap; i++) {
		const uint8_t *id;
		struct ptrace *t = trace_map_at(&m->pending, i, &id);
		if (!t)
			continue;
		t->due = (uint8_t)is_due(m, t, now, pressed);
		n_due += t->due;
		if (!t->due && t->first_seq <= through)
			through = t->first_seq - 1;
	}
	if (pressed)
		m->stats.early_pairings += n_due;   /* an upper bound: some were due anyway */
	if (!n_due) {
		pthread_mutex_unlock(&m->state);
		m->through_ready = through;
		return 0;
	}
	uint8_t(*due)[TM_TRACE_ID_LEN] = malloc(n_due * TM_TRACE_ID_LEN);
	if (!due) {
		pthread_mutex_unlock(&m->state);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < m->pending.cap; i++) {
		const uint8_t *id;
		struct ptrace *t = trace_map_at(&m->pending, i, &id);
		if (t && t->due)
			memcpy(due[k++], id, TM_TRACE_ID_LEN);
	}
	pthread_mutex_unlock(&m->state);
	struct tm_arena a;
	tm_arena_init(&a, 0);
	struct tm_store_reader *rd = NULL;
	int rc = 0;
	for (size_t i = 0; i < k && rc >= 0; i++) {
		pthread_mutex_lock(&m->state);
		struct ptrace *t = trace_map_find(&m->pending, due[i]);
		if (!t) {
			pthread_mutex_unlock(&m->state);
			continue;
		}
		rc = pair_trace(m, &rd, t, through, &a);
		tm_arena_clear(&a);
		if (rc == 1) {
			m->pending_spans -= t->n;
			free(t->recs);
			trace_map_del(&m->pending, due[i]);
			m->stats.paired_traces++;
		} else if (rc == 0) {
			keep_rest(m, t, through);
		}
		pthread_mutex_unlock(&m->state);
	}
	tm_store_reader_end(rd);
	free(due);
	m->through_ready = through;
	return rc < 0 ? rc : 0;
}

/*---- flushing ----*/

void smap_key_encode(unsigned char out[SMAP_KEY_LEN], unsigned char res, uint32_t t,
		     const struct smap_key *k)
{
	out[0] = res;
	for (int i = 0; i < 4; i++) {
		out[1 + i] = (unsigned char)(t >> (24 - 8 * i));
		out[6 + i] = (unsigned char)(k->a >> (24 - 8 * i));
		out[10 + i] = (unsigned char)(k->b >> (24 - 8 * i));
	}
	out[5] = k->type;
}

int smap_value_decode(const void *data, size_t len, struct smap_value *out)
{
	const unsigned char *p = data, *end = p + len;
	memset(out, 0, sizeof(*out));
	if (varint_get(&p, end, &out->calls) < 0 || varint_get(&p, end, &out->errors) < 0 ||
	    varint_get(&p, end, &out->http4xx) < 0 || varint_get(&p, end, &out->http5xx) < 0 ||
	    varint_get(&p, end, &out->throttled) < 0 || p == end)
		return -EBADMSG;
	out->node_kind = *p++;
	out->hist = p;
	out->hist_len = (size_t)(end - p);
	return 0;
}

/* a stored count plus a delta; never below 0 (a row lost to a crash
 * before its take-back cannot go negative) */
static uint64_t add_signed(uint64_t base, int64_t d)
{
	if (d >= 0)
		return base + (uint64_t)d;
	return (uint64_t)-d > base ? 0 : base - (uint64_t)-d;
}

/* adds one delta to the row of one resolution */
static int merge_row(struct tm_smap *m, struct tm_aux_txn *w, int res, const struct delta *d)
{
	unsigned char key[SMAP_KEY_LEN];
	smap_key_encode(key, smap_res[res], d->key.minute / smap_res_minutes[res], &d->key);
	const void *old;
	size_t old_len;
	struct smap_value v;
	struct tm_hist *h = m->scratch_hist;
	int rc = tm_store_aux_get(w, TM_AUX_ROLLUPS, key, sizeof(key), &old, &old_len);
	if (rc == 0 && smap_value_decode(old, old_len, &v) == 0 &&
	    tm_hist_decode(v.hist, v.hist_len, h) == 0) {
		/* merge into what is there */
	} else if (rc == 0 || rc == -ENOENT) {
		memset(&v, 0, sizeof(v));
		tm_hist_init(h);
	} else {
		return rc;
	}
	for (size_t i = 0; i < d->n_lat; i++)
		tm_hist_add(h, d->lat[i]);
	for (size_t i = 0; i < d->n_unlat; i++)
		tm_hist_remove(h, d->unlat[i]);
	uint64_t calls = add_signed(v.calls, d->calls);
	if (!calls)   /* every call of it was taken back: no edge or node */
		return tm_store_aux_del(w, TM_AUX_ROLLUPS, key, sizeof(key));
	struct tm_buf *b = &m->scratch_buf;
	b->len = 0;
	varint_put(b, calls);
	varint_put(b, add_signed(v.errors, d->errors));
	varint_put(b, add_signed(v.http4xx, d->http4xx));
	varint_put(b, add_signed(v.http5xx, d->http5xx));
	varint_put(b, add_signed(v.throttled, d->throttled));
	unsigned char kind = d->node_kind ? d->node_kind : v.node_kind;
	tm_buf_add(b, &kind, 1);
	tm_hist_encode(h, b);
	if (b->failed)
		return -ENOMEM;
	return tm_store_aux_put(w, TM_AUX_ROLLUPS, key, sizeof(key), b->data, b->len);
}

/* one past the last byte of b; an empty buffer may have no data at all, and
 * NULL + 0 is undefined behaviour in C (clang's UBSan reports it) */
static const unsigned char *buf_end(const struct tm_buf *b)
{
	return b->data ? (const unsigned char *)b->data + b->len : NULL;
}

static int put_profiles(struct tm_smap *m, struct tm_aux_txn *w)
{
	const unsigned char *p = m->profiles.data, *end = buf_end(&m->profiles);
	int rc = 0;
	while (!rc && p < end) {
		size_t klen = *p++;
		const unsigned char *key = p;
		p += klen;
		uint64_t vlen;
		if (varint_get(&p, end, &vlen) < 0 || vlen > (uint64_t)(end - p))
			return -EBADMSG;
		rc = tm_store_aux_put(w, TM_AUX_PROFILES, key, klen, p, (size_t)vlen);
		p += vlen;
	}
	return rc;
}

static int u32_cmp_flush(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* stamps every block (res, t) the deltas touch with a new generation, so
 * that a query's cache knows which of its merged blocks still hold
 * (smap_cache.c): one counter for the store, one row per block */
static int stamp_blocks(struct tm_smap *m, struct tm_aux_txn *w)
{
	uint32_t *minutes = malloc((m->deltas.n + 1) * sizeof(*minutes));
	if (!minutes)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < m->deltas.cap; i++)
		if (m->deltas.slots[i].used)
			minutes[n++] = m->deltas.slots[i].key.minute;
	qsort(minutes, n, sizeof(*minutes), u32_cmp_flush);
	const void *old;
	size_t old_len;
	uint64_t gen = 0;
	int rc = tm_store_aux_get(w, TM_AUX_ROLLUPS, SMAP_GEN_KEY, SMAP_GEN_LEN, &old, &old_len);
	if (rc == 0 && old_len == 8)
		gen = smap_get_be64(old);
	else if (rc && rc != -ENOENT)
		n = 0;
	unsigned char val[8];
	smap_put_be64(val, ++gen);
	if (!rc || rc == -ENOENT)
		rc = tm_store_aux_put(w, TM_AUX_ROLLUPS, SMAP_GEN_KEY, SMAP_GEN_LEN, val, 8);
	/* sorted minutes: a block's first minute of this flush differs from
	 * the one before in that block's unit */
	for (size_t i = 0; i < n && !rc; i++)
		for (int res = 0; res < 3 && !rc; res++) {
			uint32_t t = minutes[i] / smap_res_minutes[res];
			if (i && minutes[i - 1] / smap_res_minutes[res] == t)
				continue;
			unsigned char key[SMAP_VERSION_KEY_LEN];
			smap_version_key(key, smap_res[res], t);
			rc = tm_store_aux_put(w, TM_AUX_ROLLUPS, key, sizeof(key), val, 8);
		}
	free(minutes);
	return rc;
}

static int flush(struct tm_smap *m)
{
	if (m->through_ready == m->through && !m->deltas.n && !m->n_profiles)
		return 0;
	struct tm_aux_txn *w;
	int rc = tm_store_aux_begin(m->st, &w);
	for (size_t i = 0; i < m->deltas.cap && !rc; i++) {
		const struct delta *d = &m->deltas.slots[i];
		for (int res = 0; res < 3 && d->used && !rc; res++)
			rc = merge_row(m, w, res, d);
	}
	if (!rc && m->deltas.n)
		rc = stamp_blocks(m, w);
	if (!rc)
		rc = put_profiles(m, w);
	unsigned char mark[8];
	for (int i = 0; i < 8; i++)
		mark[i] = (unsigned char)(m->emitted >> (56 - 8 * i));
	if (!rc)
		rc = tm_store_aux_put(w, TM_AUX_PROFILES, PROFILE_MARK_KEY, PROFILE_MARK_LEN, mark, 8);
	if (rc) {
		/* kept for the next flush: nothing of it was written */
		tm_store_aux_abort(w);
		return rc;
	}
	rc = tm_store_aux_commit(w, m->through_ready);
	if (rc)
		return rc;
	m->through = m->through_ready;
	delta_map_clear(&m->deltas);
	pthread_mutex_lock(&m->state);
	struct tm_buf t = m->profiles_prev;
	m->profiles_prev = m->profiles;
	m->profiles = t;
	m->profiles.len = 0;
	m->n_profiles = 0;
	m->emitted_flushed = m->emitted;
	pthread_mutex_unlock(&m->state);
	return 0;
}

int tm_smap_step(struct tm_smap *m, uint64_t now_ns, int force_flush)
{
	int rc = take_queue(m, now_ns);
	if (!rc)
		rc = pair_due(m, now_ns);
	if (!rc && (force_flush || now_ns - m->last_flush_ns >= m->opt.flush_ns)) {
		rc = flush(m);
		m->last_flush_ns = now_ns;
	}
	return rc;
}

struct tm_smap_cache *tm_smap_cache_of(struct tm_smap *m)
{
	return m ? m->cache : NULL;
}

void tm_smap_get_stats(struct tm_smap *m, struct tm_smap_stats *out)
{
	*out = m->stats;
	out->pending_traces = m->pending.n;
	out->pending_spans = m->pending_spans;
	out->analyzed_through = m->through;
}

int tm_smap_edge_totals(struct tm_smap *m, struct tm_smap_edge_total **out, size_t *n,
			uint64_t *dropped)
{
	return smap_totals_copy(&m->totals, out, n, dropped);
}

int tm_smap_pending(struct tm_smap *m, tm_smap_pending_fn fn, tm_smap_row_fn row_fn, void *ctx)
{
	/* what the writer queued since the last round is pending too: a query
	 * right after a commit must see it (the commits it dropped while the
	 * queue was full are the pairer's to replay) */
	pthread_mutex_lock(&m->lock);
	struct tm_span_rec *q = m->queue;
	size_t n = m->qn;
	m->queue = NULL;
	m->qn = m->qcap = 0;
	pthread_mutex_unlock(&m->lock);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	int rc = 0;
	pthread_mutex_lock(&m->state);
	for (size_t i = 0; i < n && !rc; i++)
		rc = take_record(m, &q[i], now);
	free(q);
	for (size_t i = 0; i < m->pending.cap && !rc; i++) {
		const uint8_t *id;
		const struct ptrace *t = trace_map_at(&m->pending, i, &id);
		if (!t || !t->n)
			continue;
		struct tm_pending_trace p = { id, t->recs, t->n, t->partial };
		rc = fn(ctx, &p);
	}
	/* paired traces whose rows are not in every snapshot yet */
	const struct tm_buf *bufs[2] = { &m->profiles_prev, &m->profiles };
	for (int b = 0; b < 2 && !rc && row_fn; b++) {
		const unsigned char *p = bufs[b]->data, *end = buf_end(bufs[b]);
		while (!rc && p < end) {
			size_t klen = *p++;
			const unsigned char *key = p;
			p += klen;
			uint64_t vlen;
			if (varint_get(&p, end, &vlen) < 0 || vlen > (uint64_t)(end - p))
				break;
			rc = row_fn(ctx, key, klen, p, (size_t)vlen);
			p += vlen;
		}
	}
	pthread_mutex_unlock(&m->state);
	return rc;
}
