/* smap_query.c - the service map of a window, from the rollups: whole hours
 * and ten-minute blocks where they fit, minutes at the edges (about 50
 * blocks for a day, 15 for an hour), each run of blocks of one resolution
 * merged once and kept (smap_cache.c); then nodes and edges, each merging
 * its rows into one reused histogram for its percentiles
 * (docs/servicemap.md, "Cost of a query"). */
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

/*---- the window's rows ----*/

int smap_read_block(struct tm_store_reader *rd, struct smap_acc *acc, int res_index, uint32_t t,
		    int op_level)
{
	unsigned char res = smap_res[res_index];
	/* one level's rows only: types sort 'E' < 'N' < 'e' < 'n', so a level
	 * is the range [first type, its node type + 1) within the block */
	unsigned char lo[6] = { res, (unsigned char)(t >> 24), (unsigned char)(t >> 16),
				(unsigned char)(t >> 8), (unsigned char)t,
				op_level ? SMAP_OP_EDGE : SMAP_EDGE };
	unsigned char hi[6];
	memcpy(hi, lo, 5);
	hi[5] = (unsigned char)((op_level ? SMAP_OP_NODE : SMAP_NODE) + 1);
	struct tm_aux_iter *it;
	int rc = tm_aux_iter_open(rd, TM_AUX_ROLLUPS, lo, 6, hi, 6, &it);
	if (rc)
		return rc;
	const void *k, *v;
	size_t klen, vlen;
	while ((rc = tm_aux_iter_next(it, &k, &klen, &v, &vlen)) == 1) {
		const unsigned char *key = k;
		if (klen != SMAP_KEY_LEN)
			continue;
		int is_op = key[5] == SMAP_OP_EDGE || key[5] == SMAP_OP_NODE;
		if (is_op != op_level)
			continue;
		rc = smap_acc_add_row(acc, key, v, vlen);
		if (rc)
			break;
	}
	tm_aux_iter_close(it);
	return rc;
}

size_t smap_plan(uint32_t m0, uint32_t m1, struct smap_block *out, size_t max)
{
	size_t n = 0;
	for (uint64_t at = m0; at <= m1 && n < max;) {
		int res = 0;
		for (int r = 2; r >= 1; r--)
			if (at % smap_res_minutes[r] == 0 && at + smap_res_minutes[r] - 1 <= m1) {
				res = r;
				break;
			}
		out[n].res = (uint8_t)res;
		out[n].t = (uint32_t)(at / smap_res_minutes[res]);
		n++;
		at += smap_res_minutes[res];
	}
	return n;
}

/* the newest minutes of a window change with every flush: each of their
 * blocks is a run of its own, kept only until the next flush changes it */
#define FRESH_MINUTES 2
/* a plan has at most five runs (minutes, tens, hours, tens, minutes), and
 * two or three fresh blocks */
#define MAX_RUNS 10

static int is_fresh(const struct smap_block *b, uint32_t m1)
{
	uint64_t last = ((uint64_t)b->t + 1) * smap_res_minutes[b->res] - 1;
	return last + FRESH_MINUTES > m1;
}

/* the window's plan, and with a cache the versions of its blocks */
struct window {
	uint32_t m0, m1;
	int op_level;
	struct smap_block *plan;   /* in the arena */
	uint64_t *versions;        /* in the arena; NULL without a cache */
	size_t n;
};

/* the first hour-row key at or after hour t: 1 and its hour, or 0 */
static int hour_at_or_after(struct tm_store_reader *rd, uint32_t t, uint32_t *out)
{
	unsigned char lo[5] = { 'h', (unsigned char)(t >> 24), (unsigned char)(t >> 16),
				(unsigned char)(t >> 8), (unsigned char)t };
	const unsigned char hi[1] = { 'h' + 1 };
	struct tm_aux_iter *it;
	int rc = tm_aux_iter_open(rd, TM_AUX_ROLLUPS, lo, sizeof(lo), hi, sizeof(hi), &it);
	if (rc)
		return rc;
	const void *k, *v;
	size_t klen, vlen;
	rc = tm_aux_iter_next(it, &k, &klen, &v, &vlen);
	if (rc == 1) {
		const unsigned char *key = k;
		*out = klen >= 5 ? (uint32_t)key[1] << 24 | (uint32_t)key[2] << 16 |
				   (uint32_t)key[3] << 8 | key[4] : t;
	}
	tm_aux_iter_close(it);
	return rc;
}

