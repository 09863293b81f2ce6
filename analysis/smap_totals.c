/* smap_totals.c - per-edge totals since start, for Tempo's service-graph
 * counters and histograms. */
#include "smap_totals.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *tm_smap_conn_name(enum tm_smap_conn c)
{
	static const char *const names[] = { "", "messaging_system", "database", "virtual_node" };
	return c <= TM_SMAP_CONN_VIRTUAL ? names[c] : "";
}

uint64_t tm_smap_seconds_bound_ns(unsigned i)
{
	return 100000000ull << i;
}

void smap_totals_init(struct smap_totals *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void smap_totals_clear(struct smap_totals *t)
{
	free(t->slots);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
}

static size_t slot_of(const struct tm_smap_edge_total *slots, size_t cap, uint32_t a,
		      uint32_t b, uint8_t conn)
{
	uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull ^ conn;
	size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
	while (slots[i].requests &&
	       (slots[i].client != a || slots[i].server != b || slots[i].conn != conn))
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct smap_totals *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct tm_smap_edge_total *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct tm_smap_edge_total *e = &t->slots[i];
		if (e->requests)
			slots[slot_of(slots, cap, e->client, e->server, e->conn)] = *e;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

static void seconds_add(struct tm_smap_seconds *s, uint64_t ns)
{
	unsigned i = 0;
	while (i < TM_SMAP_SECONDS_BUCKETS && ns > tm_smap_seconds_bound_ns(i))
		i++;
	s->counts[i]++;
	s->sum_ns += ns;
}

void smap_totals_add(struct smap_totals *t, const struct smap_obs *o)
{
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	if ((t->n + 1) * 2 > t->cap && t->n < SMAP_TOTALS_MAX_EDGES)
		rc = grow(t);
	struct tm_smap_edge_total *e = NULL;
	if (!rc) {
		e = &t->slots[slot_of(t->slots, t->cap, o->a, o->b, o->conn)];
		if (!e->requests && t->n >= SMAP_TOTALS_MAX_EDGES) {
			t->dropped++;
			e = NULL;
		} else if (!e->requests) {
			e->client = o->a;
			e->server = o->b;
			e->conn = o->conn;
			t->n++;
		}
	} else {
		t->dropped++;
	}
	if (e) {
		e->requests++;
		e->failed += o->failed;
		seconds_add(&e->client_s, o->latency_ns);
		seconds_add(&e->server_s, o->server_ns);
	}
	pthread_mutex_unlock(&t->lock);
}

int smap_totals_copy(struct smap_totals *t, struct tm_smap_edge_total **out, size_t *n,
		     uint64_t *dropped)
{
	pthread_mutex_lock(&t->lock);
	struct tm_smap_edge_total *v = malloc((t->n + 1) * sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < t->cap; i++)
		if (t->slots[i].requests)
			v[k++] = t->slots[i];
	*dropped = t->dropped;
	pthread_mutex_unlock(&t->lock);
	*out = v;
	*n = k;
	return v ? 0 : -ENOMEM;
}

int tm_smap_node_name(struct tm_store_reader *rd, uint32_t id, struct tm_str *out)
{
	if (!id) {
		*out = tm_str_from("user");
		return 0;
	}
	struct tm_name nm;
	int rc = tm_store_name(rd, id, &nm);
	if (!rc)
		*out = nm.name;
	return rc;
}
