/*
 * http_router.c - see http_router.h. Routes are few (tens), so matching is a linear scan over
 * pre-split patterns; the path is split once per request.
 */
#include "core/http_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct route {
    char *method;
    char *pattern;
    size_t nseg;
    char **seg; /* literal, ":name" or "*" */
    int literals;
    void *ud;
} route;

struct sh_router {
    route *routes;
    size_t n;
};

sh_router *sh_router_new(void) { return calloc(1, sizeof(sh_router)); }

static void route_free(route *rt) {
    for (size_t i = 0; i < rt->nseg; i++) free(rt->seg[i]);
    free(rt->seg);
    free(rt->method);
    free(rt->pattern);
}

void sh_router_free(sh_router *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) route_free(&r->routes[i]);
    free(r->routes);
    free(r);
}

/* Split "/a/b/c" into segments; "/" has zero segments. Empty inner segments ("//") are kept as
 * "" so that they never match a literal. */
static int split(const char *path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (path[0] != '/') return -1;
    const char *p = path + 1;
    if (!*p) return 0;
    for (;;) {
        if (*n >= SH_ROUTER_MAX_SEGMENTS) goto fail;
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        char **ns = realloc(*out, (*n + 1) * sizeof *ns);
        if (!ns) goto fail;
        *out = ns;
        (*out)[*n] = strndup(p, l);
        if (!(*out)[*n]) goto fail;
        (*n)++;
        if (!slash) break;
        p = slash + 1;
    }
    return 0;
fail:
    for (size_t i = 0; i < *n; i++) free((*out)[i]);
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

int sh_router_add(sh_router *r, const char *method, const char *pattern, void *route_ud, char *err, size_t errlen) {
    route rt = {0};
    if (!method || !*method || !pattern || split(pattern, &rt.seg, &rt.nseg) < 0) {
        snprintf(err, errlen, "bad route pattern \"%s\" (it must start with '/')", pattern ? pattern : "");
        return -1;
    }
    int params = 0;
    for (size_t i = 0; i < rt.nseg; i++) {
        const char *s = rt.seg[i];
        if (s[0] == ':') {
            if (!s[1] || ++params > SH_ROUTER_MAX_PARAMS) {
                snprintf(err, errlen, "bad route pattern \"%s\": empty or too many :params", pattern);
                goto fail;
            }
        } else if (strcmp(s, "*") == 0) {
            if (i + 1 != rt.nseg || ++params > SH_ROUTER_MAX_PARAMS) {
                snprintf(err, errlen, "bad route pattern \"%s\": '*' must be the last segment", pattern);
                goto fail;
            }
        } else {
            rt.literals++;
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        const route *o = &r->routes[i];
        if (strcmp(o->method, method) != 0 || o->nseg != rt.nseg) continue;
        int same = 1; /* same shape: literals equal, params anywhere the other has params */
        for (size_t k = 0; k < rt.nseg && same; k++) {
            int p1 = rt.seg[k][0] == ':', p2 = o->seg[k][0] == ':';
            same = p1 == p2 && (p1 || strcmp(rt.seg[k], o->seg[k]) == 0);
        }
        if (same) {
            if (strcmp(o->pattern, pattern) == 0)
                snprintf(err, errlen, "route %s %s is already registered", method, pattern);
            else
                snprintf(err, errlen, "route %s %s is already registered (as %s)", method, pattern, o->pattern);
            goto fail;
        }
    }
    route *nr = realloc(r->routes, (r->n + 1) * sizeof *nr);
    if (!nr) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r->routes = nr;
    rt.method = strdup(method);
    rt.pattern = strdup(pattern);
    rt.ud = route_ud;
    r->routes[r->n++] = rt;
    return 0;
fail:
    route_free(&rt);
    return -1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *sh_url_decode(const char *s, size_t len) {
    char *out = malloc(len + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= len) goto bad;
            h = hexval(s[i + 1]);
            l = hexval(s[i + 2]);
            if (h < 0 || l < 0) goto bad;
            char c = (char)(h * 16 + l);
            if (c == '\0') goto bad;
            *o++ = c;
            i += 2;
        } else if (s[i] == '\0') {
            goto bad;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

/* 1 if route `rt` matches the split path; fills m's params when m != NULL. */
static int match_route(const route *rt, char **seg, size_t nseg, sh_route_match *m) {
    size_t np = 0;
    int wildcard = rt->nseg && strcmp(rt->seg[rt->nseg - 1], "*") == 0;
    size_t fixed = wildcard ? rt->nseg - 1 : rt->nseg;
    if (wildcard ? nseg < fixed : nseg != fixed) return 0;
    for (size_t i = 0; i < fixed; i++) {
        const char *ps = rt->seg[i];
        if (ps[0] == ':') {
            if (!seg[i][0]) return 0;
            if (m) {
                m->names[np] = ps + 1;
                m->values[np] = sh_url_decode(seg[i], strlen(seg[i]));
                if (!m->values[np]) return -1;
                m->nparams = ++np; /* counted as we go, so a later failure frees what was decoded */
            }
        } else if (strcmp(ps, seg[i]) != 0) {
            return 0;
        }
    }
    if (wildcard && m) {
        size_t total = 0;
        for (size_t i = fixed; i < nseg; i++) total += strlen(seg[i]) + 1;
        char *rest = malloc(total + 1), *o = rest;
        if (!rest) return -1;
        for (size_t i = fixed; i < nseg; i++) o += sprintf(o, "%s%s", i > fixed ? "/" : "", seg[i]);
        *o = '\0';
        m->names[np] = "*";
        m->values[np] = sh_url_decode(rest, strlen(rest));
        free(rest);
        if (!m->values[np]) return -1;
        m->nparams = ++np;
    }
    if (m) m->nparams = np;
    return 1;
}

int sh_router_match(const sh_router *r, const char *method, const char *path, sh_route_match *m, char *allow,
                    size_t allowlen) {
    memset(m, 0, sizeof *m);
    if (allow && allowlen) allow[0] = '\0';
    char **seg;
    size_t nseg;
    if (split(path, &seg, &nseg) < 0) return SH_ROUTE_BADPATH;
    const route *best = NULL;
    int any_path = 0;
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = &r->routes[i];
        if (match_route(rt, seg, nseg, NULL) != 1) continue;
        any_path = 1;
        if (strcmp(rt->method, want) != 0 && strcmp(rt->method, method) != 0) continue;
        if (!best || rt->literals > best->literals) best = rt;
    }
    int status = SH_ROUTE_NONE;
    if (best) {
        int mr = match_route(best, seg, nseg, m);
        if (mr == 1) {
            m->route_ud = best->ud;
            status = SH_ROUTE_FOUND;
        } else {
            sh_route_match_clear(m);
            status = SH_ROUTE_BADPATH;
        }
    } else if (any_path) {
        status = SH_ROUTE_METHOD;
        size_t used = 0;
        int has_get = 0, has_head = 0;
        for (size_t i = 0; i < r->n && allow; i++) {
            const route *rt = &r->routes[i];
            if (match_route(rt, seg, nseg, NULL) != 1) continue;
            int dup = 0;
            for (size_t j = 0; j < i; j++)
                if (strcmp(r->routes[j].method, rt->method) == 0 && match_route(&r->routes[j], seg, nseg, NULL) == 1)
                    dup = 1;
            if (dup) continue;
            has_get |= strcmp(rt->method, "GET") == 0;
            has_head |= strcmp(rt->method, "HEAD") == 0;
            if (used >= allowlen) break;
            used += (size_t)snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", rt->method);
        }
        if (has_get && !has_head && allow && used < allowlen) snprintf(allow + used, allowlen - used, ", HEAD");
    }
    for (size_t i = 0; i < nseg; i++) free(seg[i]);
    free(seg);
    return status;
}

void sh_route_match_clear(sh_route_match *m) {
    for (size_t i = 0; i < m->nparams; i++) free(m->values[i]);
    memset(m, 0, sizeof *m);
}

size_t sh_router_count(const sh_router *r) { return r->n; }

void sh_router_get(const sh_router *r, size_t i, const char **method, const char **pattern, void **route_ud) {
    *method = r->routes[i].method;
    *pattern = r->routes[i].pattern;
    *route_ud = r->routes[i].ud;
}
