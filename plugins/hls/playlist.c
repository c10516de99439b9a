/*
 * hls/playlist - LL-HLS media playlist model, writer and delivery-directive
 * parser. See playlist.h for the contract.
 *
 * Tag order written (rfc8216bis 4.4):
 *   #EXTM3U
 *   #EXT-X-VERSION:6           (9 when the playlist carries EXT-X-SKIP)
 *   #EXT-X-TARGETDURATION:<s>
 *   #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=<6 x s>,PART-HOLD-BACK=<3 x part
 * target> #EXT-X-PART-INF:PART-TARGET=<part target> #EXT-X-MEDIA-SEQUENCE:<msn of the first
 * segment, skipped ones included> #EXT-X-DISCONTINUITY-SEQUENCE:<n>   (once a discontinuity is or
 * was listed) #EXT-X-MAP:URI="init<g>.mp4"        (init of the first segment shown)
 *   #EXT-X-SKIP:SKIPPED-SEGMENTS=<n>    (delta updates only)
 *   per segment: [#EXT-X-DISCONTINUITY] [#EXT-X-MAP on a generation change]
 *                #EXT-X-PROGRAM-DATE-TIME, [#EXT-X-PART...], #EXTINF + URI
 *   in-progress segment: the same tags, its parts, no EXTINF
 *   #EXT-X-PRELOAD-HINT:TYPE=PART,URI="part<n>.m4s"   or   #EXT-X-ENDLIST
 */
#include "plugins/hls/playlist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US_PER_S INT64_C(1000000)
/* 9999-12-31T23:59:59.999Z: keeps EXT-X-PROGRAM-DATE-TIME four-digit years. */
#define PL_MAX_PDT_MS INT64_C(253402300799999)

struct pl_part {
    int64_t duration_us;
    bool independent;
};

struct pl_seg {
    uint64_t msn;
    int64_t duration_us;
    int64_t pdt_ms;
    bool discontinuity;
    uint32_t init_gen;
    uint64_t first_part_seq;
    unsigned nparts;
    unsigned cap;
    struct pl_part *parts;
};

struct hls_playlist {
    struct hls_playlist_config cfg;
    struct pl_seg *segs; /* complete segments, oldest first */
    unsigned nsegs;
    unsigned segcap;
    struct pl_seg cur; /* in progress; open iff cur.nparts > 0; cur.msn is the next MSN */
    uint64_t next_part_seq;
    uint64_t disc_seq;
    uint32_t init_gen; /* generation of the most recently opened segment (0 before any) */
    bool pending_disc;
    bool pending_new_init;
    bool ended;
};

/* ---- model ---- */

int hls_playlist_create(const struct hls_playlist_config *cfg, struct hls_playlist **out)
{
    if (!cfg || !out)
        return HLS_PL_EINVAL;
    *out = NULL;
    if (cfg->window_segments < 1 || cfg->window_segments > HLS_PL_MAX_SEGMENTS ||
        cfg->target_duration_s < 1 || cfg->target_duration_s > HLS_PL_MAX_TARGET_S ||
        cfg->part_target_us < 1000 ||
        cfg->part_target_us > (int64_t)cfg->target_duration_s * US_PER_S)
        return HLS_PL_EINVAL;
    struct hls_playlist *pl = calloc(1, sizeof(*pl));
    if (!pl)
        return HLS_PL_ENOMEM;
    pl->cfg = *cfg;
    *out = pl;
    return HLS_PL_OK;
}

void hls_playlist_free(struct hls_playlist *pl)
{
    if (!pl)
        return;
    for (unsigned i = 0; i < pl->nsegs; i++)
        free(pl->segs[i].parts);
    free(pl->segs);
    free(pl->cur.parts);
    free(pl);
}

static int64_t td_us(const struct hls_playlist *pl)
{
    return (int64_t)pl->cfg.target_duration_s * US_PER_S;
}

