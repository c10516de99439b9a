/*
 * tests/fuzz/fuzz_hls_query.c - fuzz the LL-HLS delivery-directive parser, the blocking-reload
 * decision and the resource-name parser (plugins/hls/playlist.c).
 *
 * Input: byte 0 shapes a small playlist (complete segments, parts in progress, ended or not);
 * the rest is a playlist request's query string and, separately, a requested resource name.
 * Checks: an accepted query re-encodes canonically and parses back to the same directives;
 * _HLS_part never comes without _HLS_msn; the reload decision is one of its three values and a
 * READY answer to a part request means the part exists; an accepted name re-formats to exactly
 * the input bytes; the playlist always renders, NUL-terminated.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/hls/playlist.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static struct hls_playlist *fz_playlist(uint8_t shape)
{
    struct hls_playlist_config cfg = {3, 2, 500000};
    struct hls_playlist *pl = NULL;
    if (hls_playlist_create(&cfg, &pl) < 0)
        return NULL;
    unsigned segs = shape & 7, parts = (shape >> 3) & 3;
    for (unsigned s = 0; s < segs; s++) {
        for (unsigned i = 0; i < 4; i++)
            FZ_CHECK(hls_playlist_add_part(pl, 500000, i == 0, 1000 * s) == HLS_PL_OK);
        FZ_CHECK(hls_playlist_close_segment(pl) == HLS_PL_OK);
    }
    if (shape & 0x20)
        FZ_CHECK(hls_playlist_mark_discontinuity(pl, shape & 0x40) == HLS_PL_OK);
    for (unsigned i = 0; i < parts; i++)
        FZ_CHECK(hls_playlist_add_part(pl, 400000, i == 0, 9000) == HLS_PL_OK);
    if (shape & 0x80)
        FZ_CHECK(hls_playlist_end(pl) == HLS_PL_OK);
    return pl;
}

static void fz_query(const struct hls_playlist *pl, const char *q, size_t n)
{
    struct hls_query a, b;
    if (hls_query_parse(q, n, &a) != HLS_PL_OK)
        return;
    FZ_CHECK(!a.has_part || a.has_msn);
    char buf[128];
    int len = snprintf(buf, sizeof(buf), "x=1");
    if (a.has_msn)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "&_HLS_msn=%" PRIu64, a.msn);
    if (a.has_part)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "&_HLS_part=%" PRIu64, a.part);
    if (a.skip != HLS_SKIP_NO)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "&_HLS_skip=%s",
                        a.skip == HLS_SKIP_YES ? "YES" : "v2");
    FZ_CHECK(len > 0 && (size_t)len < sizeof(buf));
    FZ_CHECK(hls_query_parse(buf, (size_t)len, &b) == HLS_PL_OK);
    FZ_CHECK(a.has_msn == b.has_msn && a.has_part == b.has_part && a.skip == b.skip);
    FZ_CHECK((!a.has_msn || a.msn == b.msn) && (!a.has_part || a.part == b.part));

    enum hls_reload r = hls_playlist_reload_state(pl, &a);
    FZ_CHECK(r == HLS_RELOAD_READY || r == HLS_RELOAD_BLOCK || r == HLS_RELOAD_BAD_REQUEST);
    if (!a.has_msn || hls_playlist_ended(pl))
        FZ_CHECK(r == HLS_RELOAD_READY);
    if (r == HLS_RELOAD_READY && a.has_part && !hls_playlist_ended(pl))
        FZ_CHECK(hls_playlist_has_part(pl, a.msn, a.part));

    char *text = NULL;
    size_t text_len = 0;
    if (hls_playlist_write(pl, a.skip, &text, &text_len) == HLS_PL_OK) {
        FZ_CHECK(text && strlen(text) == text_len);
        free(text);
    }
}

static void fz_name(const char *s, size_t n)
{
    struct hls_uri u;
    if (hls_uri_parse(s, n, &u) != HLS_PL_OK)
        return;
    char buf[32];
    int len = hls_uri_format(&u, buf, sizeof(buf));
    FZ_CHECK(len > 0 && (size_t)len == n && memcmp(buf, s, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct hls_playlist *pl = fz_playlist(data[0]);
    if (!pl)
        return 0;
    /* exact-size copies so that reads past the end are caught */
    size_t n = size - 1;
    char *q = malloc(n ? n : 1);
    if (q) {
        memcpy(q, data + 1, n);
        fz_query(pl, q, n);
        const char *slash = memchr(q, '/', n); /* a name may follow a '/' */
        if (slash)
            fz_name(slash + 1, n - (size_t)(slash + 1 - q));
        else
            fz_name(q, n);
        free(q);
    }
    hls_playlist_free(pl);
    return 0;
}
