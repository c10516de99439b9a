/*
 * workers.c - see workers.h. One mutex guards both queues; completions are signalled with one
 * byte on a pipe per batch (the loop drains every completed job on each wake-up).
 */
#include "core/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct job {
    sh_work_fn work;
    sh_done_fn done;
    void *ud;
    struct job *next;
} job;

struct sh_workers {
    struct event_base *base;
    pthread_t *threads;
    int nthreads;
    int queue_max;
    int nice;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    job *done_head, *done_tail;
    unsigned queued, running;
    int stopping;
    int pipefd[2];
    int signalled;
    struct event *ev;
};

static void *worker_main(void *arg) {
    sh_workers *w = arg;
    if (w->nice > 0) { /* relative to the process's niceness; failure only costs isolation */
        errno = 0;
        int base = getpriority(PRIO_PROCESS, 0);
        if (errno == 0) (void)setpriority(PRIO_PROCESS, (id_t)gettid(), base + w->nice > 19 ? 19 : base + w->nice);
    }
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head) break;
        job *j = w->head;
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        w->running++;
        pthread_mutex_unlock(&w->mu);
        if (j->work) j->work(j->ud);
        pthread_mutex_lock(&w->mu);
        w->running--;
        j->next = NULL;
        if (w->done_tail)
            w->done_tail->next = j;
        else
            w->done_head = j;
        w->done_tail = j;
        if (!w->signalled) {
            w->signalled = 1;
            char c = 1;
            ssize_t n = write(w->pipefd[1], &c, 1);
            (void)n;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void run_done(sh_workers *w) {
    pthread_mutex_lock(&w->mu);
    job *j = w->done_head;
    w->done_head = w->done_tail = NULL;
    w->signalled = 0;
    char buf[64];
    while (read(w->pipefd[0], buf, sizeof buf) > 0) {
    }
    pthread_mutex_unlock(&w->mu);
    while (j) {
        job *n = j->next;
        w->queued--;
        if (j->done) j->done(j->ud);
        free(j);
        j = n;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    run_done(arg);
}

int sh_workers_default_threads(void) {
    cpu_set_t set;
    long n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 2 ? 2 : n > 256 ? 256 : (int)n;
}

sh_workers *sh_workers_new(struct event_base *base, int threads, int queue_max, int nice) {
    sh_workers *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->base = base;
    w->nice = nice < 0 ? 0 : nice > 19 ? 19 : nice;
    w->queue_max = queue_max > 0 ? queue_max : 10000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pipe2(w->pipefd, O_NONBLOCK | O_CLOEXEC) < 0) goto fail;
    w->ev = event_new(base, w->pipefd[0], EV_READ | EV_PERSIST, on_wake, w);
    if (!w->ev || event_add(w->ev, NULL) < 0) goto fail;
    w->threads = calloc((size_t)threads, sizeof *w->threads);
    if (!w->threads) goto fail;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) goto fail;
        w->nthreads++;
    }
    return w;
fail:
    sh_workers_free(w);
    return NULL;
}

int sh_workers_submit(sh_workers *w, sh_work_fn work, sh_done_fn done, void *ud) {
    if ((int)w->queued >= w->queue_max) return SH_ERR_LIMIT;
    job *j = calloc(1, sizeof *j);
    if (!j) return SH_ERR_NOMEM;
    j->work = work;
    j->done = done;
    j->ud = ud;
    w->queued++;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return SH_OK;
}

unsigned sh_workers_pending(const sh_workers *w) { return w->queued; }
int sh_workers_threads(const sh_workers *w) { return w->nthreads; }

void sh_workers_free(sh_workers *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++) pthread_join(w->threads[i], NULL);
    if (w->pipefd[0] > 0) run_done(w);
    free(w->threads);
    if (w->ev) event_free(w->ev);
    if (w->pipefd[0] > 0) close(w->pipefd[0]);
    if (w->pipefd[1] > 0) close(w->pipefd[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
