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

struct delta {
	struct smap_key key;
	uint64_t calls, errors, http4xx, http5xx, throttled;
	uint8_t node_kind, used;
	uint64_t *lat;
	size_t n_lat, cap_lat;
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
	struct trace_map orphans;   /* trace ID ^ parent ID of spans paired alone */
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
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].lat);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

struct observation {
	uint8_t type;
	uint32_t a, b;
	uint64_t at_ns;          /* the minute it belongs to */
	uint64_t latency_ns;
	int failed;
	uint16_t http_status;
	uint8_t node_kind;
};

static int observe(struct tm_smap *m, const struct observation *o)
{
	struct smap_key k = { o->type, o->a, o->b, (uint32_t)(o->at_ns / TM_NS_PER_MINUTE) };
	struct delta *d = delta_get(&m->deltas, &k);
	if (!d)
		return -ENOMEM;
	if (d->n_lat == d->cap_lat) {
		size_t cap = d->cap_lat ? d->cap_lat * 2 : 16;
		uint64_t *p = realloc(d->lat, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->lat = p;
		d->cap_lat = cap;
	}
	d->lat[d->n_lat++] = o->latency_ns;
	d->calls++;
	d->errors += o->failed ? 1 : 0;
	d->http4xx += o->http_status >= 400 && o->http_status < 500 && o->http_status != 429;
	d->http5xx += o->http_status >= 500 && o->http_status < 600;
	d->throttled += o->http_status == 429;
	if (o->node_kind)
		d->node_kind = o->node_kind;
	return 0;
}

/*---- setup ----*/

int tm_smap_new(struct tm_store *st, const struct tm_smap_options *opt, struct tm_smap **out)
{
	*out = NULL;
	struct tm_smap *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->scratch_hist = malloc(sizeof(*m->scratch_hist));
	if (!m->scratch_hist) {
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
	trace_map_init(&m->pending, sizeof(struct ptrace));
	trace_map_init(&m->orphans, 1);
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
	trace_map_free(&m->orphans);
	delta_map_clear(&m->deltas);
	tm_buf_free(&m->profiles);
	tm_buf_free(&m->profiles_prev);
	tm_buf_free(&m->scratch_buf);
	free(m->queue);
	free(m->scratch_hist);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->state);
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

/* the spans of a trace as the pairer sees them: its pending records, or,
 * when some relative is missing, every stored span */
struct tview {
	const struct tm_span_rec *r;
	size_t n;
	uint8_t *owned;           /* counted in this round */
	size_t *parent;           /* SIZE_MAX: none known */
	uint8_t *cross_child;     /* a child in another service */
	uint32_t *entry_op;
	size_t *slots;            /* span-ID hash: index + 1, 0 empty */
	size_t cap;
};

static size_t id_slot(const uint8_t *span_id, size_t cap)
{
	uint64_t h;
	memcpy(&h, span_id, 8);
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17) & (cap - 1);
}

static int index_spans(struct tview *v, struct tm_arena *a)
{
	v->cap = 16;
	while (v->cap < 2 * v->n)
		v->cap *= 2;
	v->slots = tm_arena_zalloc(a, v->cap * sizeof(size_t));
	v->parent = tm_arena_alloc(a, (v->n + 1) * sizeof(size_t));
	v->cross_child = tm_arena_zalloc(a, v->n + 1);
	v->entry_op = tm_arena_zalloc(a, (v->n + 1) * sizeof(uint32_t));
	if (!v->slots || !v->parent || !v->cross_child || !v->entry_op)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		size_t s = id_slot(v->r[i].span_id, v->cap);
		while (v->slots[s])
			s = (s + 1) & (v->cap - 1);
		v->slots[s] = i + 1;
	}
	return 0;
}

/* the parent of span i: the span named by its parent ID, not itself; for a
 * Zipkin shared server record (its parent is its own ID) the client record
 * with that ID; among several records of one ID, the one of i's service */
static size_t find_parent(const struct tview *v, size_t i)
{
	const struct tm_span_rec *x = &v->r[i];
	if (!(x->flags & TM_REC_HAS_PARENT))
		return SIZE_MAX;
	size_t best = SIZE_MAX;
	int shared = !memcmp(x->parent_span_id, x->span_id, TM_SPAN_ID_LEN);
	for (size_t s = id_slot(x->parent_span_id, v->cap); v->slots[s];
	     s = (s + 1) & (v->cap - 1)) {
		size_t j = v->slots[s] - 1;
		if (j == i || memcmp(v->r[j].span_id, x->parent_span_id, TM_SPAN_ID_LEN))
			continue;
		if (shared && v->r[j].kind == TM_KIND_SERVER)
			continue;
		if (best == SIZE_MAX || (v->r[j].svc == x->svc && v->r[best].svc != x->svc))
			best = j;
	}
	return best;
}

