/* writer.c - the single writer thread and its bounded queue. */
#define LOG_MODULE "writer"
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

/* a group commit stops growing here, so one commit never holds the lock
 * on a huge backlog for long and latency stays flat */
#define MAX_GROUP_BATCHES 256

/* a full store: how often room is made and the group retried, and how long
 * groups are refused without trying after that failed */
#define ROOM_RETRIES 4
#define FULL_HOLD_NS 1000000000ull

struct tm_writer {
	struct tm_store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct tm_write_req *head, *tail;
	size_t queued_bytes, max_queue_bytes;   /* queued_bytes includes reservations */
	unsigned reservations;
	int stopping;
	/* self-metrics: the counts under lock, the histograms lock-free */
	size_t queued_requests;
	uint64_t commits, failed_commits;
	int last_result;
	struct tm_mhist commit_seconds, group_batches, group_spans;
	/* room (under lock): */
	tm_writer_room_fn room_fn;
	void *room_ctx;
	const char *refusal;          /* the disk's watermark; NULL: none */
	int is_full;                  /* the last group found no room */
	uint64_t full_since_ns;
};

static const uint64_t group_batches_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
static const uint64_t group_spans_bounds[] = { 16, 64, 256, 1024, 4096, 16384, 65536, 262144 };

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* whether the group must be refused without trying to write it */
static int refuse_now(struct tm_writer *w)
{
	pthread_mutex_lock(&w->lock);
	int refuse = w->refusal || (w->is_full && mono_ns() - w->full_since_ns < FULL_HOLD_NS);
	pthread_mutex_unlock(&w->lock);
	return refuse;
}

static void note_result(struct tm_writer *w, int rc, size_t spans)
{
	pthread_mutex_lock(&w->lock);
	int was_full = w->is_full;
	if (rc == -ENOSPC) {
		w->is_full = 1;
		w->full_since_ns = mono_ns();
	} else if (!rc) {
		w->is_full = 0;
	}
	pthread_mutex_unlock(&w->lock);
	/* one line when the store fills and one when it takes spans again */
	if (rc == -ENOSPC && !was_full)
		LOG(TM_LOG_ERROR, "store full: refusing ingest (507) until room is made");
	else if (!rc && was_full)
		LOG(TM_LOG_INFO, "store has room again: taking spans");
	else if (rc && rc != -ENOSPC)
		LOG(TM_LOG_ERROR, "commit of %zu spans failed: %s", spans, tm_store_strerror(rc));
}

static size_t take_group(struct tm_writer *w, struct tm_write_req **group)
{
	size_t n = 0;
	while (w->head && n < MAX_GROUP_BATCHES) {
		group[n++] = w->head;
		w->head = w->head->next;
	}
	w->queued_requests -= n;
	if (!w->head)
		w->tail = NULL;
	return n;
}

/* writes the batches in one commit; makes room first when they may not
 * fit, and again when the commit found no room */
static int write_making_room(struct tm_writer *w, struct tm_batch **batches, size_t n,
			     size_t bytes)
{
	if (refuse_now(w))
		return -ENOSPC;
	if (w->room_fn && w->room_fn(w->room_ctx, bytes, 0) == -ENOSPC)
		return -ENOSPC;
	int rc = tm_store_write(w->store, batches, n);
	for (int i = 0; rc == -ENOSPC && w->room_fn && i < ROOM_RETRIES; i++) {
		if (w->room_fn(w->room_ctx, bytes, 1) <= 0)
			break;
		rc = tm_store_write(w->store, batches, n);
	}
	return rc;
}

