/*
 * chat_map.h - a string-keyed hash map for the chat plugin's per-node tables (rooms, sockets,
 * ban and follow caches). Open addressing with linear probing and backward-shift deletion (no
 * tombstones); keys are hashed with SipHash-2-4 under a per-map key, since many keys come from
 * clients (room ids) and must not be able to flood one chain.
 *
 * Keys are copied (the map owns them); values are opaque pointers the caller owns. Iterate with
 * cmap_next over slot indexes; do not insert or delete while iterating (collect, then delete).
 * Pure: no I/O, no globals. Thread: whoever owns the map (the loop thread in the plugin).
 */
#ifndef SH_CHAT_MAP_H
#define SH_CHAT_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cmap_slot {
    char *key; /* NULL = empty */
    void *val;
    uint64_t hash;
} cmap_slot;

typedef struct cmap {
    cmap_slot *slots;
    size_t cap; /* power of two, or 0 before the first insert */
    size_t n;
    uint64_t k0, k1; /* SipHash key */
} cmap;

/* Start empty with a hash key (e.g. 16 random bytes). */
void cmap_init(cmap *m, uint64_t k0, uint64_t k1);
/* Free the keys and the table (values are the caller's). */
void cmap_free(cmap *m);
/* The value for `key`, or NULL. */
void *cmap_get(const cmap *m, const char *key);
/* Set `key` to `val` (replacing). 0, or -1 on out of memory. */
int cmap_put(cmap *m, const char *key, void *val);
/* Remove `key` (no-op when absent); returns its value or NULL. */
void *cmap_del(cmap *m, const char *key);
/* Iterate: start with *pos = 0; the next used slot or NULL at the end. */
cmap_slot *cmap_next(const cmap *m, size_t *pos);

#endif
