/* store_pieces.c - the search index rows written beside every chunk.
 *
 * A "piece" is what one commit stored of one trace (one chunk).  For each
 * piece the writer adds two rows under the same key, minute[4] seq[8]
 * trace_id[16], where minute is that of the piece's earliest span start:
 *
 *   tpiece  (slim, for whole-trace summaries and slow traces)
 *     start, end, span and error counts, the root candidate (service,
 *     operation), the services and operations present;
 *   tsearch (for span-level search)
 *     per service: a Bloom filter of its spans' attributes (with resource,
 *     scope, event and link attributes), and per operation the range of
 *     span durations and starts and whether one failed, and the peers called.
 *
 * Keys lead with time, so a commit's rows land on the few newest pages
 * (design.md section 3), and a query over a window is a range scan.  Rows
 * are per trace per commit, not per span. */
#include "store_internal.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int pspan_by_op(const void *a, const void *b)
{
	const struct piece_span *x = a, *y = b;
	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	return x->ref < y->ref ? -1 : x->ref > y->ref;
}

static int pspan_by_peer(const void *a, const void *b)
{
	const struct piece_span *x = a, *y = b;
	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return 0;
}

/* a trace's piece is a handful of spans: insertion sort beats qsort's
 * call overhead there (qsort was 2% of ingest CPU) */
static void sort_pspans(struct piece_span *ps, size_t n, int (*cmp)(const void *, const void *))
{
	if (n > 24) {
		qsort(ps, n, sizeof(*ps), cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct piece_span x = ps[i];
		size_t j = i;
		for (; j > 0 && cmp(&ps[j - 1], &x) > 0; j--)
			ps[j] = ps[j - 1];
		ps[j] = x;
	}
}

static int grow_pspans(struct tm_store *st, size_t n)
{
	if (n <= st->cap_pspans)
		return 0;
	size_t cap = st->cap_pspans ? st->cap_pspans : 256;
	while (cap < n)
		cap *= 2;
	struct piece_span *p = realloc(st->pspans, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	st->pspans = p;
	st->cap_pspans = cap;
	return 0;
}

static uint64_t span_duration(const struct tm_batch_span *s)
{
	return s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
}

struct piece_totals {
	uint64_t start, end, max_start, errors;
	size_t best;   /* the span that names the trace */
};

static void piece_totals(const struct span_ref *refs, size_t n, struct piece_totals *t)
{
	t->start = UINT64_MAX;
	t->end = 0;
	t->max_start = 0;
	t->errors = 0;
	t->best = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tm_batch_span *s = refs[i].span;
		const struct tm_batch_span *b = refs[t->best].span;
		t->errors += s->is_error;
		if (s->start_ns < t->start)
			t->start = s->start_ns;
		if (s->start_ns > t->max_start)
			t->max_start = s->start_ns;
		if (s->end_ns > t->end)
			t->end = s->end_ns;
		if (s->is_root != b->is_root ? s->is_root : s->start_ns < b->start_ns)
			t->best = i;
	}
	if (t->end < t->start)
		t->end = t->start;
}

/* the ids of every span: service, operation, peer */
static int name_spans(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		      const struct span_ref *refs, size_t n)
{
	int rc = grow_pspans(st, 2 * n);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct tm_batch_span *sp = refs[i].span;
		struct piece_span *p = &st->pspans[i];
		p->svc = refs[i].svc_ids[sp->resource];
		p->ref = (uint32_t)i;
		p->peer = 0;
		p->node = 0;
		rc = store_intern_operation(st, txn, s, p->svc, sp->kind, sp->name, &p->op);
		if (!rc && sp->peer.len)
			rc = store_intern_peer(st, txn, s, p->svc, sp->peer, &p->peer);
		if (!rc && sp->node.len)
			rc = tm_str_eq(sp->node, sp->peer)
				     ? (p->node = p->peer, 0)
				     : store_intern_node(st, txn, s, sp->node, &p->node);
	}
	return rc;
}

