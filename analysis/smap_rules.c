/* smap_rules.c - what a set of spans of one trace contributes to the map:
 * the rules of docs/servicemap.md, as a list of observations.
 *
 * The pairer keeps, for every trace, the map holding F(the spans of it
 * paired so far).  When a round pairs more spans of a trace it adds
 * F(after) - F(before), so that whatever order spans arrive in the total is
 * F of all of them: a late parent adds the call its child could not make, a
 * late server side takes back the virtual edge its client made alone, and a
 * late Zipkin shared record takes back the call its child made with the
 * client record. */
#include "smap_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*---- views ----*/

static size_t id_slot(const uint8_t *span_id, size_t cap)
{
	uint64_t h;
	memcpy(&h, span_id, 8);
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17) & (cap - 1);
}

int smap_view_init(struct smap_view *v, const struct tm_span_rec *r, size_t n,
		   struct tm_arena *a)
{
	memset(v, 0, sizeof(*v));
	v->r = r;
	v->n = n;
	v->cap = 16;
	while (v->cap < 2 * n)
		v->cap *= 2;
	v->slots = tm_arena_zalloc(a, v->cap * sizeof(size_t));
	v->parent = tm_arena_alloc(a, (n + 1) * sizeof(size_t));
	v->cross_child = tm_arena_zalloc(a, n + 1);
	v->entry_op = tm_arena_zalloc(a, (n + 1) * sizeof(uint32_t));
	if (!v->slots || !v->parent || !v->cross_child || !v->entry_op)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t s = id_slot(r[i].span_id, v->cap);
		while (v->slots[s])
			s = (s + 1) & (v->cap - 1);
		v->slots[s] = i + 1;
	}
	return 0;
}

/* the parent of span i: the span named by its parent ID, not itself; for a
 * Zipkin shared server record (its parent is its own ID) the client record
 * with that ID; among several records of one ID, the one of i's service */
static size_t find_parent(const struct smap_view *v, size_t i)
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

int smap_view_missing_parent(const struct smap_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		if ((v->r[i].flags & TM_REC_HAS_PARENT) && find_parent(v, i) == SIZE_MAX)
			return 1;
	return 0;
}

static int same_span(const struct tm_span_rec *x, const struct tm_span_rec *y)
{
	return !memcmp(x->span_id, y->span_id, TM_SPAN_ID_LEN) && x->start_ns == y->start_ns &&
	       x->end_ns == y->end_ns && x->kind == y->kind && x->svc == y->svc;
}

int smap_view_has_copies(const struct smap_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		for (size_t s = id_slot(v->r[i].span_id, v->cap); v->slots[s];
		     s = (s + 1) & (v->cap - 1)) {
			size_t j = v->slots[s] - 1;
			if (j != i && same_span(&v->r[i], &v->r[j]))
				return 1;
		}
	return 0;
}

/*---- observations ----*/

static int obs_add(struct smap_obs_list *l, const struct smap_obs *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct smap_obs *p = realloc(l->o, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->o = p;
		l->cap = cap;
	}
	l->o[l->n++] = *o;
	return 0;
}

/* the operation of the service's entry span above i */
static uint32_t entry_op(struct smap_view *v, size_t i)
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

/* Tempo's connection_type of a call: messaging when either side says so,
 * database when the caller named a database */
static uint8_t pair_conn(const struct tm_span_rec *par, const struct tm_span_rec *x)
{
	if (par->kind == TM_KIND_PRODUCER || x->kind == TM_KIND_CONSUMER)
		return TM_SMAP_CONN_MESSAGING;
	return par->node_kind == TM_NODE_DATABASE ? TM_SMAP_CONN_DATABASE : TM_SMAP_CONN_NONE;
}

/* a call to an uninstrumented peer, typed by what the caller named */
static uint8_t peer_conn(uint8_t node_kind)
{
	return node_kind == TM_NODE_DATABASE	? TM_SMAP_CONN_DATABASE
	       : node_kind == TM_NODE_MESSAGING ? TM_SMAP_CONN_MESSAGING
						: TM_SMAP_CONN_VIRTUAL;
}

static int observe_pair(struct smap_view *v, size_t i, size_t p, struct smap_obs_list *l)
{
	const struct tm_span_rec *x = &v->r[i], *par = &v->r[p];
	struct smap_obs o = {
		.type = SMAP_EDGE, .a = par->svc, .b = x->svc, .at_ns = x->start_ns,
		.latency_ns = is_caller(par) ? rec_duration(par) : rec_duration(x),
		.failed = !!((x->flags | par->flags) & TM_REC_ERROR),
		.conn = pair_conn(par, x), .server_ns = rec_duration(x),
	};
	int rc = obs_add(l, &o);
	o.type = SMAP_OP_EDGE;
	o.a = entry_op(v, p);
	o.b = x->op;
	return rc ? rc : obs_add(l, &o);
}