int hls_playlist_add_part(struct hls_playlist *pl, int64_t duration_us, bool independent,
                          int64_t pdt_ms)
{
    if (!pl)
        return HLS_PL_EINVAL;
    if (pl->ended)
        return HLS_PL_ESTATE;
    struct pl_seg *s = &pl->cur;
    if (s->nparts == 0 && (pdt_ms < 0 || pdt_ms > PL_MAX_PDT_MS))
        return HLS_PL_EINVAL;
    if (duration_us < 1 || duration_us > pl->cfg.part_target_us || s->nparts >= HLS_PL_MAX_PARTS)
        return HLS_PL_ERANGE;
    /* EXTINF rounded to the nearest integer must not exceed the target
     * duration: strictly below target + 0.5 s keeps even ties safe. */
    if (s->duration_us + duration_us >= td_us(pl) + US_PER_S / 2)
        return HLS_PL_ERANGE;
    if (s->nparts == s->cap) {
        unsigned cap = s->cap ? s->cap * 2 : 8;
        struct pl_part *p = realloc(s->parts, cap * sizeof(*p));
        if (!p)
            return HLS_PL_ENOMEM;
        s->parts = p;
        s->cap = cap;
    }
    if (s->nparts == 0) { /* opens the segment */
        if (pl->pending_new_init && (pl->nsegs > 0 || pl->next_part_seq > 0))
            pl->init_gen++;
        s->discontinuity = pl->pending_disc;
        s->init_gen = pl->init_gen;
        s->pdt_ms = pdt_ms;
        s->first_part_seq = pl->next_part_seq;
        s->duration_us = 0;
        pl->pending_disc = false;
        pl->pending_new_init = false;
    }
    s->parts[s->nparts++] = (struct pl_part){duration_us, independent};
    s->duration_us += duration_us;
    pl->next_part_seq++;
    return HLS_PL_OK;
}

static int64_t window_us(const struct hls_playlist *pl)
{
    int64_t d = 0;
    for (unsigned i = 0; i < pl->nsegs; i++)
        d += pl->segs[i].duration_us;
    return d;
}

/* Drops the oldest segments beyond the configured count, never below three
 * target durations of media (rfc8216bis 6.2.2) unless the hard cap forces it. */
static void slide(struct hls_playlist *pl)
{
    int64_t total = window_us(pl);
    unsigned drop = 0;
    while (pl->nsegs - drop > pl->cfg.window_segments) {
        const struct pl_seg *s = &pl->segs[drop];
        bool keep_min = total - s->duration_us < 3 * td_us(pl);
        if (keep_min && pl->nsegs - drop <= HLS_PL_MAX_SEGMENTS)
            break;
        if (s->discontinuity)
            pl->disc_seq++; /* keeps the remaining segments' numbers (6.2.2) */
        total -= s->duration_us;
        free(pl->segs[drop].parts);
        drop++;
    }
    if (drop) {
        memmove(pl->segs, pl->segs + drop, (pl->nsegs - drop) * sizeof(*pl->segs));
        pl->nsegs -= drop;
    }
}

int hls_playlist_close_segment(struct hls_playlist *pl)
{
    if (!pl)
        return HLS_PL_EINVAL;
    if (pl->cur.nparts == 0)
        return HLS_PL_ESTATE;
    if (pl->nsegs == pl->segcap) {
        unsigned cap = pl->segcap ? pl->segcap * 2 : 8;
        struct pl_seg *p = realloc(pl->segs, cap * sizeof(*p));
        if (!p)
            return HLS_PL_ENOMEM;
        pl->segs = p;
        pl->segcap = cap;
    }
    pl->segs[pl->nsegs++] = pl->cur;
    uint64_t next = pl->cur.msn + 1;
    memset(&pl->cur, 0, sizeof(pl->cur));
    pl->cur.msn = next;
    slide(pl);
    return HLS_PL_OK;
}

int hls_playlist_mark_discontinuity(struct hls_playlist *pl, bool new_init)
{
    if (!pl)
        return HLS_PL_EINVAL;
    if (pl->ended)
        return HLS_PL_ESTATE;
    pl->pending_disc = true;
    pl->pending_new_init |= new_init;
    return HLS_PL_OK;
}

int hls_playlist_end(struct hls_playlist *pl)
{
    if (!pl)
        return HLS_PL_EINVAL;
    if (pl->ended)
        return HLS_PL_OK;
    if (pl->cur.nparts > 0) {
        int rc = hls_playlist_close_segment(pl);
        if (rc < 0)
            return rc;
    }
    pl->ended = true;
    return HLS_PL_OK;
}

bool hls_playlist_ended(const struct hls_playlist *pl)
{
    return pl && pl->ended;
}

int hls_playlist_resume(struct hls_playlist *pl)
{
    if (!pl)
        return HLS_PL_EINVAL;
    if (!pl->ended)
        return HLS_PL_ESTATE;
    pl->ended = false;
    return HLS_PL_OK;
}

uint64_t hls_playlist_first_msn(const struct hls_playlist *pl)
{
    if (!pl)
        return 0;
    return pl->nsegs ? pl->segs[0].msn : pl->cur.msn;
}

