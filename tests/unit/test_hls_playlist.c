/*
 * tests/unit/test_hls_playlist.c - LL-HLS media playlist model, writer, delivery-directive
 * parser and blocking-reload rules (plugins/hls/playlist.c).
 *
 * check_playlist() parses the writer's output on its own and asserts the rfc8216bis rules
 * for a media playlist, so every scenario below is also a conformance check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "plugins/hls/playlist.c"

#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00.000Z */
#define ADD(pl, us, indep, pdt)                                                                    \
    assert_int_equal(hls_playlist_add_part(pl, us, indep, pdt), HLS_PL_OK)
#define CHK_MAX 4096

static double dabs(double x)
{
    return x < 0 ? -x : x;
}

/* ---- independent checker ---- */

struct parsed {
    int version;
    long target;
    double part_target, part_hold_back, can_skip_until;
    uint64_t media_sequence, dseq;
    bool has_dseq, endlist, hint, any_part;
    unsigned skipped, nsegs, ndisc, nmap, nparts, nindependent;
    unsigned trailing_parts; /* EXT-X-PART tags of the in-progress segment */
    uint64_t seg_msn[CHK_MAX];
    double seg_dur[CHK_MAX];
    unsigned seg_parts[CHK_MAX]; /* EXT-X-PART tags listed for the segment */
    uint64_t last_part_uri, hint_part;
};

static double attr_num(const char *line, const char *name)
{
    const char *p = strstr(line, name);
    assert_non_null(p);
    return strtod(p + strlen(name), NULL);
}

static uint64_t uri_num(const char *line, const char *prefix)
{
    const char *p = strstr(line, prefix);
    assert_non_null(p);
    return strtoull(p + strlen(prefix), NULL, 10);
}

static bool is_pdt(const char *v) /* YYYY-MM-DDThh:mm:ss.SSSZ */
{
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(v) != strlen(shape))
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != shape[i])
            return false;
    return true;
}

static bool tag(const char *line, const char *name)
{
    return strncmp(line, name, strlen(name)) == 0;
}

