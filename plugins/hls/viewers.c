/*
 * viewers.c - HLS playback sessions of a room: distinct players that fetched its playlist in
 * the last HLS_VIEWER_WINDOW_MS. A session is identified by a 64-bit FNV-1a hash of what the
 * caller gives (the `_sid` query parameter of the web player, else remote address + User-Agent),
 * kept in an open-addressing table (linear probing) that is rebuilt without the idle sessions
 * on each expiry sweep; a LL-HLS player fetches the playlist several times a second, so a touch
 * must stay O(1). At most HLS_VIEWERS_MAX sessions per room are tracked (memory bound). Loop
 * thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "plugins/hls/hls.h"

#define HLS_VIEWERS_MAX (1u << 20)

static uint64_t fnv1a(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

/* Slot of key (its own, or the empty one where it would go). cap is a power of two. */
static size_t slot(const uint64_t *keys, size_t cap, uint64_t key) {
    size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);
    while (keys[i] && keys[i] != key)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Rebuilds the table with `cap` slots, keeping sessions seen at or after `since`. */
static int rebuild(hls_viewers *v, size_t cap, uint64_t since) {
    uint64_t *keys = calloc(cap, sizeof *keys), *seen = calloc(cap, sizeof *seen);
    if (!keys || !seen) {
        free(keys);
        free(seen);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < v->cap; i++)
        if (v->keys[i] && v->seen[i] >= since) {
            size_t j = slot(keys, cap, v->keys[i]);
            keys[j] = v->keys[i];
            seen[j] = v->seen[i];
            n++;
        }
    free(v->keys);
    free(v->seen);
    v->keys = keys;
    v->seen = seen;
    v->cap = cap;
    v->n = n;
    return 0;
}

void hls_viewers_touch(hls_viewers *v, const void *key, size_t len, uint64_t now_ms) {
    if (!len) return;
    uint64_t k = fnv1a(key, len);
    if (v->cap == 0 && rebuild(v, 64, 0) < 0) return;
    size_t i = slot(v->keys, v->cap, k);
    if (v->keys[i]) {
        v->seen[i] = now_ms;
        return;
    }
    if (v->n >= HLS_VIEWERS_MAX) return;
    if ((v->n + 1) * 2 > v->cap) { /* keep the load at most 1/2 */
        if (rebuild(v, v->cap * 2, 0) < 0) return;
        i = slot(v->keys, v->cap, k);
    }
    v->keys[i] = k;
    v->seen[i] = now_ms;
    v->n++;
}

size_t hls_viewers_expire(hls_viewers *v, uint64_t now_ms) {
    if (!v->cap) return 0;
    uint64_t since = now_ms > HLS_VIEWER_WINDOW_MS ? now_ms - HLS_VIEWER_WINDOW_MS : 0;
    size_t live = 0;
    for (size_t i = 0; i < v->cap; i++)
        live += v->keys[i] && v->seen[i] >= since;
    if (live == v->n) return live;
    size_t cap = 64;
    while (cap < live * 4)
        cap *= 2; /* shrink back once an audience leaves */
    if (rebuild(v, cap, since) < 0) return v->n;
    return v->n;
}

void hls_viewers_free(hls_viewers *v) {
    free(v->keys);
    free(v->seen);
    memset(v, 0, sizeof *v);
}