static void commit_group(struct tm_writer *w, struct tm_write_req **group, size_t n)
{
	struct tm_batch *batches[MAX_GROUP_BATCHES];
	int results[MAX_GROUP_BATCHES];
	size_t bytes = 0, spans = 0;
	for (size_t i = 0; i < n; i++) {
		batches[i] = group[i]->batch;
		bytes += group[i]->bytes;
		spans += group[i]->batch->n_spans;
	}
	uint64_t t0 = mono_ns();
	int rc = write_making_room(w, batches, n, bytes);
	for (size_t i = 0; i < n; i++)
		results[i] = rc;
	/* a group too big for the room left: each batch alone may still fit */
	for (size_t i = 0; rc == -ENOSPC && n > 1 && i < n; i++)
		results[i] = write_making_room(w, &batches[i], 1, group[i]->bytes);
	tm_mhist_observe(&w->commit_seconds, mono_ns() - t0);
	tm_mhist_observe(&w->group_batches, n);
	tm_mhist_observe(&w->group_spans, spans);
	note_result(w, n > 1 && rc == -ENOSPC ? results[n - 1] : rc, spans);
	pthread_mutex_lock(&w->lock);
	w->queued_bytes -= bytes;
	w->commits++;
	w->failed_commits += rc != 0;
	w->last_result = rc;
	pthread_mutex_unlock(&w->lock);
	/* only now, with the commit durable, may the clients hear "ok" */
	for (size_t i = 0; i < n; i++)
		group[i]->done(group[i], results[i]);
}

static void *writer_main(void *arg)
{
	struct tm_writer *w = arg;
	struct tm_write_req *group[MAX_GROUP_BATCHES];
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !(w->stopping && !w->reservations))
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->head)
			break;   /* stopping, and nothing queued or promised */
		size_t n = take_group(w, group);
		pthread_mutex_unlock(&w->lock);
		commit_group(w, group, n);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int tm_writer_start(struct tm_store *store, size_t max_queue_bytes, struct tm_writer **out)
{
	struct tm_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->store = store;
	w->max_queue_bytes = max_queue_bytes;
	tm_mhist_init(&w->commit_seconds, tm_mhist_duration_ns, TM_MHIST_DURATION_N, 1e-9);
	tm_mhist_init(&w->group_batches, group_batches_bounds, 9, 1);
	tm_mhist_init(&w->group_spans, group_spans_bounds, 8, 1);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

int tm_writer_reserve(struct tm_writer *w, size_t bytes)
{
	pthread_mutex_lock(&w->lock);
	int rc = 0;
	if (w->stopping)
		rc = -ESHUTDOWN;
	/* an empty queue takes any single request, however large, so that a
	 * body under --max-body is never refused for its size alone */
	else if (w->queued_bytes && w->queued_bytes + bytes > w->max_queue_bytes)
		rc = -EAGAIN;
	if (!rc) {
		w->queued_bytes += bytes;
		w->reservations++;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void tm_writer_submit(struct tm_writer *w, struct tm_write_req *req)
{
	pthread_mutex_lock(&w->lock);
	req->next = NULL;
	if (w->tail)
		w->tail->next = req;
	else
		w->head = req;
	w->tail = req;
	w->reservations--;
	w->queued_requests++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void tm_writer_get_stats(struct tm_writer *w, struct tm_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	out->queued_bytes = w->queued_bytes;
	out->max_queue_bytes = w->max_queue_bytes;
	out->queued_requests = w->queued_requests + w->reservations;
	out->commits = w->commits;
	out->failed_commits = w->failed_commits;
	out->last_result = w->last_result;
	out->stopping = w->stopping;
	pthread_mutex_unlock(&w->lock);
	out->commit_seconds = &w->commit_seconds;
	out->group_batches = &w->group_batches;
	out->group_spans = &w->group_spans;
}

void tm_writer_stop(struct tm_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

void tm_writer_on_full(struct tm_writer *w, tm_writer_room_fn fn, void *ctx)
{
	pthread_mutex_lock(&w->lock);
	w->room_fn = fn;
	w->room_ctx = ctx;
	pthread_mutex_unlock(&w->lock);
}

void tm_writer_room_made(struct tm_writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->full_since_ns = 0;   /* try the next group; it tells whether room suffices */
	pthread_mutex_unlock(&w->lock);
}

void tm_writer_set_refusal(struct tm_writer *w, const char *reason)
{
	pthread_mutex_lock(&w->lock);
	w->refusal = reason;
	pthread_mutex_unlock(&w->lock);
}

int tm_writer_refusing(struct tm_writer *w, const char **why)
{
	pthread_mutex_lock(&w->lock);
	const char *r = w->refusal ? w->refusal : w->is_full ? "store full" : NULL;
	pthread_mutex_unlock(&w->lock);
	if (why)
		*why = r;
	return r != NULL;
}
