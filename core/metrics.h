/*
 * metrics.h - the metrics registry rendered as Prometheus text on /metrics.
 *
 * A metric is identified by name + label text; asking again returns the same one. Counters and
 * gauges hold one double; histograms have fixed seconds-scale buckets. All functions are
 * NULL-safe on the metric. Thread: loop only.
 */
#ifndef SH_CORE_METRICS_H
#define SH_CORE_METRICS_H

#include <stddef.h>
#include <streamhub/streamhub.h>

typedef struct sh_metrics sh_metrics;

sh_metrics *sh_metrics_new(void);
void sh_metrics_free(sh_metrics *m);
/* NULL on a bad name (must match [a-zA-Z_:][a-zA-Z0-9_:]*) or a type clash with an existing name. */
sh_metric *sh_metrics_get(sh_metrics *reg, sh_metric_type type, const char *name, const char *help,
                          const char *labels);
void sh_metric_add(sh_metric *m, double v);
void sh_metric_set(sh_metric *m, double v);
void sh_metric_observe(sh_metric *m, double v);
void sh_metric_free(sh_metric *m); /* unregister and free */
double sh_metric_value(const sh_metric *m);
/* Render everything; returns a malloc'd NUL-terminated string, *len set. */
char *sh_metrics_render(const sh_metrics *reg, size_t *len);

#endif
