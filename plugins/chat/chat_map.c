/*
 * chat_map.c - string-keyed hash map (see chat_map.h).
 */
#include "plugins/chat/chat_map.h"

#include <stdlib.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                       \
    do {                                                                                                               \
        v0 += v1;                                                                                                      \
        v1 = ROTL(v1, 13);                                                                                             \
        v1 ^= v0;                                                                                                      \
        v0 = ROTL(v0, 32);                                                                                             \
        v2 += v3;                                                                                                      \
        v3 = ROTL(v3, 16);                                                                                             \
        v3 ^= v2;                                                                                                      \
        v0 += v3;                                                                                                      \
        v3 = ROTL(v3, 21);                                                                                             \
        v3 ^= v0;                                                                                                      \
        v2 += v1;                                                                                                      \
        v1 = ROTL(v1, 17);                                                                                             \
        v1 ^= v2;                                                                                                      \
        v2 = ROTL(v2, 32);                                                                                             \
    } while (0)

static uint64_t siphash(const void *data, size_t len, uint64_t k0, uint64_t k1) {
    const unsigned char *in = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t w = 0;
        for (int j = 0; j < 8; j++)
            w |= (uint64_t)in[i + j] << (8 * j);
        v3 ^= w;
        SIPROUND;
        SIPROUND;
        v0 ^= w;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t j = 0; j < (len & 7); j++)
        b |= (uint64_t)in[full + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void cmap_init(cmap *m, uint64_t k0, uint64_t k1) {
    memset(m, 0, sizeof *m);
    m->k0 = k0;
    m->k1 = k1;
}

void cmap_free(cmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static size_t find_slot(const cmap *m, const char *key, uint64_t h) {
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

void *cmap_get(const cmap *m, const char *key) {
    if (!m->cap) return NULL;
    uint64_t h = siphash(key, strlen(key), m->k0, m->k1);
    size_t i = find_slot(m, key, h);
    return m->slots[i].key ? m->slots[i].val : NULL;
}

static int grow(cmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    cmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        size_t j = (size_t)m->slots[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int cmap_put(cmap *m, const char *key, void *val) {
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0) return -1;
    uint64_t h = siphash(key, strlen(key), m->k0, m->k1);
    size_t i = find_slot(m, key, h);
    if (m->slots[i].key) {
        m->slots[i].val = val;
        return 0;
    }
    char *k = strdup(key);
    if (!k) return -1;
    m->slots[i] = (cmap_slot){k, val, h};
    m->n++;
    return 0;
}

void *cmap_del(cmap *m, const char *key) {
    if (!m->cap) return NULL;
    uint64_t h = siphash(key, strlen(key), m->k0, m->k1);
    size_t mask = m->cap - 1, i = find_slot(m, key, h);
    if (!m->slots[i].key) return NULL;
    void *val = m->slots[i].val;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->n--;
    /* backward-shift: move later members of the cluster into the hole when that brings them no
     * further from their home slot */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key) break;
        size_t home = (size_t)m->slots[j].hash & mask;
        /* can slot j move to `hole`? only if home is not cyclically in (hole, j] */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (in_range) continue;
        m->slots[hole] = m->slots[j];
        m->slots[j].key = NULL;
        hole = j;
    }
    return val;
}

cmap_slot *cmap_next(const cmap *m, size_t *pos) {
    for (; *pos < m->cap; (*pos)++)
        if (m->slots[*pos].key) return &m->slots[(*pos)++];
    return NULL;
}
