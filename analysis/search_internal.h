/* search_internal.h - what search.c and slow_traces.c share. */
#ifndef TM_SEARCH_INTERNAL_H
#define TM_SEARCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "search.h"
#include "span_match.h"

/* a small set of name ids (services or operations), sorted */
struct id_set {
	uint32_t *ids;
	size_t n;
};

int id_set_has(const struct id_set *s, uint32_t id);

/* the minute of a time, clamped to the index's 32-bit minutes */
uint32_t search_minute(uint64_t ns);

/* resolves a service name (empty: none) to its id and an operation name
 * (empty: none) to the ids it has under that service, or under every
 * service when no service is given.  -ESRCH when the service was never
 * seen, -ENOENT when the operation was not (nothing can match). */
int search_resolve(struct tm_store_reader *rd, struct tm_str service, struct tm_str operation,
		   struct tm_arena *arena, struct id_set *svc, struct id_set *ops);

static inline struct tm_str search_span_service(const struct tm_span *s)
{
	return tm_span_service(s);
}

#endif
