/* smap_query.c - the service map of a window, from the rollups: whole hours
 * and ten-minute blocks where they fit, minutes at the edges, so a query
 * reads at most ~140 rows per edge for a day and ~25 for an hour. */
#include "servicemap.h"
#include "smap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tm_smap_kind_name(enum tm_smap_node_kind k)
{
	static const char *const names[] = { "service", "database", "messaging", "external",
					     "user" };
	return k <= TM_SMAP_USER ? names[k] : "service";
}

/*---- rows, summed per (type, a, b) ----*/

struct acc {
	uint8_t used, type, node_kind;
	uint32_t a, b;
	uint64_t calls, errors, http4xx, http5xx, throttled;
	struct tm_hist *hist;
};

struct acc_map {
	struct acc *slots;
	size_t cap, n;
	struct tm_arena *arena;
};

static size_t acc_hash(uint8_t type, uint32_t a, uint32_t b, size_t cap)
{
	uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull + type;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static struct acc *acc_slot(struct acc *slots, size_t cap, uint8_t type, uint32_t a, uint32_t b)
{
	for (size_t i = acc_hash(type, a, b, cap);; i = (i + 1) & (cap - 1))
		if (!slots[i].used ||
		    (slots[i].type == type && slots[i].a == a && slots[i].b == b))
			return &slots[i];
}

static struct acc *acc_get(struct acc_map *m, uint8_t type, uint32_t a, uint32_t b)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct acc *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].used)
				*acc_slot(slots, cap, m->slots[i].type, m->slots[i].a,
					  m->slots[i].b) = m->slots[i];
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	struct acc *x = acc_slot(m->slots, m->cap, type, a, b);
	if (!x->used) {
		x->used = 1;
		x->type = type;
		x->a = a;
		x->b = b;
		x->hist = tm_arena_alloc(m->arena, sizeof(*x->hist));
		if (!x->hist)
			return NULL;
		tm_hist_init_lazy(x->hist);
		m->n++;
	}
	return x;
}

static int add_row(struct acc_map *m, const unsigned char *key, const void *val, size_t len)
{
	struct smap_value v;
	if (smap_value_decode(val, len, &v) < 0)
		return -EBADMSG;
	uint32_t a = (uint32_t)key[6] << 24 | (uint32_t)key[7] << 16 | (uint32_t)key[8] << 8 | key[9];
	uint32_t b = (uint32_t)key[10] << 24 | (uint32_t)key[11] << 16 |
		     (uint32_t)key[12] << 8 | key[13];
	struct acc *x = acc_get(m, key[5], a, b);
	if (!x)
		return -ENOMEM;
	x->calls += v.calls;
	x->errors += v.errors;
	x->http4xx += v.http4xx;
	x->http5xx += v.http5xx;
	x->throttled += v.throttled;
	if (v.node_kind)
		x->node_kind = v.node_kind;
	return tm_hist_merge_encoded(x->hist, v.hist, v.hist_len);
}

/* 1 when key is a row of the level asked for */
static int is_level_row(const unsigned char *key, size_t klen, int op_level)
{
	if (klen != SMAP_KEY_LEN)
		return 0;
	return op_level ? key[5] == SMAP_OP_EDGE || key[5] == SMAP_OP_NODE
			: key[5] == SMAP_EDGE || key[5] == SMAP_NODE;
}

/* the rows of one level in keys [lo, hi) */
static int read_rows(struct tm_store_reader *rd, struct acc_map *m, const unsigned char *lo,
		     size_t lo_len, const unsigned char *hi, size_t hi_len, int op_level)
{
	struct tm_aux_iter *it;
	int rc = tm_aux_iter_open(rd, TM_AUX_ROLLUPS, lo, lo_len, hi, hi_len, &it);
	if (rc)
		return rc;
	const void *k, *v;
	size_t klen, vlen;
	while ((rc = tm_aux_iter_next(it, &k, &klen, &v, &vlen)) == 1) {
		if (!is_level_row(k, klen, op_level))
			continue;
		rc = add_row(m, k, v, vlen);
		if (rc)
			break;
	}
	tm_aux_iter_close(it);
	return rc;
}

static void block_key(unsigned char out[5], unsigned char res, uint32_t t)
{
	out[0] = res;
	out[1] = (unsigned char)(t >> 24);
	out[2] = (unsigned char)(t >> 16);
	out[3] = (unsigned char)(t >> 8);
	out[4] = (unsigned char)t;
}

