/* slow_traces.c - whole-trace summaries of a window, slowest first.
 *
 * Every piece that may belong to a trace starting in the window is read
 * from the slim index rows (tpiece) and folded into one summary per trace;
 * nothing of the spans themselves is read.  Cost: one pass over the
 * window's rows, a hash map of its traces, and a bounded heap for the top. */
#include "search.h"
#include "search_internal.h"
#include "servicemap.h"
#include "smap_internal.h"
#include "trace_map.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_SVCS 8

struct trace_sum {
	uint64_t start, end, spans, errors, root_start;
	uint32_t root_svc, root_op;
	uint8_t root_is_root, has_root, has_svc, has_op, svc_overflow;
	uint8_t n_svcs;
	uint32_t svcs[INLINE_SVCS];
};

static void add_service(struct trace_sum *t, uint32_t svc)
{
	for (size_t i = 0; i < t->n_svcs; i++)
		if (t->svcs[i] == svc)
			return;
	if (t->n_svcs == INLINE_SVCS)
		t->svc_overflow = 1;
	else
		t->svcs[t->n_svcs++] = svc;
}

static void fold_piece(struct trace_sum *t, const struct tm_piece *p, const struct id_set *svc,
		       const struct id_set *ops, int created)
{
	if (created) {
		t->start = p->start_ns;
		t->end = p->end_ns;
	}
	t->start = p->start_ns < t->start ? p->start_ns : t->start;
	t->end = p->end_ns > t->end ? p->end_ns : t->end;
	t->spans += p->n_spans;
	t->errors += p->n_errors;
	if (!t->has_root || (p->root_is_root != t->root_is_root ? p->root_is_root
							       : p->root_start_ns < t->root_start)) {
		t->has_root = 1;
		t->root_is_root = (uint8_t)p->root_is_root;
		t->root_start = p->root_start_ns;
		t->root_svc = p->root_svc;
		t->root_op = p->root_op;
	}
	for (size_t i = 0; i < p->n_svcs; i++) {
		add_service(t, p->svcs[i]);
		if (id_set_has(svc, p->svcs[i]))
			t->has_svc = 1;
	}
	for (size_t i = 0; i < p->n_ops && !t->has_op; i++)
		if (id_set_has(ops, p->ops[i]))
			t->has_op = 1;
}

struct ranked {
	const uint8_t *trace_id;
	const struct trace_sum *t;
};

/* 1 when a ranks before b: longer, then later start, then smaller ID */
static int ranks_before(const struct ranked *a, const struct ranked *b)
{
	uint64_t da = a->t->end - a->t->start, db = b->t->end - b->t->start;
	if (da != db)
		return da > db;
	if (a->t->start != b->t->start)
		return a->t->start > b->t->start;
	return memcmp(a->trace_id, b->trace_id, TM_TRACE_ID_LEN) < 0;
}

/* a min-heap on rank of the best `limit` seen so far */
struct top {
	struct ranked *items;
	size_t n, limit;
};

static void top_sift_down(struct top *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;
		if (l < h->n && ranks_before(&h->items[worst], &h->items[l]))
			worst = l;
		if (r < h->n && ranks_before(&h->items[worst], &h->items[r]))
			worst = r;
		if (worst == i)
			return;
		struct ranked tmp = h->items[i];
		h->items[i] = h->items[worst];
		h->items[worst] = tmp;
		i = worst;
	}
}

