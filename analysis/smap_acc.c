/* smap_acc.c - rollup rows summed per (type, a, b): counts at once, the
 * latency histograms kept as the stored bytes they are, to be merged
 * only into the one histogram that wants them (smap_acc_merge_hist). */
#include "smap_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void smap_acc_init(struct smap_acc *acc)
{
	memset(acc, 0, sizeof(*acc));
}

void smap_acc_clear(struct smap_acc *acc)
{
	free(acc->sums);
	free(acc->slots);
	free(acc->hists);
	memset(acc, 0, sizeof(*acc));
}

static size_t sum_hash(uint8_t type, uint32_t a, uint32_t b)
{
	uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull + type;
	return (size_t)(h ^ (h >> 29));
}

static int rehash(struct smap_acc *acc)
{
	size_t n_slots = acc->n_slots ? acc->n_slots * 2 : 1024;
	uint32_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < acc->n; i++) {
		const struct smap_sum *x = &acc->sums[i];
		size_t j = sum_hash(x->type, x->a, x->b) & (n_slots - 1);
		while (slots[j])
			j = (j + 1) & (n_slots - 1);
		slots[j] = (uint32_t)i + 1;
	}
	free(acc->slots);
	acc->slots = slots;
	acc->n_slots = n_slots;
	return 0;
}

struct smap_sum *smap_acc_get(struct smap_acc *acc, uint8_t type, uint32_t a, uint32_t b)
{
	if ((acc->n + 1) * 2 > acc->n_slots && rehash(acc))
		return NULL;
	size_t j = sum_hash(type, a, b) & (acc->n_slots - 1);
	for (; acc->slots[j]; j = (j + 1) & (acc->n_slots - 1)) {
		struct smap_sum *x = &acc->sums[acc->slots[j] - 1];
		if (x->a == a && x->b == b && x->type == type)
			return x;
	}
	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 1024;
		struct smap_sum *p = realloc(acc->sums, cap * sizeof(*p));
		if (!p)
			return NULL;
		acc->sums = p;
		acc->cap = cap;
	}
	struct smap_sum *x = &acc->sums[acc->n];
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->a = a;
	x->b = b;
	x->last_hist = UINT32_MAX;
	acc->slots[j] = (uint32_t)++acc->n;
	return x;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* the histogram of a row joins its sum's chain (newest first) */
static int push_hist(struct smap_acc *acc, struct smap_sum *x, const unsigned char *p,
		     size_t len, const struct tm_hist_dense *dense)
{
	if (acc->n_hists == acc->cap_hists) {
		size_t cap = acc->cap_hists ? acc->cap_hists * 2 : 4096;
		struct smap_hist_ref *h = realloc(acc->hists, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		acc->hists = h;
		acc->cap_hists = cap;
	}
	if (len > UINT32_MAX || acc->n_hists >= UINT32_MAX)
		return -EBADMSG;
	acc->hists[acc->n_hists] = (struct smap_hist_ref){ p, dense, (uint32_t)len, x->last_hist };
	x->last_hist = (uint32_t)acc->n_hists++;
	return 0;
}

static struct smap_sum *add_counts(struct smap_acc *acc, const unsigned char *key,
				   const struct smap_value *v)
{
	struct smap_sum *x = smap_acc_get(acc, key[5], be32(key + 6), be32(key + 10));
	if (!x)
		return NULL;
	x->calls += v->calls;
	x->errors += v->errors;
	x->http4xx += v->http4xx;
	x->http5xx += v->http5xx;
	x->throttled += v->throttled;
	if (v->node_kind)
		x->node_kind = v->node_kind;
	return x;
}

int smap_acc_add(struct smap_acc *acc, const unsigned char *key, const struct smap_value *v)
{
	struct smap_sum *x = add_counts(acc, key, v);
	return x ? push_hist(acc, x, v->hist, v->hist_len, NULL) : -ENOMEM;
}

int smap_acc_add_dense(struct smap_acc *acc, const unsigned char *key, const struct smap_value *v,
		       const struct tm_hist_dense *d)
{
	struct smap_sum *x = add_counts(acc, key, v);
	return x ? push_hist(acc, x, NULL, 0, d) : -ENOMEM;
}

int smap_acc_add_row(struct smap_acc *acc, const unsigned char *key, const void *val,
		     size_t len)
{
	struct smap_value v;
	if (smap_value_decode(val, len, &v) < 0)
		return -EBADMSG;
	return smap_acc_add(acc, key, &v);
}

int smap_acc_merge_hist(const struct smap_acc *acc, const struct smap_sum *x, struct tm_hist *h)
{
	for (uint32_t i = x->last_hist; i != UINT32_MAX; i = acc->hists[i].prev) {
		const struct smap_hist_ref *r = &acc->hists[i];
		if (r->dense)
			tm_hist_merge_dense(h, r->dense);
		else if (tm_hist_merge_encoded(h, r->p, r->len))
			return -EBADMSG;
	}
	return 0;
}