uint64_t hls_playlist_next_msn(const struct hls_playlist *pl)
{
    return pl ? pl->cur.msn : 0;
}

uint32_t hls_playlist_init_gen(const struct hls_playlist *pl)
{
    if (!pl)
        return 0;
    bool bump = pl->pending_new_init && (pl->nsegs > 0 || pl->next_part_seq > 0);
    return pl->init_gen + (bump ? 1 : 0);
}

/* Complete segment msn, or NULL if it is not in the window. */
static const struct pl_seg *find_seg(const struct hls_playlist *pl, uint64_t msn)
{
    if (pl->nsegs == 0 || msn < pl->segs[0].msn || msn >= pl->cur.msn)
        return NULL;
    return &pl->segs[msn - pl->segs[0].msn];
}

static int64_t total_us(const struct hls_playlist *pl)
{
    return window_us(pl) + pl->cur.duration_us;
}

/* EXT-X-PART tags SHOULD go once they are more than three target durations
 * from the end of the playlist (6.2.2); a segment's parts go all together,
 * once the last of them is that far, so that part indexes stay right. */
static bool parts_listed(const struct hls_playlist *pl, int64_t end_us, int64_t total)
{
    return total - end_us < 3 * td_us(pl);
}

int hls_playlist_segment(const struct hls_playlist *pl, uint64_t msn, struct hls_segment_info *out)
{
    if (!pl || !out)
        return HLS_PL_EINVAL;
    const struct pl_seg *s = find_seg(pl, msn);
    bool complete = s != NULL;
    if (!s) {
        if (msn != pl->cur.msn || pl->cur.nparts == 0)
            return HLS_PL_EINVAL;
        s = &pl->cur;
    }
    int64_t total = total_us(pl), end = 0;
    for (unsigned i = 0; i < pl->nsegs && pl->segs[i].msn <= msn; i++)
        end += pl->segs[i].duration_us;
    if (!complete)
        end = total;
    *out = (struct hls_segment_info){
        .msn = s->msn,
        .duration_us = s->duration_us,
        .pdt_ms = s->pdt_ms,
        .discontinuity = s->discontinuity,
        .complete = complete,
        .parts_listed = !complete || parts_listed(pl, end, total),
        .init_gen = s->init_gen,
        .first_part_seq = s->first_part_seq,
        .part_count = s->nparts,
    };
    return HLS_PL_OK;
}

bool hls_playlist_has_part(const struct hls_playlist *pl, uint64_t msn, uint64_t part)
{
    if (!pl)
        return false;
    if (msn < pl->cur.msn) {
        const struct pl_seg *s = find_seg(pl, msn);
        if (!s || part < s->nparts)
            return true; /* slid out (later ones exist) or present */
        /* past its last part: part 0 of the following segment */
        return msn + 1 < pl->cur.msn || pl->cur.nparts > 0;
    }
    return msn == pl->cur.msn && part < pl->cur.nparts;
}

void hls_playlist_next_part(const struct hls_playlist *pl, struct hls_part_ref *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!pl)
        return;
    out->msn = pl->cur.msn;
    out->index = pl->cur.nparts;
    out->seq = pl->next_part_seq;
}

int64_t hls_playlist_block_timeout_us(const struct hls_playlist *pl)
{
    return pl ? 3 * td_us(pl) : 0;
}

/* ---- writer ---- */

struct pl_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
};

__attribute__((format(printf, 2, 3))) static void out(struct pl_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
}

/* Exact decimal seconds from microseconds, at least one fractional digit. */
static const char *fmt_us(char buf[32], int64_t us)
{
    snprintf(buf, 32, "%" PRId64 ".%06" PRId64, us / US_PER_S, us % US_PER_S);
    size_t n = strlen(buf);
    while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
        buf[--n] = '\0';
    return buf;
}