/* narrows [m0, m1] to the hours that hold rollups (every row has its
 * hour's row): a window of years, or ending far ahead, plans what is
 * there, not millions of empty hours.  Sets *empty when none is left. */
static int clip_to_data(struct tm_store_reader *rd, uint32_t *m0, uint32_t *m1, int *empty)
{
	uint32_t first, at;
	int rc = hour_at_or_after(rd, 0, &first);
	*empty = rc == 0;
	if (rc <= 0)
		return rc;
	/* the last hour: the largest t with a row at or after it */
	uint64_t lo = first, hi = UINT32_MAX;   /* a row at or after lo; none after hi */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;
		rc = hour_at_or_after(rd, (uint32_t)mid, &at);
		if (rc < 0)
			return rc;
		if (rc == 1)
			lo = at;
		else
			hi = mid - 1;
	}
	uint64_t d0 = (uint64_t)first * 60, d1 = lo * 60 + 59;
	if (*m0 < d0)
		*m0 = (uint32_t)d0;
	if (*m1 > d1)
		*m1 = (uint32_t)(d1 < UINT32_MAX ? d1 : UINT32_MAX);
	*empty = *m0 > *m1;
	return 0;
}

static int plan_window(struct tm_store_reader *rd, struct tm_smap_cache *cache,
		       struct tm_arena *arena, struct window *w)
{
	int empty;
	int rc = clip_to_data(rd, &w->m0, &w->m1, &empty);
	if (rc || empty)
		return rc;
	/* whole hours, and at most 9 minutes and 5 tens at each end */
	size_t max = ((size_t)w->m1 - w->m0 + 1) / 60 + 32;
	w->plan = tm_arena_alloc(arena, max * sizeof(*w->plan));
	if (!w->plan)
		return -ENOMEM;
	w->n = smap_plan(w->m0, w->m1, w->plan, max);
	if (!cache)
		return 0;
	w->versions = tm_arena_alloc(arena, (w->n + 1) * sizeof(*w->versions));
	if (!w->versions)
		return -ENOMEM;
	return smap_read_versions(rd, w->plan, w->n, w->versions);
}

/* the rows of the window, by runs of blocks through the cache (refs[]
 * holds them until the caller is done), or from the store */
static int read_window(struct tm_store_reader *rd, struct tm_smap_cache *cache,
		       const struct window *w, struct smap_acc *acc,
		       struct smap_cache_entry **refs)
{
	const struct smap_block *plan = w->plan;
	size_t i = 0, n_runs = 0;
	int rc = 0;
	while (cache && !rc && i < w->n && n_runs < MAX_RUNS) {
		size_t j = i + 1;
		while (j < w->n && plan[j].res == plan[i].res && !is_fresh(&plan[i], w->m1) &&
		       !is_fresh(&plan[j], w->m1))
			j++;
		rc = smap_cache_add_run(cache, rd, plan + i, w->versions + i, j - i, w->op_level,
					acc, &refs[n_runs++]);
		i = j;
	}
	for (; i < w->n && !rc; i++)
		rc = smap_read_block(rd, acc, plan[i].res, plan[i].t, w->op_level);
	return rc;
}

/*---- nodes and edges ----*/

/* indexes of sums (or edges), in the arena */
struct u32_list {
	uint32_t *v;
	uint32_t n, cap;
};

static int list_push(struct tm_arena *a, struct u32_list *l, uint32_t x)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 4;
		uint32_t *v = tm_arena_alloc(a, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = x;
	return 0;
}

/* counts as they add up; the latencies are the rows of `sums` (for a node
 * without spans of its own, its edges' rows) */
struct counts {
	uint64_t calls, errors, http4xx, http5xx, throttled;
};

struct bnode {
	struct tm_smap_node node;
	struct counts c;
	struct u32_list sums;
};

struct bedge {
	size_t source, target;
	struct counts c;
	struct u32_list sums;
};

