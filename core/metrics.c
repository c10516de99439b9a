/*
 * metrics.c - see metrics.h. Metrics are kept in one list sorted by name at render time; there
 * are at most a few thousand (per-stream gauges included), so lookups are linear.
 */
#include "core/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof buckets / sizeof *buckets)

struct sh_metric {
    sh_metrics *reg;
    sh_metric_type type;
    char *name, *help, *labels;
    double value;
    double sum;
    unsigned long long count, bucket[NBUCKETS];
    struct sh_metric *next;
};

struct sh_metrics {
    sh_metric *head;
};

sh_metrics *sh_metrics_new(void) { return calloc(1, sizeof(sh_metrics)); }

static void metric_destroy(sh_metric *m) {
    free(m->name);
    free(m->help);
    free(m->labels);
    free(m);
}

void sh_metrics_free(sh_metrics *reg) {
    if (!reg) return;
    for (sh_metric *m = reg->head, *n; m; m = n) {
        n = m->next;
        metric_destroy(m);
    }
    free(reg);
}

static int valid_name(const char *s) {
    if (!s || !*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
            return 0;
    return 1;
}

sh_metric *sh_metrics_get(sh_metrics *reg, sh_metric_type type, const char *name, const char *help,
                          const char *labels) {
    if (!reg || !valid_name(name) || type < SH_METRIC_COUNTER || type > SH_METRIC_HISTOGRAM) return NULL;
    if (!labels) labels = "";
    for (sh_metric *m = reg->head; m; m = m->next) {
        if (strcmp(m->name, name) != 0) continue;
        if (m->type != type) return NULL;
        if (strcmp(m->labels, labels) == 0) return m;
    }
    sh_metric *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->reg = reg;
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    m->labels = strdup(labels);
    if (!m->name || !m->help || !m->labels) {
        metric_destroy(m);
        return NULL;
    }
    m->next = reg->head;
    reg->head = m;
    return m;
}

void sh_metric_add(sh_metric *m, double v) {
    if (m && m->type != SH_METRIC_HISTOGRAM) m->value += v;
}
void sh_metric_set(sh_metric *m, double v) {
    if (m && m->type == SH_METRIC_GAUGE) m->value = v;
}
void sh_metric_observe(sh_metric *m, double v) {
    if (!m || m->type != SH_METRIC_HISTOGRAM) return;
    m->sum += v;
    m->count++;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (v <= buckets[i]) m->bucket[i]++;
}
double sh_metric_value(const sh_metric *m) { return m ? m->value : 0; }

void sh_metric_free(sh_metric *m) {
    if (!m) return;
    for (sh_metric **pp = &m->reg->head; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    metric_destroy(m);
}

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->buf && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap + (size_t)n + 1) * 2;
        char *nb = realloc(b->buf, ncap);
        if (!nb) return;
        b->buf = nb;
        b->cap = ncap;
    }
}

static int cmp_metric(const void *a, const void *b) {
    const sh_metric *x = *(sh_metric *const *)a, *y = *(sh_metric *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

char *sh_metrics_render(const sh_metrics *reg, size_t *len) {
    size_t n = 0;
    for (sh_metric *m = reg->head; m; m = m->next) n++;
    sh_metric **v = calloc(n + 1, sizeof *v);
    sbuf b = {0};
    sb_printf(&b, "%s", "");
    if (!v) {
        *len = b.len;
        return b.buf;
    }
    n = 0;
    for (sh_metric *m = reg->head; m; m = m->next) v[n++] = m;
    qsort(v, n, sizeof *v, cmp_metric);
    static const char *tn[] = {"", "counter", "gauge", "histogram"};
    for (size_t i = 0; i < n; i++) {
        const sh_metric *m = v[i];
        if (i == 0 || strcmp(v[i - 1]->name, m->name) != 0)
            sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, tn[m->type]);
        const char *l = m->labels;
        if (m->type != SH_METRIC_HISTOGRAM) {
            sb_printf(&b, "%s%s%s%s %.17g\n", m->name, *l ? "{" : "", l, *l ? "}" : "", m->value);
            continue;
        }
        for (size_t k = 0; k < NBUCKETS; k++)
            sb_printf(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", m->name, l, *l ? "," : "", buckets[k], m->bucket[k]);
        sb_printf(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", m->name, l, *l ? "," : "", m->count);
        sb_printf(&b, "%s_sum%s%s%s %.17g\n%s_count%s%s%s %llu\n", m->name, *l ? "{" : "", l, *l ? "}" : "", m->sum,
                  m->name, *l ? "{" : "", l, *l ? "}" : "", m->count);
    }
    free(v);
    *len = b.len;
    return b.buf;
}
