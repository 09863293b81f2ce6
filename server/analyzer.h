/* analyzer.h - the thread that keeps the service map: it takes the span
 * records of every commit from the store's writer and runs the pairer of
 * analysis/servicemap.h a few times a second.
 * Threads: start and stop from the main thread.  Errors: negative errno.
 * Memory: the analyzer owns the pairer; the store must outlive it. */
#ifndef TM_ANALYZER_H
#define TM_ANALYZER_H

#include "servicemap.h"
#include "store.h"
#include "writer.h"

struct tm_analyzer;

/* replays what the store holds beyond the last flush, hooks into the
 * writer (tm_store_on_commit), and starts the thread.  Call before the
 * first write of this process. */
int tm_analyzer_start(struct tm_store *st, const struct tm_smap_options *opt,
		      struct tm_analyzer **out);

/* what a flush that found no room in the store calls before it is retried
 * (retention's tm_retention_make_room): the rollups wait in memory, and
 * grow, until they fit.  Any thread; fn NULL to stop asking. */
void tm_analyzer_on_full(struct tm_analyzer *a, tm_writer_room_fn fn, void *ctx);

/* the pairer, for queries of what it holds (tm_smap_pending); NULL for NULL */
struct tm_smap *tm_analyzer_smap(struct tm_analyzer *a);

/* stops the thread after a last flush (traces still waiting for their
 * pairing are left to the replay of the next start).  NULL is a no-op. */
void tm_analyzer_stop(struct tm_analyzer *a);

#endif
