/*
 * smap.c - see smap.h. FNV-1a hashing; the table doubles at 3/4 load and never shrinks below
 * its largest size (rooms come and go in similar numbers).
 */
#include "plugins/rooms/smap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void smap_init(smap *m) {
    memset(m, 0, sizeof *m);
}

void smap_free(smap *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

smap_slot *smap_find(const smap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash(key) & mask;; i = (i + 1) & mask) {
        smap_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (strcmp(s->key, key) == 0) return s;
    }
}

static int grow(smap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    smap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        size_t j = (size_t)hash(m->slots[i].key) & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

smap_slot *smap_upsert(smap *m, const char *key, int *created) {
    if (created) *created = 0;
    smap_slot *s = smap_find(m, key);
    if (s) return s;
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0) return NULL;
    char *k = strdup(key);
    if (!k) return NULL;
    size_t mask = m->cap - 1, i = (size_t)hash(key) & mask;
    while (m->slots[i].key)
        i = (i + 1) & mask;
    m->slots[i].key = k;
    m->slots[i].val = NULL;
    m->n++;
    if (created) *created = 1;
    return &m->slots[i];
}

void *smap_del(smap *m, const char *key) {
    smap_slot *s = smap_find(m, key);
    if (!s) return NULL;
    void *val = s->val;
    size_t mask = m->cap - 1, i = (size_t)(s - m->slots);
    free(s->key);
    s->key = NULL;
    s->val = NULL;
    m->n--;
    /* backward shift: move later entries of the probe run into the hole when their home allows */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)hash(m->slots[j].key) & mask;
        /* can the entry at j live at i?  yes unless home lies cyclically in (i, j] */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        m->slots[i] = m->slots[j];
        m->slots[j].key = NULL;
        m->slots[j].val = NULL;
        i = j;
    }
    return val;
}

smap_slot *smap_next(const smap *m, size_t *pos) {
    while (*pos < m->cap) {
        smap_slot *s = &m->slots[(*pos)++];
        if (s->key) return s;
    }
    return NULL;
}
