/*
 * tests/unit/test_amf0.c - AMF0 decoder and encoder: every accepted type, the limits (depth,
 * value count, string length), truncation, unknown and refused markers, FFmpeg's real `connect`
 * command decoded and re-encoded byte for byte, and the answers the server builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/rtmp/amf0.c"

/* `connect` as sent by FFmpeg 5.1 (libavformat 59.27.100) publishing to
 * rtmp://127.0.0.1:19350/live/streamkey123 - captured from a real session. */
static const uint8_t ffmpeg_connect[140] = {
    0x02, 0x00, 0x07, 0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x00, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x03, 0x00, 0x03, 0x61, 0x70, 0x70, 0x02, 0x00, 0x04, 0x6c, 0x69, 0x76, 0x65, 0x00, 0x04, 0x74, 0x79,
    0x70, 0x65, 0x02, 0x00, 0x0a, 0x6e, 0x6f, 0x6e, 0x70, 0x72, 0x69, 0x76, 0x61, 0x74, 0x65, 0x00, 0x08, 0x66,
    0x6c, 0x61, 0x73, 0x68, 0x56, 0x65, 0x72, 0x02, 0x00, 0x24, 0x46, 0x4d, 0x4c, 0x45, 0x2f, 0x33, 0x2e, 0x30,
    0x20, 0x28, 0x63, 0x6f, 0x6d, 0x70, 0x61, 0x74, 0x69, 0x62, 0x6c, 0x65, 0x3b, 0x20, 0x4c, 0x61, 0x76, 0x66,
    0x35, 0x39, 0x2e, 0x32, 0x37, 0x2e, 0x31, 0x30, 0x30, 0x29, 0x00, 0x05, 0x74, 0x63, 0x55, 0x72, 0x6c, 0x02,
    0x00, 0x1b, 0x72, 0x74, 0x6d, 0x70, 0x3a, 0x2f, 0x2f, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31,
    0x3a, 0x31, 0x39, 0x33, 0x35, 0x30, 0x2f, 0x6c, 0x69, 0x76, 0x65, 0x00, 0x00, 0x09,
};

static void expect_decode_error(const uint8_t *p, size_t len, int want) {
    struct amf0_value v;
    size_t used = 99;
    assert_int_equal(amf0_decode(p, len, NULL, &v, &used), want);
    assert_int_equal(v.type, AMF0_NULL); /* left empty */
    assert_int_equal(used, 0);
}

/* ---- scalars ---- */

static void test_amf0_decodes_scalars(void **state) {
    static const uint8_t num[] = {0x00, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0xff};
    static const uint8_t boolean[] = {0x01, 0x02};
    static const uint8_t str[] = {0x02, 0x00, 0x03, 'a', 'b', 'c'};
    static const uint8_t lstr[] = {0x0C, 0x00, 0x00, 0x00, 0x02, 'h', 'i'};
    static const uint8_t date[] = {0x0B, 0x42, 0x77, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFE};
    struct amf0_value v;
    size_t used;
    (void)state;
    assert_int_equal(amf0_decode(num, sizeof num, NULL, &v, &used), AMF0_OK);
    assert_int_equal(used, 9); /* trailing byte not consumed */
    assert_int_equal(v.type, AMF0_NUMBER);
    assert_true(v.u.number > 3.14159265358 && v.u.number < 3.14159265360);
    assert_int_equal(amf0_decode(boolean, sizeof boolean, NULL, &v, &used), AMF0_OK);
    assert_true(v.u.boolean); /* any non-zero byte */
    assert_int_equal(amf0_decode(str, sizeof str, NULL, &v, &used), AMF0_OK);
    assert_int_equal(v.type, AMF0_STRING);
    assert_int_equal(v.u.string.len, 3);
    assert_string_equal(v.u.string.ptr, "abc");
    amf0_value_clear(&v);
    assert_int_equal(amf0_decode(lstr, sizeof lstr, NULL, &v, &used), AMF0_OK);
    assert_int_equal(v.type, AMF0_LONG_STRING);
    assert_string_equal(amf0_get_string(&v, NULL), "hi");
    amf0_value_clear(&v);
    assert_int_equal(amf0_decode((const uint8_t *)"\x05", 1, NULL, &v, &used), AMF0_OK);
    assert_int_equal(v.type, AMF0_NULL);
    assert_int_equal(amf0_decode((const uint8_t *)"\x06", 1, NULL, &v, &used), AMF0_OK);
    assert_int_equal(v.type, AMF0_UNDEFINED);
    assert_int_equal(amf0_decode(date, sizeof date, NULL, &v, &used), AMF0_OK);
    assert_int_equal(v.type, AMF0_DATE);
    assert_true(v.u.date.ms > 1e12);
    assert_int_equal(v.u.date.tz, -2);
}