static int grow_recs(struct tm_store *st, size_t more)
{
	if (st->n_recs + more <= st->cap_recs)
		return 0;
	size_t cap = st->cap_recs ? st->cap_recs : 4096;
	while (cap < st->n_recs + more)
		cap *= 2;
	struct tm_span_rec *p = realloc(st->recs, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	st->recs = p;
	st->cap_recs = cap;
	return 0;
}

/* what the service map is handed after the commit */
static int add_records(struct tm_store *st, uint64_t seq, const struct span_ref *refs, size_t n)
{
	if (!st->on_commit)
		return 0;
	if (grow_recs(st, n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct tm_batch_span *sp = refs[i].span;
		const struct piece_span *p = &st->pspans[i];
		struct tm_span_rec *r = &st->recs[st->n_recs++];
		memcpy(r->trace_id, sp->trace_id, TM_TRACE_ID_LEN);
		memcpy(r->span_id, sp->span_id, TM_SPAN_ID_LEN);
		memcpy(r->parent_span_id, sp->parent_span_id, TM_SPAN_ID_LEN);
		r->seq = seq;
		r->start_ns = sp->start_ns;
		r->end_ns = sp->end_ns;
		r->svc = p->svc;
		r->op = p->op;
		r->node = p->node;
		r->http_status = sp->http_status;
		r->kind = sp->kind;
		r->node_kind = sp->node_kind;
		r->flags = (uint8_t)((sp->is_error ? TM_REC_ERROR : 0) |
				     (sp->is_root ? 0 : TM_REC_HAS_PARENT) |
				     (sp->follows_from ? TM_REC_FOLLOWS_FROM : 0));
	}
	return 0;
}

static void put_slim_row(struct tm_buf *b, const struct span_ref *refs, size_t n,
			 const struct piece_span *ps, const struct piece_totals *t)
{
	const struct tm_batch_span *best = refs[t->best].span;
	unsigned char version = PIECE_VERSION, flags = best->is_root ? 1 : 0;
	b->len = 0;
	tm_buf_add(b, &version, 1);
	fixed64_put(b, t->start);
	varint_put(b, t->end - t->start);
	varint_put(b, n);
	varint_put(b, t->errors);
	tm_buf_add(b, &flags, 1);
	varint_put(b, best->start_ns - t->start);
	uint32_t root_svc = 0, root_op = 0;
	for (size_t i = 0; i < n; i++)
		if (ps[i].ref == t->best) {
			root_svc = ps[i].svc;
			root_op = ps[i].op;
		}
	varint_put(b, root_svc);
	varint_put(b, root_op);
	size_t n_svcs = 0, n_ops = 0;
	for (size_t i = 0; i < n; i++) {
		n_svcs += !i || ps[i].svc != ps[i - 1].svc;
		n_ops += !i || ps[i].op != ps[i - 1].op || ps[i].svc != ps[i - 1].svc;
	}
	varint_put(b, n_svcs);
	for (size_t i = 0; i < n; i++)
		if (!i || ps[i].svc != ps[i - 1].svc)
			varint_put(b, ps[i].svc);
	varint_put(b, n_ops);
	for (size_t i = 0; i < n; i++)
		if (!i || ps[i].op != ps[i - 1].op || ps[i].svc != ps[i - 1].svc)
			varint_put(b, ps[i].op);
}

/* one operation's spans within a service group: ps[from, to) */
static void put_op(struct tm_buf *b, const struct span_ref *refs, const struct piece_span *ps,
		   size_t from, size_t to, uint64_t piece_start)
{
	uint64_t min_d = UINT64_MAX, max_d = 0, min_s = UINT64_MAX, max_s = 0;
	unsigned char flags = 0;
	for (size_t i = from; i < to; i++) {
		const struct tm_batch_span *s = refs[ps[i].ref].span;
		uint64_t d = span_duration(s);
		min_d = d < min_d ? d : min_d;
		max_d = d > max_d ? d : max_d;
		min_s = s->start_ns < min_s ? s->start_ns : min_s;
		max_s = s->start_ns > max_s ? s->start_ns : max_s;
		flags |= s->is_error ? 1 : 0;
	}
	varint_put(b, ps[from].op);
	varint_put(b, min_d);
	varint_put(b, max_d);
	varint_put(b, min_s - piece_start);
	varint_put(b, max_s - piece_start);
	tm_buf_add(b, &flags, 1);
}

static void put_group(struct tm_buf *b, const struct span_ref *refs,
		      const struct piece_span *ps, const struct piece_span *by_peer,
		      size_t from, size_t to, uint64_t piece_start)
{
	struct tm_bloom bloom;
	memset(&bloom, 0, sizeof(bloom));
	size_t n_ops = 0, n_peers = 0;
	for (size_t i = from; i < to; i++) {
		const struct span_ref *r = &refs[ps[i].ref];
		tm_bloom_or(&bloom, &r->span->bloom);
		tm_bloom_or(&bloom, &r->batch->res_blooms[r->span->resource]);
		tm_bloom_or(&bloom, &r->batch->scope_blooms[r->span->scope]);
		n_ops += i == from || ps[i].op != ps[i - 1].op;
		n_peers += by_peer[i].peer && (i == from || by_peer[i].peer != by_peer[i - 1].peer);
	}
	varint_put(b, ps[from].svc);
	tm_buf_add(b, bloom.w, sizeof(bloom.w));
	varint_put(b, n_ops);
	for (size_t i = from; i < to;) {
		size_t j = i + 1;
		while (j < to && ps[j].op == ps[i].op)
			j++;
		put_op(b, refs, ps, i, j, piece_start);
		i = j;
	}
	varint_put(b, n_peers);
	for (size_t i = from; i < to; i++)
		if (by_peer[i].peer && (i == from || by_peer[i].peer != by_peer[i - 1].peer))
			varint_put(b, by_peer[i].peer);
}

static void put_search_row(struct tm_buf *b, const struct span_ref *refs, size_t n,
			   const struct piece_span *ps, const struct piece_span *by_peer,
			   uint64_t piece_start)
{
	unsigned char version = PIECE_VERSION;
	b->len = 0;
	tm_buf_add(b, &version, 1);
	fixed64_put(b, piece_start);
	size_t n_groups = 0;
	for (size_t i = 0; i < n; i++)
		n_groups += !i || ps[i].svc != ps[i - 1].svc;
	varint_put(b, n_groups);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ps[j].svc == ps[i].svc)
			j++;
		put_group(b, refs, ps, by_peer, i, j, piece_start);
		i = j;
	}
}

