/*
 * revoke.c - see revoke.h. A chained hash table; jtis are random (we make them), so FNV-1a is
 * enough. The bucket array doubles while the load exceeds 1 (up to the entry bound).
 */
#include "plugins/auth/revoke.h"

#include <stdlib.h>
#include <string.h>

#include "plugins/auth/validate.h"

typedef struct rv_entry rv_entry;
struct rv_entry {
    rv_entry *next;
    int64_t exp;
    char jti[33];
};

struct auth_revset {
    rv_entry **b;
    size_t nb, n, max;
};

static uint64_t fnv(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

auth_revset *auth_revset_new(size_t max_entries) {
    auth_revset *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->nb = 256;
    s->max = max_entries ? max_entries : 1;
    if (!(s->b = calloc(s->nb, sizeof *s->b))) {
        free(s);
        return NULL;
    }
    return s;
}

void auth_revset_free(auth_revset *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nb; i++) {
        rv_entry *e = s->b[i];
        while (e) {
            rv_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(s->b);
    free(s);
}

static rv_entry *find(const auth_revset *s, const char *jti) {
    for (rv_entry *e = s->b[fnv(jti) & (s->nb - 1)]; e; e = e->next)
        if (strcmp(e->jti, jti) == 0) return e;
    return NULL;
}

static void grow(auth_revset *s) {
    size_t nb = s->nb * 2;
    rv_entry **b = calloc(nb, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < s->nb; i++) {
        rv_entry *e = s->b[i];
        while (e) {
            rv_entry *n = e->next;
            size_t j = fnv(e->jti) & (nb - 1);
            e->next = b[j];
            b[j] = e;
            e = n;
        }
    }
    free(s->b);
    s->b = b;
    s->nb = nb;
}

int auth_revset_add(auth_revset *s, const char *jti, int64_t exp_s, int64_t now_s) {
    if (!s || !jti || authv_jti(jti, strlen(jti)) != AUTHV_OK) return -1;
    if (exp_s <= now_s) return 0;
    rv_entry *e = find(s, jti);
    if (e) {
        if (exp_s > e->exp) e->exp = exp_s;
        return 0;
    }
    if (s->n >= s->max) auth_revset_sweep(s, now_s);
    if (s->n >= s->max || !(e = malloc(sizeof *e))) return -1;
    memcpy(e->jti, jti, 33);
    e->exp = exp_s;
    size_t i = fnv(jti) & (s->nb - 1);
    e->next = s->b[i];
    s->b[i] = e;
    s->n++;
    if (s->n > s->nb && s->nb < ((size_t)1 << 24)) grow(s);
    return 0;
}

int auth_revset_has(const auth_revset *s, const char *jti, int64_t now_s) {
    if (!s || !jti || authv_jti(jti, strlen(jti)) != AUTHV_OK) return 0;
    const rv_entry *e = find(s, jti);
    return e && e->exp > now_s;
}

size_t auth_revset_sweep(auth_revset *s, int64_t now_s) {
    size_t dropped = 0;
    for (size_t i = 0; s && i < s->nb; i++) {
        rv_entry **pp = &s->b[i];
        while (*pp) {
            rv_entry *e = *pp;
            if (e->exp <= now_s) {
                *pp = e->next;
                free(e);
                s->n--;
                dropped++;
            } else {
                pp = &e->next;
            }
        }
    }
    return dropped;
}

size_t auth_revset_count(const auth_revset *s) {
    return s ? s->n : 0;
}
