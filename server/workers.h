/* workers.h - a fixed pool of threads that run queued jobs in FIFO order.
 *
 * Decoding runs here rather than in libmicrohttpd's threads: MHD hands all
 * connections accepted in one burst to one of its threads, which would then
 * decode alone while the other cores idle.  A shared queue spreads the work
 * over every core whichever thread owns the connection.
 * Threads: submit from any thread.  Memory: a job is borrowed from submit
 * until its run function returns; the pool never frees it. */
#ifndef TM_WORKERS_H
#define TM_WORKERS_H

struct tm_job {
	void (*run)(struct tm_job *job);
	struct tm_job *next;   /* the pool's */
};

struct tm_workers;

int tm_workers_start(unsigned n_threads, struct tm_workers **out);
void tm_workers_submit(struct tm_workers *w, struct tm_job *job);
/* runs every job still queued, then joins the threads and frees w. */
void tm_workers_stop(struct tm_workers *w);

#endif