static int put_row(MDB_txn *txn, MDB_dbi dbi, const unsigned char *key, struct tm_buf *row)
{
	if (row->failed)
		return -ENOMEM;
	MDB_val k = { PIECE_KEY_LEN, (void *)key }, v = { row->len, row->data };
	return store_errno(mdb_put(txn, dbi, &k, &v, 0));
}

int store_write_pieces(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		       uint64_t seq, const struct span_ref *refs, size_t n)
{
	int rc = name_spans(st, txn, s, refs, n);
	if (!rc)
		rc = add_records(st, seq, refs, n);
	if (rc)
		return rc;
	struct piece_totals t;
	piece_totals(refs, n, &t);
	if (t.max_start - t.start > s->max_spread_ns)
		s->max_spread_ns = t.max_start - t.start;
	struct piece_span *ps = st->pspans, *by_peer = st->pspans + n;
	sort_pspans(ps, n, pspan_by_op);
	memcpy(by_peer, ps, n * sizeof(*ps));
	sort_pspans(by_peer, n, pspan_by_peer);

	unsigned char key[PIECE_KEY_LEN];
	store_put_be32(key, (uint32_t)(t.start / TM_NS_PER_MINUTE));
	store_put_be64(key + 4, seq);
	memcpy(key + 12, refs[0].span->trace_id, TM_TRACE_ID_LEN);
	put_slim_row(&st->row_buf, refs, n, ps, &t);
	rc = put_row(txn, st->tpiece, key, &st->row_buf);
	if (!rc) {
		put_search_row(&st->row_buf, refs, n, ps, by_peer, t.start);
		rc = put_row(txn, st->tsearch, key, &st->row_buf);
	}
	if (st->row_buf.failed)
		tm_buf_free(&st->row_buf);
	return rc;
}