static void test_amf0_string_keeps_embedded_nul_and_length(void **state) {
    static const uint8_t str[] = {0x02, 0x00, 0x05, 'l', 'i', 0, 'v', 'e'};
    struct amf0_value v;
    uint32_t len = 0;
    (void)state;
    assert_int_equal(amf0_decode(str, sizeof str, NULL, &v, NULL), AMF0_OK);
    assert_string_equal(amf0_get_string(&v, &len), "li");
    assert_int_equal(len, 5); /* callers compare strlen with len to refuse NUL in names */
    assert_memory_equal(v.u.string.ptr, "li\0ve", 6);
    amf0_value_clear(&v);
}

/* ---- containers ---- */

static void test_amf0_decodes_object_ecma_and_strict_array(void **state) {
    struct amf0_writer w;
    struct amf0_value v;
    const struct amf0_value *arr, *meta;
    double d = 0;
    bool b = false;
    (void)state;
    amf0_writer_init(&w, 4096);
    amf0_put_object_begin(&w);
    amf0_put_prop_cstr(&w, "name", "x");
    amf0_put_key(&w, "list");
    amf0_put_strict_array_begin(&w, 3);
    amf0_put_number(&w, 1);
    amf0_put_cstr(&w, "two");
    amf0_put_null(&w);
    amf0_put_key(&w, "meta");
    amf0_put_ecma_begin(&w, 99); /* the count is not trusted */
    amf0_put_prop_number(&w, "width", 1280);
    amf0_put_prop_bool(&w, "stereo", true);
    amf0_put_object_end(&w);
    assert_int_equal(amf0_put_object_end(&w), AMF0_OK);

    assert_int_equal(amf0_decode(w.data, w.len, NULL, &v, NULL), AMF0_OK);
    assert_int_equal(v.type, AMF0_OBJECT);
    assert_int_equal(v.u.object.count, 3);
    assert_string_equal(amf0_get_string(amf0_object_get(&v, "name"), NULL), "x");
    arr = amf0_object_get(&v, "list");
    assert_int_equal(arr->type, AMF0_STRICT_ARRAY);
    assert_int_equal(arr->u.array.count, 3);
    assert_string_equal(amf0_get_string(&arr->u.array.items[1], NULL), "two");
    meta = amf0_object_get(&v, "meta");
    assert_int_equal(meta->type, AMF0_ECMA_ARRAY);
    assert_int_equal(meta->u.object.ecma_count, 99);
    assert_true(amf0_get_number(amf0_object_get(meta, "width"), &d));
    assert_true(d == 1280);
    assert_true(amf0_get_bool(amf0_object_get(meta, "stereo"), &b));
    assert_true(b);
    assert_null(amf0_object_get(&v, "missing"));
    assert_null(amf0_object_get(arr, "name")); /* not an object */
    assert_false(amf0_get_number(arr, &d));
    amf0_value_clear(&v);
    amf0_writer_free(&w);
}