/* open addressing over index + 1 (0 empty), keyed by what key_of says */
struct index {
	uint32_t *slots;
	size_t n_slots;
};

struct builder {
	struct tm_store_reader *rd;
	struct tm_arena *arena;
	struct bnode *nodes;
	size_t n_nodes, cap_nodes;
	struct bedge *edges;
	size_t n_edges, cap_edges;
	struct index by_name, by_pair;   /* nodes by id string, edges by ends */
	struct {
		uint32_t id, node;   /* id + 1 (0 empty), node index */
	} *ids;                      /* rollup id -> node */
	size_t n_ids;
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

static uint64_t str_hash(struct tm_str s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < s.len; i++)
		h = (h ^ (unsigned char)s.ptr[i]) * 0x100000001b3ull;
	return h ^ (h >> 32);
}

static uint64_t pair_hash(size_t a, size_t b)
{
	uint64_t h = ((uint64_t)a << 32 | (uint64_t)b) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* makes room for one more than n in an index, rebuilding it with hash_of */
static int index_room(struct tm_arena *a, struct index *x, size_t n,
		      uint64_t (*hash_of)(const struct builder *, size_t), const struct builder *b)
{
	if ((n + 1) * 2 <= x->n_slots)
		return 0;
	size_t n_slots = x->n_slots ? x->n_slots * 2 : 256;
	uint32_t *slots = tm_arena_zalloc(a, n_slots * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t j = hash_of(b, i) & (n_slots - 1);
		while (slots[j])
			j = (j + 1) & (n_slots - 1);
		slots[j] = (uint32_t)i + 1;
	}
	x->slots = slots;
	x->n_slots = n_slots;
	return 0;
}

static uint64_t node_hash(const struct builder *b, size_t i)
{
	return str_hash(b->nodes[i].node.id);
}

static uint64_t edge_hash(const struct builder *b, size_t i)
{
	return pair_hash(b->edges[i].source, b->edges[i].target);
}

/* the node of that id, made when new */
static int node_of(struct builder *b, struct tm_str id, enum tm_smap_node_kind kind,
		   struct tm_str service, struct tm_str operation, size_t *out)
{
	if (index_room(b->arena, &b->by_name, b->n_nodes, node_hash, b))
		return -ENOMEM;
	size_t j = str_hash(id) & (b->by_name.n_slots - 1);
	for (; b->by_name.slots[j]; j = (j + 1) & (b->by_name.n_slots - 1))
		if (tm_str_eq(b->nodes[b->by_name.slots[j] - 1].node.id, id)) {
			*out = b->by_name.slots[j] - 1;
			return 0;
		}
	if (grow(b->arena, (void **)&b->nodes, &b->cap_nodes, b->n_nodes, sizeof(*b->nodes)))
		return -ENOMEM;
	struct bnode *n = &b->nodes[b->n_nodes];
	memset(n, 0, sizeof(*n));
	n->node.id = id;
	n->node.kind = kind;
	n->node.service = service;
	n->node.operation = operation;
	b->by_name.slots[j] = (uint32_t)++b->n_nodes;
	*out = b->n_nodes - 1;
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

/* the node an id of a rollup row names, looked up in the store; node_kind
 * types a peer */
static int node_of_name(struct builder *b, uint32_t id, uint8_t node_kind, size_t *out)
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

/* node_of_name(), each id looked up once: an id names one node, whatever
 * the kind of the rows it comes in (the first decides a new peer's kind) */
static int node_of_id(struct builder *b, uint32_t id, uint8_t node_kind, size_t *out)
{
	size_t mask = b->n_ids - 1, j = (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 40) & mask;
	for (; b->ids[j].id; j = (j + 1) & mask)
		if (b->ids[j].id == id + 1) {
			*out = b->ids[j].node;
			return 0;
		}
	int rc = node_of_name(b, id, node_kind, out);
	if (!rc) {
		b->ids[j].id = id + 1;
		b->ids[j].node = (uint32_t)*out;
	}
	return rc;
}

static int edge_of(struct builder *b, size_t src, size_t dst, struct bedge **out)
{
	if (index_room(b->arena, &b->by_pair, b->n_edges, edge_hash, b))
		return -ENOMEM;
	size_t j = pair_hash(src, dst) & (b->by_pair.n_slots - 1);
	for (; b->by_pair.slots[j]; j = (j + 1) & (b->by_pair.n_slots - 1)) {
		struct bedge *e = &b->edges[b->by_pair.slots[j] - 1];
		if (e->source == src && e->target == dst) {
			*out = e;
			return 0;
		}
	}
	if (grow(b->arena, (void **)&b->edges, &b->cap_edges, b->n_edges, sizeof(*b->edges)))
		return -ENOMEM;
	struct bedge *e = &b->edges[b->n_edges];
	memset(e, 0, sizeof(*e));
	e->source = src;
	e->target = dst;
	b->by_pair.slots[j] = (uint32_t)++b->n_edges;
	*out = e;
	return 0;
}

static void add_counts(struct counts *c, const struct smap_sum *x)
{
	c->calls += x->calls;
	c->errors += x->errors;
	c->http4xx += x->http4xx;
	c->http5xx += x->http5xx;
	c->throttled += x->throttled;
}

static int build_nodes(struct builder *b, const struct smap_acc *acc)
{
	int rc = 0;
	for (size_t i = 0; i < acc->n && !rc; i++) {
		const struct smap_sum *x = &acc->sums[i];
		if (x->type != SMAP_NODE && x->type != SMAP_OP_NODE)
			continue;
		size_t n;
		rc = node_of_id(b, x->a, 0, &n);
		if (!rc) {
			add_counts(&b->nodes[n].c, x);
			rc = list_push(b->arena, &b->nodes[n].sums, (uint32_t)i);
		}
	}
	return rc;
}

static int build_edges(struct builder *b, const struct smap_acc *acc)
{
	int rc = 0;
	for (size_t i = 0; i < acc->n && !rc; i++) {
		const struct smap_sum *x = &acc->sums[i];
		if (x->type != SMAP_EDGE && x->type != SMAP_OP_EDGE)
			continue;
		size_t src, dst;
		struct bedge *e;
		rc = node_of_id(b, x->a, 0, &src);
		if (!rc)
			rc = node_of_id(b, x->b, x->node_kind, &dst);
		if (!rc && src == dst)
			continue;   /* a peer named like its own service */
		if (!rc)
			rc = edge_of(b, src, dst, &e);
		if (!rc) {
			add_counts(&e->c, x);
			rc = list_push(b->arena, &e->sums, (uint32_t)i);
		}
	}
	return rc;
}

/* virtual nodes and users have no spans of their own: their edges speak
 * (calls and errors, not HTTP classes; the edge's rows, complete by now,
 * join the node's, since focus() renumbers the edges) */
static int edge_to_node(struct builder *b, size_t edge, struct bnode *n)
{
	const struct bedge *e = &b->edges[edge];
	n->c.calls += e->c.calls;
	n->c.errors += e->c.errors;
	int rc = 0;
	for (uint32_t k = 0; k < e->sums.n && !rc; k++)
		rc = list_push(b->arena, &n->sums, e->sums.v[k]);
	return rc;
}

static int build(struct builder *b, const struct smap_acc *acc)
{
	/* ids: at most two per sum, and a power of two at least twice that */
	b->n_ids = 64;
	while (b->n_ids < 4 * acc->n + 2)
		b->n_ids *= 2;
	b->ids = tm_arena_zalloc(b->arena, b->n_ids * sizeof(*b->ids));
	if (!b->ids)
		return -ENOMEM;
	int rc = build_nodes(b, acc);
	if (!rc)
		rc = build_edges(b, acc);
	for (size_t i = 0; i < b->n_edges && !rc; i++) {
		struct bnode *to = &b->nodes[b->edges[i].target];
		struct bnode *from = &b->nodes[b->edges[i].source];
		if (to->node.kind != TM_SMAP_SERVICE && to->node.kind != TM_SMAP_USER)
			rc = edge_to_node(b, i, to);
		if (!rc && from->node.kind == TM_SMAP_USER)
			rc = edge_to_node(b, i, from);
	}
	return rc;
}

/*---- focus, order, answer ----*/

static int focus(struct builder *b, struct tm_str service, unsigned hops)
{
	uint8_t *keep = tm_arena_zalloc(b->arena, b->n_nodes + 1);
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_nodes; i++) {
		const struct tm_smap_node *n = &b->nodes[i].node;
		keep[i] = tm_str_eq(n->id, service) ||
			  (n->service.len && tm_str_eq(n->service, service));
	}
	for (unsigned h = 0; h < hops; h++) {
		uint8_t *next = tm_arena_alloc(b->arena, b->n_nodes + 1);
		if (!next)
			return -ENOMEM;
		memcpy(next, keep, b->n_nodes);
		for (size_t i = 0; i < b->n_edges; i++) {
			const struct bedge *e = &b->edges[i];
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
		struct bedge e = b->edges[i];
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

/* queries run in many threads at once: the nodes come as qsort_r's argument */
static int node_index_cmp(const void *a, const void *b, void *arg)
{
	const struct bnode *nodes = arg;
	return str_cmp(nodes[*(const size_t *)a].node.id, nodes[*(const size_t *)b].node.id);
}

static int edge_cmp(const void *a, const void *b, void *arg)
{
	const struct tm_smap_node *nodes = arg;
	const struct tm_smap_edge *x = a, *y = b;
	int c = str_cmp(nodes[x->source].id, nodes[y->source].id);
	return c ? c : str_cmp(nodes[x->target].id, nodes[y->target].id);
}

/* what an answer is made with: the rows, a histogram to merge them in */
struct answer_ctx {
	const struct smap_acc *acc;
	struct tm_arena *arena;
	struct tm_hist *scratch;      /* empty between items */
	int with_hist;
};

static int merge_sums(const struct answer_ctx *x, const struct u32_list *sums)
{
	int rc = 0;
	for (uint32_t k = 0; k < sums->n && !rc; k++)
		rc = smap_acc_merge_hist(x->acc, &x->acc->sums[sums->v[k]], x->scratch);
	return rc;
}

/* the stat of the counts c and the latencies now in x->scratch, which
 * it leaves empty */
static int stat_of(const struct answer_ctx *x, const struct counts *c, struct tm_smap_stat *out)
{
	static const double qs[3] = { 0.5, 0.9, 0.99 };
	uint64_t p[3];
	memset(out, 0, sizeof(*out));
	out->calls = c->calls;
	out->errors = c->errors;
	out->http4xx = c->http4xx;
	out->http5xx = c->http5xx;
	out->throttled = c->throttled;
	tm_hist_percentiles(x->scratch, qs, 3, p);
	out->p50_ns = p[0];
	out->p90_ns = p[1];
	out->p99_ns = p[2];
	if (x->with_hist) {
		out->hist = tm_arena_alloc(x->arena, sizeof(*out->hist));
		if (!out->hist)
			return -ENOMEM;
		tm_hist_init_lazy(out->hist);
		tm_hist_merge(out->hist, x->scratch);
	}
	tm_hist_reset(x->scratch);
	return 0;
}

static int node_stat(const struct answer_ctx *x, const struct builder *b, const struct bnode *n,
		     struct tm_smap_stat *out)
{
	int rc = merge_sums(x, &n->sums);
	if (rc) {
		tm_hist_reset(x->scratch);
		return rc;
	}
	return stat_of(x, &n->c, out);
}

static int edge_stat(const struct answer_ctx *x, const struct bedge *e, struct tm_smap_stat *out)
{
	int rc = merge_sums(x, &e->sums);
	if (rc) {
		tm_hist_reset(x->scratch);
		return rc;
	}
	return stat_of(x, &e->c, out);
}

/* the answer: nodes sorted by id, edges by their ends' ids */
static int answer(struct builder *b, const struct answer_ctx *x, struct tm_smap_map *out)
{
	size_t *order = tm_arena_alloc(b->arena, (b->n_nodes + 1) * sizeof(size_t));
	size_t *old_to_new = tm_arena_alloc(b->arena, (b->n_nodes + 1) * sizeof(size_t));
	out->nodes = tm_arena_alloc(b->arena, (b->n_nodes + 1) * sizeof(*out->nodes));
	out->edges = tm_arena_alloc(b->arena, (b->n_edges + 1) * sizeof(*out->edges));
	if (!order || !old_to_new || !out->nodes || !out->edges)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_nodes; i++)
		order[i] = i;
	qsort_r(order, b->n_nodes, sizeof(*order), node_index_cmp, b->nodes);
	int rc = 0;
	for (size_t i = 0; i < b->n_nodes && !rc; i++) {
		old_to_new[order[i]] = i;
		out->nodes[i] = b->nodes[order[i]].node;
		rc = node_stat(x, b, &b->nodes[order[i]], &out->nodes[i].stat);
	}
	for (size_t i = 0; i < b->n_edges && !rc; i++) {
		struct tm_smap_edge *e = &out->edges[i];
		e->source = old_to_new[b->edges[i].source];
		e->target = old_to_new[b->edges[i].target];
		rc = edge_stat(x, &b->edges[i], &e->stat);
	}
	if (rc)
		return rc;
	out->n_nodes = b->n_nodes;
	out->n_edges = b->n_edges;
	qsort_r(out->edges, out->n_edges, sizeof(*out->edges), edge_cmp, out->nodes);
	return 0;
}

/* the map of a planned window from its rows */
static int merge_window(struct tm_store_reader *rd, const struct tm_smap_query *q,
			const struct tm_smap_query_opts *opts, const struct window *w,
			struct tm_arena *arena, struct tm_smap_map *out)
{
	struct smap_acc acc;
	struct smap_cache_entry *refs[MAX_RUNS] = { NULL };
	smap_acc_init(&acc);
	int rc = read_window(rd, opts->cache, w, &acc, refs);
	struct builder b = { .rd = rd, .arena = arena };
	if (!rc)
		rc = build(&b, &acc);
	if (!rc && q->focus.len)
		rc = focus(&b, q->focus, q->hops);
	struct answer_ctx x = { &acc, arena, tm_arena_alloc(arena, sizeof(*x.scratch)),
				!opts->percentiles_only };
	if (!rc && !x.scratch)
		rc = -ENOMEM;
	if (!rc) {
		tm_hist_init(x.scratch);
		rc = answer(&b, &x, out);
	}
	smap_acc_clear(&acc);
	for (size_t i = 0; i < MAX_RUNS; i++)
		smap_cache_release(opts->cache, refs[i]);
	return rc;
}

int tm_smap_query(struct tm_store_reader *rd, const struct tm_smap_query *q,
		  struct tm_arena *arena, struct tm_smap_map *out)
{
	return tm_smap_query_with(rd, q, NULL, arena, out);
}

int tm_smap_query_with(struct tm_store_reader *rd, const struct tm_smap_query *q,
		       const struct tm_smap_query_opts *opts, struct tm_arena *arena,
		       struct tm_smap_map *out)
{
	static const struct tm_smap_query_opts defaults = { 0 };
	if (!opts)
		opts = &defaults;
	memset(out, 0, sizeof(*out));
	uint64_t m0 = q->start_ns / TM_NS_PER_MINUTE, m1 = q->end_ns / TM_NS_PER_MINUTE;
	if (m1 > UINT32_MAX)
		m1 = UINT32_MAX;
	if (m0 > m1)
		return -EINVAL;
	struct window w = { (uint32_t)m0, (uint32_t)m1, q->operation_level, NULL, NULL, 0 };
	int rc = plan_window(rd, opts->cache, arena, &w);
	/* a whole answer kept: percentiles only, the whole map */
	int answer_kept = opts->cache && opts->percentiles_only && !q->focus.len && w.n;
	if (!rc && answer_kept) {
		rc = smap_cache_get_answer(opts->cache, w.plan, w.versions, w.n, w.op_level, arena,
					   out);
		if (rc == 1)
			return 0;
	}
	if (!rc)
		rc = merge_window(rd, q, opts, &w, arena, out);
	if (rc) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->start_ns = m0 * TM_NS_PER_MINUTE;
	out->end_ns = (m1 + 1) * TM_NS_PER_MINUTE - 1;
	if (answer_kept)
		smap_cache_put_answer(opts->cache, w.plan, w.versions, w.n, w.op_level, out);
	return 0;
}
