/* retention.c - the retention thread: age, size and disk bounds. */
#define LOG_MODULE "retention"
#include "retention.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "config.h"
#include "log.h"

#define IDLE_MS 1000
/* between two steps of a backlog: room for the writer's commits */
#define BUSY_MS 5
/* what one call from the writer may delete: bounded, it stalls ingest */
#define MAKE_ROOM_STEPS 64
/* steps after a commit found no room are smaller: the store is full, and
 * deleting needs pages too */
#define EVICT_PIECES 64

static const char LOW_DISK[] = "free disk below --min-free-disk";

struct tm_retention {
	struct tm_store *st;
	struct tm_writer *w;
	struct tm_retention_options opt;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	struct tm_retention_status status;   /* under lock */
	int failing;                         /* retention thread only */
	int evicting;                        /* from the high watermark to the low one */
};

static uint64_t read_clock_file(struct tm_retention *r)
{
	uint64_t offset = r->opt.clock_offset_ns;
	FILE *f = r->opt.clock_offset_file ? fopen(r->opt.clock_offset_file, "r") : NULL;
	if (f) {
		char buf[64] = "", err[160];
		int64_t ns;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, " \t\r\n")] = 0;
			if (tm_config_duration(buf, &ns, err, sizeof(err)) == 0)
				offset = (uint64_t)ns;
		}
		fclose(f);
	}
	tm_store_set_clock_offset(r->st, offset);
	return offset;
}

/* measures the store and the disk; 0 or an error */
static int measure(struct tm_retention *r, struct tm_retention_status *s)
{
	memset(s, 0, sizeof(*s));
	int rc = tm_store_space(r->st, &s->space);
	if (rc)
		return rc;
	struct statvfs vfs;
	s->disk_free_bytes = statvfs(r->opt.data_dir, &vfs) == 0
				     ? (uint64_t)vfs.f_bavail * vfs.f_frsize : UINT64_MAX;
	struct tm_space_input in = { s->space.used_bytes, s->space.file_bytes,
				     r->opt.max_size_bytes, s->disk_free_bytes,
				     r->opt.min_free_disk_bytes };
	tm_space_plan(&in, &s->plan);
	return 0;
}

static int step(struct tm_retention *r, int evict, size_t pieces,
		struct tm_retention_result *res)
{
	uint64_t now = tm_store_now(r->st);
	struct tm_retention_req req = {
		.evict = evict,
		.max_pieces = pieces,
		.cutoff_ns = now > r->opt.retention_ns ? now - r->opt.retention_ns : 0,
	};
	int rc = tm_store_retention_step(r->st, &req, res);
	/* deleting writes pages too: in a store too full for a step of the
	 * usual size, smaller steps still fit */
	for (req.max_pieces = 16; rc == -ENOSPC && req.max_pieces >= 1; req.max_pieces /= 4)
		rc = tm_store_retention_step(r->st, &req, res);
	return rc;
}

static void log_failure(struct tm_retention *r, int rc)
{
	/* one line when it starts failing and one when it recovers */
	if (rc && !r->failing)
		LOG(TM_LOG_ERROR, "deleting old traces: %s (will retry)", tm_store_strerror(rc));
	else if (!rc && r->failing)
		LOG(TM_LOG_INFO, "deleting old traces again");
	r->failing = rc != 0;
}

/* one round; returns whether work is left for right away */
static int tick(struct tm_retention *r)
{
	uint64_t offset = read_clock_file(r);
	struct tm_retention_status s;
	int rc = measure(r, &s);
	struct tm_retention_result res = { 0 };
	/* from above the high watermark down to the low one: the writer then
	 * seldom has to make room itself */
	r->evicting = !rc && r->opt.size_eviction &&
		      (s.plan.evict || (r->evicting && s.space.used_bytes > s.plan.low_bytes));
	int evict = r->evicting;
	if (!rc && (evict || r->opt.retention_ns))
		rc = step(r, evict, 0, &res);
	log_failure(r, rc);
	if (res.traces)
		LOG(TM_LOG_DEBUG, "deleted %llu traces (%llu spans) %s",
		    (unsigned long long)res.traces, (unsigned long long)res.spans,
		    evict ? "for room" : "by age");
	if (res.pieces)
		tm_writer_room_made(r->w);
	/* refuse only what eviction cannot make room for */
	tm_writer_set_refusal(r->w, s.plan.low_disk && !res.pieces ? LOW_DISK : NULL);
	s.clock_offset_ns = offset;
	pthread_mutex_lock(&r->lock);
	r->status = s;
	pthread_mutex_unlock(&r->lock);
	return !rc && res.pieces && (res.more || evict);
}

static void *run(void *arg)
{
	struct tm_retention *r = arg;
	int busy = 0;
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		long ms = busy ? BUSY_MS : IDLE_MS;
		until.tv_sec += ms / 1000;
		until.tv_nsec += (ms % 1000) * 1000000l;
		if (until.tv_nsec >= 1000000000l) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000l;
		}
		pthread_cond_timedwait(&r->wake, &r->lock, &until);
		if (r->stopping)
			break;
		pthread_mutex_unlock(&r->lock);
		busy = tick(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int64_t tm_retention_make_room(void *arg, uint64_t need_bytes, int failed)
{
	struct tm_retention *r = arg;
	/* what a commit takes: the stored spans and index rows (about the
	 * request bytes), copies of the pages it changes, and pages freed by
	 * the last commits that LMDB cannot reuse yet */
	need_bytes = 2 * need_bytes + (256u << 10);
	int64_t traces = 0;
	struct tm_retention_status s;
	for (int i = 0; i < MAKE_ROOM_STEPS; i++) {
		if (measure(r, &s))
			return traces;
		/* past the high watermark, down to the low one: room for a few
		 * commits more, and for the pages the deletions write */
		uint64_t mark = i ? s.plan.low_bytes : s.plan.high_bytes;
		int needed = s.space.used_bytes + need_bytes > mark;
		/* a failed commit proves the need for two steps: LMDB reuses the
		 * pages a commit frees only from the commit after next on */
		if (!r->opt.size_eviction || (!needed && !(failed && i < 2)))
			break;
		struct tm_retention_result res;
		if (step(r, 1, failed ? EVICT_PIECES : 0, &res) || !res.pieces)
			break;
		traces += (int64_t)res.traces;
	}
	if (traces)
		tm_writer_room_made(r->w);
	/* what is left below the high watermark is for deleting: a store that
	 * fills it could never delete again */
	if (!failed && !traces && s.space.used_bytes + need_bytes > s.plan.high_bytes)
		return -ENOSPC;
	return traces;
}

int tm_retention_start(struct tm_store *st, struct tm_writer *w,
		       const struct tm_retention_options *opt, struct tm_retention **out)
{
	*out = NULL;
	struct tm_retention *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->st = st;
	r->w = w;
	r->opt = *opt;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	read_clock_file(r);   /* before the first commit of this run */
	int rc = pthread_create(&r->thread, NULL, run, r);
	if (rc) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r);
		return -rc;
	}
	tm_writer_on_full(w, tm_retention_make_room, r);
	*out = r;
	return 0;
}

void tm_retention_stop(struct tm_retention *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void tm_retention_status(struct tm_retention *r, struct tm_retention_status *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->status;
	pthread_mutex_unlock(&r->lock);
}