static void test_amf0_empty_object_and_array(void **state) {
    static const uint8_t obj[] = {0x03, 0x00, 0x00, 0x09};
    static const uint8_t arr[] = {0x0A, 0x00, 0x00, 0x00, 0x00};
    struct amf0_value v;
    (void)state;
    assert_int_equal(amf0_decode(obj, sizeof obj, NULL, &v, NULL), AMF0_OK);
    assert_int_equal(v.u.object.count, 0);
    amf0_value_clear(&v);
    assert_int_equal(amf0_decode(arr, sizeof arr, NULL, &v, NULL), AMF0_OK);
    assert_int_equal(v.u.array.count, 0);
    amf0_value_clear(&v);
}

/* ---- malformed input ---- */

static void test_amf0_rejects_truncated_values(void **state) {
    static const uint8_t num[] = {0x00, 0x40, 0x09};
    static const uint8_t str_past_end[] = {0x02, 0x00, 0x10, 'a', 'b'};
    static const uint8_t str_no_len[] = {0x02, 0x00};
    static const uint8_t lstr_past_end[] = {0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
    static const uint8_t obj_no_end[] = {0x03, 0x00, 0x01, 'a', 0x05};
    static const uint8_t obj_half_end[] = {0x03, 0x00, 0x00};
    static const uint8_t key_past_end[] = {0x03, 0x00, 0x09, 'a', 'b'};
    static const uint8_t date_short[] = {0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t bool_short[] = {0x01};
    (void)state;
    expect_decode_error(NULL, 0, AMF0_ERR_TRUNCATED);
    expect_decode_error(num, sizeof num, AMF0_ERR_TRUNCATED);
    expect_decode_error(str_past_end, sizeof str_past_end, AMF0_ERR_TRUNCATED);
    expect_decode_error(str_no_len, sizeof str_no_len, AMF0_ERR_TRUNCATED);
    expect_decode_error(lstr_past_end, sizeof lstr_past_end, AMF0_ERR_TRUNCATED);
    expect_decode_error(obj_no_end, sizeof obj_no_end, AMF0_ERR_TRUNCATED);
    expect_decode_error(obj_half_end, sizeof obj_half_end, AMF0_ERR_TRUNCATED);
    expect_decode_error(key_past_end, sizeof key_past_end, AMF0_ERR_TRUNCATED);
    expect_decode_error(date_short, sizeof date_short, AMF0_ERR_TRUNCATED);
    expect_decode_error(bool_short, sizeof bool_short, AMF0_ERR_TRUNCATED);
}

static void test_amf0_every_prefix_of_connect_is_truncated(void **state) {
    (void)state;
    for (size_t n = 0; n < sizeof ffmpeg_connect; n++) {
        struct amf0_value *vals;
        uint32_t count;
        int rc = amf0_decode_all(ffmpeg_connect, n, NULL, &vals, &count);
        /* a prefix ending exactly between values decodes; any other fails cleanly */
        if (n == 0 || n == 10 || n == 19) {
            assert_int_equal(rc, AMF0_OK);
            amf0_values_free(vals, count);
        } else {
            assert_int_equal(rc, AMF0_ERR_TRUNCATED);
            assert_null(vals);
        }
    }
}

static void test_amf0_rejects_unknown_and_refused_markers(void **state) {
    static const uint8_t refused[] = {0x04, 0x07, 0x0D, 0x0E, 0x0F, 0x10, 0x11};
    uint8_t buf[8] = {0};
    (void)state;
    for (size_t i = 0; i < sizeof refused; i++) {
        buf[0] = refused[i];
        expect_decode_error(buf, sizeof buf, AMF0_ERR_UNSUPPORTED);
    }
    for (unsigned m = 0x12; m <= 0xFF; m++) {
        buf[0] = (uint8_t)m;
        expect_decode_error(buf, sizeof buf, AMF0_ERR_MARKER);
    }
    buf[0] = 0x03; /* unknown marker inside an object */
    buf[1] = 0x00, buf[2] = 0x01, buf[3] = 'k', buf[4] = 0x42;
    expect_decode_error(buf, 5, AMF0_ERR_MARKER);
}

static void test_amf0_rejects_stray_object_end_and_empty_key(void **state) {
    static const uint8_t stray[] = {0x09};
    static const uint8_t in_array[] = {0x0A, 0x00, 0x00, 0x00, 0x01, 0x09};
    static const uint8_t empty_key[] = {0x03, 0x00, 0x00, 0x05, 0x00, 0x00, 0x09};
    (void)state;
    expect_decode_error(stray, sizeof stray, AMF0_ERR_INVALID);
    expect_decode_error(in_array, sizeof in_array, AMF0_ERR_INVALID);
    expect_decode_error(empty_key, sizeof empty_key, AMF0_ERR_INVALID);
}

static uint8_t *nested_objects(uint32_t depth, size_t *len) {
    /* depth objects, each {"a": <next>}, innermost empty */
    uint8_t *p = malloc((size_t)depth * 7 + 8), *q = p;
    assert_non_null(p);
    for (uint32_t i = 0; i < depth; i++) {
        *q++ = 0x03;
        if (i + 1 < depth) {
            *q++ = 0x00, *q++ = 0x01, *q++ = 'a';
        }
    }
    for (uint32_t i = 0; i < depth; i++)
        *q++ = 0x00, *q++ = 0x00, *q++ = 0x09;
    *len = (size_t)(q - p);
    return p;
}

static void test_amf0_depth_limit(void **state) {
    struct amf0_value v;
    size_t len, used;
    uint8_t *p;
    (void)state;
    p = nested_objects(32, &len);
    assert_int_equal(amf0_decode(p, len, NULL, &v, &used), AMF0_OK);
    assert_int_equal(used, len);
    amf0_value_clear(&v);
    free(p);
    p = nested_objects(33, &len);
    expect_decode_error(p, len, AMF0_ERR_DEPTH);
    free(p);
    p = nested_objects(100000, &len); /* no stack overflow: stops at the limit */
    expect_decode_error(p, len, AMF0_ERR_DEPTH);
    free(p);
}

static void test_amf0_depth_limit_counts_strict_arrays(void **state) {
    uint8_t buf[40 * 5 + 1];
    struct amf0_limits lim;
    struct amf0_value v;
    (void)state;
    for (int i = 0; i < 40; i++) {
        buf[i * 5] = 0x0A;
        buf[i * 5 + 1] = 0, buf[i * 5 + 2] = 0, buf[i * 5 + 3] = 0, buf[i * 5 + 4] = 1;
    }
    buf[200] = 0x05;
    amf0_limits_default(&lim);
    assert_int_equal(amf0_decode(buf, sizeof buf, &lim, &v, NULL), AMF0_ERR_DEPTH);
    lim.max_depth = 40;
    assert_int_equal(amf0_decode(buf, sizeof buf, &lim, &v, NULL), AMF0_OK);
    amf0_value_clear(&v);
    lim.max_depth = 100000; /* clamped to AMF0_DEPTH_CAP */
    assert_int_equal(amf0_decode(buf, sizeof buf, &lim, &v, NULL), AMF0_OK);
    amf0_value_clear(&v);
}

static void test_amf0_value_count_and_string_limits(void **state) {
    struct amf0_writer w;
    struct amf0_limits lim;
    struct amf0_value v;
    (void)state;
    amf0_writer_init(&w, 1 << 20);
    amf0_put_strict_array_begin(&w, 100);
    for (int i = 0; i < 100; i++)
        amf0_put_null(&w);
    amf0_limits_default(&lim);
    lim.max_values = 100; /* the array itself plus 100 items = 101 */
    assert_int_equal(amf0_decode(w.data, w.len, &lim, &v, NULL), AMF0_ERR_LIMIT);
    lim.max_values = 101;
    assert_int_equal(amf0_decode(w.data, w.len, &lim, &v, NULL), AMF0_OK);
    amf0_value_clear(&v);

    amf0_writer_reset(&w);
    amf0_put_string(&w, "0123456789", 10);
    lim.max_string = 9;
    assert_int_equal(amf0_decode(w.data, w.len, &lim, &v, NULL), AMF0_ERR_LIMIT);
    amf0_writer_free(&w);
}

static void test_amf0_huge_declared_array_count_fails_without_allocating(void **state) {
    static const uint8_t arr[] = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x05};
    (void)state;
    expect_decode_error(arr, sizeof arr, AMF0_ERR_TRUNCATED);
}

/* ---- commands ---- */

static void test_amf0_decodes_ffmpeg_connect_command(void **state) {
    struct amf0_command cmd;
    struct amf0_writer w;
    const struct amf0_value *o;
    (void)state;
    assert_int_equal(amf0_command_decode(ffmpeg_connect, sizeof ffmpeg_connect, NULL, &cmd), AMF0_OK);
    assert_string_equal(cmd.name, "connect");
    assert_int_equal(cmd.name_len, 7);
    assert_true(cmd.transaction_id == 1.0);
    o = cmd.object;
    assert_non_null(o);
    assert_int_equal(o->type, AMF0_OBJECT);
    assert_string_equal(amf0_get_string(amf0_object_get(o, "app"), NULL), "live");
    assert_string_equal(amf0_get_string(amf0_object_get(o, "type"), NULL), "nonprivate");
    assert_string_equal(amf0_get_string(amf0_object_get(o, "flashVer"), NULL), "FMLE/3.0 (compatible; Lavf59.27.100)");
    assert_string_equal(amf0_get_string(amf0_object_get(o, "tcUrl"), NULL), "rtmp://127.0.0.1:19350/live");
    assert_int_equal(cmd.argc, 0);
    assert_null(cmd.args);

    /* re-encoding the decoded values gives the same bytes */
    amf0_writer_init(&w, 4096);
    for (uint32_t i = 0; i < cmd.count; i++)
        amf0_put_value(&w, &cmd.values[i]);
    assert_int_equal(w.error, AMF0_OK);
    assert_int_equal(w.len, sizeof ffmpeg_connect);
    assert_memory_equal(w.data, ffmpeg_connect, sizeof ffmpeg_connect);
    amf0_writer_free(&w);
    amf0_command_clear(&cmd);
    assert_null(cmd.values);
}

static void test_amf0_command_with_null_object_and_args(void **state) {
    struct amf0_writer w;
    struct amf0_command cmd;
    (void)state;
    amf0_writer_init(&w, 1024);
    amf0_put_command(&w, "publish", 5);
    amf0_put_null(&w);
    amf0_put_cstr(&w, "streamkey");
    amf0_put_cstr(&w, "live");
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_OK);
    assert_string_equal(cmd.name, "publish");
    assert_true(cmd.transaction_id == 5.0);
    assert_int_equal(cmd.object->type, AMF0_NULL);
    assert_int_equal(cmd.argc, 2);
    assert_string_equal(amf0_get_string(&cmd.args[0], NULL), "streamkey");
    assert_string_equal(amf0_get_string(&cmd.args[1], NULL), "live");
    amf0_command_clear(&cmd);

    amf0_writer_reset(&w);
    amf0_put_command(&w, "createStream", 4);
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_OK);
    assert_null(cmd.object);
    assert_int_equal(cmd.argc, 0);
    amf0_command_clear(&cmd);
    amf0_writer_free(&w);
}