/* ISO 8601 UTC with milliseconds: 2026-01-02T03:04:05.678Z */
static const char *fmt_pdt(char buf[96], int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof(tm));
    snprintf(buf, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

static void write_seg(struct pl_buf *b, const struct pl_seg *s, bool complete, bool with_parts,
                      uint32_t *gen)
{
    char t[96];
    if (s->discontinuity)
        out(b, "#EXT-X-DISCONTINUITY\n");
    if (s->init_gen != *gen) {
        out(b, "#EXT-X-MAP:URI=\"init%" PRIu32 ".mp4\"\n", s->init_gen);
        *gen = s->init_gen;
    }
    out(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", fmt_pdt(t, s->pdt_ms));
    for (unsigned i = 0; with_parts && i < s->nparts; i++)
        out(b, "#EXT-X-PART:DURATION=%s,URI=\"part%" PRIu64 ".m4s\"%s\n",
            fmt_us(t, s->parts[i].duration_us), s->first_part_seq + i,
            s->parts[i].independent ? ",INDEPENDENT=YES" : "");
    if (complete)
        out(b, "#EXTINF:%s,\nseg%" PRIu64 ".m4s\n", fmt_us(t, s->duration_us), s->msn);
}

/* Leading segments a delta update replaces: those ending more than the skip
 * boundary (CAN-SKIP-UNTIL) before the end of the playlist (6.2.5.1). */
static unsigned skippable(const struct hls_playlist *pl, int64_t total)
{
    int64_t boundary = 6 * td_us(pl), end = 0;
    unsigned n = 0;
    for (unsigned i = 0; i < pl->nsegs; i++) {
        end += pl->segs[i].duration_us;
        if (total - end <= boundary)
            break;
        n++;
    }
    return n;
}

int hls_playlist_write(const struct hls_playlist *pl, enum hls_skip skip, char **res,
                       size_t *res_len)
{
    if (!pl || !res || !res_len)
        return HLS_PL_EINVAL;
    *res = NULL;
    *res_len = 0;
    struct pl_buf b = {0};
    char t1[32], t2[32];
    int64_t total = total_us(pl);
    unsigned skipped = skip != HLS_SKIP_NO && !pl->ended ? skippable(pl, total) : 0;
    bool open = pl->cur.nparts > 0;

    bool disc = pl->disc_seq > 0 || (open && pl->cur.discontinuity);
    for (unsigned i = 0; i < pl->nsegs; i++)
        disc |= pl->segs[i].discontinuity;

    out(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%u\n", skipped ? 9 : 6,
        pl->cfg.target_duration_s);
    out(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=%s,PART-HOLD-BACK=%s\n",
        fmt_us(t1, 6 * td_us(pl)), fmt_us(t2, 3 * pl->cfg.part_target_us));
    out(&b, "#EXT-X-PART-INF:PART-TARGET=%s\n", fmt_us(t1, pl->cfg.part_target_us));
    out(&b, "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", hls_playlist_first_msn(pl));
    if (disc)
        out(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n", pl->disc_seq);

    uint32_t gen = skipped < pl->nsegs ? pl->segs[skipped].init_gen
                   : open              ? pl->cur.init_gen
                                       : hls_playlist_init_gen(pl);
    out(&b, "#EXT-X-MAP:URI=\"init%" PRIu32 ".mp4\"\n", gen);
    if (skipped)
        out(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%u%s\n", skipped,
            skip == HLS_SKIP_V2 ? ",RECENTLY-REMOVED-DATERANGES=\"\"" : "");

    int64_t end = 0;
    for (unsigned i = 0; i < pl->nsegs; i++) {
        end += pl->segs[i].duration_us;
        if (i >= skipped)
            write_seg(&b, &pl->segs[i], true, parts_listed(pl, end, total), &gen);
    }
    if (open)
        write_seg(&b, &pl->cur, false, true, &gen);
    if (pl->ended)
        out(&b, "#EXT-X-ENDLIST\n");
    else
        out(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part%" PRIu64 ".m4s\"\n", pl->next_part_seq);

    if (b.oom) {
        free(b.data);
        return HLS_PL_ENOMEM;
    }
    *res = b.data;
    *res_len = b.len;
    return HLS_PL_OK;
}

/* ---- delivery directives ---- */

/* decimal-integer (rfc8216bis 4.2): 1..20 digits, value 0..2^64-1. */
static bool parse_u64(const char *s, size_t n, bool canonical, uint64_t *v)
{
    if (n == 0 || n > 20 || (canonical && n > 1 && s[0] == '0'))
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static bool name_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

int hls_query_parse(const char *q, size_t len, struct hls_query *out)
{
    if (!out)
        return HLS_PL_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!q && len)
        return HLS_PL_EINVAL;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && q[j] != '&')
            j++;
        const char *eq = memchr(q + i, '=', j - i);
        size_t name_len = eq ? (size_t)(eq - (q + i)) : j - i;
        const char *val = eq ? eq + 1 : q + j;
        size_t val_len = (size_t)(q + j - val);
        if (name_is(q + i, name_len, "_HLS_msn")) {
            if (out->has_msn || !parse_u64(val, val_len, false, &out->msn))
                return HLS_PL_EINVAL;
            out->has_msn = true;
        } else if (name_is(q + i, name_len, "_HLS_part")) {
            if (out->has_part || !parse_u64(val, val_len, false, &out->part))
                return HLS_PL_EINVAL;
            out->has_part = true;
        } else if (name_is(q + i, name_len, "_HLS_skip")) {
            out->skip = name_is(val, val_len, "YES")  ? HLS_SKIP_YES
                        : name_is(val, val_len, "v2") ? HLS_SKIP_V2
                                                      : HLS_SKIP_NO;
        }
        i = j + 1;
    }
    if (out->has_part && !out->has_msn)
        return HLS_PL_EINVAL;
    return HLS_PL_OK;
}

enum hls_reload hls_playlist_reload_state(const struct hls_playlist *pl, const struct hls_query *q)
{
    if (!pl || !q)
        return HLS_RELOAD_BAD_REQUEST;
    if (q->has_part && !q->has_msn)
        return HLS_RELOAD_BAD_REQUEST;
    if (!q->has_msn || pl->ended)
        return HLS_RELOAD_READY;
    uint64_t next = pl->cur.msn; /* last complete segment + 1 */
    if (q->msn > next + 1)
        return HLS_RELOAD_BAD_REQUEST;
    if (!q->has_part)
        return q->msn < next ? HLS_RELOAD_READY : HLS_RELOAD_BLOCK;

    /* Advance Part Limit, counted from the last part in the playlist. A part
     * of a later segment is at least index + 1 parts ahead. */
    uint64_t limit =
        pl->cfg.part_target_us < US_PER_S ? (uint64_t)(3 * US_PER_S / pl->cfg.part_target_us) : 3;
    uint64_t last_msn = next;
    uint64_t have = pl->cur.nparts; /* parts present in segment last_msn */
    if (have == 0 && pl->nsegs > 0) {
        last_msn = next - 1;
        have = pl->segs[pl->nsegs - 1].nparts;
    }
    uint64_t ahead = 0;
    if (q->msn == last_msn)
        ahead = q->part >= have ? q->part - have + 1 : 0;
    else if (q->msn > last_msn)
        ahead = q->part == UINT64_MAX ? UINT64_MAX : q->part + 1;
    if (ahead > limit)
        return HLS_RELOAD_BAD_REQUEST;
    return hls_playlist_has_part(pl, q->msn, q->part) ? HLS_RELOAD_READY : HLS_RELOAD_BLOCK;
}

/* ---- URIs ---- */

int hls_uri_format(const struct hls_uri *u, char *buf, size_t cap)
{
    if (!u || !buf || cap == 0)
        return HLS_PL_EINVAL;
    buf[0] = '\0';
    if (u->kind < HLS_URI_INIT || u->kind > HLS_URI_PART ||
        (u->kind == HLS_URI_INIT && u->n > UINT32_MAX))
        return HLS_PL_EINVAL;
    /* literal formats (-Wformat-nonliteral under -Wformat=2) */
    static const char *const prefixes[] = {
        [HLS_URI_INIT] = "init", [HLS_URI_SEGMENT] = "seg", [HLS_URI_PART] = "part"};
    char tmp[32]; /* longest: "part" + 20 digits + ".m4s" */
    int n = snprintf(tmp, sizeof(tmp), "%s%" PRIu64 "%s", prefixes[u->kind], u->n,
                     u->kind == HLS_URI_INIT ? ".mp4" : ".m4s");
    if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= cap)
        return HLS_PL_EINVAL;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

int hls_uri_parse(const char *s, size_t len, struct hls_uri *out)
{
    static const struct {
        const char *prefix, *suffix;
        enum hls_uri_kind kind;
    } forms[] = {
        {"init", ".mp4", HLS_URI_INIT},
        {"seg", ".m4s", HLS_URI_SEGMENT},
        {"part", ".m4s", HLS_URI_PART},
    };
    if (!s || !out)
        return HLS_PL_EINVAL;
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        size_t pl = strlen(forms[f].prefix), sl = strlen(forms[f].suffix);
        if (len <= pl + sl || memcmp(s, forms[f].prefix, pl) != 0 ||
            memcmp(s + len - sl, forms[f].suffix, sl) != 0)
            continue;
        uint64_t n;
        if (!parse_u64(s + pl, len - pl - sl, true, &n))
            return HLS_PL_EINVAL;
        if (forms[f].kind == HLS_URI_INIT && n > UINT32_MAX)
            return HLS_PL_EINVAL;
        out->kind = forms[f].kind;
        out->n = n;
        return HLS_PL_OK;
    }
    return HLS_PL_EINVAL;
}
