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
};

static const uint64_t group_batches_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
static const uint64_t group_spans_bounds[] = { 16, 64, 256, 1024, 4096, 16384, 65536, 262144 };

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

static void commit_group(struct tm_writer *w, struct tm_write_req **group, size_t n)
{
	struct tm_batch *batches[MAX_GROUP_BATCHES];
	size_t bytes = 0, spans = 0;
	for (size_t i = 0; i < n; i++) {
		batches[i] = group[i]->batch;
		bytes += group[i]->bytes;
		spans += group[i]->batch->n_spans;
	}
	uint64_t t0 = mono_ns();
	int rc = tm_store_write(w->store, batches, n);
	tm_mhist_observe(&w->commit_seconds, mono_ns() - t0);
	tm_mhist_observe(&w->group_batches, n);
	tm_mhist_observe(&w->group_spans, spans);
	if (rc)
		LOG(TM_LOG_ERROR, "commit of %zu batches (%zu spans) failed: %s", n, spans,
		    tm_store_strerror(rc));
	pthread_mutex_lock(&w->lock);
	w->queued_bytes -= bytes;
	w->commits++;
	w->failed_commits += rc != 0;
	w->last_result = rc;
	pthread_mutex_unlock(&w->lock);
	/* only now, with the commit durable, may the clients hear "ok" */
	for (size_t i = 0; i < n; i++)
		group[i]->done(group[i], rc);
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