static void test_amf0_command_rejects_bad_layout(void **state) {
    struct amf0_writer w;
    struct amf0_command cmd;
    (void)state;
    amf0_writer_init(&w, 1024);
    amf0_put_number(&w, 1); /* name must be a string */
    amf0_put_number(&w, 1);
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_ERR_INVALID);
    amf0_writer_reset(&w);
    amf0_put_cstr(&w, "connect"); /* no transaction id */
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_ERR_INVALID);
    amf0_put_cstr(&w, "1"); /* transaction id of the wrong type */
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_ERR_INVALID);
    assert_int_equal(amf0_command_decode(ffmpeg_connect, sizeof ffmpeg_connect - 1, NULL, &cmd), AMF0_ERR_TRUNCATED);
    assert_int_equal(amf0_command_decode(NULL, 0, NULL, &cmd), AMF0_ERR_INVALID);
    assert_null(cmd.values);
    amf0_writer_free(&w);
}

static void test_amf0_builds_connect_result_and_on_status(void **state) {
    struct amf0_writer w;
    struct amf0_command cmd;
    const struct amf0_value *info;
    double enc = -1;
    (void)state;
    amf0_writer_init(&w, 4096);
    amf0_put_command(&w, "_result", 1);
    amf0_put_object_begin(&w);
    amf0_put_prop_cstr(&w, "fmsVer", "FMS/3,0,1,123");
    amf0_put_prop_number(&w, "capabilities", 31);
    amf0_put_object_end(&w);
    amf0_put_object_begin(&w);
    amf0_put_prop_cstr(&w, "level", "status");
    amf0_put_prop_cstr(&w, "code", "NetConnection.Connect.Success");
    amf0_put_prop_cstr(&w, "description", "Connection succeeded.");
    amf0_put_prop_number(&w, "objectEncoding", 0);
    assert_int_equal(amf0_put_object_end(&w), AMF0_OK);
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_OK);
    assert_string_equal(cmd.name, "_result");
    assert_string_equal(amf0_get_string(amf0_object_get(cmd.object, "fmsVer"), NULL), "FMS/3,0,1,123");
    info = &cmd.args[0];
    assert_string_equal(amf0_get_string(amf0_object_get(info, "code"), NULL), "NetConnection.Connect.Success");
    assert_true(amf0_get_number(amf0_object_get(info, "objectEncoding"), &enc));
    assert_true(enc == 0);
    amf0_command_clear(&cmd);

    amf0_writer_reset(&w);
    amf0_put_command(&w, "onStatus", 0);
    amf0_put_null(&w);
    assert_int_equal(amf0_put_status(&w, "status", "NetStream.Publish.Start", NULL), AMF0_OK);
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_OK);
    assert_int_equal(cmd.args[0].u.object.count, 2); /* description omitted */
    assert_string_equal(amf0_get_string(amf0_object_get(&cmd.args[0], "code"), NULL), "NetStream.Publish.Start");
    amf0_command_clear(&cmd);

    amf0_writer_reset(&w);
    amf0_put_command(&w, "onBWDone", 0);
    amf0_put_null(&w);
    amf0_put_number(&w, 8192);
    assert_int_equal(amf0_command_decode(w.data, w.len, NULL, &cmd), AMF0_OK);
    assert_true(cmd.args[0].u.number == 8192);
    amf0_command_clear(&cmd);
    amf0_writer_free(&w);
}

