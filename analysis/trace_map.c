/* trace_map.c - open addressing on trace IDs (already uniformly random). */
#include "trace_map.h"

#include <stdlib.h>
#include <string.h>

/* slot: used[1] trace_id[16] pad, then the value, 8-byte aligned */
#define SLOT_HEADER 24

void trace_map_init(struct trace_map *m, size_t val_size)
{
	memset(m, 0, sizeof(*m));
	m->val_size = val_size;
	m->slot_size = SLOT_HEADER + ((val_size + 7) & ~(size_t)7);
}

void trace_map_free(struct trace_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static size_t slot_index(const uint8_t *id, size_t cap)
{
	uint64_t h;
	memcpy(&h, id + 8, 8);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static unsigned char *find_slot(unsigned char *slots, size_t cap, size_t slot_size,
				const uint8_t *id)
{
	for (size_t i = slot_index(id, cap);; i = (i + 1) & (cap - 1)) {
		unsigned char *s = slots + i * slot_size;
		if (!s[0] || !memcmp(s + 1, id, TM_TRACE_ID_LEN))
			return s;
	}
}

static int grow(struct trace_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	unsigned char *slots = calloc(cap, m->slot_size);
	if (!slots)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		unsigned char *s = m->slots + i * m->slot_size;
		if (s[0])
			memcpy(find_slot(slots, cap, m->slot_size, s + 1), s, m->slot_size);
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

void *trace_map_get(struct trace_map *m, const uint8_t trace_id[TM_TRACE_ID_LEN],
		    int *created)
{
	*created = 0;
	if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return NULL;
	unsigned char *s = find_slot(m->slots, m->cap, m->slot_size, trace_id);
	if (!s[0]) {
		s[0] = 1;
		memcpy(s + 1, trace_id, TM_TRACE_ID_LEN);
		/* a slot emptied by trace_map_del() keeps its old bytes */
		memset(s + SLOT_HEADER, 0, m->slot_size - SLOT_HEADER);
		m->n++;
		*created = 1;
	}
	return s + SLOT_HEADER;
}

void *trace_map_find(struct trace_map *m, const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	if (!m->cap)
		return NULL;
	unsigned char *s = find_slot(m->slots, m->cap, m->slot_size, trace_id);
	return s[0] ? s + SLOT_HEADER : NULL;
}

void *trace_map_at(struct trace_map *m, size_t i, const uint8_t **trace_id)
{
	unsigned char *s = m->slots + i * m->slot_size;
	if (!s[0])
		return NULL;
	*trace_id = s + 1;
	return s + SLOT_HEADER;
}

/* linear probing with backward-shift deletion: no tombstones to pile up in a
 * map that lives as long as the server */
void trace_map_del(struct trace_map *m, const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	if (!m->cap)
		return;
	unsigned char *s = find_slot(m->slots, m->cap, m->slot_size, trace_id);
	if (!s[0])
		return;
	size_t hole = (size_t)(s - m->slots) / m->slot_size;
	for (size_t i = (hole + 1) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		unsigned char *c = m->slots + i * m->slot_size;
		if (!c[0])
			break;
		size_t home = slot_index(c + 1, m->cap);
		/* c may fill the hole when its home is not in (hole, i] */
		int between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
		if (between)
			continue;
		memcpy(m->slots + hole * m->slot_size, c, m->slot_size);
		hole = i;
	}
	m->slots[hole * m->slot_size] = 0;
	m->n--;
}
