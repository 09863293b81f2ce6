/* smap_totals.h - the pairer's per-edge totals since start (the service
 * graph counters of servicemap.h), kept beside its rollups.
 * Threads: add from the analysis thread, copy from any; one mutex.
 * Memory: the table owns its slots. */
#ifndef TM_SMAP_TOTALS_H
#define TM_SMAP_TOTALS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "smap_internal.h"

/* edges beyond this are not given a total (their calls are counted as
 * dropped): the table stays bounded whatever names clients invent */
#define SMAP_TOTALS_MAX_EDGES 65536u

struct smap_totals {
	pthread_mutex_t lock;
	struct tm_smap_edge_total *slots;   /* requests == 0: empty */
	size_t cap, n;
	uint64_t dropped;
};

void smap_totals_init(struct smap_totals *t);
void smap_totals_clear(struct smap_totals *t);

/* adds one call of a service edge observation; out of memory, it is
 * counted as dropped (self-metrics never fail the pairing) */
void smap_totals_add(struct smap_totals *t, const struct smap_obs *o);

int smap_totals_copy(struct smap_totals *t, struct tm_smap_edge_total **out, size_t *n,
		     uint64_t *dropped);

#endif