/* ---- writer ---- */

static void test_amf0_writer_cap_is_enforced_and_sticky(void **state) {
    struct amf0_writer w;
    (void)state;
    amf0_writer_init(&w, 12);
    assert_int_equal(amf0_put_number(&w, 1), AMF0_OK);            /* 9 bytes */
    assert_int_equal(amf0_put_cstr(&w, "abc"), AMF0_ERR_TOO_BIG); /* 6 more */
    assert_int_equal(amf0_put_null(&w), AMF0_ERR_TOO_BIG);        /* would fit, but sticky */
    assert_int_equal(w.len, 9);
    amf0_writer_reset(&w);
    assert_int_equal(amf0_put_null(&w), AMF0_OK);
    assert_int_equal(amf0_put_key(&w, ""), AMF0_ERR_ARG);
    amf0_writer_free(&w);
    assert_null(w.data);
}

static void test_amf0_long_strings_switch_marker_at_64k(void **state) {
    struct amf0_writer w;
    struct amf0_value v;
    char *s = malloc(70000);
    (void)state;
    memset(s, 'x', 70000);
    amf0_writer_init(&w, 1 << 20);
    amf0_put_string(&w, s, 65535);
    assert_int_equal(w.data[0], AMF0_STRING);
    amf0_writer_reset(&w);
    amf0_put_string(&w, s, 65536);
    assert_int_equal(w.data[0], AMF0_LONG_STRING);
    assert_int_equal(amf0_decode(w.data, w.len, NULL, &v, NULL), AMF0_OK);
    assert_int_equal(v.u.string.len, 65536);
    amf0_value_clear(&v);
    amf0_writer_free(&w);
    free(s);
}

