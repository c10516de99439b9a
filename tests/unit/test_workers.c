/*
 * tests/unit/test_workers.c - the worker pool (core/workers.c) on a real libevent loop: jobs run
 * off the loop thread and complete on it in submission order per worker, the queue bound refuses
 * with SH_ERR_LIMIT, freeing runs every queued completion, the threads run at the configured
 * niceness above the loop's (so the loop wins a shared core), and the default size follows the
 * CPU affinity mask, not the machine's CPU count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/workers.c"

typedef struct probe {
    pthread_t loop_thread, work_thread;
    int work_nice, done_count;
    struct event_base *base;
    int *order, *order_n, id;
} probe;

static void probe_work(void *ud) {
    probe *p = ud;
    p->work_thread = pthread_self();
    errno = 0;
    p->work_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
}

static void probe_done(void *ud) {
    probe *p = ud;
    p->done_count++;
    if (p->order) p->order[(*p->order_n)++] = p->id;
    assert_true(pthread_equal(pthread_self(), p->loop_thread));
}

static void run_until(struct event_base *base, const int *counter, int want) {
    for (int i = 0; i < 5000 && *counter < want; i++) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static void job_runs_on_a_worker_and_completes_on_the_loop_at_the_configured_niceness(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    sh_workers *w = sh_workers_new(base, 2, 16, 7);
    assert_non_null(w);
    assert_int_equal(sh_workers_threads(w), 2);
    errno = 0;
    int loop_nice = getpriority(PRIO_PROCESS, 0);
    probe p = {.loop_thread = pthread_self(), .base = base};
    assert_int_equal(sh_workers_submit(w, probe_work, probe_done, &p), SH_OK);
    assert_int_equal(sh_workers_pending(w), 1);
    run_until(base, &p.done_count, 1);
    assert_int_equal(p.done_count, 1);
    assert_false(pthread_equal(p.work_thread, p.loop_thread));
    assert_int_equal(p.work_nice, loop_nice + 7 > 19 ? 19 : loop_nice + 7);
    errno = 0;
    assert_int_equal(getpriority(PRIO_PROCESS, 0), loop_nice); /* the loop's own niceness is untouched */
    assert_int_equal(sh_workers_pending(w), 0);
    sh_workers_free(w);
    event_base_free(base);
}

static void niceness_zero_keeps_workers_at_the_loops_priority(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    sh_workers *w = sh_workers_new(base, 1, 16, 0);
    assert_non_null(w);
    errno = 0;
    int loop_nice = getpriority(PRIO_PROCESS, 0);
    probe p = {.loop_thread = pthread_self(), .base = base};
    assert_int_equal(sh_workers_submit(w, probe_work, probe_done, &p), SH_OK);
    run_until(base, &p.done_count, 1);
    assert_int_equal(p.work_nice, loop_nice);
    sh_workers_free(w);
    event_base_free(base);
}

static void completions_of_one_worker_come_in_submission_order(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    sh_workers *w = sh_workers_new(base, 1, 100, 10);
    int order[50], n = 0, done = 0;
    probe ps[50];
    for (int i = 0; i < 50; i++) {
        ps[i] = (probe){.loop_thread = pthread_self(), .order = order, .order_n = &n, .id = i};
        assert_int_equal(sh_workers_submit(w, probe_work, probe_done, &ps[i]), SH_OK);
    }
    for (int k = 0; k < 5000 && n < 50; k++) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    assert_int_equal(n, 50);
    for (int i = 0; i < 50; i++) assert_int_equal(order[i], i), done += ps[i].done_count;
    assert_int_equal(done, 50);
    sh_workers_free(w);
    event_base_free(base);
}

static void slow_work(void *ud) {
    (void)ud;
    usleep(20000);
}
static void count_done(void *ud) { (*(int *)ud)++; }

static void a_full_queue_refuses_with_limit_and_free_runs_every_queued_completion(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    sh_workers *w = sh_workers_new(base, 1, 3, 10);
    int done = 0;
    for (int i = 0; i < 3; i++) assert_int_equal(sh_workers_submit(w, slow_work, count_done, &done), SH_OK);
    assert_int_equal(sh_workers_submit(w, slow_work, count_done, &done), SH_ERR_LIMIT);
    assert_int_equal(sh_workers_pending(w), 3);
    sh_workers_free(w); /* finishes the queue: every done callback runs, none is lost */
    assert_int_equal(done, 3);
    event_base_free(base);
}

static void default_size_follows_the_affinity_mask(void **state) {
    (void)state;
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    int expect = CPU_COUNT(&old) < 2 ? 2 : CPU_COUNT(&old);
    assert_int_equal(sh_workers_default_threads(), expect > 256 ? 256 : expect);
    /* pinned to one CPU (taskset -c N): still 2, so one long job never holds up every other */
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &old)) {
            CPU_SET(c, &one);
            break;
        }
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    int pinned = sh_workers_default_threads();
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
    assert_int_equal(pinned, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_runs_on_a_worker_and_completes_on_the_loop_at_the_configured_niceness),
        cmocka_unit_test(niceness_zero_keeps_workers_at_the_loops_priority),
        cmocka_unit_test(completions_of_one_worker_come_in_submission_order),
        cmocka_unit_test(a_full_queue_refuses_with_limit_and_free_runs_every_queued_completion),
        cmocka_unit_test(default_size_follows_the_affinity_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