/* Parses text, asserts the media playlist rules, fills *r. */
static void check_playlist(const char *text, struct parsed *r)
{
    memset(r, 0, sizeof(*r));
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    char *copy = strdup(text), *save = NULL;
    assert_non_null(copy);
    unsigned lineno = 0, nversion = 0, ntarget = 0, nskip = 0, nmseq = 0, nparts = 0, nshort = 0;
    bool seen_segment = false, in_parts = false, want_uri = false, has_pdt = false;
    bool last_indep = true;
    double sum = 0, last_dur = 0, extinf = 0;
    int64_t next_part_uri = -1;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (lineno++ == 0) {
            assert_string_equal(line, "#EXTM3U");
        } else if (want_uri) { /* the segment URI after EXTINF */
            assert_true(line[0] != '#');
            uint64_t msn = uri_num(line, "seg");
            assert_int_equal(msn, r->media_sequence + r->skipped + r->nsegs);
            assert_true(r->nsegs < CHK_MAX && has_pdt);
            if (nparts) { /* parts sum to EXTINF (exact us, printed exactly) */
                assert_true(dabs(sum - extinf) < 1e-6 * (nparts + 1));
                assert_int_equal(nshort, 0); /* 85%: only independent / final parts short */
            }
            r->seg_msn[r->nsegs] = msn;
            r->seg_dur[r->nsegs] = extinf;
            r->seg_parts[r->nsegs++] = nparts;
            want_uri = in_parts = has_pdt = false;
            nparts = nshort = 0;
            sum = 0;
        } else if (tag(line, "#EXT-X-VERSION:")) {
            nversion++;
            r->version = atoi(line + 15);
        } else if (tag(line, "#EXT-X-TARGETDURATION:")) {
            ntarget++;
            r->target = strtol(line + 22, NULL, 10);
            assert_true(r->target >= 1);
        } else if (tag(line, "#EXT-X-SERVER-CONTROL:")) {
            assert_non_null(strstr(line, "CAN-BLOCK-RELOAD=YES"));
            r->part_hold_back = attr_num(line, "PART-HOLD-BACK=");
            r->can_skip_until = attr_num(line, "CAN-SKIP-UNTIL=");
        } else if (tag(line, "#EXT-X-PART-INF:")) {
            r->part_target = attr_num(line, "PART-TARGET=");
        } else if (tag(line, "#EXT-X-MEDIA-SEQUENCE:")) {
            assert_false(seen_segment);
            nmseq++;
            r->media_sequence = strtoull(line + 22, NULL, 10);
        } else if (tag(line, "#EXT-X-DISCONTINUITY-SEQUENCE:")) {
            assert_false(seen_segment); /* before the first segment and any DISCONTINUITY */
            assert_int_equal(r->ndisc, 0);
            r->has_dseq = true;
            r->dseq = strtoull(line + 30, NULL, 10);
        } else if (strcmp(line, "#EXT-X-DISCONTINUITY") == 0) {
            assert_false(in_parts); /* 4.4.4.9: segment tags before its first EXT-X-PART */
            seen_segment = true;
            r->ndisc++;
        } else if (tag(line, "#EXT-X-MAP:URI=\"init")) {
            assert_false(in_parts);
            assert_non_null(strstr(line, ".mp4\""));
            r->nmap++;
        } else if (tag(line, "#EXT-X-SKIP:SKIPPED-SEGMENTS=")) {
            assert_false(seen_segment);
            nskip++;
            r->skipped = (unsigned)strtoul(line + 29, NULL, 10);
            assert_true(r->skipped > 0);
        } else if (tag(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
            assert_false(in_parts);
            assert_true(is_pdt(line + 25));
            seen_segment = has_pdt = true;
        } else if (tag(line, "#EXT-X-PART:")) {
            assert_true(r->part_target > 0); /* PART-INF came first */
            double d = attr_num(line, "DURATION=");
            assert_true(d > 0 && d <= r->part_target + 1e-9);
            bool indep = strstr(line, ",INDEPENDENT=YES") != NULL;
            assert_true(indep || strstr(line, "INDEPENDENT") == NULL);
            if (nparts > 0 && !last_indep && last_dur < 0.85 * r->part_target - 1e-9)
                nshort++;
            uint64_t u = uri_num(line, "URI=\"part");
            if (next_part_uri >= 0) /* listed parts are consecutive */
                assert_int_equal(u, (uint64_t)next_part_uri);
            next_part_uri = (int64_t)u + 1;
            r->last_part_uri = u;
            seen_segment = in_parts = r->any_part = true;
            nparts++;
            sum += d;
            last_dur = d;
            last_indep = indep;
            r->nparts++;
            r->nindependent += indep;
        } else if (tag(line, "#EXTINF:")) {
            seen_segment = want_uri = true;
            extinf = strtod(line + 8, NULL);
            assert_non_null(strchr(line, ','));
            assert_true(extinf > 0);
            assert_true((long)(extinf + 0.5) <= r->target); /* 4.4.3.1: rounded <= target */
        } else if (tag(line, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part")) {
            r->hint = true;
            r->hint_part = uri_num(line, "URI=\"part");
        } else if (strcmp(line, "#EXT-X-ENDLIST") == 0) {
            r->endlist = true;
        } else {
            fail_msg("unexpected line: %s", line);
        }
    }
    assert_false(want_uri);
    assert_int_equal(nshort, 0);
    r->trailing_parts = nparts;
    assert_int_equal(nversion, 1);
    assert_int_equal(ntarget, 1);
    assert_int_equal(nmseq, 1);
    assert_true(nskip <= 1);
    assert_int_equal(r->version, nskip ? 9 : 6); /* EXT-X-MAP needs 6, EXT-X-SKIP needs 9 */
    assert_true(r->nmap >= 1);
    assert_true(r->part_target > 0);
    assert_true(r->part_hold_back >= 3 * r->part_target - 1e-9);
    assert_true(r->can_skip_until >= 6.0 * (double)r->target - 1e-9);
    assert_true(r->endlist != r->hint); /* ENDLIST and PRELOAD-HINT exclude each other */
    if (r->hint && r->any_part)
        assert_int_equal(r->hint_part, r->last_part_uri + 1);
    if (r->ndisc)
        assert_true(r->has_dseq);
    free(copy);
}

static char *render(const struct hls_playlist *pl, enum hls_skip skip, struct parsed *r)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(hls_playlist_write(pl, skip, &text, &len), HLS_PL_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    check_playlist(text, r);
    return text;
}

static void check_only(const struct hls_playlist *pl, enum hls_skip skip, struct parsed *r)
{
    free(render(pl, skip, r));
}

static struct hls_playlist *make(unsigned window, unsigned target_s, int64_t part_us)
{
    struct hls_playlist_config cfg = {window, target_s, part_us};
    struct hls_playlist *pl = NULL;
    assert_int_equal(hls_playlist_create(&cfg, &pl), HLS_PL_OK);
    assert_non_null(pl);
    return pl;
}

/* A closed segment of n parts of part_us each, the first independent. */
static void add_segment(struct hls_playlist *pl, unsigned n, int64_t part_us, int64_t pdt)
{
    for (unsigned i = 0; i < n; i++)
        ADD(pl, part_us, i == 0, pdt);
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
}

/* ---- model and writer ---- */

static void test_playlist_create_rejects_bad_config(void **state)
{
    (void)state;
    struct hls_playlist *pl = (void *)1;
    struct hls_playlist_config bad[] = {
        {0, 2, 500000},  {5, 0, 500000},    {5, 2, 999},
        {5, 2, 2000001}, {5, 3601, 500000}, {HLS_PL_MAX_SEGMENTS + 1, 2, 500000},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hls_playlist_create(&bad[i], &pl), HLS_PL_EINVAL);
        assert_null(pl);
    }
    assert_int_equal(hls_playlist_create(NULL, &pl), HLS_PL_EINVAL);
    hls_playlist_free(NULL);
}

