/* bottlenecks.c - what the slow traces of an entry point spend their time on.
 *
 * Reads the critical-path profile of every trace of the window (one row per
 * trace, written when it was paired; a trace paired again after late spans
 * has a newer row, which wins), splits them at the p90 of trace duration or
 * a threshold, and ranks (service, operation) by how much longer they hold
 * the critical path in slow traces than in typical ones. */
#include "servicemap.h"
#include "search_internal.h"
#include "smap_internal.h"
#include "trace_map.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXAMPLES 5

struct profile {
	const unsigned char *val;
	size_t len;
	uint64_t start, duration;
	int slow;
};

static int skip_ids(const unsigned char **p, const unsigned char *end, size_t pairs)
{
	uint64_t n, v;
	if (varint_get(p, end, &n) < 0)
		return -EBADMSG;
	for (uint64_t i = 0; i < n * pairs; i++)
		if (varint_get(p, end, &v) < 0)
			return -EBADMSG;
	return 0;
}

int profile_decode(const void *val, size_t len, struct profile_row *out)
{
	const unsigned char *p = val, *end = p + len;
	uint64_t svc, op;
	memset(out, 0, sizeof(*out));
	if (fixed64_get(&p, end, &out->start) < 0 || varint_get(&p, end, &out->duration) < 0 ||
	    varint_get(&p, end, &out->spans) < 0 || varint_get(&p, end, &out->errors) < 0 ||
	    p == end)
		return -EBADMSG;
	out->flags = *p++;
	if (varint_get(&p, end, &svc) < 0 || varint_get(&p, end, &op) < 0 ||
	    svc > UINT32_MAX || op > UINT32_MAX)
		return -EBADMSG;
	out->root_svc = (uint32_t)svc;
	out->root_op = (uint32_t)op;
	out->svcs = p;
	if (skip_ids(&p, end, 1) < 0)
		return -EBADMSG;
	out->ops = p;
	if (skip_ids(&p, end, 1) < 0)
		return -EBADMSG;
	/* the path list is checked by its reader (add_path): slow traces,
	 * which read every row of a day, never look at it */
	out->path = p;
	out->end = end;
	return 0;
}

struct row_acc {
	uint32_t op;
	double slow_ns, typical_ns;
	uint64_t ex_ns[MAX_EXAMPLES];
	const uint8_t *ex_id[MAX_EXAMPLES];
	size_t n_ex;
};

static int read_profiles(struct tm_store_reader *rd, uint64_t start, uint64_t end,
			 struct trace_map *latest)
{
	uint32_t m0 = search_minute(start), m1 = search_minute(end);
	unsigned char lo[4] = { (unsigned char)(m0 >> 24), (unsigned char)(m0 >> 16),
				(unsigned char)(m0 >> 8), (unsigned char)m0 };
	uint64_t next = (uint64_t)m1 + 1;
	unsigned char hi[5] = { (unsigned char)(next >> 24), (unsigned char)(next >> 16),
				(unsigned char)(next >> 8), (unsigned char)next, 0 };
	struct tm_aux_iter *it;
	int rc = tm_aux_iter_open(rd, TM_AUX_PROFILES, lo, 4, hi, next > UINT32_MAX ? 5 : 4, &it);
	if (rc)
		return rc;
	const void *k, *v;
	size_t klen, vlen;
	while ((rc = tm_aux_iter_next(it, &k, &klen, &v, &vlen)) == 1) {
		if (klen != PROFILE_KEY_LEN)
			continue;
		int created;
		struct profile *p = trace_map_get(latest, (const uint8_t *)k + 12, &created);
		if (!p) {
			rc = -ENOMEM;
			break;
		}
		/* keys rise with the pairing order: a later row replaces */
		struct profile_row row;
		p->val = v;
		p->len = vlen;
		if (profile_decode(v, vlen, &row) < 0) {
			rc = -EBADMSG;
			break;
		}
		p->start = row.start;
		p->duration = row.duration;
	}
	tm_aux_iter_close(it);
	return rc;
}

