/*
 * store.c - reference-counted byte buffers and the per-room store of init sections, segments
 * and parts (see hls.h). A response holds a reference on the buffer it sends (respond_ref, or
 * respond_file for a segment kept in a memfd), so bytes that leave the store while a client is
 * still downloading them stay valid until sent.
 * Loop thread only.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plugins/hls/hls.h"

hls_buf *hls_buf_wrap(uint8_t *data, size_t len) {
    hls_buf *b = malloc(sizeof *b);
    if (!b) {
        free(data);
        return NULL;
    }
    b->refs = 1;
    b->len = len;
    b->data = data;
    b->fd = -1;
    return b;
}

hls_buf *hls_buf_copy(const void *data, size_t len) {
    uint8_t *d = malloc(len ? len : 1);
    if (!d) return NULL;
    if (len) memcpy(d, data, len);
    return hls_buf_wrap(d, len);
}

hls_buf *hls_buf_ref(hls_buf *b) {
    if (b) b->refs++;
    return b;
}

void hls_buf_unref(hls_buf *b) {
    if (b && --b->refs == 0) {
        free(b->data);
        if (b->fd >= 0) close(b->fd);
        free(b);
    }
}

static void buf_release(void *ud) {
    hls_buf_unref(ud);
}

void hls_buf_respond(sh_request *req, int status, const char *content_type, hls_buf *b) {
    hls_buf_ref(b);
    if (hls_g.m_bytes_out) hls_g.h->metric_add(hls_g.m_bytes_out, (double)b->len);
    if (b->fd >= 0)
        hls_g.h->respond_file(req, status, content_type, b->fd, 0, b->len, buf_release, b);
    else
        hls_g.h->respond_ref(req, status, content_type, b->data, b->len, buf_release, b);
}

/* ---- the store ---------------------------------------------------------------------------- */

#define GROW(arr, n, cap)                                                                                              \
    do {                                                                                                               \
        if ((n) == (cap)) {                                                                                            \
            size_t nc = (cap) ? (cap)*2 : 16;                                                                          \
            void *np = realloc((arr), nc * sizeof *(arr));                                                             \
            if (!np) goto nomem;                                                                                       \
            (arr) = np;                                                                                                \
            (cap) = nc;                                                                                                \
        }                                                                                                              \
    } while (0)

int hls_store_add_part(hls_store *s, uint64_t seq, uint64_t msn, hls_buf *b) {
    GROW(s->parts, s->nparts, s->partcap);
    s->parts[s->nparts++] = (hls_part_rec){seq, msn, b};
    s->bytes += b->len;
    return SH_OK;
nomem:
    hls_buf_unref(b);
    return SH_ERR_NOMEM;
}

int hls_store_add_segment(hls_store *s, uint64_t msn, uint32_t gen, hls_buf *b) {
    GROW(s->segs, s->nsegs, s->segcap);
    s->segs[s->nsegs++] = (hls_seg_rec){msn, gen, b};
    s->bytes += b->len;
    return SH_OK;
nomem:
    hls_buf_unref(b);
    return SH_ERR_NOMEM;
}

int hls_store_set_init(hls_store *s, uint32_t gen, hls_buf *b) {
    for (size_t i = 0; i < s->ninits; i++)
        if (s->inits[i].gen == gen) { /* an earlier session that produced no segment */
            s->bytes -= s->inits[i].buf->len;
            hls_buf_unref(s->inits[i].buf);
            s->inits[i].buf = b;
            s->bytes += b->len;
            return SH_OK;
        }
    GROW(s->inits, s->ninits, s->initcap);
    s->inits[s->ninits++] = (hls_init_rec){gen, b};
    s->bytes += b->len;
    return SH_OK;
nomem:
    hls_buf_unref(b);
    return SH_ERR_NOMEM;
}

/* Parts and segments are stored in increasing order of their numbers, contiguous except
 * where the store dropped some: binary search. */
hls_buf *hls_store_part(const hls_store *s, uint64_t seq) {
    size_t lo = 0, hi = s->nparts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->parts[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nparts && s->parts[lo].seq == seq ? s->parts[lo].buf : NULL;
}

hls_buf *hls_store_segment(const hls_store *s, uint64_t msn) {
    size_t lo = 0, hi = s->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid].msn < msn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nsegs && s->segs[lo].msn == msn ? s->segs[lo].buf : NULL;
}

hls_buf *hls_store_init(const hls_store *s, uint32_t gen) {
    for (size_t i = 0; i < s->ninits; i++)
        if (s->inits[i].gen == gen) return s->inits[i].buf;
    return NULL;
}