/* Also: INDEPENDENT=YES exactly on the parts flagged so (part0, part4). */
static void test_playlist_writes_every_tag_in_order(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(3, 2, 500000);
    add_segment(pl, 4, 500000, T0);
    ADD(pl, 500000, true, T0 + 2000);
    ADD(pl, 333334, false, 0);
    struct parsed r;
    char *text = render(pl, HLS_SKIP_NO, &r);
    assert_string_equal(
        text, "#EXTM3U\n"
              "#EXT-X-VERSION:6\n"
              "#EXT-X-TARGETDURATION:2\n"
              "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=1.5\n"
              "#EXT-X-PART-INF:PART-TARGET=0.5\n"
              "#EXT-X-MEDIA-SEQUENCE:0\n"
              "#EXT-X-MAP:URI=\"init0.mp4\"\n"
              "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n"
              "#EXT-X-PART:DURATION=0.5,URI=\"part0.m4s\",INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.5,URI=\"part1.m4s\"\n"
              "#EXT-X-PART:DURATION=0.5,URI=\"part2.m4s\"\n"
              "#EXT-X-PART:DURATION=0.5,URI=\"part3.m4s\"\n"
              "#EXTINF:2.0,\n"
              "seg0.m4s\n"
              "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z\n"
              "#EXT-X-PART:DURATION=0.5,URI=\"part4.m4s\",INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.333334,URI=\"part5.m4s\"\n"
              "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part6.m4s\"\n");
    assert_int_equal(r.nsegs, 1);
    assert_int_equal(r.trailing_parts, 2);
    assert_int_equal(r.nindependent, 2);
    free(text);
    hls_playlist_free(pl);
}

static void test_playlist_empty_lists_map_and_preload_hint(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(5, 4, 1000000);
    struct parsed r;
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.nsegs, 0);
    assert_true(r.hint);
    assert_int_equal(r.hint_part, 0);
    assert_int_equal(r.nmap, 1);
    assert_false(r.has_dseq);
    /* nothing to close; ending it leaves an empty, ended playlist */
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_ESTATE);
    assert_int_equal(hls_playlist_end(pl), HLS_PL_OK);
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.nsegs, 0);
    assert_true(r.endlist);
    hls_playlist_free(pl);
}

static void test_playlist_window_slides_and_media_sequence_only_increases(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(4, 2, 500000);
    struct parsed r;
    for (unsigned s = 0; s < 20; s++) {
        uint64_t before = hls_playlist_first_msn(pl);
        add_segment(pl, 4, 500000, T0 + s * 2000);
        check_only(pl, HLS_SKIP_NO, &r);
        assert_true(r.media_sequence >= before);
        assert_int_equal(r.nsegs, s + 1 < 4 ? s + 1 : 4);
        assert_int_equal(r.media_sequence, s + 1 < 4 ? 0 : s + 1 - 4);
        assert_int_equal(r.seg_msn[r.nsegs - 1], s);
        assert_int_equal(hls_playlist_first_msn(pl), r.media_sequence);
    }
    assert_int_equal(hls_playlist_next_msn(pl), 20);
    hls_playlist_free(pl);

    /* a window of 2 one-second segments with a 2 s target keeps 6 s (6.2.2) */
    pl = make(2, 2, 500000);
    for (unsigned s = 0; s < 12; s++)
        add_segment(pl, 2, 500000, T0 + s * 1000);
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.nsegs, 6);
    hls_playlist_free(pl);
}

static void test_playlist_refuses_durations_beyond_the_targets(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(3, 2, 500000);
    assert_int_equal(hls_playlist_add_part(pl, 500001, true, T0),
                     HLS_PL_ERANGE); /* > PART-TARGET */
    assert_int_equal(hls_playlist_add_part(pl, 0, true, T0), HLS_PL_ERANGE);
    assert_int_equal(hls_playlist_add_part(pl, -5, true, T0), HLS_PL_ERANGE);
    assert_int_equal(hls_playlist_add_part(pl, 500000, true, -1), HLS_PL_EINVAL);
    assert_int_equal(hls_playlist_add_part(pl, 500000, true, PL_MAX_PDT_MS + 1), HLS_PL_EINVAL);
    for (int i = 0; i < 4; i++)
        ADD(pl, 500000, i == 0, T0);
    ADD(pl, 499999, false, T0); /* 2.499999 s still rounds to 2 */
    /* 2.5 s would round to 3 (or tie): refused, nothing added */
    assert_int_equal(hls_playlist_add_part(pl, 1, false, T0), HLS_PL_ERANGE);
    struct hls_segment_info si;
    assert_int_equal(hls_playlist_segment(pl, 0, &si), HLS_PL_OK);
    assert_int_equal(si.part_count, 5);
    assert_int_equal(si.duration_us, 2499999);
    assert_false(si.complete);
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    struct parsed r;
    check_only(pl, HLS_SKIP_NO, &r);
    assert_true(r.seg_dur[0] < 2.5);
    hls_playlist_free(pl);
}