static int read_block(struct tm_store_reader *rd, struct acc_map *m, unsigned char res,
		      uint32_t t, int op_level)
{
	/* one level's rows only: types sort 'E' < 'N' < 'e' < 'n', so a level
	 * is the range [first type, its node type + 1) within the block */
	unsigned char lo[6], hi[6];
	block_key(lo, res, t);
	lo[5] = op_level ? SMAP_OP_EDGE : SMAP_EDGE;
	memcpy(hi, lo, 5);
	hi[5] = (unsigned char)((op_level ? SMAP_OP_NODE : SMAP_NODE) + 1);
	return read_rows(rd, m, lo, 6, hi, 6, op_level);
}

/* minutes [m0, m1] block by block: ten minutes where they fit, minutes at
 * the edges (and whole hours, which callers leave to read_hours) */
static int read_blocks(struct tm_store_reader *rd, struct acc_map *m, uint64_t m0, uint64_t m1,
		       int op_level)
{
	int rc = 0;
	for (uint64_t at = m0; at <= m1 && !rc;) {
		int res = 0;
		for (int r = 2; r >= 1; r--)
			if (at % smap_res_minutes[r] == 0 && at + smap_res_minutes[r] - 1 <= m1) {
				res = r;
				break;
			}
		rc = read_block(rd, m, smap_res[res], (uint32_t)(at / smap_res_minutes[res]),
				op_level);
		at += smap_res_minutes[res];
	}
	return rc;
}

/* the hour rows of hours [h0, h1) in one range scan: a window's cost
 * follows the rows it holds, not its length (one seek per hour made a
 * window of 0..2^63 ns take seconds) */
static int read_hours(struct tm_store_reader *rd, struct acc_map *m, uint32_t h0, uint32_t h1,
		      int op_level)
{
	unsigned char lo[5], hi[5];
	block_key(lo, smap_res[2], h0);
	block_key(hi, smap_res[2], h1);
	return read_rows(rd, m, lo, 5, hi, 5, op_level);
}

/* whole hours, then ten minutes, then minutes */
static int read_window(struct tm_store_reader *rd, struct acc_map *m, uint32_t m0, uint32_t m1,
		       int op_level)
{
	uint64_t hour = smap_res_minutes[2];
	uint64_t h0 = (m0 + hour - 1) / hour, h1 = ((uint64_t)m1 + 1) / hour;
	if (h1 <= h0)   /* no whole hour inside */
		return read_blocks(rd, m, m0, m1, op_level);
	int rc = m0 < h0 * hour ? read_blocks(rd, m, m0, h0 * hour - 1, op_level) : 0;
	if (!rc)
		rc = read_hours(rd, m, (uint32_t)h0, (uint32_t)h1, op_level);
	if (!rc && h1 * hour <= m1)
		rc = read_blocks(rd, m, h1 * hour, m1, op_level);
	return rc;
}

/*---- nodes and edges ----*/

struct builder {
	struct tm_store_reader *rd;
	struct tm_arena *arena;
	struct tm_smap_node *nodes;
	size_t n_nodes, cap_nodes;
	struct tm_smap_edge *edges;
	size_t n_edges, cap_edges;
};

static int grow(struct tm_arena *a, void **items, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = tm_arena_alloc(a, ncap * size);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, *items, n * size);
	*items = p;
	*cap = ncap;
	return 0;
}

static int stat_init(struct tm_arena *a, struct tm_smap_stat *s)
{
	memset(s, 0, sizeof(*s));
	s->hist = tm_arena_alloc(a, sizeof(*s->hist));
	if (!s->hist)
		return -ENOMEM;
	tm_hist_init_lazy(s->hist);
	return 0;
}

static void stat_add_acc(struct tm_smap_stat *s, const struct acc *x)
{
	s->calls += x->calls;
	s->errors += x->errors;
	s->http4xx += x->http4xx;
	s->http5xx += x->http5xx;
	s->throttled += x->throttled;
	tm_hist_merge(s->hist, x->hist);
}

static void stat_add(struct tm_smap_stat *s, const struct tm_smap_stat *x)
{
	s->calls += x->calls;
	s->errors += x->errors;
	tm_hist_merge(s->hist, x->hist);
}

/* the node of that id, made when new */
static int node_of(struct builder *b, struct tm_str id, enum tm_smap_node_kind kind,
		   struct tm_str service, struct tm_str operation, size_t *out)
{
	for (size_t i = 0; i < b->n_nodes; i++)
		if (tm_str_eq(b->nodes[i].id, id)) {
			*out = i;
			return 0;
		}
	if (grow(b->arena, (void **)&b->nodes, &b->cap_nodes, b->n_nodes, sizeof(*b->nodes)))
		return -ENOMEM;
	struct tm_smap_node *n = &b->nodes[b->n_nodes];
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->kind = kind;
	n->service = service;
	n->operation = operation;
	if (stat_init(b->arena, &n->stat))
		return -ENOMEM;
	*out = b->n_nodes++;
	return 0;
}

