/*
 * log.c - the process log (see log.h). A line is formatted into a stack buffer and written with
 * one write(2), so lines from worker threads never interleave. The file descriptor is swapped
 * atomically on reopen.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_fd = 2;
static atomic_int log_min = SH_LL_INFO;
static char log_path[4096];

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int sh_log_open(const char *path, int min_level) {
    atomic_store(&log_min, min_level);
    if (!path || !*path || strcmp(path, "-") == 0) {
        log_path[0] = '\0';
        atomic_store(&log_fd, 2);
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    snprintf(log_path, sizeof log_path, "%s", path);
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    return 0;
}

void sh_log_reopen(void) {
    if (!log_path[0])
        return;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return;
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
}

void sh_log_set_level(int min_level) { atomic_store(&log_min, min_level); }

int sh_log_level_from_name(const char *name) {
    for (int i = 0; i < 4; i++)
        if (name && strcasecmp(name, level_names[i]) == 0)
            return i;
    if (name && strcasecmp(name, "warning") == 0)
        return SH_LL_WARN;
    return -1;
}

void sh_vlogf(int level, const char *who, const char *fmt, va_list ap) {
    if (level < atomic_load(&log_min))
        return;
    if (level < 0 || level > SH_LL_ERROR)
        level = SH_LL_ERROR;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
                     level_names[level], who ? who : "core");
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    /* one event, one line: replace embedded newlines */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w;
    do {
        w = write(atomic_load(&log_fd), line, len);
    } while (w < 0 && errno == EINTR);
}

void sh_logf(int level, const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sh_vlogf(level, who, fmt, ap);
    va_end(ap);
}