static void test_amf0_decode_all_reads_set_data_frame(void **state) {
    struct amf0_writer w;
    struct amf0_value *vals;
    uint32_t n;
    double width = 0;
    (void)state;
    amf0_writer_init(&w, 4096);
    amf0_put_cstr(&w, "@setDataFrame");
    amf0_put_cstr(&w, "onMetaData");
    amf0_put_ecma_begin(&w, 2);
    amf0_put_prop_number(&w, "width", 640);
    amf0_put_prop_cstr(&w, "encoder", "Lavf59.27.100");
    amf0_put_object_end(&w);
    assert_int_equal(amf0_decode_all(w.data, w.len, NULL, &vals, &n), AMF0_OK);
    assert_int_equal(n, 3);
    assert_true(amf0_get_number(amf0_object_get(&vals[2], "width"), &width));
    assert_true(width == 640);
    amf0_values_free(vals, n);
    assert_int_equal(amf0_decode_all(NULL, 0, NULL, &vals, &n), AMF0_OK);
    assert_int_equal(n, 0);
    assert_null(vals);
    amf0_writer_free(&w);
}

static void test_amf0_roundtrip_preserves_bytes(void **state) {
    static const uint8_t src[] = {
        0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 'd',  0x0B, 0x42, 0x77, 0,    0,    0,    0,    0,    0,
        0,    0,    0x00, 0x01, 'l',  0x0C, 0x00, 0x00, 0x00, 0x01, 'z',  0x00, 0x01, 'u',  0x06, 0x00, 0x01,
        'a',  0x0A, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x03, 0x00, 0x00, 0x09, 0x00, 0x00, 0x09,
    };
    struct amf0_value v;
    struct amf0_writer w;
    (void)state;
    assert_int_equal(amf0_decode(src, sizeof src, NULL, &v, NULL), AMF0_OK);
    amf0_writer_init(&w, 1024);
    assert_int_equal(amf0_put_value(&w, &v), AMF0_OK);
    assert_int_equal(w.len, sizeof src);
    assert_memory_equal(w.data, src, sizeof src);
    amf0_value_clear(&v);
    amf0_writer_free(&w);
    assert_string_equal(amf0_strerror(AMF0_ERR_DEPTH), "AMF0 nesting too deep");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amf0_decodes_scalars),
        cmocka_unit_test(test_amf0_string_keeps_embedded_nul_and_length),
        cmocka_unit_test(test_amf0_decodes_object_ecma_and_strict_array),
        cmocka_unit_test(test_amf0_empty_object_and_array),
        cmocka_unit_test(test_amf0_rejects_truncated_values),
        cmocka_unit_test(test_amf0_every_prefix_of_connect_is_truncated),
        cmocka_unit_test(test_amf0_rejects_unknown_and_refused_markers),
        cmocka_unit_test(test_amf0_rejects_stray_object_end_and_empty_key),
        cmocka_unit_test(test_amf0_depth_limit),
        cmocka_unit_test(test_amf0_depth_limit_counts_strict_arrays),
        cmocka_unit_test(test_amf0_value_count_and_string_limits),
        cmocka_unit_test(test_amf0_huge_declared_array_count_fails_without_allocating),
        cmocka_unit_test(test_amf0_decodes_ffmpeg_connect_command),
        cmocka_unit_test(test_amf0_command_with_null_object_and_args),
        cmocka_unit_test(test_amf0_command_rejects_bad_layout),
        cmocka_unit_test(test_amf0_builds_connect_result_and_on_status),
        cmocka_unit_test(test_amf0_writer_cap_is_enforced_and_sticky),
        cmocka_unit_test(test_amf0_long_strings_switch_marker_at_64k),
        cmocka_unit_test(test_amf0_decode_all_reads_set_data_frame),
        cmocka_unit_test(test_amf0_roundtrip_preserves_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
