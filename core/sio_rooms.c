/* sio_rooms.c - see sio_rooms.h. FNV-1a hashing; the table doubles past a load of 1. */
#include "core/sio_rooms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int sh_rooms_init(sh_room_table *t) {
    t->nbuckets = 64;
    t->nrooms = 0;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    return t->buckets ? 0 : -1;
}

void sh_rooms_free(sh_room_table *t) {
    for (size_t i = 0; i < t->nbuckets; i++)
        for (sh_room *r = t->buckets[i], *n; r; r = n) {
            n = r->next;
            free(r->members);
            free(r->name);
            free(r);
        }
    free(t->buckets);
    t->buckets = NULL;
}

sh_room *sh_rooms_find(const sh_room_table *t, const char *name) {
    for (sh_room *r = t->buckets[hash(name) & (t->nbuckets - 1)]; r; r = r->next)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

static void grow(sh_room_table *t) {
    size_t nb = t->nbuckets * 2;
    sh_room **b = calloc(nb, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (sh_room *r = t->buckets[i], *n; r; r = n) {
            n = r->next;
            size_t k = hash(r->name) & (nb - 1);
            r->next = b[k];
            b[k] = r;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

int sh_rooms_add(sh_room_table *t, const char *name, void *member, sh_room **room, size_t *idx) {
    sh_room *r = sh_rooms_find(t, name);
    if (!r) {
        if (t->nrooms >= t->nbuckets) grow(t);
        r = calloc(1, sizeof *r);
        if (!r || !(r->name = strdup(name))) {
            free(r);
            return -1;
        }
        size_t k = hash(name) & (t->nbuckets - 1);
        r->next = t->buckets[k];
        t->buckets[k] = r;
        t->nrooms++;
    }
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 4;
        void **m = realloc(r->members, nc * sizeof *m);
        if (!m) return -1;
        r->members = m;
        r->cap = nc;
    }
    r->members[r->n] = member;
    *idx = r->n++;
    *room = r;
    return 0;
}

void sh_rooms_remove(sh_room_table *t, sh_room *r, size_t idx,
                     void (*moved)(void *member, sh_room *room, size_t idx, void *ud), void *ud) {
    if (idx >= r->n) return;
    r->n--;
    if (idx != r->n) {
        r->members[idx] = r->members[r->n];
        moved(r->members[idx], r, idx, ud);
    }
    if (r->n == 0) {
        sh_room **pp = &t->buckets[hash(r->name) & (t->nbuckets - 1)];
        while (*pp != r) pp = &(*pp)->next;
        *pp = r->next;
        free(r->members);
        free(r->name);
        free(r);
        t->nrooms--;
    }
}
