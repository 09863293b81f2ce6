/* search.c - span-level trace search with Jaeger's and Zipkin's rules.
 *
 * Candidates come from the search rows (tsearch) of the window, newest
 * minute first; a row says, per service, which operations it holds with
 * their start and duration ranges and whether one failed, which peers were
 * called, and a Bloom filter of attribute values.  A trace is then checked
 * on its spans.  Results must be newest first by *trace* start, which the
 * rows only bound from above (a trace starts no later than any of its
 * pieces), so candidates wait in a max-heap keyed by that bound; the top is
 * checked, and re-queued with its exact start; it is emitted once it is
 * exact and no trace not seen yet can start later (every piece of such a
 * trace lies in a minute below the ones scanned).  A query for the newest
 * 20 thus reads a few minutes of rows and about 20 traces. */
#include "search.h"
#include "search_internal.h"
#include "trace_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*---- shared helpers ----*/

int id_set_has(const struct id_set *s, uint32_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->ids[mid] == id)
			return 1;
		if (s->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

uint32_t search_minute(uint64_t ns)
{
	uint64_t m = ns / TM_NS_PER_MINUTE;
	return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int add_ops_named(struct tm_store_reader *rd, uint32_t svc, struct tm_str name,
			 struct tm_arena *arena, uint32_t **ids, size_t *n, size_t *cap)
{
	struct tm_name *ops;
	size_t n_ops;
	int rc = tm_store_operations(rd, svc, arena, &ops, &n_ops);
	for (size_t i = 0; i < n_ops && !rc; i++) {
		if (!tm_str_eq(ops[i].name, name))
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			uint32_t *p = tm_arena_alloc(arena, ncap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			if (*n)
				memcpy(p, *ids, *n * sizeof(*p));
			*ids = p;
			*cap = ncap;
		}
		(*ids)[(*n)++] = ops[i].id;
	}
	return rc;
}

int search_resolve(struct tm_store_reader *rd, struct tm_str service, struct tm_str operation,
		   struct tm_arena *arena, struct id_set *svc, struct id_set *ops)
{
	memset(svc, 0, sizeof(*svc));
	memset(ops, 0, sizeof(*ops));
	if (service.len) {
		svc->ids = tm_arena_alloc(arena, sizeof(uint32_t));
		if (!svc->ids)
			return -ENOMEM;
		int rc = tm_store_service_id(rd, service, svc->ids);
		if (rc)
			return rc == -ENOENT ? -ESRCH : rc;
		svc->n = 1;
	}
	if (!operation.len)
		return 0;
	size_t cap = 0;
	int rc = 0;
	if (service.len) {
		rc = add_ops_named(rd, svc->ids[0], operation, arena, &ops->ids, &ops->n, &cap);
	} else {
		struct tm_name *all;
		size_t n_all;
		rc = tm_store_services(rd, arena, &all, &n_all);
		for (size_t i = 0; i < n_all && !rc; i++)
			rc = add_ops_named(rd, all[i].id, operation, arena, &ops->ids, &ops->n, &cap);
	}
	if (rc)
		return rc;
	if (!ops->n)
		return -ENOENT;
	qsort(ops->ids, ops->n, sizeof(uint32_t), u32_cmp);
	return 0;
}

/*---- the query, resolved against the store's names ----*/

struct resolved {
	const struct tm_search_query *q;
	struct id_set svc, ops;
	uint32_t peer;          /* Zipkin remoteServiceName */
	int want_error;         /* Jaeger error=true: some span failed */
	uint64_t min_us, max_us;
};

/* Jaeger keeps durations in whole microseconds; so do the bounds here */
static uint64_t dur_us(uint64_t ns)
{
	return ns / 1000;
}

static int dur_in(const struct resolved *r, uint64_t lo_ns, uint64_t hi_ns)
{
	uint64_t lo = dur_us(lo_ns) * 1000, hi = dur_us(hi_ns) * 1000;
	return hi >= r->q->min_duration_ns && lo <= r->q->max_duration_ns;
}

static int is_special_jaeger_key(struct tm_str k)
{
	static const char *const special[] = { "error", "span.kind", "span.status", "scope.name",
					       "scope.version" };
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (tm_str_eq(k, tm_str_from(special[i])))
			return 1;
	return 0;
}

static struct tm_str without_resource_prefix(struct tm_str k)
{
	static const char prefix[] = "resource.";
	size_t n = sizeof(prefix) - 1;
	if (k.len > n && !memcmp(k.ptr, prefix, n))
		return (struct tm_str){ k.ptr + n, k.len - n };
	return k;
}

/*---- Jaeger: one span meets every condition ----*/

static int jaeger_op_may_match(const struct resolved *r, const struct tm_piece_op *op)
{
	const struct tm_search_query *q = r->q;
	if (r->ops.n && !id_set_has(&r->ops, op->op))
		return 0;
	if (op->max_start_ns < q->start_ns || op->min_start_ns > q->end_ns)
		return 0;
	if (!dur_in(r, op->min_dur_ns, op->max_dur_ns))
		return 0;
	return !r->want_error || op->has_error;
}

static int jaeger_group_may_match(const struct resolved *r, const struct tm_piece_group *g)
{
	if (r->svc.n && g->svc != r->svc.ids[0])
		return 0;
	int any = 0;
	for (size_t i = 0; i < g->n_ops && !any; i++)
		any = jaeger_op_may_match(r, &g->ops[i]);
	if (!any)
		return 0;
	for (size_t i = 0; i < r->q->n_tags; i++) {
		const struct tm_search_tag *t = &r->q->tags[i];
		if (is_special_jaeger_key(t->key))
			continue;
		if (!tm_bloom_maybe_text(&g->bloom, without_resource_prefix(t->key), t->value))
			return 0;
	}
	return 1;
}

static int jaeger_span_matches(const struct resolved *r, const struct tm_span *s)
{
	const struct tm_search_query *q = r->q;
	if (q->service.len && !tm_str_eq(tm_span_service(s), q->service))
		return 0;
	if (q->operation.len && !tm_str_eq(s->name, q->operation))
		return 0;
	if (s->start_ns < q->start_ns || s->start_ns > q->end_ns)
		return 0;
	uint64_t d = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
	if (!dur_in(r, d, d))
		return 0;
	for (size_t i = 0; i < q->n_tags; i++)
		if (!tm_span_matches_jaeger_tag(s, q->tags[i].key, q->tags[i].value))
			return 0;
	return 1;
}

/*---- Zipkin: each condition met by some span of the service ----*/

enum {
	ZF_SERVICE = 1u << 0,
	ZF_NAME = 1u << 1,
	ZF_REMOTE = 1u << 2,
	ZF_DURATION = 1u << 3,
	ZF_TAG0 = 4,   /* bit of the first annotation-query term */
	ZF_MAX_TAGS = 28,
};

static int zipkin_term_may_match(const struct resolved *r, const struct tm_piece_group *g,
				 const struct tm_search_tag *t)
{
	int failed = 0;
	for (size_t i = 0; i < g->n_ops; i++)
		failed |= g->ops[i].has_error;
	if (tm_str_eq(t->key, tm_str_from("error")))
		return failed || tm_bloom_maybe(&g->bloom, tm_search_hash_key(t->key));
	if (tm_str_eq(t->key, tm_str_from("otel.status_code")))
		return 1;
	if (t->bare)
		return tm_bloom_maybe(&g->bloom, tm_search_hash_event(t->key)) ||
		       tm_bloom_maybe(&g->bloom, tm_search_hash_key(t->key));
	(void)r;
	return tm_bloom_maybe_text(&g->bloom, t->key, t->value);
}

static uint32_t zipkin_group_flags(const struct resolved *r, const struct tm_piece_group *g)
{
	const struct tm_search_query *q = r->q;
	if (r->svc.n && g->svc != r->svc.ids[0])
		return 0;
	uint32_t f = ZF_SERVICE;
	for (size_t i = 0; i < g->n_ops; i++) {
		if (!r->ops.n || id_set_has(&r->ops, g->ops[i].op))
			f |= ZF_NAME;
		if (dur_in(r, g->ops[i].min_dur_ns, g->ops[i].max_dur_ns))
			f |= ZF_DURATION;
	}
	if (!q->remote_service.len)
		f |= ZF_REMOTE;
	for (size_t i = 0; i < g->n_peers && !(f & ZF_REMOTE); i++)
		if (g->peers[i] == r->peer)
			f |= ZF_REMOTE;
	for (size_t i = 0; i < q->n_tags; i++)
		if (i >= ZF_MAX_TAGS || zipkin_term_may_match(r, g, &q->tags[i]))
			f |= 1u << (ZF_TAG0 + (i < ZF_MAX_TAGS ? i : 0));
	return f;
}

static int zipkin_trace_matches(const struct resolved *r, const struct tm_trace *t)
{
	const struct tm_search_query *q = r->q;
	if (t->summary.start_ns < q->start_ns || t->summary.start_ns > q->end_ns)
		return 0;
	int svc = 0, name = !q->operation.len, remote = !q->remote_service.len;
	int dur = !q->min_duration_ns && q->max_duration_ns == UINT64_MAX;
	size_t n_terms = q->n_tags;
	unsigned char met[64] = { 0 };
	if (n_terms > sizeof(met))
		return 0;
	for (size_t i = 0; i < t->n_spans; i++) {
		const struct tm_span *s = &t->spans[i];
		if (q->service.len && !tm_str_eq(tm_span_service(s), q->service))
			continue;
		svc = 1;
		name |= tm_str_eq(s->name, q->operation);
		remote |= tm_str_eq(tm_span_peer(s), q->remote_service);
		uint64_t d = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
		dur |= dur_in(r, d, d);
		for (size_t k = 0; k < n_terms; k++)
			met[k] |= (unsigned char)tm_span_matches_zipkin_term(
				s, q->tags[k].key, q->tags[k].value, q->tags[k].bare);
	}
	for (size_t k = 0; k < n_terms; k++)
		if (!met[k])
			return 0;
	return svc && name && remote && dur;
}

/*---- candidates, newest first ----*/

struct cand {
	uint64_t key;      /* upper bound of the trace start, exact once checked */
	uint32_t flags;    /* Zipkin: conditions some piece may meet */
	uint8_t queued, checked, matched;
};

struct heap_item {
	uint64_t key;
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t checked;
};

struct heap {
	struct heap_item *items;
	size_t n, cap;
};

static int heap_before(const struct heap_item *a, const struct heap_item *b)
{
	if (a->key != b->key)
		return a->key > b->key;
	return memcmp(a->trace_id, b->trace_id, TM_TRACE_ID_LEN) < 0;
}

static void heap_swap(struct heap *h, size_t i, size_t j)
{
	struct heap_item t = h->items[i];
	h->items[i] = h->items[j];
	h->items[j] = t;
}

static int heap_push(struct heap *h, struct heap_item it)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct heap_item *p = realloc(h->items, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		h->items = p;
		h->cap = cap;
	}
	size_t i = h->n++;
	h->items[i] = it;
	while (i && heap_before(&h->items[i], &h->items[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct heap_item heap_pop(struct heap *h)
{
	struct heap_item top = h->items[0];
	h->items[0] = h->items[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < h->n && heap_before(&h->items[l], &h->items[best]))
			best = l;
		if (r < h->n && heap_before(&h->items[r], &h->items[best]))
			best = r;
		if (best == i)
			break;
		heap_swap(h, i, best);
		i = best;
	}
	return top;
}

struct searcher {
	struct tm_store_reader *rd;
	struct resolved r;
	struct trace_map cands;
	struct heap heap;
	struct tm_piece_iter *it;
	struct tm_search_piece pending;
	int have_pending, scan_done;
	uint64_t floor_ns;     /* traces not seen yet start before this */
	struct tm_arena scratch;
	uint8_t (*found)[TM_TRACE_ID_LEN];
	size_t n_found;
	uint64_t checked;
};

static int note_piece(struct searcher *s, const struct tm_search_piece *p)
{
	int jaeger = s->r.q->dialect == TM_SEARCH_JAEGER;
	uint32_t flags = 0;
	for (size_t i = 0; i < p->n_groups; i++) {
		if (jaeger && jaeger_group_may_match(&s->r, &p->groups[i]))
			flags = 1;
		else if (!jaeger)
			flags |= zipkin_group_flags(&s->r, &p->groups[i]);
	}
	/* Zipkin: a trace can meet the conditions only if it has a span of
	 * the service; whether its spans together meet the rest is checked on
	 * the whole trace, as it comes off the heap */
	if (jaeger ? !flags : !(flags & ZF_SERVICE))
		return 0;
	int created;
	struct cand *c = trace_map_get(&s->cands, p->trace_id, &created);
	if (!c)
		return -ENOMEM;
	if (created || p->start_ns < c->key)
		c->key = p->start_ns;
	c->flags |= flags;
	if (!c->queued) {
		c->queued = 1;
		struct heap_item it = { .key = c->key };
		memcpy(it.trace_id, p->trace_id, TM_TRACE_ID_LEN);
		return heap_push(&s->heap, it);
	}
	return 0;
}

/* reads the rows of one more minute; sets scan_done at the end */
static int scan_minute(struct searcher *s)
{
	int rc;
	uint32_t minute;
	if (!s->have_pending) {
		rc = tm_piece_iter_next_search(s->it, &s->pending);
		if (rc <= 0) {
			s->scan_done = 1;
			s->floor_ns = 0;
			return rc;
		}
	}
	minute = s->pending.minute;
	s->have_pending = 0;
	rc = note_piece(s, &s->pending);
	while (!rc) {
		rc = tm_piece_iter_next_search(s->it, &s->pending);
		if (rc <= 0) {
			s->scan_done = 1;
			s->floor_ns = 0;
			return rc;
		}
		if (s->pending.minute != minute) {
			s->have_pending = 1;
			s->floor_ns = (uint64_t)minute * TM_NS_PER_MINUTE;
			return 0;
		}
		rc = note_piece(s, &s->pending);
	}
	return rc;
}

/* reads the candidate's spans: its exact start, and whether it matches */
static int check(struct searcher *s, struct heap_item *top, int *matched)
{
	struct tm_trace t;
	tm_arena_clear(&s->scratch);
	int rc = tm_store_reader_trace(s->rd, top->trace_id, &s->scratch, &t);
	s->checked++;
	*matched = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (s->r.q->dialect == TM_SEARCH_ZIPKIN) {
		*matched = zipkin_trace_matches(&s->r, &t);
	} else {
		for (size_t i = 0; i < t.n_spans && !*matched; i++)
			*matched = jaeger_span_matches(&s->r, &t.spans[i]);
	}
	top->key = t.summary.start_ns;
	top->checked = 1;
	return 0;
}

static int emit_in_order(struct searcher *s)
{
	const struct tm_search_query *q = s->r.q;
	int rc = 0;
	while (!rc && s->n_found < q->limit) {
		if (!s->heap.n || s->heap.items[0].key < s->floor_ns) {
			if (s->scan_done)
				break;
			rc = scan_minute(s);
			continue;
		}
		struct heap_item top = heap_pop(&s->heap);
		if (top.checked) {
			memcpy(s->found[s->n_found++], top.trace_id, TM_TRACE_ID_LEN);
			continue;
		}
		int matched;
		rc = check(s, &top, &matched);
		if (!rc && matched)
			rc = heap_push(&s->heap, top);
	}
	return rc;
}

static int resolve(struct tm_store_reader *rd, const struct tm_search_query *q,
		   struct tm_arena *arena, struct resolved *r)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	int rc = search_resolve(rd, q->service, q->operation, arena, &r->svc, &r->ops);
	if (!rc && q->remote_service.len)
		rc = tm_store_peer_id(rd, q->remote_service, &r->peer);
	for (size_t i = 0; i < q->n_tags && q->dialect == TM_SEARCH_JAEGER; i++)
		if (tm_str_eq(q->tags[i].key, tm_str_from("error")) &&
		    tm_str_eq(q->tags[i].value, tm_str_from("true")))
			r->want_error = 1;
	return rc;
}

static int scan_range(const struct tm_store_reader *rd, const struct tm_search_query *q,
		      uint32_t *from, uint32_t *to)
{
	uint64_t spread = tm_store_reader_max_spread(rd);
	if (q->dialect == TM_SEARCH_JAEGER) {
		/* a span starting in the window lies in a piece starting at most
		 * `spread` earlier */
		*from = search_minute(q->start_ns > spread ? q->start_ns - spread : 0);
		*to = search_minute(q->end_ns);
	} else {
		*from = search_minute(q->start_ns);
		*to = search_minute(q->end_ns > UINT64_MAX - TM_SEARCH_LATE_NS
					    ? UINT64_MAX : q->end_ns + TM_SEARCH_LATE_NS);
	}
	return 0;
}

static int read_results(struct searcher *s, struct tm_arena *arena, struct tm_search_result *out)
{
	out->traces = tm_arena_alloc(arena, (s->n_found + 1) * sizeof(*out->traces));
	if (!out->traces)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_found; i++) {
		int rc = tm_store_reader_trace(s->rd, s->found[i], arena, &out->traces[out->n]);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		out->n++;
	}
	return 0;
}

int tm_search(struct tm_store_reader *rd, const struct tm_search_query *q,
	      struct tm_arena *arena, struct tm_search_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!q->limit || q->start_ns > q->end_ns)
		return 0;
	struct searcher s = { .rd = rd, .floor_ns = UINT64_MAX };
	int rc = resolve(rd, q, arena, &s.r);
	if (rc == -ENOENT)
		return 0;   /* an operation or peer never seen: nothing matches */
	if (rc)
		return rc;
	s.found = tm_arena_alloc(arena, (q->limit + 1) * TM_TRACE_ID_LEN);
	if (!s.found)
		return -ENOMEM;
	uint32_t from, to;
	scan_range(rd, q, &from, &to);
	rc = tm_piece_iter_open(rd, TM_PIECES_SEARCH, from, to, &s.it);
	if (rc)
		return rc;
	trace_map_init(&s.cands, sizeof(struct cand));
	tm_arena_init(&s.scratch, 0);
	rc = emit_in_order(&s);
	if (!rc)
		rc = read_results(&s, arena, out);
	out->candidates_checked = s.checked;
	tm_piece_iter_close(s.it);
	trace_map_free(&s.cands);
	free(s.heap.items);
	tm_arena_clear(&s.scratch);
	return rc;
}
