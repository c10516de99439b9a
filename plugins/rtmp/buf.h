/*
 * plugins/rtmp/buf.h - a growable byte queue: bytes are appended at the end and consumed from the
 * front. The rtmp plugin keeps one per connection for output not yet sent and one for input
 * that arrived while the connection could not handle it (an asynchronous look-up runs).
 *
 * The bytes held are data[off .. off+len). Appending compacts or grows the storage (doubling,
 * from RTMP_BUF_MIN); consuming everything resets it, and frees storage above RTMP_BUF_KEEP, so a
 * burst does not pin memory for the life of a connection.
 *
 * Ownership: the caller owns the struct (zero-initialised = empty); rtmp_buf_free releases the
 * storage. Pointers returned by rtmp_buf_reserve / rtmp_buf_data are valid until the next call
 * that changes the buffer. Threads: one buffer per connection, used on the loop thread only.
 */
#ifndef STREAMHUB_RTMP_BUF_H
#define STREAMHUB_RTMP_BUF_H

#include <stddef.h>
#include <stdint.h>

#define RTMP_BUF_MIN  4096u
#define RTMP_BUF_KEEP 65536u /* storage kept once empty; larger storage is freed */

typedef struct rtmp_buf {
    uint8_t *data; /* owned; NULL while nothing was ever appended */
    size_t off;    /* first byte held */
    size_t len;    /* bytes held */
    size_t cap;    /* bytes allocated */
} rtmp_buf;

/* Space for n more bytes after the held ones (commit what was written with rtmp_buf_commit).
 * Returns NULL when out of memory (the buffer is unchanged) or n is 0. */
uint8_t *rtmp_buf_reserve(rtmp_buf *b, size_t n);
/* Takes n bytes written into the space rtmp_buf_reserve returned (n <= what was reserved). */
void rtmp_buf_commit(rtmp_buf *b, size_t n);
/* Appends a copy of p[0..n). Returns 0, or -1 when out of memory (the buffer is unchanged). */
int rtmp_buf_append(rtmp_buf *b, const void *p, size_t n);
/* The first held byte (borrowed), NULL when empty. */
static inline const uint8_t *rtmp_buf_data(const rtmp_buf *b) {
    return b->len ? b->data + b->off : NULL;
}
/* Drops the first n held bytes (n <= len). */
void rtmp_buf_consume(rtmp_buf *b, size_t n);
/* Releases the storage; the buffer is empty afterwards. */
void rtmp_buf_free(rtmp_buf *b);

#endif
