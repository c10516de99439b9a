/*
 * smap.h - a small string-keyed hash map (open addressing, linear probing, backward-shift
 * deletion: no tombstones), pure: no I/O, no globals. The rooms plugin keeps its per-room
 * presence in one (room id -> pres_room) and each room's local members in another
 * (member key -> local socket count).
 *
 * Keys are copied (the map owns them); values are opaque pointers the caller owns. Iterate with
 * smap_next over slot indexes; deleting during iteration is not allowed (collect, then delete).
 * Thread: whoever owns the map (the loop thread in the plugin).
 */
#ifndef SH_ROOMS_SMAP_H
#define SH_ROOMS_SMAP_H

#include <stddef.h>

typedef struct smap_slot {
    char *key; /* NULL = empty */
    void *val;
} smap_slot;

typedef struct smap {
    smap_slot *slots;
    size_t cap; /* power of two, or 0 before the first insert */
    size_t n;
} smap;

void smap_init(smap *m);
/* Free the keys and the table (values are the caller's). */
void smap_free(smap *m);
/* The slot holding `key`, or NULL. */
smap_slot *smap_find(const smap *m, const char *key);
/* The slot for `key`, inserted with val NULL when absent (*created = 1). NULL on out of memory. */
smap_slot *smap_upsert(smap *m, const char *key, int *created);
/* Remove `key` (no-op when absent); returns its value or NULL. */
void *smap_del(smap *m, const char *key);
/* Iterate: start with *pos = 0; returns the next used slot or NULL at the end. */
smap_slot *smap_next(const smap *m, size_t *pos);

#endif
