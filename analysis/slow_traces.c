/* slow_traces.c - whole-trace summaries of a window, slowest first.
 *
 * Every piece that may belong to a trace starting in the window is read
 * from the slim index rows (tpiece) and folded into one summary per trace;
 * nothing of the spans themselves is read.  Cost: one pass over the
 * window's rows, a hash map of its traces, and a bounded heap for the top. */
#include "search.h"
#include "search_internal.h"
#include "trace_map.h"

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