static int observe_virtual(struct smap_view *v, size_t i, int caller_side,
			   struct smap_obs_list *l)
{
	const struct tm_span_rec *x = &v->r[i];
	struct smap_obs o = {
		.type = SMAP_EDGE, .at_ns = x->start_ns, .latency_ns = rec_duration(x),
		.failed = !!(x->flags & TM_REC_ERROR), .server_ns = rec_duration(x),
	};
	if (caller_side) {   /* x calls an uninstrumented peer */
		o.a = x->svc;
		o.b = x->node;
		o.node_kind = x->node_kind;
		o.conn = peer_conn(x->node_kind);
	} else {             /* a root server span: called by its peer, or a user */
		o.a = x->node;
		o.b = x->svc;
		o.conn = TM_SMAP_CONN_VIRTUAL;
	}
	int rc = obs_add(l, &o);
	o.type = SMAP_OP_EDGE;
	if (caller_side)
		o.a = entry_op(v, i);
	else
		o.b = x->op;
	return rc ? rc : obs_add(l, &o);
}

static int observe_node(const struct tm_span_rec *x, struct smap_obs_list *l)
{
	struct smap_obs o = {
		.type = SMAP_NODE, .a = x->svc, .at_ns = x->start_ns, .latency_ns = rec_duration(x),
		.failed = !!(x->flags & TM_REC_ERROR), .http_status = x->http_status,
	};
	int rc = obs_add(l, &o);
	o.type = SMAP_OP_NODE;
	o.a = x->op;
	return rc ? rc : obs_add(l, &o);
}

int smap_observe(struct smap_view *v, struct smap_obs_list *l)
{
	l->n = 0;
	l->unpaired = 0;
	for (size_t i = 0; i < v->n; i++)
		v->parent[i] = find_parent(v, i);
	for (size_t i = 0; i < v->n; i++) {
		size_t p = v->parent[i];
		if (p != SIZE_MAX && v->r[p].svc != v->r[i].svc)
			v->cross_child[p] = 1;
	}
	int rc = 0;
	for (size_t i = 0; i < v->n && !rc; i++) {
		const struct tm_span_rec *x = &v->r[i];
		size_t p = v->parent[i];
		if (is_callee(x))
			rc = observe_node(x, l);
		if (rc)
			break;
		if (p != SIZE_MAX && v->r[p].svc != x->svc)
			rc = observe_pair(v, i, p, l);
		else if (!(x->flags & TM_REC_HAS_PARENT) && is_callee(x))
			rc = observe_virtual(v, i, 0, l);
		else if (p == SIZE_MAX && (x->flags & TM_REC_HAS_PARENT))
			l->unpaired++;
		if (!rc && is_caller(x) && !v->cross_child[i] && x->node)
			rc = observe_virtual(v, i, 1, l);
	}
	return rc;
}

/*---- differences ----*/

#define CMP(x, y) ((x) < (y) ? -1 : (x) > (y) ? 1 : 0)

static int obs_cmp(const void *pa, const void *pb)
{
	const struct smap_obs *x = pa, *y = pb;
	int c;
	if ((c = CMP(x->type, y->type)) || (c = CMP(x->a, y->a)) || (c = CMP(x->b, y->b)) ||
	    (c = CMP(x->at_ns, y->at_ns)) || (c = CMP(x->latency_ns, y->latency_ns)) ||
	    (c = CMP(x->failed, y->failed)) || (c = CMP(x->http_status, y->http_status)) ||
	    (c = CMP(x->conn, y->conn)) || (c = CMP(x->server_ns, y->server_ns)))
		return c;
	return CMP(x->node_kind, y->node_kind);
}

int smap_obs_diff(struct smap_obs_list *after, struct smap_obs_list *before,
		  smap_obs_fn fn, void *ctx)
{
	if (after->n)
		qsort(after->o, after->n, sizeof(*after->o), obs_cmp);
	if (before->n)
		qsort(before->o, before->n, sizeof(*before->o), obs_cmp);
	size_t i = 0, j = 0;
	int rc = 0;
	while (!rc && (i < after->n || j < before->n)) {
		int c = i == after->n ? 1 : j == before->n ? -1 : obs_cmp(&after->o[i], &before->o[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			rc = fn(ctx, &after->o[i++], 1);
		} else {
			rc = fn(ctx, &before->o[j++], -1);
		}
	}
	return rc;
}