static void test_playlist_parts_sum_to_segment_duration(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(6, 2, 334000);
    /* 30 fps in 1/1000 ticks: irregular parts of about 10 frames */
    const int64_t parts[] = {333000, 334000, 333000, 300000, 333334, 200000};
    for (unsigned s = 0; s < 3; s++) {
        for (unsigned i = 0; i < 6; i++)
            ADD(pl, parts[i], i == 0, T0 + s * 2000);
        assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    }
    struct parsed r;
    check_only(pl, HLS_SKIP_NO, &r); /* compares each sum with EXTINF */
    assert_int_equal(r.nsegs, 3);
    assert_true(dabs(r.seg_dur[0] - 1.833334) < 1e-9);
    assert_true(dabs(r.part_target - 0.334) < 1e-9);
    assert_true(dabs(r.part_hold_back - 1.002) < 1e-9);
    hls_playlist_free(pl);
}

static void test_playlist_drops_parts_older_than_three_target_durations(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(10, 2, 500000);
    for (unsigned s = 0; s < 8; s++)
        add_segment(pl, 4, 500000, T0 + s * 2000);
    ADD(pl, 500000, true, T0 + 16000);
    struct parsed r;
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.nsegs, 8);
    /* the playlist ends at 16.5 s: segments ending after 10.5 s keep their parts */
    for (unsigned i = 0; i < r.nsegs; i++)
        assert_int_equal(r.seg_parts[i], 16.5 - 2.0 * (i + 1) < 6.0 ? 4u : 0u);
    assert_int_equal(r.seg_parts[7], 4);
    assert_int_equal(r.seg_parts[4], 0);
    struct hls_segment_info si;
    assert_int_equal(hls_playlist_segment(pl, 4, &si), HLS_PL_OK);
    assert_false(si.parts_listed);
    assert_int_equal(si.first_part_seq, 16);
    assert_int_equal(hls_playlist_segment(pl, 5, &si), HLS_PL_OK);
    assert_true(si.parts_listed);
    assert_int_equal(hls_playlist_segment(pl, 99, &si), HLS_PL_EINVAL);
    hls_playlist_free(pl);
}

static void test_playlist_endlist_replaces_preload_hint(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(3, 2, 500000);
    add_segment(pl, 4, 500000, T0);
    ADD(pl, 500000, true, T0 + 2000);
    assert_int_equal(hls_playlist_end(pl), HLS_PL_OK);
    assert_int_equal(hls_playlist_end(pl), HLS_PL_OK); /* idempotent */
    assert_true(hls_playlist_ended(pl));
    struct parsed r;
    check_only(pl, HLS_SKIP_YES, &r); /* skip is ignored once ended */
    assert_true(r.endlist);
    assert_false(r.hint);
    assert_int_equal(r.skipped, 0);
    assert_int_equal(r.nsegs, 2); /* the in-progress part became a segment */
    assert_true(dabs(r.seg_dur[1] - 0.5) < 1e-9);
    assert_int_equal(hls_playlist_add_part(pl, 500000, true, T0), HLS_PL_ESTATE);
    assert_int_equal(hls_playlist_mark_discontinuity(pl, false), HLS_PL_ESTATE);
    hls_playlist_free(pl);
}

static void test_playlist_resume_after_end_continues_numbering_with_a_discontinuity(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(4, 2, 500000);
    assert_int_equal(hls_playlist_resume(pl), HLS_PL_ESTATE); /* not ended */
    add_segment(pl, 4, 500000, T0);
    ADD(pl, 500000, true, T0 + 2000);
    assert_int_equal(hls_playlist_end(pl), HLS_PL_OK);
    uint64_t next_msn = hls_playlist_next_msn(pl);
    struct hls_part_ref before;
    hls_playlist_next_part(pl, &before);
    struct hls_query q = {.has_msn = true, .msn = next_msn + 1};
    assert_int_equal(hls_playlist_reload_state(pl, &q), HLS_RELOAD_READY); /* ended: no blocking */

    /* the publisher comes back: same playlist, ENDLIST gone, new init, discontinuity */
    assert_int_equal(hls_playlist_resume(pl), HLS_PL_OK);
    assert_false(hls_playlist_ended(pl));
    assert_int_equal(hls_playlist_mark_discontinuity(pl, true), HLS_PL_OK);
    assert_int_equal(hls_playlist_init_gen(pl), 1);
    struct parsed r;
    check_only(pl, HLS_SKIP_NO, &r);
    assert_false(r.endlist);
    assert_true(r.hint);
    assert_int_equal(r.hint_part, before.seq);
    q = (struct hls_query){.has_msn = true, .msn = next_msn, .has_part = true, .part = 0};
    assert_int_equal(hls_playlist_reload_state(pl, &q), HLS_RELOAD_BLOCK);
    add_segment(pl, 4, 500000, T0 + 60000);
    assert_int_equal(hls_playlist_reload_state(pl, &q), HLS_RELOAD_READY);
    char *text = render(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.ndisc, 1);
    assert_int_equal(r.nsegs, 3);
    assert_non_null(strstr(text, "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init1.mp4\"\n"
                                 "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:00.000Z\n"));
    free(text);
    struct hls_segment_info si;
    assert_int_equal(hls_playlist_segment(pl, next_msn, &si), HLS_PL_OK);
    assert_int_equal(si.first_part_seq, before.seq);
    assert_int_equal(si.init_gen, 1);
    assert_true(si.discontinuity);
    hls_playlist_free(pl);
}

