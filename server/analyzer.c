/* analyzer.c - the service-map thread. */
#define LOG_MODULE "smap"
#include "analyzer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define STEP_MS 200
/* what a flush asks room for: the rows of a few minutes of a large map */
#define FLUSH_ROOM_BYTES (512u << 10)

struct tm_analyzer {
	struct tm_store *st;
	struct tm_smap *smap;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	tm_writer_room_fn room_fn;   /* under lock */
	void *room_ctx;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* the flush stays pending on failure: a full store gets room made for it,
 * or it would stay full for rollups while retention sees room for spans */
static int step_making_room(struct tm_analyzer *a, int force_flush)
{
	int rc = tm_smap_step(a->smap, wall_ns(), force_flush);
	pthread_mutex_lock(&a->lock);
	tm_writer_room_fn fn = a->room_fn;
	void *ctx = a->room_ctx;
	pthread_mutex_unlock(&a->lock);
	if (rc == -ENOSPC && fn && fn(ctx, FLUSH_ROOM_BYTES, 1) > 0)
		rc = tm_smap_step(a->smap, wall_ns(), 1);
	return rc;
}

static void *run(void *arg)
{
	struct tm_analyzer *a = arg;
	int failing = 0;
	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += STEP_MS * 1000000l;
		if (until.tv_nsec >= 1000000000l) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000l;
		}
		pthread_cond_timedwait(&a->wake, &a->lock, &until);
		if (a->stopping)
			break;
		pthread_mutex_unlock(&a->lock);
		int rc = step_making_room(a, 0);
		/* one line when it starts failing and one when it recovers */
		if (rc && !failing)
			LOG(TM_LOG_ERROR, "service map: %s (will retry)", tm_store_strerror(rc));
		else if (!rc && failing)
			LOG(TM_LOG_INFO, "service map: writing again");
		failing = rc != 0;
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	int rc = step_making_room(a, 1);
	if (rc)
		LOG(TM_LOG_ERROR, "service map: last flush: %s", tm_store_strerror(rc));
	return NULL;
}

int tm_analyzer_start(struct tm_store *st, const struct tm_smap_options *opt,
		      struct tm_analyzer **out)
{
	*out = NULL;
	struct tm_analyzer *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->st = st;
	int rc = tm_smap_new(st, opt, &a->smap);
	if (!rc)
		rc = tm_smap_recover(a->smap);
	if (rc) {
		tm_smap_free(a->smap);
		free(a);
		return rc;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	tm_store_on_commit(st, tm_smap_offer, a->smap);
	rc = pthread_create(&a->thread, NULL, run, a);
	if (rc) {
		tm_store_on_commit(st, NULL, NULL);
		tm_smap_free(a->smap);
		free(a);
		return -rc;
	}
	*out = a;
	return 0;
}

void tm_analyzer_stop(struct tm_analyzer *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	tm_store_on_commit(a->st, NULL, NULL);
	tm_smap_free(a->smap);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void tm_analyzer_on_full(struct tm_analyzer *a, tm_writer_room_fn fn, void *ctx)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->room_fn = fn;
	a->room_ctx = ctx;
	pthread_mutex_unlock(&a->lock);
}

struct tm_smap *tm_analyzer_smap(struct tm_analyzer *a)
{
	return a ? a->smap : NULL;
}
