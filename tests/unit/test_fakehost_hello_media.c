/*
 * tests/unit/test_fakehost_hello_media.c - hello's media sink in the fake host: hello-meter counts the
 * packets of live streams, which end as unpublished or at shutdown.
 * Shared set-up: fakehost_hello_fixture.h.
 */
#include "tests/unit/fakehost_hello_fixture.h"

static void push(const sh_host_api *h, sh_stream *st, int64_t pts, int key, size_t len) {
    static const uint8_t bytes[256];
    sh_packet_info pi = {.track = 0, .pts = pts, .dts = pts, .keyframe = key, .data = bytes, .len = len};
    assert_int_equal(h->stream_push(st, &pi), SH_OK);
}

static void test_hello_meter_counts_the_packets_of_live_streams(void **state) {
    fixture *f = *state;
    const sh_host_api *h = sh_fake_api(f->fh);
    sh_plugin *src = sh_fake_plugin(f->fh); /* the test plays the source (an rtmp plugin's part) */
    sh_stream *st = h->stream_open(src, "room1", 5, "streamer");
    assert_non_null(st);
    assert_null(h->stream_open(src, "room1", 6, "other")); /* one publisher per room */
    sh_track_info v = {
        .size = sizeof v, .kind = SH_TRACK_VIDEO, .codec = SH_CODEC_H264, .width = 1280, .height = 720, .fps = 30};
    assert_int_equal(h->stream_add_track(st, &v), 0);
    assert_int_equal(h->stream_start(st), SH_OK);
    assert_int_equal(h->stream_add_track(st, &v), SH_ERR_STATE); /* tracks are fixed once started */
    push(h, st, 0, 1, 100);
    push(h, st, 33, 0, 100);
    push(h, st, 66, 0, 50);
    sh_fake_run(f->fh); /* deliver "stream.started" */
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    json_object *media = json_object_object_get(r->json, "media");
    assert_int_equal(jint(media, "liveStreams"), 1);
    assert_int_equal(jint(media, "packets"), 3);
    assert_int_equal(jint(media, "bytes"), 250);
    assert_int_equal(jint(r->json, "streamsStarted"), 1);
    assert_string_equal(sh_fake_published_topic(f->fh, 0), "stream.started");
    json_object *tracks = json_object_object_get(sh_fake_published_payload(f->fh, 0), "tracks");
    assert_string_equal(jstr(json_object_array_get_idx(tracks, 0), "codec"), "h264");
    h->stream_close(st, NULL);
    assert_true(
        sh_fake_log_has(f->fh, "stream 1 in room room1 ended (unpublished): 3 packets, 250 bytes, 1 keyframes"));
    assert_string_equal(sh_fake_published_topic(f->fh, 1), "stream.ended");
    assert_string_equal(jstr(sh_fake_published_payload(f->fh, 1), "reason"), "unpublished");
    assert_int_equal(sh_fake_streams_live(f->fh), 0);
    /* a stream still live when the server stops ends with "shutdown" (its meter is freed) */
    st = h->stream_open(src, "room2", 5, "streamer");
    h->stream_add_track(st, &v);
    h->stream_start(st);
    sh_fake_stop(f->fh);
    assert_true(sh_fake_log_has(f->fh, "room room2 ended (shutdown)"));
    assert_int_equal(sh_fake_streams_live(f->fh), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_meter_counts_the_packets_of_live_streams, setup_default, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