static enum tm_smap_node_kind virtual_kind(uint8_t node_kind)
{
	switch (node_kind) {
	case TM_NODE_DATABASE:
		return TM_SMAP_DATABASE;
	case TM_NODE_MESSAGING:
		return TM_SMAP_MESSAGING;
	default:
		return TM_SMAP_EXTERNAL;
	}
}

/* the node an id of a rollup row names; node_kind types a peer */
static int node_of_id(struct builder *b, uint32_t id, uint8_t node_kind, size_t *out)
{
	static const struct tm_str none = { "", 0 };
	if (!id)
		return node_of(b, tm_str_from("user"), TM_SMAP_USER, none, none, out);
	struct tm_name nm;
	int rc = tm_store_name(b->rd, id, &nm);
	if (rc)
		return rc;
	if (nm.space == TM_NAME_SERVICE)
		return node_of(b, nm.name, TM_SMAP_SERVICE, nm.name, none, out);
	if (nm.space == TM_NAME_OPERATION) {
		struct tm_name svc;
		rc = tm_store_name(b->rd, nm.svc, &svc);
		if (rc)
			return rc;
		char *s = tm_arena_alloc(b->arena, svc.name.len + 1 + nm.name.len);
		if (!s)
			return -ENOMEM;
		memcpy(s, svc.name.ptr, svc.name.len);
		s[svc.name.len] = ':';
		memcpy(s + svc.name.len + 1, nm.name.ptr, nm.name.len);
		struct tm_str full = { s, svc.name.len + 1 + nm.name.len };
		return node_of(b, full, TM_SMAP_SERVICE, svc.name, nm.name, out);
	}
	/* a peer: the service of that name when one sends spans */
	uint32_t svc_id;
	if (tm_store_service_id(b->rd, nm.name, &svc_id) == 0)
		return node_of(b, nm.name, TM_SMAP_SERVICE, nm.name, none, out);
	return node_of(b, nm.name, node_kind ? virtual_kind(node_kind) : TM_SMAP_EXTERNAL, none,
		       none, out);
}

static int edge_of(struct builder *b, size_t src, size_t dst, struct tm_smap_edge **out)
{
	for (size_t i = 0; i < b->n_edges; i++)
		if (b->edges[i].source == src && b->edges[i].target == dst) {
			*out = &b->edges[i];
			return 0;
		}
	if (grow(b->arena, (void **)&b->edges, &b->cap_edges, b->n_edges, sizeof(*b->edges)))
		return -ENOMEM;
	struct tm_smap_edge *e = &b->edges[b->n_edges++];
	e->source = src;
	e->target = dst;
	*out = e;
	return stat_init(b->arena, &e->stat);
}

static int build(struct builder *b, const struct acc_map *m)
{
	int rc = 0;
	for (size_t i = 0; i < m->cap && !rc; i++) {
		const struct acc *x = &m->slots[i];
		if (!x->used || (x->type != SMAP_NODE && x->type != SMAP_OP_NODE))
			continue;
		size_t n;
		rc = node_of_id(b, x->a, 0, &n);
		if (!rc)
			stat_add_acc(&b->nodes[n].stat, x);
	}
	for (size_t i = 0; i < m->cap && !rc; i++) {
		const struct acc *x = &m->slots[i];
		if (!x->used || (x->type != SMAP_EDGE && x->type != SMAP_OP_EDGE))
			continue;
		size_t src, dst;
		struct tm_smap_edge *e;
		rc = node_of_id(b, x->a, 0, &src);
		if (!rc)
			rc = node_of_id(b, x->b, x->node_kind, &dst);
		if (!rc && src == dst)
			continue;   /* a peer named like its own service */
		if (!rc)
			rc = edge_of(b, src, dst, &e);
		if (!rc)
			stat_add_acc(&e->stat, x);
	}
	/* virtual nodes and users have no spans of their own: their edges speak */
	for (size_t i = 0; i < b->n_edges && !rc; i++) {
		const struct tm_smap_edge *e = &b->edges[i];
		if (b->nodes[e->target].kind != TM_SMAP_SERVICE &&
		    b->nodes[e->target].kind != TM_SMAP_USER)
			stat_add(&b->nodes[e->target].stat, &e->stat);
		if (b->nodes[e->source].kind == TM_SMAP_USER)
			stat_add(&b->nodes[e->source].stat, &e->stat);
	}
	return rc;
}

/*---- focus, order ----*/

