/* trace_map.h - a hash map from trace ID to a fixed-size value, for
 * gathering what many index rows say about each trace.
 * Threads: one owner.  Errors: -ENOMEM.  Memory: the map owns its slots
 * (malloc); values move when it grows, so pointers are valid until the
 * next insertion. */
#ifndef TM_TRACE_MAP_H
#define TM_TRACE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct trace_map {
	unsigned char *slots;
	size_t cap, n, val_size, slot_size;
};

void trace_map_init(struct trace_map *m, size_t val_size);
void trace_map_free(struct trace_map *m);

/* the value of trace_id, created zero-filled when absent (*created = 1);
 * NULL when memory runs out */
void *trace_map_get(struct trace_map *m, const uint8_t trace_id[TM_TRACE_ID_LEN],
		    int *created);

/* the value of trace_id, or NULL when absent */
void *trace_map_find(struct trace_map *m, const uint8_t trace_id[TM_TRACE_ID_LEN]);

/* removes trace_id (values of other traces may move) */
void trace_map_del(struct trace_map *m, const uint8_t trace_id[TM_TRACE_ID_LEN]);

/* iteration: for (size_t i = 0; i < m->cap; i++) if ((v = trace_map_at(m, i, &id))) */
void *trace_map_at(struct trace_map *m, size_t i, const uint8_t **trace_id);

#endif
