/* workers.c - FIFO job queue served by a fixed set of threads. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct tm_workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct tm_job *head, *tail;
	int stopping;
	unsigned n_threads;
	pthread_t threads[];
};

static void *worker_main(void *arg)
{
	struct tm_workers *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		struct tm_job *job = w->head;
		if (!job)
			break;
		w->head = job->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		job->run(job);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int tm_workers_start(unsigned n_threads, struct tm_workers **out)
{
	struct tm_workers *w = calloc(1, sizeof(*w) + n_threads * sizeof(pthread_t));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	for (; w->n_threads < n_threads; w->n_threads++) {
		int rc = pthread_create(&w->threads[w->n_threads], NULL, worker_main, w);
		if (rc) {
			tm_workers_stop(w);
			return -rc;
		}
	}
	*out = w;
	return 0;
}

void tm_workers_submit(struct tm_workers *w, struct tm_job *job)
{
	pthread_mutex_lock(&w->lock);
	job->next = NULL;
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void tm_workers_stop(struct tm_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}
