/*
 * plugins/rtmp/buf.c - the growable byte queue of buf.h. No I/O, no globals.
 */
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/buf.h"

uint8_t *rtmp_buf_reserve(rtmp_buf *b, size_t n) {
    if (n == 0 || n > SIZE_MAX / 2 - b->len) return NULL;
    if (b->cap - b->off - b->len >= n) return b->data + b->off + b->len; /* room at the end */
    if (b->cap - b->len >= n && b->off > 0) { /* room once the held bytes move to the front */
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        return b->data + b->len;
    }
    size_t need = b->len + n, cap = b->cap ? b->cap : RTMP_BUF_MIN;
    while (cap < need)
        cap *= 2; /* need <= SIZE_MAX / 2: cannot overflow */
    uint8_t *d = malloc(cap);
    if (!d) return NULL;
    if (b->len) memcpy(d, b->data + b->off, b->len);
    free(b->data);
    b->data = d;
    b->off = 0;
    b->cap = cap;
    return d + b->len;
}

void rtmp_buf_commit(rtmp_buf *b, size_t n) {
    b->len += n;
}

int rtmp_buf_append(rtmp_buf *b, const void *p, size_t n) {
    if (n == 0) return 0;
    uint8_t *d = rtmp_buf_reserve(b, n);
    if (!d) return -1;
    memcpy(d, p, n);
    b->len += n;
    return 0;
}

void rtmp_buf_consume(rtmp_buf *b, size_t n) {
    if (n > b->len) n = b->len;
    b->off += n;
    b->len -= n;
    if (b->len) return;
    b->off = 0;
    if (b->cap > RTMP_BUF_KEEP) rtmp_buf_free(b);
}

void rtmp_buf_free(rtmp_buf *b) {
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}