/* skips a count-prefixed id list; with want, tells whether it holds one of them */
static int ids_hold(const unsigned char **p, const unsigned char *end, const struct id_set *want,
		    int *held)
{
	uint64_t n, id;
	*held = 0;
	if (varint_get(p, end, &n) < 0)
		return -EBADMSG;
	for (uint64_t i = 0; i < n; i++) {
		if (varint_get(p, end, &id) < 0)
			return -EBADMSG;
		if (want && id_set_has(want, (uint32_t)id))
			*held = 1;
	}
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static struct row_acc *row_of(struct row_acc **rows, size_t *n, size_t *cap, uint32_t op)
{
	for (size_t i = 0; i < *n; i++)
		if ((*rows)[i].op == op)
			return &(*rows)[i];
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct row_acc *p = realloc(*rows, ncap * sizeof(*p));
		if (!p)
			return NULL;
		*rows = p;
		*cap = ncap;
	}
	struct row_acc *r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	return r;
}

static void add_example(struct row_acc *r, const uint8_t *id, uint64_t ns)
{
	size_t at = r->n_ex < MAX_EXAMPLES ? r->n_ex++ : MAX_EXAMPLES - 1;
	if (at == MAX_EXAMPLES - 1 && r->n_ex == MAX_EXAMPLES && r->ex_ns[at] >= ns &&
	    r->ex_id[at])
		return;
	r->ex_ns[at] = ns;
	r->ex_id[at] = id;
	for (size_t i = at; i > 0 && r->ex_ns[i] > r->ex_ns[i - 1]; i--) {
		uint64_t t = r->ex_ns[i];
		const uint8_t *tid = r->ex_id[i];
		r->ex_ns[i] = r->ex_ns[i - 1];
		r->ex_id[i] = r->ex_id[i - 1];
		r->ex_ns[i - 1] = t;
		r->ex_id[i - 1] = tid;
	}
}

/* adds one trace's critical path to the rows */
static int add_path(const struct profile *p, const uint8_t *id, struct row_acc **rows,
		    size_t *n, size_t *cap, double *slow_total)
{
	struct profile_row row;
	uint64_t n_cp, op, ns;
	if (profile_decode(p->val, p->len, &row) < 0)
		return -EBADMSG;
	const unsigned char *q = row.path, *end = row.end;
	if (varint_get(&q, end, &n_cp) < 0)
		return -EBADMSG;
	for (uint64_t i = 0; i < n_cp; i++) {
		if (varint_get(&q, end, &op) < 0 || varint_get(&q, end, &ns) < 0)
			return -EBADMSG;
		struct row_acc *r = row_of(rows, n, cap, (uint32_t)op);
		if (!r)
			return -ENOMEM;
		if (p->slow) {
			r->slow_ns += (double)ns;
			*slow_total += (double)ns;
			add_example(r, id, ns);
		} else {
			r->typical_ns += (double)ns;
		}
	}
	return 0;
}

/* does the profile belong to the entry point? */
static int selected(const struct profile *p, const struct id_set *svc, const struct id_set *ops,
		    int *yes)
{
	struct profile_row row;
	int has_svc, has_op;
	if (profile_decode(p->val, p->len, &row) < 0)
		return -EBADMSG;
	const unsigned char *q = row.svcs;
	if (ids_hold(&q, row.end, svc, &has_svc) < 0 || ids_hold(&q, row.end, ops, &has_op) < 0)
		return -EBADMSG;
	*yes = has_svc && (!ops->n || has_op);
	return 0;
}

struct ranked {
	struct tm_bottleneck_row row;
	uint32_t svc;
};

static int row_cmp(const void *a, const void *b)
{
	const struct tm_bottleneck_row *x = a, *y = b;
	if (x->excess_ns != y->excess_ns)
		return x->excess_ns > y->excess_ns ? -1 : 1;
	size_t n = x->service.len < y->service.len ? x->service.len : y->service.len;
	int c = n ? memcmp(x->service.ptr, y->service.ptr, n) : 0;
	if (!c)
		c = (x->service.len > y->service.len) - (x->service.len < y->service.len);
	if (c)
		return c;
	n = x->operation.len < y->operation.len ? x->operation.len : y->operation.len;
	c = n ? memcmp(x->operation.ptr, y->operation.ptr, n) : 0;
	return c ? c : (x->operation.len > y->operation.len) - (x->operation.len < y->operation.len);
}

