/*
 * workers.h - the worker pool: run a job on a worker thread, then its completion on the loop.
 *
 * Jobs queue FIFO (bounded); `done` callbacks run on the loop thread, woken through a pipe
 * watched by libevent. The work function must touch only its own data. Thread: submit and free
 * on the loop; work functions on workers.
 *
 * Priority: worker threads run at `nice` (0-19) above the loop's niceness, so that when the loop
 * and a long job (a bcrypt hash, a thumbnail) want the same core, the loop wins most of it: the
 * latency of every request stays bounded while jobs use the CPU the loop leaves. Linux threads
 * have their own niceness (setpriority on the thread id); raising it needs no privilege.
 */
#ifndef SH_CORE_WORKERS_H
#define SH_CORE_WORKERS_H

#include <event2/event.h>
#include <streamhub/streamhub.h>

typedef struct sh_workers sh_workers;

sh_workers *sh_workers_new(struct event_base *base, int threads, int queue_max, int nice);
/* The default pool size: the CPUs this process may run on (its affinity mask, which taskset,
 * cgroups' cpusets and container limits set), at least 2, so that one long job never holds up
 * every other. */
int sh_workers_default_threads(void);
/* SH_OK, or SH_ERR_LIMIT when the queue is full (nothing runs). */
int sh_workers_submit(sh_workers *w, sh_work_fn work, sh_done_fn done, void *ud);
/* Finish queued jobs (their done callbacks run), join the threads, free. */
void sh_workers_free(sh_workers *w);
unsigned sh_workers_pending(const sh_workers *w);
int sh_workers_threads(const sh_workers *w);

#endif
