/* retention.h - the thread that keeps the store within its age and size
 * bounds.
 *
 * Every second (every few milliseconds while it has work) it reads the test
 * clock file, measures the store and the disk, and takes one step: while the
 * store is above its high watermark it evicts the oldest traces, else it
 * deletes traces older than the retention.  A step is one short write
 * transaction of a few hundred pieces, so the writer's group commits
 * interleave with them.  It tells the writer to refuse ingest while the disk
 * is below --min-free-disk and eviction cannot help, and makes room for the
 * writer when a commit finds the store full (tm_retention_make_room).
 * Threads: its own; tm_retention_make_room on the writer's; status from any.
 * Memory: borrows the store and the writer, which must outlive it. */
#ifndef TM_RETENTION_H
#define TM_RETENTION_H

#include <stdint.h>

#include "store.h"
#include "writer.h"

struct tm_retention_options {
	const char *data_dir;           /* measured with statvfs */
	uint64_t retention_ns;          /* 0: no deletion by age */
	uint64_t max_size_bytes;        /* 0: the disk is the bound */
	uint64_t min_free_disk_bytes;
	int size_eviction;              /* 0: never delete for room */
	uint64_t clock_offset_ns;       /* added to the store's now */
	const char *clock_offset_file;  /* NULL: none */
};

struct tm_retention;

int tm_retention_start(struct tm_store *st, struct tm_writer *w,
		       const struct tm_retention_options *opt, struct tm_retention **out);
/* stops the thread and frees r; call after tm_writer_stop(). NULL is a no-op */
void tm_retention_stop(struct tm_retention *r);

/* a tm_writer_room_fn: evicts the oldest traces (when size eviction is on)
 * until need_bytes more fit under the low watermark, a bounded number of
 * steps, and at least two steps when failed; returns the traces deleted,
 * or -ENOSPC when the commit would not fit below the high watermark */
int64_t tm_retention_make_room(void *retention, uint64_t need_bytes, int failed);

/* the last measurement, for /metrics */
struct tm_retention_status {
	struct tm_store_space space;
	struct tm_space_plan plan;
	uint64_t disk_free_bytes;
	uint64_t clock_offset_ns;
};
void tm_retention_status(struct tm_retention *r, struct tm_retention_status *out);

#endif