/* rows of operations that share a service and a name (different kinds) merge */
static int finish_rows(struct tm_store_reader *rd, const struct row_acc *acc, size_t n_acc,
		       const struct tm_bottlenecks *b, double slow_total, struct tm_arena *arena,
		       struct tm_bottlenecks *out)
{
	out->rows = tm_arena_zalloc(arena, (n_acc + 1) * sizeof(*out->rows));
	if (!out->rows)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < n_acc; i++) {
		struct tm_name op, svc;
		int rc = tm_store_name(rd, acc[i].op, &op);
		if (!rc)
			rc = tm_store_name(rd, op.svc, &svc);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		struct tm_bottleneck_row *r = NULL;
		for (size_t j = 0; j < n && !r; j++)
			if (tm_str_eq(out->rows[j].service, svc.name) &&
			    tm_str_eq(out->rows[j].operation, op.name))
				r = &out->rows[j];
		if (!r) {
			r = &out->rows[n++];
			r->service = svc.name;
			r->operation = op.name;
			r->examples = tm_arena_zalloc(arena, MAX_EXAMPLES * TM_TRACE_ID_LEN);
			if (!r->examples)
				return -ENOMEM;
		}
		r->slow_mean_ns += b->slow_traces ? acc[i].slow_ns / (double)b->slow_traces : 0;
		r->typical_mean_ns +=
			b->typical_traces ? acc[i].typical_ns / (double)b->typical_traces : 0;
		r->share += slow_total > 0 ? acc[i].slow_ns / slow_total : 0;
		for (size_t k = 0; k < acc[i].n_ex && r->n_examples < MAX_EXAMPLES; k++)
			memcpy(r->examples[r->n_examples++], acc[i].ex_id[k], TM_TRACE_ID_LEN);
	}
	for (size_t i = 0; i < n; i++)
		out->rows[i].excess_ns = out->rows[i].slow_mean_ns - out->rows[i].typical_mean_ns;
	qsort(out->rows, n, sizeof(*out->rows), row_cmp);
	out->n_rows = n;
	return 0;
}

int tm_smap_bottlenecks(struct tm_store_reader *rd, const struct tm_bottleneck_query *q,
			struct tm_arena *arena, struct tm_bottlenecks *out)
{
	memset(out, 0, sizeof(*out));
	struct id_set svc, ops;
	int rc = search_resolve(rd, q->service, q->operation, arena, &svc, &ops);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	struct trace_map latest;
	trace_map_init(&latest, sizeof(struct profile));
	rc = read_profiles(rd, q->start_ns, q->end_ns, &latest);
	size_t n_sel = 0;
	uint64_t *durations = malloc((latest.n + 1) * sizeof(uint64_t));
	if (!rc && !durations)
		rc = -ENOMEM;
	for (size_t i = 0; i < latest.cap && !rc; i++) {
		const uint8_t *id;
		struct profile *p = trace_map_at(&latest, i, &id);
		int yes = 0;
		if (!p)
			continue;
		if (p->start >= q->start_ns && p->start <= q->end_ns)
			rc = selected(p, &svc, &ops, &yes);
		if (!yes) {
			p->len = 0;   /* not of this entry point */
			continue;
		}
		durations[n_sel++] = p->duration;
	}
	if (!rc && n_sel) {
		qsort(durations, n_sel, sizeof(uint64_t), u64_cmp);
		size_t rank = (n_sel * 9 + 9) / 10;   /* nearest rank of p90: ceil(0.9 n) */
		out->slow_threshold_ns = q->threshold_ns ? q->threshold_ns : durations[rank - 1];
	}
	struct row_acc *acc = NULL;
	size_t n_acc = 0, cap_acc = 0;
	double slow_total = 0;
	for (size_t pass = 0; pass < 2 && !rc && n_sel; pass++) {
		for (size_t i = 0; i < latest.cap && !rc; i++) {
			const uint8_t *id;
			struct profile *p = trace_map_at(&latest, i, &id);
			if (!p || !p->len)
				continue;
			p->slow = p->duration >= out->slow_threshold_ns;
			if (pass == 0) {
				out->slow_traces += p->slow;
				out->typical_traces += !p->slow;
			} else {
				rc = add_path(p, id, &acc, &n_acc, &cap_acc, &slow_total);
			}
		}
	}
	if (!rc)
		rc = finish_rows(rd, acc, n_acc, out, slow_total, arena, out);
	free(acc);
	free(durations);
	trace_map_free(&latest);
	return rc;
}
