/*
 * workers.h - the worker pool: run a job on a worker thread, then its completion on the loop.
 *
 * Jobs queue FIFO (bounded); `done` callbacks run on the loop thread, woken through a pipe
 * watched by libevent. The work function must touch only its own data. Thread: submit and free
 * on the loop; work functions on workers.
 */
#ifndef SH_CORE_WORKERS_H
#define SH_CORE_WORKERS_H

#include <event2/event.h>
#include <streamhub/streamhub.h>

typedef struct sh_workers sh_workers;

sh_workers *sh_workers_new(struct event_base *base, int threads, int queue_max);
/* SH_OK, or SH_ERR_LIMIT when the queue is full (nothing runs). */
int sh_workers_submit(sh_workers *w, sh_work_fn work, sh_done_fn done, void *ud);
/* Finish queued jobs (their done callbacks run), join the threads, free. */
void sh_workers_free(sh_workers *w);
unsigned sh_workers_pending(const sh_workers *w);
int sh_workers_threads(const sh_workers *w);

#endif