/* the operation of the service's entry span above i */
static uint32_t entry_op(struct tview *v, size_t i)
{
	size_t at = i;
	for (unsigned steps = 0; steps < 10000; steps++) {
		size_t p = v->parent[at];
		if (p == SIZE_MAX || v->r[p].svc != v->r[i].svc)
			break;
		if (v->entry_op[p]) {
			v->entry_op[i] = v->entry_op[p];
			return v->entry_op[p];
		}
		at = p;
	}
	v->entry_op[i] = v->r[at].op ? v->r[at].op : v->r[i].op;
	return v->entry_op[i];
}

static int is_callee(const struct tm_span_rec *r)
{
	return r->kind == TM_KIND_SERVER || r->kind == TM_KIND_CONSUMER;
}

static int is_caller(const struct tm_span_rec *r)
{
	return r->kind == TM_KIND_CLIENT || r->kind == TM_KIND_PRODUCER;
}

static uint64_t rec_duration(const struct tm_span_rec *r)
{
	return r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 0;
}

static int observe_pair(struct tm_smap *m, struct tview *v, size_t i, size_t p)
{
	const struct tm_span_rec *x = &v->r[i], *par = &v->r[p];
	struct observation o = {
		.type = SMAP_EDGE, .a = par->svc, .b = x->svc, .at_ns = x->start_ns,
		.latency_ns = is_caller(par) ? rec_duration(par) : rec_duration(x),
		.failed = (x->flags | par->flags) & TM_REC_ERROR,
	};
	int rc = observe(m, &o);
	o.type = SMAP_OP_EDGE;
	o.a = entry_op(v, p);
	o.b = x->op;
	m->stats.calls++;
	return rc ? rc : observe(m, &o);
}

static int observe_virtual(struct tm_smap *m, struct tview *v, size_t i, int caller_side)
{
	const struct tm_span_rec *x = &v->r[i];
	struct observation o = {
		.type = SMAP_EDGE, .at_ns = x->start_ns, .latency_ns = rec_duration(x),
		.failed = x->flags & TM_REC_ERROR,
	};
	if (caller_side) {   /* x calls an uninstrumented peer */
		o.a = x->svc;
		o.b = x->node;
		o.node_kind = x->node_kind;
	} else {             /* a root server span: called by its peer, or a user */
		o.a = x->node;
		o.b = x->svc;
	}
	int rc = observe(m, &o);
	o.type = SMAP_OP_EDGE;
	if (caller_side) {
		o.a = entry_op(v, i);
	} else {
		o.b = x->op;
	}
	m->stats.calls++;
	return rc ? rc : observe(m, &o);
}

static int observe_node(struct tm_smap *m, const struct tm_span_rec *x)
{
	struct observation o = {
		.type = SMAP_NODE, .a = x->svc, .at_ns = x->start_ns, .latency_ns = rec_duration(x),
		.failed = x->flags & TM_REC_ERROR, .http_status = x->http_status,
	};
	int rc = observe(m, &o);
	o.type = SMAP_OP_NODE;
	o.a = x->op;
	return rc ? rc : observe(m, &o);
}

/*---- orphans: spans paired before their parent arrived ----*/

#define MAX_ORPHANS (256u << 10)

static void orphan_key(uint8_t key[TM_TRACE_ID_LEN], const uint8_t *trace_id,
		       const uint8_t *parent_id)
{
	memcpy(key, trace_id, TM_TRACE_ID_LEN);
	for (int i = 0; i < TM_SPAN_ID_LEN; i++)
		key[8 + i] ^= parent_id[i];
}

static int orphan_note(struct tm_smap *m, const struct tm_span_rec *x)
{
	uint8_t key[TM_TRACE_ID_LEN];
	int created;
	m->stats.unpaired_spans++;
	if (m->orphans.n >= MAX_ORPHANS) {
		/* a bound on memory: parents that never come are the usual case
		 * here, and the oldest of those are the least likely to come */
		trace_map_free(&m->orphans);
		trace_map_init(&m->orphans, 1);
	}
	orphan_key(key, x->trace_id, x->parent_span_id);
	return trace_map_get(&m->orphans, key, &created) ? 0 : -ENOMEM;
}

static int orphan_take(struct tm_smap *m, const uint8_t *trace_id, const uint8_t *parent_id)
{
	uint8_t key[TM_TRACE_ID_LEN];
	orphan_key(key, trace_id, parent_id);
	if (!trace_map_find(&m->orphans, key))
		return 0;
	trace_map_del(&m->orphans, key);
	m->stats.unpaired_spans--;
	return 1;
}