static void test_playlist_discontinuity_and_its_sequence(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(3, 2, 500000);
    add_segment(pl, 4, 500000, T0);
    assert_int_equal(hls_playlist_mark_discontinuity(pl, false), HLS_PL_OK);
    add_segment(pl, 4, 500000, T0 + 60000);
    struct parsed r;
    char *text = render(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.ndisc, 1);
    assert_true(r.has_dseq);
    assert_int_equal(r.dseq, 0);
    assert_non_null(strstr(text, "seg0.m4s\n#EXT-X-DISCONTINUITY\n"
                                 "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:00.000Z\n"));
    free(text);
    /* slide the discontinuity out: DISCONTINUITY-SEQUENCE counts it, never decreases */
    uint64_t last = 0;
    for (unsigned s = 2; s < 8; s++) {
        add_segment(pl, 4, 500000, T0 + 60000 + s * 2000);
        check_only(pl, HLS_SKIP_NO, &r);
        assert_true(r.dseq >= last);
        last = r.dseq;
    }
    assert_int_equal(r.ndisc, 0);
    assert_true(r.has_dseq);
    assert_int_equal(r.dseq, 1);
    /* flagged while a segment is in progress: applies to the next one */
    ADD(pl, 500000, true, T0 + 100000);
    assert_int_equal(hls_playlist_mark_discontinuity(pl, false), HLS_PL_OK);
    ADD(pl, 500000, false, 0);
    struct hls_segment_info si;
    assert_int_equal(hls_playlist_segment(pl, hls_playlist_next_msn(pl), &si), HLS_PL_OK);
    assert_false(si.discontinuity);
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    ADD(pl, 500000, true, T0 + 200000);
    assert_int_equal(hls_playlist_segment(pl, hls_playlist_next_msn(pl), &si), HLS_PL_OK);
    assert_true(si.discontinuity);
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.ndisc, 1);
    hls_playlist_free(pl);
}

static void test_playlist_new_init_generation_gets_its_own_map(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(4, 2, 500000);
    assert_int_equal(hls_playlist_mark_discontinuity(pl, true), HLS_PL_OK); /* first: stays 0 */
    assert_int_equal(hls_playlist_init_gen(pl), 0);
    add_segment(pl, 4, 500000, T0);
    assert_int_equal(hls_playlist_mark_discontinuity(pl, true), HLS_PL_OK);
    assert_int_equal(hls_playlist_init_gen(pl), 1);
    add_segment(pl, 4, 500000, T0 + 30000);
    struct parsed r;
    char *text = render(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.nmap, 2);
    assert_non_null(strstr(text, "#EXT-X-MAP:URI=\"init0.mp4\"\n#EXT-X-DISCONTINUITY\n"));
    assert_non_null(strstr(text, "seg0.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init1.mp4\"\n"));
    free(text);
    struct hls_segment_info si;
    assert_int_equal(hls_playlist_segment(pl, 1, &si), HLS_PL_OK);
    assert_int_equal(si.init_gen, 1);
    /* once generation 0 slides out, the header names init1 */
    for (unsigned s = 2; s < 8; s++)
        add_segment(pl, 4, 500000, T0 + 30000 + s * 2000);
    text = render(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.nmap, 1);
    assert_non_null(strstr(text, "#EXT-X-MAP:URI=\"init1.mp4\"\n"));
    assert_null(strstr(text, "init0"));
    free(text);
    hls_playlist_free(pl);
}