static void top_offer(struct top *h, struct ranked r)
{
	if (h->n < h->limit) {
		size_t i = h->n++;
		h->items[i] = r;
		while (i && ranks_before(&h->items[(i - 1) / 2], &h->items[i])) {
			struct ranked tmp = h->items[i];
			h->items[i] = h->items[(i - 1) / 2];
			h->items[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (h->limit && ranks_before(&r, &h->items[0])) {
		h->items[0] = r;
		top_sift_down(h, 0);
	}
}

static int ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	return ranks_before(x, y) ? -1 : ranks_before(y, x) ? 1 : 0;
}

/* folds the rows of [from, to] into the map; with only_known, rows of
 * traces not in the map already are skipped */
static int fold_range(struct tm_store_reader *rd, uint64_t from, uint64_t to,
		      const struct id_set *svc, const struct id_set *ops, struct trace_map *map,
		      int only_known)
{
	struct tm_piece_iter *it;
	int rc = tm_piece_iter_open(rd, TM_PIECES_SUMMARY, search_minute(from), search_minute(to),
				    &it);
	if (rc)
		return rc;
	struct tm_piece p;
	while ((rc = tm_piece_iter_next(it, &p)) == 1) {
		int created = 0;
		struct trace_sum *t = only_known ? trace_map_find(map, p.trace_id)
						 : trace_map_get(map, p.trace_id, &created);
		if (!t && only_known)
			continue;
		if (!t) {
			rc = -ENOMEM;
			break;
		}
		fold_piece(t, &p, svc, ops, created);
	}
	tm_piece_iter_close(it);
	return rc;
}

/* the traces that start in the window have rows from its start to an hour
 * past its end; rows of the hour before its start tell which of those
 * started earlier still (and so do not belong to it) */
static int scan_window(struct tm_store_reader *rd, const struct tm_slow_query *q,
		       const struct id_set *svc, const struct id_set *ops, struct trace_map *map)
{
	uint64_t late_end = q->end_ns > UINT64_MAX - TM_SEARCH_LATE_NS ? UINT64_MAX
					: q->end_ns + TM_SEARCH_LATE_NS;
	int rc = fold_range(rd, q->start_ns, late_end, svc, ops, map, 0);
	uint64_t first = search_minute(q->start_ns);
	if (rc || !first)
		return rc;
	uint64_t before = q->start_ns > TM_SEARCH_LATE_NS ? q->start_ns - TM_SEARCH_LATE_NS : 0;
	return fold_range(rd, before, (first - 1) * TM_NS_PER_MINUTE, svc, ops, map, 1);
}

static int name_of(struct tm_store_reader *rd, uint32_t id, struct tm_str *out)
{
	struct tm_name nm;
	*out = (struct tm_str){ "", 0 };
	int rc = id ? tm_store_name(rd, id, &nm) : -ENOENT;
	if (!rc)
		*out = nm.name;
	return rc == -ENOENT ? 0 : rc;
}

static int str_cmp(const void *a, const void *b)
{
	const struct tm_str *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* the services of a trace that has more than the summary keeps inline */
static int services_from_spans(struct tm_store_reader *rd, const uint8_t *trace_id,
			       struct tm_arena *arena, struct tm_trace_info *out)
{
	struct tm_trace trace;
	int rc = tm_store_reader_trace(rd, trace_id, arena, &trace);
	if (rc)
		return rc;
	out->services = tm_arena_alloc(arena, (trace.n_spans + 1) * sizeof(struct tm_str));
	if (!out->services)
		return -ENOMEM;
	out->n_services = 0;
	for (size_t i = 0; i < trace.n_spans; i++)
		out->services[out->n_services++] = search_span_service(&trace.spans[i]);
	qsort(out->services, out->n_services, sizeof(struct tm_str), str_cmp);
	size_t n = 0;
	for (size_t i = 0; i < out->n_services; i++)
		if (!n || str_cmp(&out->services[n - 1], &out->services[i]))
			out->services[n++] = out->services[i];
	out->n_services = n;
	return 0;
}

static int fill_info(struct tm_store_reader *rd, const struct ranked *r, struct tm_arena *arena,
		     struct tm_trace_info *out)
{
	const struct trace_sum *t = r->t;
	memcpy(out->trace_id, r->trace_id, TM_TRACE_ID_LEN);
	out->start_ns = t->start;
	out->end_ns = t->end;
	out->n_spans = t->spans;
	out->n_errors = t->errors;
	int rc = name_of(rd, t->root_svc, &out->root_service);
	if (!rc)
		rc = name_of(rd, t->root_op, &out->root_operation);
	if (rc || t->svc_overflow)
		return rc ? rc : services_from_spans(rd, r->trace_id, arena, out);
	out->services = tm_arena_alloc(arena, (t->n_svcs + 1) * sizeof(struct tm_str));
	if (!out->services)
		return -ENOMEM;
	out->n_services = 0;
	for (size_t i = 0; i < t->n_svcs && !rc; i++) {
		rc = name_of(rd, t->svcs[i], &out->services[out->n_services]);
		out->n_services++;
	}
	qsort(out->services, out->n_services, sizeof(struct tm_str), str_cmp);
	return rc;
}

int tm_slow_traces(struct tm_store_reader *rd, const struct tm_slow_query *q,
		   struct tm_arena *arena, struct tm_slow_result *out)
{
	memset(out, 0, sizeof(*out));
	struct id_set svc = { 0 }, ops = { 0 };
	int rc = search_resolve(rd, q->service, q->operation, arena, &svc, &ops);
	if (rc == -ENOENT)
		return 0;   /* an operation never seen: nothing matches */
	if (rc)
		return rc;
	struct trace_map map;
	trace_map_init(&map, sizeof(struct trace_sum));
	rc = scan_window(rd, q, &svc, &ops, &map);
	struct top top = { .limit = q->limit };
	top.items = tm_arena_alloc(arena, (q->limit + 1) * sizeof(*top.items));
	if (!rc && !top.items)
		rc = -ENOMEM;
	for (size_t i = 0; i < map.cap && !rc; i++) {
		const uint8_t *id;
		const struct trace_sum *t = trace_map_at(&map, i, &id);
		if (!t || t->start < q->start_ns || t->start > q->end_ns)
			continue;
		if ((q->service.len && !t->has_svc) || (q->operation.len && !t->has_op))
			continue;
		out->total++;
		top_offer(&top, (struct ranked){ id, t });
	}
	if (!rc) {
		qsort(top.items, top.n, sizeof(*top.items), ranked_cmp);
		out->items = tm_arena_alloc(arena, (top.n + 1) * sizeof(*out->items));
		if (!out->items)
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < top.n && !rc; i++)
		rc = fill_info(rd, &top.items[i], arena, &out->items[i]);
	if (!rc)
		out->n = top.n;
	trace_map_free(&map);
	return rc;
}

/*---- from the pairer's profiles: one row per trace ----
 *
 * Once the service map has paired a trace it holds one profile row per
 * trace, keyed by the minute of its start: a window's slow traces are then
 * a pass over those rows, with no folding of pieces.  The traces the pairer
 * still holds (quiet for less than --pair-wait) come from its memory. */

struct live_trace {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	struct trace_sum t;
	uint64_t emitted;     /* of its profile row; 0 from the pairer's memory */
	uint8_t superseding, dropped;
};

struct live {
	struct tm_store_reader *rd;
	const struct tm_slow_query *q;
	const struct id_set *svc, *ops;
	struct live_trace *items;
	size_t n, cap;
	struct trace_map pending;   /* trace ID -> index + 1 into items */
	uint64_t mark;              /* rows up to this one are in the snapshot */
	uint64_t skipped;           /* rows judged alone and left out */
	int rc;
};

static struct live_trace *live_add(struct live *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		struct live_trace *p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return NULL;
		l->items = p;
		l->cap = cap;
	}
	struct live_trace *x = &l->items[l->n++];
	memset(x, 0, sizeof(*x));
	return x;
}

static int ids_fold(const unsigned char **p, const unsigned char *end, struct trace_sum *t,
		    const struct id_set *want, int services)
{
	uint64_t n, id;
	if (varint_get(p, end, &n) < 0)
		return -EBADMSG;
	for (uint64_t i = 0; i < n; i++) {
		if (varint_get(p, end, &id) < 0)
			return -EBADMSG;
		if (services)
			add_service(t, (uint32_t)id);
		if (want && id_set_has(want, (uint32_t)id)) {
			if (services)
				t->has_svc = 1;
			else
				t->has_op = 1;
		}
	}
	return 0;
}

/* whether a count-prefixed id list names one of want: 1, 0 or -EBADMSG */
static int ids_contain(const unsigned char *p, const unsigned char *end,
		       const struct id_set *want)
{
	uint64_t n, id;
	if (varint_get(&p, end, &n) < 0)
		return -EBADMSG;
	for (uint64_t i = 0; i < n; i++) {
		if (varint_get(&p, end, &id) < 0)
			return -EBADMSG;
		if (id_set_has(want, (uint32_t)id))
			return 1;
	}
	return 0;
}

static int profile_to_sum(struct live *l, const struct profile_row *r, struct trace_sum *t)
{
	memset(t, 0, sizeof(*t));
	t->start = r->start;
	t->end = r->start + r->duration;
	t->spans = r->spans;
	t->errors = r->errors;
	t->has_root = 1;
	t->root_is_root = (r->flags & PROFILE_ROOT) != 0;
	t->root_svc = r->root_svc;
	t->root_op = r->root_op;
	const unsigned char *p = r->svcs;
	if (ids_fold(&p, r->end, t, l->svc, 1) < 0 || ids_fold(&p, r->end, t, l->ops, 0) < 0)
		return -EBADMSG;
	return 0;
}

static void rec_fold(struct trace_sum *t, const struct tm_span_rec *r, const struct live *l,
		     int first)
{
	uint64_t end = r->end_ns > r->start_ns ? r->end_ns : r->start_ns;
	int root = !(r->flags & TM_REC_HAS_PARENT);
	if (first) {
		t->start = r->start_ns;
		t->end = end;
	}
	t->start = r->start_ns < t->start ? r->start_ns : t->start;
	t->end = end > t->end ? end : t->end;
	t->spans++;
	t->errors += r->flags & TM_REC_ERROR ? 1 : 0;
	if (!t->has_root || (root != t->root_is_root ? root : r->start_ns < t->root_start)) {
		t->has_root = 1;
		t->root_is_root = (uint8_t)root;
		t->root_start = r->start_ns;
		t->root_svc = r->svc;
		t->root_op = r->op;
	}
	add_service(t, r->svc);
	if (l->svc->n && id_set_has(l->svc, r->svc))
		t->has_svc = 1;
	if (l->ops->n && id_set_has(l->ops, r->op))
		t->has_op = 1;
}

/* a trace the pairer holds: summed from its records, or, when part of it
 * was paired before, from the stored trace */
static int take_pending(void *ctx, const struct tm_pending_trace *p)
{
	struct live *l = ctx;
	int created;
	size_t *at = trace_map_get(&l->pending, p->trace_id, &created);
	struct live_trace *x = at ? live_add(l) : NULL;
	if (!x)
		return -ENOMEM;
	*at = l->n;
	memcpy(x->trace_id, p->trace_id, TM_TRACE_ID_LEN);
	x->superseding = (uint8_t)p->partial;
	for (size_t i = 0; i < p->n; i++)
		rec_fold(&x->t, &p->recs[i], l, i == 0);
	return 0;
}

static int add_profile_row(struct live *l, const void *k, size_t klen, const void *v,
			   size_t vlen)
{
	struct profile_row row;
	if (klen != PROFILE_KEY_LEN)
		return 0;   /* the mark */
	if (profile_decode(v, vlen, &row) < 0)
		return -EBADMSG;
	const unsigned char *key = k;
	/* most rows can be judged alone: those of a trace the pairer holds
	 * merge with it, and superseding rows need the others of their trace */
	int keep = (row.flags & PROFILE_SUPERSEDES) ||
		   (l->pending.n && trace_map_find(&l->pending, key + 12));
	if (!keep) {
		/* most rows of a long window fail the window's edge or the
		 * service: judged before the row's lists are folded (the fold
		 * was half of a 24 h query) */
		int has = l->q->service.len ? ids_contain(row.svcs, row.end, l->svc) : 1;
		if (has < 0)
			return -EBADMSG;
		if (!has || row.start < l->q->start_ns || row.start > l->q->end_ns) {
			l->skipped++;
			return 0;
		}
	}
	struct trace_sum t;
	int rc = profile_to_sum(l, &row, &t);
	if (rc)
		return rc;
	if (!keep && l->q->operation.len && !t.has_op) {   /* window and service judged above */
		l->skipped++;
		return 0;
	}
	struct live_trace *x = live_add(l);
	if (!x)
		return -ENOMEM;
	memcpy(x->trace_id, key + 12, TM_TRACE_ID_LEN);
	for (int i = 0; i < 8; i++)
		x->emitted = x->emitted << 8 | key[4 + i];
	x->superseding = (row.flags & PROFILE_SUPERSEDES) != 0;
	x->t = t;
	return 0;
}

static int read_profiles_window(struct live *l)
{
	uint32_t m0 = search_minute(l->q->start_ns), m1 = search_minute(l->q->end_ns);
	unsigned char lo[4], hi[5];
	uint64_t next = (uint64_t)m1 + 1;
	for (int i = 0; i < 4; i++) {
		lo[i] = (unsigned char)(m0 >> (24 - 8 * i));
		hi[i] = (unsigned char)(next >> (24 - 8 * i));
	}
	hi[4] = 0;
	struct tm_aux_iter *it;
	int rc = tm_aux_iter_open(l->rd, TM_AUX_PROFILES, lo, 4, hi, next > UINT32_MAX ? 5 : 4, &it);
	if (rc)
		return rc;
	const void *k, *v;
	size_t klen, vlen;
	while ((rc = tm_aux_iter_next(it, &k, &klen, &v, &vlen)) == 1) {
		rc = add_profile_row(l, k, klen, v, vlen);
		if (rc)
			break;
	}
	tm_aux_iter_close(it);
	return rc;
}

/* the emission counter of the newest row in the reader's snapshot */
static uint64_t profile_mark(struct tm_store_reader *rd)
{
	struct tm_aux_iter *it;
	unsigned char hi[PROFILE_MARK_LEN + 1];
	memcpy(hi, PROFILE_MARK_KEY, PROFILE_MARK_LEN);
	hi[PROFILE_MARK_LEN] = 0;
	uint64_t mark = 0;
	if (tm_aux_iter_open(rd, TM_AUX_PROFILES, PROFILE_MARK_KEY, PROFILE_MARK_LEN, hi,
			     PROFILE_MARK_LEN + 1, &it))
		return 0;
	const void *k, *v;
	size_t klen, vlen;
	if (tm_aux_iter_next(it, &k, &klen, &v, &vlen) == 1 && vlen == 8)
		for (int i = 0; i < 8; i++)
			mark = mark << 8 | ((const unsigned char *)v)[i];
	tm_aux_iter_close(it);
	return mark;
}

/* a row the pairer wrote lately: counted unless the snapshot has it */
static int take_row(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct live *l = ctx;
	uint64_t emitted = 0;
	if (klen != PROFILE_KEY_LEN)
		return 0;
	for (int i = 0; i < 8; i++)
		emitted = emitted << 8 | ((const unsigned char *)key)[4 + i];
	return emitted <= l->mark ? 0 : add_profile_row(l, key, klen, val, vlen);
}

/* a trace paired again has several rows: the newest is whole.  Rows made
 * from the stored trace are rare, so only their traces are looked up. */
static int drop_superseded(struct live *l)
{
	struct trace_map newest;
	trace_map_init(&newest, sizeof(size_t));
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		struct live_trace *x = &l->items[i];
		if (!x->superseding || !x->emitted)
			continue;
		int created;
		size_t *best = trace_map_get(&newest, x->trace_id, &created);
		if (!best)
			rc = -ENOMEM;
		else if (created || l->items[*best - 1].emitted < x->emitted)
			*best = i + 1;
	}
	for (size_t i = 0; i < l->n && !rc && newest.n; i++) {
		struct live_trace *x = &l->items[i];
		size_t *best = x->emitted ? trace_map_find(&newest, x->trace_id) : NULL;
		if (best && *best != i + 1)
			x->dropped = 1;
	}
	trace_map_free(&newest);
	return rc;
}

/* a profile row and the same trace's records the pairer holds (spans that
 * came after it was paired) add up; a partly paired trace is read whole */
static int merge_pending(struct live *l, size_t n_profiles)
{
	for (size_t i = 0; i < n_profiles && l->pending.n; i++) {
		struct live_trace *x = &l->items[i];
		/* x a profile row (pending traces have no emission counter) */
		size_t *at = x->dropped || !x->emitted ? NULL
						      : trace_map_find(&l->pending, x->trace_id);
		if (!at)
			continue;
		struct live_trace *p = &l->items[*at - 1];
		if (p->dropped)
			continue;
		p->t.start = x->t.start < p->t.start ? x->t.start : p->t.start;
		p->t.end = x->t.end > p->t.end ? x->t.end : p->t.end;
		p->t.spans += x->t.spans;
		p->t.errors += x->t.errors;
		p->t.has_svc |= x->t.has_svc;
		p->t.has_op |= x->t.has_op;
		for (size_t k = 0; k < x->t.n_svcs; k++)
			add_service(&p->t, x->t.svcs[k]);
		p->t.svc_overflow |= x->t.svc_overflow;
		if (x->t.root_is_root && !p->t.root_is_root) {
			p->t.root_is_root = 1;
			p->t.root_svc = x->t.root_svc;
			p->t.root_op = x->t.root_op;
		}
		p->superseding = 0;   /* whole now */
		x->dropped = 1;
	}
	return 0;
}

/* the rest of a partly paired trace is only in the store */
static int read_partial(struct live *l, struct live_trace *x, struct tm_arena *arena)
{
	struct tm_trace t;
	int rc = tm_store_reader_trace(l->rd, x->trace_id, arena, &t);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	memset(&x->t, 0, sizeof(x->t));
	x->t.start = t.summary.start_ns;
	x->t.end = t.summary.end_ns;
	x->t.spans = t.n_spans;
	x->t.errors = t.summary.error_count;
	for (size_t i = 0; i < t.n_spans; i++) {
		struct tm_str svc = search_span_service(&t.spans[i]);
		uint32_t id = 0, op = 0;
		tm_store_service_id(l->rd, svc, &id);
		tm_store_operation_id(l->rd, id, t.spans[i].kind, t.spans[i].name, &op);
		add_service(&x->t, id);
		if (l->svc->n && id_set_has(l->svc, id))
			x->t.has_svc = 1;
		if (l->ops->n && id_set_has(l->ops, op))
			x->t.has_op = 1;
		if (!t.spans[i].has_parent && !x->t.root_is_root) {
			x->t.root_is_root = 1;
			x->t.root_svc = id;
			x->t.root_op = op;
		} else if (!x->t.has_root) {
			x->t.root_svc = id;
			x->t.root_op = op;
		}
		x->t.has_root = 1;
	}
	return 0;
}

int tm_slow_traces_live(struct tm_store_reader *rd, struct tm_smap *live,
			const struct tm_slow_query *q, struct tm_arena *arena,
			struct tm_slow_result *out)
{
	if (!live)
		return tm_slow_traces(rd, q, arena, out);
	memset(out, 0, sizeof(*out));
	struct id_set svc = { 0 }, ops = { 0 };
	int rc = search_resolve(rd, q->service, q->operation, arena, &svc, &ops);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	struct live l = { .rd = rd, .q = q, .svc = &svc, .ops = &ops };
	trace_map_init(&l.pending, sizeof(size_t));
	/* what the pairer holds first, so that rows of other traces can be
	 * judged as they are read */
	l.mark = profile_mark(rd);
	rc = tm_smap_pending(live, take_pending, take_row, &l);
	if (!rc)
		rc = read_profiles_window(&l);
	size_t n_profiles = l.n;
	if (!rc)
		rc = drop_superseded(&l);
	if (!rc)
		rc = merge_pending(&l, n_profiles);
	for (size_t i = 0; i < l.n && !rc; i++)
		if (!l.items[i].emitted && l.items[i].superseding && !l.items[i].dropped)
			rc = read_partial(&l, &l.items[i], arena);
	struct top top = { .limit = q->limit };
	top.items = tm_arena_alloc(arena, (q->limit + 1) * sizeof(*top.items));
	if (!rc && !top.items)
		rc = -ENOMEM;
	for (size_t i = 0; i < l.n && !rc; i++) {
		const struct live_trace *x = &l.items[i];
		const struct trace_sum *t = &x->t;
		if (x->dropped || t->start < q->start_ns || t->start > q->end_ns)
			continue;
		if ((q->service.len && !t->has_svc) || (q->operation.len && !t->has_op))
			continue;
		out->total++;
		top_offer(&top, (struct ranked){ x->trace_id, t });
	}
	if (!rc) {
		if (top.n > 1)
			qsort(top.items, top.n, sizeof(*top.items), ranked_cmp);
		out->items = tm_arena_alloc(arena, (top.n + 1) * sizeof(*out->items));
		if (!out->items)
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < top.n && !rc; i++)
		rc = fill_info(rd, &top.items[i], arena, &out->items[i]);
	if (!rc)
		out->n = top.n;
	free(l.items);
	trace_map_free(&l.pending);
	return rc;
}
