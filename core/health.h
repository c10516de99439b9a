/* health.h - registers the core's GET /health and GET /metrics routes. Thread: loop. */
#ifndef SH_CORE_HEALTH_H
#define SH_CORE_HEALTH_H
#include "core/host.h"
int sh_health_routes(sh_host *h);
#endif
