/*
 * log.h - the process log: one line per event, "2026-11-25T12:00:00.123Z LEVEL who: text".
 *
 * Written to a file (reopened on SIGHUP, for log rotation) or to stderr. Thread-safe: a line is
 * written with one write(2). Secrets must never be passed here (stream keys, tokens, passwords).
 */
#ifndef SH_CORE_LOG_H
#define SH_CORE_LOG_H

#include <stdarg.h>

enum { SH_LL_DEBUG = 0, SH_LL_INFO, SH_LL_WARN, SH_LL_ERROR };

/* path NULL or "-" = stderr. Returns 0, or -1 with errno when the file cannot be opened. */
int sh_log_open(const char *path, int min_level);
/* Reopen the file (after rotation). Safe to call from the loop after SIGHUP was seen. */
void sh_log_reopen(void);
void sh_log_set_level(int min_level);
int sh_log_level_from_name(const char *name); /* "debug".."error", -1 if unknown */
void sh_logf(int level, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sh_vlogf(int level, const char *who, const char *fmt, va_list ap);

#define SH_LOG_D(who, ...) sh_logf(SH_LL_DEBUG, who, __VA_ARGS__)
#define SH_LOG_I(who, ...) sh_logf(SH_LL_INFO, who, __VA_ARGS__)
#define SH_LOG_W(who, ...) sh_logf(SH_LL_WARN, who, __VA_ARGS__)
#define SH_LOG_E(who, ...) sh_logf(SH_LL_ERROR, who, __VA_ARGS__)

#endif