static void test_playlist_delta_update_skips_segments_past_skip_boundary(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(12, 1, 250000);
    for (unsigned s = 0; s < 20; s++)
        add_segment(pl, 4, 250000, T0 + s * 1000);
    ADD(pl, 250000, true, T0 + 20000);
    struct parsed full, delta;
    check_only(pl, HLS_SKIP_NO, &full);
    char *text = render(pl, HLS_SKIP_YES, &delta);
    assert_int_equal(full.nsegs, 12);
    assert_int_equal(full.version, 6);
    assert_int_equal(delta.version, 9);
    assert_true(dabs(delta.can_skip_until - 6.0) < 1e-9);
    /* the playlist lasts 12.25 s, the skip boundary is 6 s: the six segments
     * ending 6.25 s or more before the end are skipped */
    assert_int_equal(delta.skipped, 6);
    assert_int_equal(delta.media_sequence, full.media_sequence);
    assert_int_equal(delta.nsegs, full.nsegs - delta.skipped);
    assert_int_equal(delta.seg_msn[0], full.media_sequence + 6);
    assert_int_equal(delta.trailing_parts, full.trailing_parts);
    assert_null(strstr(text, "RECENTLY-REMOVED-DATERANGES"));
    assert_non_null(strstr(text, "#EXT-X-MAP:URI=\"init0.mp4\"\n#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n"
                                 "#EXT-X-PROGRAM-DATE-TIME"));
    free(text);
    text = render(pl, HLS_SKIP_V2, &delta);
    assert_non_null(
        strstr(text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=6,RECENTLY-REMOVED-DATERANGES=\"\"\n"));
    free(text);
    hls_playlist_free(pl);

    /* nothing old enough to skip: the delta is the full playlist */
    pl = make(4, 2, 500000);
    for (unsigned s = 0; s < 6; s++)
        add_segment(pl, 4, 500000, T0 + s * 2000);
    char *a = NULL, *b = NULL;
    size_t la, lb;
    assert_int_equal(hls_playlist_write(pl, HLS_SKIP_NO, &a, &la), HLS_PL_OK);
    assert_int_equal(hls_playlist_write(pl, HLS_SKIP_YES, &b, &lb), HLS_PL_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
    hls_playlist_free(pl);
}

static void test_playlist_delta_keeps_discontinuity_sequence_before_skip(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(20, 1, 500000);
    for (unsigned s = 0; s < 10; s++) {
        if (s == 2)
            assert_int_equal(hls_playlist_mark_discontinuity(pl, false), HLS_PL_OK);
        add_segment(pl, 2, 500000, T0 + s * 1000);
    }
    struct parsed r;
    char *text = render(pl, HLS_SKIP_YES, &r);
    assert_int_equal(r.skipped, 3);
    assert_true(r.has_dseq);
    assert_int_equal(r.dseq, 0); /* skipping does not change it (4.4.5.2) */
    assert_int_equal(r.ndisc, 0);
    assert_true(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n") < strstr(text, "#EXT-X-SKIP"));
    free(text);
    hls_playlist_free(pl);
}

static void test_playlist_preload_hint_names_the_next_part(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(3, 2, 500000);
    struct hls_part_ref next;
    hls_playlist_next_part(pl, &next);
    assert_true(next.msn == 0 && next.index == 0 && next.seq == 0);
    for (unsigned i = 0; i < 3; i++)
        ADD(pl, 500000, i == 0, T0);
    hls_playlist_next_part(pl, &next);
    assert_true(next.msn == 0 && next.index == 3 && next.seq == 3);
    struct parsed r;
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.hint_part, 3);
    /* the segment closes before that part arrives: the hinted URI stays right */
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    hls_playlist_next_part(pl, &next);
    assert_true(next.msn == 1 && next.index == 0 && next.seq == 3);
    ADD(pl, 500000, true, T0 + 1500);
    check_only(pl, HLS_SKIP_NO, &r);
    assert_int_equal(r.last_part_uri, 3);
    assert_int_equal(r.hint_part, 4);
    hls_playlist_free(pl);
}

static void test_playlist_formats_dates_and_durations_exactly(void **state)
{
    (void)state;
    char buf[96];
    assert_string_equal(fmt_pdt(buf, 0), "1970-01-01T00:00:00.000Z");
    assert_string_equal(fmt_pdt(buf, INT64_C(1709251199999)), "2024-02-29T23:59:59.999Z");
    assert_string_equal(fmt_pdt(buf, PL_MAX_PDT_MS), "9999-12-31T23:59:59.999Z");
    assert_string_equal(fmt_us(buf, 0), "0.0");
    assert_string_equal(fmt_us(buf, 2000000), "2.0");
    assert_string_equal(fmt_us(buf, 1000002), "1.000002");
    assert_string_equal(fmt_us(buf, 330000), "0.33");
}

/* A long irregular run with random discontinuities: every rendering, full and
 * delta, passes the checker; MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE never decrease. */
static void test_playlist_long_run_stays_conformant(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(8, 2, 333334);
    uint64_t last_seq = 0, last_dseq = 0, rnd = 12345;
    int64_t pdt = T0;
    struct parsed r;
    for (unsigned s = 0; s < 300; s++) {
        rnd = rnd * 6364136223846793005u + 1442695040888963407u;
        if ((rnd >> 60) == 0)
            assert_int_equal(hls_playlist_mark_discontinuity(pl, (rnd >> 59) & 1), HLS_PL_OK);
        unsigned n = 1 + (unsigned)((rnd >> 33) % 6);
        for (unsigned i = 0; i < n; i++) {
            int64_t d = i + 1 == n ? 100000 + (int64_t)((rnd >> 20) % 233334) : 300000 + i * 5000;
            ADD(pl, d, i == 0, pdt);
            pdt += d / 1000;
            check_only(pl, (i & 1) ? HLS_SKIP_YES : HLS_SKIP_NO, &r);
            assert_true(r.media_sequence >= last_seq && r.dseq >= last_dseq);
            last_seq = r.media_sequence;
            last_dseq = r.dseq;
        }
        assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    }
    assert_int_equal(hls_playlist_end(pl), HLS_PL_OK);
    check_only(pl, HLS_SKIP_NO, &r);
    assert_true(r.endlist);
    hls_playlist_free(pl);
}

/* ---- blocking reload ---- */

static void test_playlist_has_part_follows_blocking_reload_rules(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(3, 2, 500000);
    assert_false(hls_playlist_has_part(pl, 0, 0));
    add_segment(pl, 3, 500000, T0);   /* msn 0: parts 0..2 */
    ADD(pl, 500000, true, T0 + 1500); /* msn 1: part 0 */
    assert_true(hls_playlist_has_part(pl, 0, 2));
    assert_true(hls_playlist_has_part(pl, 0, 3)); /* past the last: msn 1 part 0 */
    assert_true(hls_playlist_has_part(pl, 0, 99));
    assert_true(hls_playlist_has_part(pl, 1, 0));
    assert_false(hls_playlist_has_part(pl, 1, 1));
    assert_false(hls_playlist_has_part(pl, 2, 0));
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    assert_false(hls_playlist_has_part(pl, 1, 1)); /* = msn 2 part 0, not there yet */
    ADD(pl, 500000, true, T0 + 2000);
    assert_true(hls_playlist_has_part(pl, 1, 1));
    assert_true(hls_playlist_has_part(pl, 2, 0));
    assert_int_equal(hls_playlist_close_segment(pl), HLS_PL_OK);
    for (unsigned s = 0; s < 10; s++) /* a segment slid out counts as present */
        add_segment(pl, 4, 500000, T0 + 3000 + s * 2000);
    assert_true(hls_playlist_first_msn(pl) > 0);
    assert_true(hls_playlist_has_part(pl, 0, 0));
    hls_playlist_free(pl);
}

static void test_query_parse_accepts_directives_and_rejects_malformed_ones(void **state)
{
    (void)state;
    struct hls_query q;
    const char *s = "_HLS_msn=12&_HLS_part=3&_HLS_skip=YES&foo=bar";
    assert_int_equal(hls_query_parse(s, strlen(s), &q), HLS_PL_OK);
    assert_true(q.has_msn && q.has_part && q.msn == 12 && q.part == 3 && q.skip == HLS_SKIP_YES);
    s = "_HLS_skip=v2";
    assert_int_equal(hls_query_parse(s, strlen(s), &q), HLS_PL_OK);
    assert_true(!q.has_msn && q.skip == HLS_SKIP_V2);
    s = "_HLS_skip=no&&x&_HLS_msn=18446744073709551615";
    assert_int_equal(hls_query_parse(s, strlen(s), &q), HLS_PL_OK);
    assert_true(q.skip == HLS_SKIP_NO && q.msn == UINT64_MAX);
    assert_int_equal(hls_query_parse(NULL, 0, &q), HLS_PL_OK);
    assert_false(q.has_msn || q.has_part);
    const char buf[] = {'_', 'H', 'L', 'S', '_', 'm', 's', 'n', '=', '7', '9'}; /* no NUL */
    assert_int_equal(hls_query_parse(buf, 10, &q), HLS_PL_OK);
    assert_int_equal(q.msn, 7);

    /* clang-format off */
    const char *bad[] = {
        "_HLS_msn=", "_HLS_msn", "_HLS_msn=-1", "_HLS_msn=1x", "_HLS_msn=+1", "_HLS_msn= 1",
        "_HLS_msn=18446744073709551616", "_HLS_msn=123456789012345678901", "_HLS_part=1",
        "_HLS_msn=1&_HLS_msn=2", "_HLS_msn=1&_HLS_part=", "_HLS_msn=1&_HLS_part=1&_HLS_part=2",
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hls_query_parse(bad[i], strlen(bad[i]), &q), HLS_PL_EINVAL);
    assert_int_equal(hls_query_parse("x", 1, NULL), HLS_PL_EINVAL);
}

static enum hls_reload reload(const struct hls_playlist *pl, const char *query)
{
    struct hls_query q;
    if (hls_query_parse(query, strlen(query), &q) < 0)
        return HLS_RELOAD_BAD_REQUEST;
    return hls_playlist_reload_state(pl, &q);
}

static void test_reload_state_blocks_until_available_and_refuses_far_future(void **state)
{
    (void)state;
    struct hls_playlist *pl = make(5, 2, 500000); /* Advance Part Limit: 3 / 0.5 = 6 parts */
    assert_int_equal(reload(pl, ""), HLS_RELOAD_READY);
    assert_int_equal(reload(pl, "_HLS_msn=0"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=1"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=2"), HLS_RELOAD_BAD_REQUEST);
    assert_int_equal(reload(pl, "_HLS_msn=0&_HLS_part=5"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=0&_HLS_part=6"), HLS_RELOAD_BAD_REQUEST);
    assert_int_equal(reload(pl, "_HLS_part=0"), HLS_RELOAD_BAD_REQUEST);
    struct hls_query part_only = {.has_part = true};
    assert_int_equal(hls_playlist_reload_state(pl, &part_only), HLS_RELOAD_BAD_REQUEST);

    add_segment(pl, 4, 500000, T0); /* msn 0 complete */
    ADD(pl, 500000, true, T0 + 2000);
    ADD(pl, 500000, false, 0); /* msn 1: parts 0 and 1 */
    assert_int_equal(reload(pl, "_HLS_msn=0"), HLS_RELOAD_READY);
    assert_int_equal(reload(pl, "_HLS_msn=1"), HLS_RELOAD_BLOCK); /* not complete yet */
    assert_int_equal(reload(pl, "_HLS_msn=2"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=3"), HLS_RELOAD_BAD_REQUEST); /* last complete + 3 */
    assert_int_equal(reload(pl, "_HLS_msn=1&_HLS_part=1"), HLS_RELOAD_READY);
    assert_int_equal(reload(pl, "_HLS_msn=1&_HLS_part=2"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=1&_HLS_part=7"), HLS_RELOAD_BLOCK);       /* 6 ahead */
    assert_int_equal(reload(pl, "_HLS_msn=1&_HLS_part=8"), HLS_RELOAD_BAD_REQUEST); /* 7 ahead */
    assert_int_equal(reload(pl, "_HLS_msn=2&_HLS_part=5"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=2&_HLS_part=6"), HLS_RELOAD_BAD_REQUEST);
    assert_int_equal(reload(pl, "_HLS_msn=2&_HLS_part=18446744073709551615"),
                     HLS_RELOAD_BAD_REQUEST);
    assert_int_equal(reload(pl, "_HLS_msn=0&_HLS_part=4"), HLS_RELOAD_READY); /* msn 1 part 0 */
    assert_int_equal(reload(pl, "_HLS_msn=0&_HLS_part=2&_HLS_skip=YES"), HLS_RELOAD_READY);
    /* once ended, the directives are ignored */
    assert_int_equal(hls_playlist_end(pl), HLS_PL_OK);
    assert_int_equal(reload(pl, "_HLS_msn=2&_HLS_part=0"), HLS_RELOAD_READY);
    assert_int_equal(reload(pl, "_HLS_msn=9"), HLS_RELOAD_READY);
    assert_int_equal(hls_playlist_block_timeout_us(pl), 6000000);
    hls_playlist_free(pl);

    pl = make(5, 4, 1000000); /* PART-TARGET >= 1 s: the limit is 3 parts */
    ADD(pl, 1000000, true, T0);
    assert_int_equal(reload(pl, "_HLS_msn=0&_HLS_part=3"), HLS_RELOAD_BLOCK);
    assert_int_equal(reload(pl, "_HLS_msn=0&_HLS_part=4"), HLS_RELOAD_BAD_REQUEST);
    hls_playlist_free(pl);
}

/* ---- URIs ---- */

static void test_uri_format_and_parse_round_trip_and_reject_foreign_names(void **state)
{
    (void)state;
    const struct hls_uri us[] = {
        {HLS_URI_INIT, 0},    {HLS_URI_INIT, UINT32_MAX},
        {HLS_URI_SEGMENT, 0}, {HLS_URI_SEGMENT, UINT64_MAX},
        {HLS_URI_PART, 42},
    };
    char buf[32];
    struct hls_uri back;
    for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
        int n = hls_uri_format(&us[i], buf, sizeof(buf));
        assert_true(n > 0 && (size_t)n == strlen(buf));
        assert_int_equal(hls_uri_parse(buf, (size_t)n, &back), HLS_PL_OK);
        assert_true(back.kind == us[i].kind && back.n == us[i].n);
    }
    struct hls_uri u = {HLS_URI_PART, 123456};
    assert_int_equal(hls_uri_format(&u, buf, 8), HLS_PL_EINVAL);
    u = (struct hls_uri){HLS_URI_INIT, (uint64_t)UINT32_MAX + 1};
    assert_int_equal(hls_uri_format(&u, buf, sizeof(buf)), HLS_PL_EINVAL);

    /* clang-format off */
    const char *bad[] = {
        "", "seg.m4s", "seg01.m4s", "seg1.mp4", "part-1.m4s", "init1.m4s", "../seg1.m4s",
        "seg1.m4sx", "Seg1.m4s", "index.m3u8", "part1 .m4s", "init4294967296.mp4",
        "seg18446744073709551616.m4s",
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hls_uri_parse(bad[i], strlen(bad[i]), &back), HLS_PL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_playlist_create_rejects_bad_config),
        cmocka_unit_test(test_playlist_writes_every_tag_in_order),
        cmocka_unit_test(test_playlist_empty_lists_map_and_preload_hint),
        cmocka_unit_test(test_playlist_window_slides_and_media_sequence_only_increases),
        cmocka_unit_test(test_playlist_refuses_durations_beyond_the_targets),
        cmocka_unit_test(test_playlist_parts_sum_to_segment_duration),
        cmocka_unit_test(test_playlist_drops_parts_older_than_three_target_durations),
        cmocka_unit_test(test_playlist_endlist_replaces_preload_hint),
        cmocka_unit_test(test_playlist_resume_after_end_continues_numbering_with_a_discontinuity),
        cmocka_unit_test(test_playlist_discontinuity_and_its_sequence),
        cmocka_unit_test(test_playlist_new_init_generation_gets_its_own_map),
        cmocka_unit_test(test_playlist_delta_update_skips_segments_past_skip_boundary),
        cmocka_unit_test(test_playlist_delta_keeps_discontinuity_sequence_before_skip),
        cmocka_unit_test(test_playlist_preload_hint_names_the_next_part),
        cmocka_unit_test(test_playlist_formats_dates_and_durations_exactly),
        cmocka_unit_test(test_playlist_long_run_stays_conformant),
        cmocka_unit_test(test_playlist_has_part_follows_blocking_reload_rules),
        cmocka_unit_test(test_query_parse_accepts_directives_and_rejects_malformed_ones),
        cmocka_unit_test(test_reload_state_blocks_until_available_and_refuses_far_future),
        cmocka_unit_test(test_uri_format_and_parse_round_trip_and_reject_foreign_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
