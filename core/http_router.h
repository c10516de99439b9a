/*
 * http_router.h - method + path-pattern routing with :params, pure (no I/O).
 *
 * Patterns are absolute paths whose segments are literals, ":name" (one segment) or a final "*"
 * (the rest, possibly empty). When several routes match a path, the one with the most literal
 * segments wins (then registration order). A path that matches some route but none with the
 * request's method gives SH_ROUTE_METHOD with the allowed methods (for 405 + Allow). HEAD
 * matches GET routes. The router owns copies of everything it is given. Thread: loop only.
 */
#ifndef SH_CORE_HTTP_ROUTER_H
#define SH_CORE_HTTP_ROUTER_H

#include <stddef.h>

#define SH_ROUTER_MAX_PARAMS 8
#define SH_ROUTER_MAX_SEGMENTS 32

typedef struct sh_router sh_router;

typedef struct sh_route_match {
    void *route_ud; /* what was registered */
    size_t nparams;
    const char *names[SH_ROUTER_MAX_PARAMS]; /* borrowed from the router */
    char *values[SH_ROUTER_MAX_PARAMS];      /* decoded; freed by sh_route_match_clear */
} sh_route_match;

enum { SH_ROUTE_FOUND = 0, SH_ROUTE_NONE = 1, SH_ROUTE_METHOD = 2, SH_ROUTE_BADPATH = 3 };

sh_router *sh_router_new(void);
void sh_router_free(sh_router *r);
/* 0, or -1: bad pattern (err says why) or the same method+pattern registered twice. */
int sh_router_add(sh_router *r, const char *method, const char *pattern, void *route_ud, char *err, size_t errlen);
/* Match a decoded-or-not path ("/api/rooms/abc%20d"); params are percent-decoded. On
 * SH_ROUTE_METHOD, `allow` receives "GET, HEAD, POST" style text. */
int sh_router_match(const sh_router *r, const char *method, const char *path, sh_route_match *m, char *allow,
                    size_t allowlen);
void sh_route_match_clear(sh_route_match *m);
/* Percent-decode into a new string; NULL if malformed or it would contain NUL. */
char *sh_url_decode(const char *s, size_t len);
/* Iterate: for --list-plugins and docs. */
size_t sh_router_count(const sh_router *r);
void sh_router_get(const sh_router *r, size_t i, const char **method, const char **pattern, void **route_ud);

#endif