/* The parts written into a new memfd (sealed against writes: the bytes a response sends cannot
 * change under it), or NULL. */
static hls_buf *join_into_memfd(const hls_store *s, uint64_t first_seq, unsigned count, size_t total) {
    int fd = memfd_create("hls-segment", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return NULL;
    size_t off = 0;
    for (unsigned i = 0; i < count; i++) {
        hls_buf *p = hls_store_part(s, first_seq + i);
        size_t done = 0;
        while (done < p->len) {
            ssize_t n = pwrite(fd, p->data + done, p->len - done, (off_t)(off + done));
            if (n <= 0) {
                close(fd);
                return NULL;
            }
            done += (size_t)n;
        }
        off += p->len;
    }
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    hls_buf *b = malloc(sizeof *b);
    if (!b) {
        close(fd);
        return NULL;
    }
    *b = (hls_buf){.refs = 1, .len = total, .data = NULL, .fd = fd};
    return b;
}

hls_buf *hls_store_join_parts(const hls_store *s, uint64_t first_seq, unsigned count) {
    size_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        hls_buf *p = hls_store_part(s, first_seq + i);
        if (!p) return NULL;
        total += p->len;
    }
    if (total > 0) {
        hls_buf *f = join_into_memfd(s, first_seq, count, total);
        if (f) return f;
    }
    uint8_t *d = malloc(total ? total : 1);
    if (!d) return NULL;
    size_t off = 0;
    for (unsigned i = 0; i < count; i++) {
        hls_buf *p = hls_store_part(s, first_seq + i);
        memcpy(d + off, p->data, p->len);
        off += p->len;
    }
    return hls_buf_wrap(d, total);
}

void hls_store_prune(hls_store *s, const struct hls_playlist *pl) {
    uint64_t first = hls_playlist_first_msn(pl), next = hls_playlist_next_msn(pl);
    /* segments: keep two that already left the window (a client may be fetching them) */
    uint64_t keep_seg = first >= 2 ? first - 2 : 0;
    size_t drop = 0;
    while (drop < s->nsegs && s->segs[drop].msn < keep_seg) {
        s->bytes -= s->segs[drop].buf->len;
        hls_buf_unref(s->segs[drop].buf);
        drop++;
    }
    if (drop) {
        memmove(s->segs, s->segs + drop, (s->nsegs - drop) * sizeof *s->segs);
        s->nsegs -= drop;
    }
    /* parts: the oldest segment whose parts are listed, minus one more segment */
    uint64_t keep_part_msn = next;
    for (uint64_t m = next + 1; m-- > first;) {
        struct hls_segment_info si;
        if (hls_playlist_segment(pl, m, &si) != HLS_PL_OK) {
            if (m == next) continue; /* no in-progress segment right now */
            break;
        }
        if (!si.parts_listed) break;
        keep_part_msn = m;
    }
    keep_part_msn = keep_part_msn > first ? keep_part_msn - 1 : first;
    drop = 0;
    while (drop < s->nparts && s->parts[drop].msn < keep_part_msn) {
        s->bytes -= s->parts[drop].buf->len;
        hls_buf_unref(s->parts[drop].buf);
        drop++;
    }
    if (drop) {
        memmove(s->parts, s->parts + drop, (s->nparts - drop) * sizeof *s->parts);
        s->nparts -= drop;
    }
    /* init sections: those of stored segments, and the newest (the live session's) */
    if (s->ninits > 1) {
        uint32_t newest = 0;
        for (size_t i = 0; i < s->ninits; i++)
            if (s->inits[i].gen > newest) newest = s->inits[i].gen;
        uint32_t oldest = s->nsegs ? s->segs[0].gen : newest;
        struct hls_segment_info si;
        if (hls_playlist_segment(pl, first, &si) == HLS_PL_OK && si.init_gen < oldest) oldest = si.init_gen;
        size_t w = 0;
        for (size_t i = 0; i < s->ninits; i++) {
            if (s->inits[i].gen >= oldest) {
                s->inits[w++] = s->inits[i];
            } else {
                s->bytes -= s->inits[i].buf->len;
                hls_buf_unref(s->inits[i].buf);
            }
        }
        s->ninits = w;
    }
}

void hls_store_clear(hls_store *s) {
    for (size_t i = 0; i < s->nparts; i++)
        hls_buf_unref(s->parts[i].buf);
    for (size_t i = 0; i < s->nsegs; i++)
        hls_buf_unref(s->segs[i].buf);
    for (size_t i = 0; i < s->ninits; i++)
        hls_buf_unref(s->inits[i].buf);
    free(s->parts);
    free(s->segs);
    free(s->inits);
    memset(s, 0, sizeof *s);
}
