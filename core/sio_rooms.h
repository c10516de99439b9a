/*
 * sio_rooms.h - room membership for one namespace: a hash table of rooms, each an array of
 * members (swap-remove, O(1) join and leave given the member's index). Empty rooms are freed.
 * Members are opaque pointers; the caller keeps each member's index per room and is told when
 * a removal moves another member. Thread: loop only.
 */
#ifndef SH_CORE_SIO_ROOMS_H
#define SH_CORE_SIO_ROOMS_H

#include <stddef.h>

typedef struct sh_room {
    char *name;
    void **members;
    size_t n, cap;
    struct sh_room *next; /* hash chain */
} sh_room;

typedef struct sh_room_table {
    sh_room **buckets;
    size_t nbuckets, nrooms;
} sh_room_table;

int sh_rooms_init(sh_room_table *t);
void sh_rooms_free(sh_room_table *t);
sh_room *sh_rooms_find(const sh_room_table *t, const char *name);
/* Add member to room `name` (created if needed). *room and *idx receive where it went. */
int sh_rooms_add(sh_room_table *t, const char *name, void *member, sh_room **room, size_t *idx);
/* Remove the member at idx; if another member moved into idx, moved(member, room, idx, ud) is
 * called. The room is freed when it becomes empty (do not use it after). */
void sh_rooms_remove(sh_room_table *t, sh_room *room, size_t idx,
                     void (*moved)(void *member, sh_room *room, size_t idx, void *ud), void *ud);

#endif