static int focus(struct builder *b, struct tm_str service, unsigned hops)
{
	uint8_t *keep = tm_arena_zalloc(b->arena, b->n_nodes + 1);
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_nodes; i++)
		keep[i] = tm_str_eq(b->nodes[i].id, service) ||
			  (b->nodes[i].service.len && tm_str_eq(b->nodes[i].service, service));
	for (unsigned h = 0; h < hops; h++) {
		uint8_t *next = tm_arena_alloc(b->arena, b->n_nodes + 1);
		if (!next)
			return -ENOMEM;
		memcpy(next, keep, b->n_nodes);
		for (size_t i = 0; i < b->n_edges; i++) {
			const struct tm_smap_edge *e = &b->edges[i];
			if (keep[e->source])
				next[e->target] = 1;
			if (keep[e->target])
				next[e->source] = 1;
		}
		keep = next;
	}
	size_t *map = tm_arena_alloc(b->arena, (b->n_nodes + 1) * sizeof(size_t));
	if (!map)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < b->n_nodes; i++) {
		map[i] = keep[i] ? n : SIZE_MAX;
		if (keep[i])
			b->nodes[n++] = b->nodes[i];
	}
	b->n_nodes = n;
	size_t k = 0;
	for (size_t i = 0; i < b->n_edges; i++) {
		struct tm_smap_edge e = b->edges[i];
		if (map[e.source] == SIZE_MAX || map[e.target] == SIZE_MAX)
			continue;
		e.source = map[e.source];
		e.target = map[e.target];
		b->edges[k++] = e;
	}
	b->n_edges = k;
	return 0;
}

static int str_cmp(struct tm_str x, struct tm_str y)
{
	size_t n = x.len < y.len ? x.len : y.len;
	int c = n ? memcmp(x.ptr, y.ptr, n) : 0;
	return c ? c : (x.len > y.len) - (x.len < y.len);
}

static int node_cmp(const void *a, const void *b)
{
	return str_cmp(((const struct tm_smap_node *)a)->id, ((const struct tm_smap_node *)b)->id);
}

/* queries run in many threads at once: the nodes come as qsort_r's argument */
static int edge_cmp(const void *a, const void *b, void *arg)
{
	const struct tm_smap_node *nodes = arg;
	const struct tm_smap_edge *x = a, *y = b;
	int c = str_cmp(nodes[x->source].id, nodes[y->source].id);
	return c ? c : str_cmp(nodes[x->target].id, nodes[y->target].id);
}

static int sort_map(struct builder *b)
{
	if (!b->n_nodes)
		return 0;
	/* sort nodes, then renumber the edges' ends */
	size_t *old_to_new = tm_arena_alloc(b->arena, (b->n_nodes + 1) * sizeof(size_t));
	struct tm_smap_node *sorted = tm_arena_alloc(b->arena, (b->n_nodes + 1) * sizeof(*sorted));
	if (!old_to_new || !sorted)
		return -ENOMEM;
	memcpy(sorted, b->nodes, b->n_nodes * sizeof(*sorted));
	qsort(sorted, b->n_nodes, sizeof(*sorted), node_cmp);
	for (size_t i = 0; i < b->n_nodes; i++)
		for (size_t j = 0; j < b->n_nodes; j++)
			if (tm_str_eq(b->nodes[i].id, sorted[j].id)) {
				old_to_new[i] = j;
				break;
			}
	for (size_t i = 0; i < b->n_edges; i++) {
		b->edges[i].source = old_to_new[b->edges[i].source];
		b->edges[i].target = old_to_new[b->edges[i].target];
	}
	b->nodes = sorted;
	qsort_r(b->edges, b->n_edges, sizeof(*b->edges), edge_cmp, sorted);
	return 0;
}

int tm_smap_query(struct tm_store_reader *rd, const struct tm_smap_query *q,
		  struct tm_arena *arena, struct tm_smap_map *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t m0 = q->start_ns / TM_NS_PER_MINUTE, m1 = q->end_ns / TM_NS_PER_MINUTE;
	if (m1 > UINT32_MAX)
		m1 = UINT32_MAX;
	if (m0 > m1)
		return -EINVAL;
	struct acc_map m = { .arena = arena };
	int rc = read_window(rd, &m, (uint32_t)m0, (uint32_t)m1, q->operation_level);
	struct builder b = { .rd = rd, .arena = arena };
	if (!rc)
		rc = build(&b, &m);
	free(m.slots);
	if (!rc && q->focus.len)
		rc = focus(&b, q->focus, q->hops);
	if (!rc)
		rc = sort_map(&b);
	if (rc)
		return rc;
	out->nodes = b.nodes;
	out->n_nodes = b.n_nodes;
	out->edges = b.edges;
	out->n_edges = b.n_edges;
	out->start_ns = m0 * TM_NS_PER_MINUTE;
	out->end_ns = (m1 + 1) * TM_NS_PER_MINUTE - 1;
	return 0;
}