static int observe_trace(struct tm_smap *m, struct tview *v)
{
	for (size_t i = 0; i < v->n; i++)
		v->parent[i] = find_parent(v, i);
	for (size_t i = 0; i < v->n; i++) {
		size_t p = v->parent[i];
		if (p != SIZE_MAX && v->r[p].svc != v->r[i].svc)
			v->cross_child[p] = 1;
	}
	int rc = 0;
	for (size_t i = 0; i < v->n && !rc; i++) {
		if (!v->owned[i])
			continue;
		const struct tm_span_rec *x = &v->r[i];
		size_t p = v->parent[i];
		if (is_callee(x))
			rc = observe_node(m, x);
		if (rc)
			break;
		if (p != SIZE_MAX && v->r[p].svc != x->svc)
			rc = observe_pair(m, v, i, p);
		else if (!(x->flags & TM_REC_HAS_PARENT) && is_callee(x))
			rc = observe_virtual(m, v, i, 0);
		else if (p == SIZE_MAX && (x->flags & TM_REC_HAS_PARENT))
			rc = orphan_note(m, x);
		if (!rc && is_caller(x) && !v->cross_child[i] && x->node)
			rc = observe_virtual(m, v, i, 1);
	}
	/* a parent that came after its child was paired: the child found no
	 * parent then (it was noted as an orphan), so the call counts now */
	for (size_t i = 0; i < v->n && !rc; i++) {
		size_t p = v->parent[i];
		if (v->owned[i] || p == SIZE_MAX || !v->owned[p] || v->r[p].svc == v->r[i].svc)
			continue;
		if (orphan_take(m, v->r[i].trace_id, v->r[p].span_id))
			rc = observe_pair(m, v, i, p);
	}
	return rc;
}

static int has_missing_parent(const struct tview *v)
{
	for (size_t i = 0; i < v->n; i++)
		if ((v->r[i].flags & TM_REC_HAS_PARENT) && find_parent(v, i) == SIZE_MAX)
			return 1;
	return 0;
}

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

/* stored span i is the pending record j when these agree */
static int same_span(const struct tm_span_rec *x, const struct tm_span_rec *y)
{
	return !memcmp(x->span_id, y->span_id, TM_SPAN_ID_LEN) && x->start_ns == y->start_ns &&
	       x->end_ns == y->end_ns && x->kind == y->kind && x->svc == y->svc;
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
static void put_summary(struct tm_buf *b, const struct tview *v, int stored)
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

static int profile_trace(struct tm_smap *m, const struct tview *v, int stored,
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

/* pairs what of trace t is at or below `through`; returns 1 when all of it was */
static int pair_trace(struct tm_smap *m, struct tm_store_reader **rd, struct ptrace *t,
		      uint64_t through, struct tm_arena *a)
{
	struct tview v = { .r = t->recs, .n = t->n };
	v.owned = tm_arena_zalloc(a, t->n + 1);
	if (!v.owned || index_spans(&v, a) < 0)
		return -ENOMEM;
	int all = 1;
	for (size_t i = 0; i < t->n; i++) {
		v.owned[i] = t->recs[i].seq <= through;
		all &= v.owned[i];
	}
	if (t->partial || has_missing_parent(&v)) {
		/* relatives were paired before, or are missing: the stored trace
		 * has all that arrived */
		struct tm_span_rec *stored;
		size_t n_stored;
		int rc = *rd ? 0 : tm_store_reader_begin(m->st, rd);
		if (!rc)
			rc = stored_view(*rd, t->recs[0].trace_id, a, &stored, &n_stored);
		m->stats.stored_reads++;
		if (!rc) {
			struct tview sv = { .r = stored, .n = n_stored };
			sv.owned = tm_arena_zalloc(a, n_stored + 1);
			if (!sv.owned || index_spans(&sv, a) < 0)
				return -ENOMEM;
			for (size_t i = 0; i < n_stored; i++)
				for (size_t j = 0; j < t->n && !sv.owned[i]; j++)
					sv.owned[i] = v.owned[j] && same_span(&stored[i], &t->recs[j]);
			v = sv;
		} else if (rc != -ENOENT) {
			return rc;
		}
	}
	int rc = observe_trace(m, &v);
	if (!rc && all && v.n)
		rc = profile_trace(m, &v, v.r != t->recs, a);
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
	t->n = k;
	t->partial = 1;
	t->due = 0;
}

static int pair_due(struct tm_smap *m, uint64_t now)
{
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
	struct tm_buf *b = &m->scratch_buf;
	b->len = 0;
	varint_put(b, v.calls + d->calls);
	varint_put(b, v.errors + d->errors);
	varint_put(b, v.http4xx + d->http4xx);
	varint_put(b, v.http5xx + d->http5xx);
	varint_put(b, v.throttled + d->throttled);
	unsigned char kind = d->node_kind ? d->node_kind : v.node_kind;
	tm_buf_add(b, &kind, 1);
	tm_hist_encode(h, b);
	if (b->failed)
		return -ENOMEM;
	return tm_store_aux_put(w, TM_AUX_ROLLUPS, key, sizeof(key), b->data, b->len);
}

static int put_profiles(struct tm_smap *m, struct tm_aux_txn *w)
{
	const unsigned char *p = m->profiles.data, *end = p + m->profiles.len;
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

void tm_smap_get_stats(struct tm_smap *m, struct tm_smap_stats *out)
{
	*out = m->stats;
	out->pending_traces = m->pending.n;
	out->pending_spans = m->pending_spans;
	out->analyzed_through = m->through;
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
		const unsigned char *p = bufs[b]->data, *end = p + bufs[b]->len;
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
