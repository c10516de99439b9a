/*
 * tests/unit/test_sio_packet.c - Socket.IO v5 packet codec (core/sio_packet.c), with the
 * Engine.IO layer for the wire-level cases ("4abc", "42{}").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/eio_packet.c"
#include "core/sio_packet.c"
#include "core/utf8.c"

static sh_sio_config cfg_default(void) {
    sh_sio_config c;
    sh_sio_config_default(&c);
    return c;
}

/* Parse `text` with default limits; returns the status, and on success checks the invariants. */
static int parse_with(const char *text, size_t len, const sh_sio_config *cfg, sh_sio_packet *p) {
    int rc = sh_sio_parse(text, len, cfg, p);
    if (rc == SH_SIO_OK) {
        assert_non_null(p->nsp);
    } else {
        assert_null(p->nsp);
        assert_null(p->data);
        assert_int_equal(p->ack_id, -1);
    }
    return rc;
}

static int parse(const char *text, sh_sio_packet *p) {
    sh_sio_config c = cfg_default();
    return parse_with(text, strlen(text), &c, p);
}

static int parse_status(const char *text) {
    sh_sio_packet p;
    int rc = parse(text, &p);
    sh_sio_packet_clear(&p);
    return rc;
}

static const char *json(json_object *o) {
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Encode `p` and compare with `expect`. */
static void assert_encodes_to(const sh_sio_packet *p, const char *expect) {
    char *out;
    size_t len;
    assert_int_equal(sh_sio_encode_packet(p, &out, &len), SH_SIO_OK);
    assert_string_equal(out, expect);
    assert_int_equal(len, strlen(expect));
    free(out);
}

/* Parse then re-encode: canonical inputs come back byte for byte. */
static void assert_round_trip(const char *text) {
    sh_sio_packet p;
    assert_int_equal(parse(text, &p), SH_SIO_OK);
    assert_encodes_to(&p, text);
    sh_sio_packet_clear(&p);
}

/* ---------------------------------------------------------------- parsing, every type */

static void test_sio_parses_connect_variants(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("0", &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_CONNECT);
    assert_string_equal(p.nsp, "/");
    assert_int_equal(p.ack_id, -1);
    assert_null(p.data);
    sh_sio_packet_clear(&p);
    assert_int_equal(parse("0/admin,{\"token\":\"abc\"}", &p), SH_SIO_OK);
    assert_string_equal(p.nsp, "/admin");
    assert_string_equal(json(p.data), "{\"token\":\"abc\"}");
    sh_sio_packet_clear(&p);
    assert_int_equal(parse("0/custom", &p), SH_SIO_OK); /* no comma, as the reference allows */
    assert_string_equal(p.nsp, "/custom");
    assert_null(p.data);
    sh_sio_packet_clear(&p);
    assert_round_trip("0{\"token\":\"123\"}");
    assert_round_trip("0/admin,");
}

static void test_sio_parses_disconnect(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("1", &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_DISCONNECT);
    sh_sio_packet_clear(&p);
    assert_round_trip("1/admin,");
}

static void test_sio_parses_events_with_namespace_and_ack(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("2[\"foo\"]", &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_EVENT);
    assert_string_equal(sh_sio_event_name(&p), "foo");
    sh_sio_packet_clear(&p);
    assert_int_equal(parse("2/admin,456[\"project:delete\",123]", &p), SH_SIO_OK);
    assert_string_equal(p.nsp, "/admin");
    assert_int_equal(p.ack_id, 456);
    assert_string_equal(json(p.data), "[\"project:delete\",123]");
    sh_sio_packet_clear(&p);
    assert_round_trip("212[\"foo\"]");
    assert_round_trip("2/admin,[\"bar\"]");
    assert_round_trip("2[\"message\",1,\"2\",{\"3\":[true]}]");
    assert_round_trip("2[\"chat-message\",{\"text\":\"a/b </script> \xe2\x80\xa8 caf\xc3\xa9\"}]");
}

static void test_sio_parses_acks(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("3/admin,13[\"bar\"]", &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_ACK);
    assert_int_equal(p.ack_id, 13);
    sh_sio_packet_clear(&p);
    assert_round_trip("312[]");
    assert_round_trip("3/admin,13[\"bar\"]");
}

static void test_sio_parses_connect_error(void **state) {
    (void)state;
    assert_round_trip("4{\"message\":\"Not authorized\"}");
    assert_round_trip("4/random,{\"message\":\"Invalid namespace\"}");
}

static void test_sio_parses_binary_event_and_ack(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_BINARY_EVENT);
    assert_int_equal(p.attachments, 1);
    assert_string_equal(sh_sio_event_name(&p), "baz");
    sh_sio_packet_clear(&p);
    assert_int_equal(parse("61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_BINARY_ACK);
    assert_int_equal(p.ack_id, 15);
    assert_null(sh_sio_event_name(&p));
    sh_sio_packet_clear(&p);
    assert_round_trip("52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    assert_round_trip("61-/admin,1[{\"_placeholder\":true,\"num\":0}]");
    assert_round_trip("50-[\"no-attachments\"]");
}

static void test_sio_accepts_int64_ack_ids_and_leading_zeros(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("29223372036854775807[\"a\"]", &p), SH_SIO_OK);
    assert_int_equal(p.ack_id, INT64_MAX);
    sh_sio_packet_clear(&p);
    assert_int_equal(parse("2007[\"a\"]", &p), SH_SIO_OK);
    assert_int_equal(p.ack_id, 7);
    sh_sio_packet_clear(&p);
    assert_int_equal(parse("30[]", &p), SH_SIO_OK);
    assert_int_equal(p.ack_id, 0);
    sh_sio_packet_clear(&p);
}

static void test_sio_accepts_trailing_json_whitespace(void **state) {
    (void)state;
    assert_int_equal(parse_status("2[\"a\"] \n"), SH_SIO_OK);
}

/* ---------------------------------------------------------------- malformed packets */

static void test_sio_rejects_empty_and_unknown_types(void **state) {
    sh_sio_config c = cfg_default();
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse_with("", 0, &c, &p), SH_SIO_ERR_EMPTY);
    assert_int_equal(parse_status("7"), SH_SIO_ERR_TYPE);
    assert_int_equal(parse_status("abc"), SH_SIO_ERR_TYPE);
    assert_int_equal(parse_status("/admin,"), SH_SIO_ERR_TYPE);
    assert_int_equal(parse_status(" 2[\"a\"]"), SH_SIO_ERR_TYPE);
}

static void test_sio_rejects_the_checklist_packets(void **state) {
    sh_eio_packet e;
    sh_sio_packet p;
    sh_sio_config c = cfg_default();
    (void)state;
    /* "4abc": an Engine.IO message whose Socket.IO packet "abc" has no valid type */
    assert_int_equal(sh_eio_parse_ws("4abc", 4, false, &e), SH_EIO_OK);
    assert_int_equal(parse_with((const char *)e.data, e.len, &c, &p), SH_SIO_ERR_TYPE);
    /* "42{}": an EVENT whose payload is an object */
    assert_int_equal(sh_eio_parse_ws("42{}", 4, false, &e), SH_EIO_OK);
    assert_int_equal(parse_with((const char *)e.data, e.len, &c, &p), SH_SIO_ERR_PAYLOAD);
    /* and as bare Socket.IO packets */
    assert_int_equal(parse_status("4abc"), SH_SIO_ERR_JSON);
    assert_int_equal(parse_status("2{}"), SH_SIO_ERR_PAYLOAD);
}

static void test_sio_rejects_event_payloads_of_wrong_shape(void **state) {
    const char *bad[] = {
        "2",
        "2[]",
        "2[1]",
        "2[null]",
        "2[[\"a\"]]",
        "2[{\"a\":1}]",
        "2{\"a\":1}",
        "2/admin,",
        "21",
        "2/admin,1",
        "5-1",
        "51-[]",
        "51-{}",
        "2[\"a\\u0000b\"]",
        "2[\"connect\"]",
        "2[\"disconnect\"]",
        "2[\"newListener\"]",
        "2[true]",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse_status(bad[i]);
        assert_true(rc == SH_SIO_ERR_PAYLOAD || rc == SH_SIO_ERR_ATTACHMENTS);
    }
    assert_int_equal(parse_status("2[\"connect\"]"), SH_SIO_ERR_PAYLOAD);
}

#define S_CONNECT_EVENT "2[\"connect\"]"

static void test_sio_reserved_events_allowed_by_config(void **state) {
    sh_sio_config c = cfg_default();
    sh_sio_packet p;
    (void)state;
    c.allow_reserved_events = true;
    assert_int_equal(parse_with(S_CONNECT_EVENT, sizeof S_CONNECT_EVENT - 1, &c, &p), SH_SIO_OK);
    sh_sio_packet_clear(&p);
}

static void test_sio_rejects_other_payloads_of_wrong_shape(void **state) {
    (void)state;
    assert_int_equal(parse_status("0[]"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("0/admin,[\"a\"]"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("1{}"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("1/admin,[]"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("4"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("4[\"a\"]"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("31"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("31{}"), SH_SIO_ERR_PAYLOAD);
    assert_int_equal(parse_status("61-1"), SH_SIO_ERR_PAYLOAD);
}

static void test_sio_rejects_ack_ids_where_they_do_not_belong(void **state) {
    (void)state;
    assert_int_equal(parse_status("3[]"), SH_SIO_ERR_ACK_ID); /* ACK needs an id */
    assert_int_equal(parse_status("61-[{\"_placeholder\":true,\"num\":0}]"), SH_SIO_ERR_ACK_ID);
    assert_int_equal(parse_status("05{}"), SH_SIO_ERR_ACK_ID);
    assert_int_equal(parse_status("11"), SH_SIO_ERR_ACK_ID);
    assert_int_equal(parse_status("47{\"message\":\"x\"}"), SH_SIO_ERR_ACK_ID);
}

static void test_sio_rejects_overlong_ack_ids(void **state) {
    (void)state;
    assert_int_equal(parse_status("29223372036854775808[\"a\"]"), SH_SIO_ERR_ACK_ID);
    assert_int_equal(parse_status("299999999999999999999[\"a\"]"), SH_SIO_ERR_ACK_ID);
    assert_int_equal(parse_status("200000000000000000000000000001[\"a\"]"), SH_SIO_ERR_ACK_ID);
}

static void test_sio_rejects_bad_attachment_counts(void **state) {
    sh_sio_config c = cfg_default();
    sh_sio_packet p;
    const char *bad[] = {"5-[\"a\"]",          "5[\"a\"]", "5x-[\"a\"]", "51[\"a\"]", "511-[\"a\"]",
                         "5999999999-[\"a\"]", "5",        "6-1[]",      "51",        "5/a,1-[\"a\"]"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(parse_status(bad[i]), SH_SIO_ERR_ATTACHMENTS);
    assert_int_equal(parse_status("510-[\"a\"]"), SH_SIO_OK); /* 10 is the default max */
    c.max_attachments = 2;
    assert_int_equal(parse_with("53-[\"a\"]", 8, &c, &p), SH_SIO_ERR_ATTACHMENTS);
    assert_int_equal(parse_with("52-[\"a\"]", 8, &c, &p), SH_SIO_OK);
    sh_sio_packet_clear(&p);
}

static void test_sio_rejects_bad_namespaces(void **state) {
    sh_sio_config c = cfg_default();
    sh_sio_packet p;
    char big[400];
    (void)state;
    assert_int_equal(parse_status("2/ad\x01min,[\"a\"]"), SH_SIO_ERR_NAMESPACE);
    assert_int_equal(parse_status("2/ad\x7fmin,[\"a\"]"), SH_SIO_ERR_NAMESPACE);
    c.max_namespace_len = 5;
    assert_int_equal(parse_with("2/admin,[\"a\"]", 13, &c, &p), SH_SIO_ERR_NAMESPACE);
    c.max_namespace_len = 6; /* "/admin" is 6 bytes */
    assert_int_equal(parse_with("2/admin,[\"a\"]", 13, &c, &p), SH_SIO_OK);
    sh_sio_packet_clear(&p);
    big[0] = '2';
    memset(big + 1, 'n', 300);
    big[1] = '/';
    memcpy(big + 301, ",[\"a\"]", 7);
    assert_int_equal(parse_status(big), SH_SIO_ERR_NAMESPACE);
    /* a namespace not followed by ',' swallows the rest: no payload is left for the EVENT */
    assert_int_equal(parse_status("2/admin[\"a\"]"), SH_SIO_ERR_PAYLOAD);
}

static void test_sio_rejects_malformed_or_trailing_json(void **state) {
    const char *bad[] = {
        "2[\"a\"]x",
        "2[\"a\"][1]",
        "2[\"a\"",
        "2[\"a\",]",
        "2[\"a\"]}",
        "2[\"a\",NaN]",
        "2[\"a\",1.]",
        "2[\"a\",Infinity]",
        "2[\"a\",-Infinity]",
        "2[\"a\",01]",
        "2[\"a\",.5]",
        "2[\"a\",+1]",
        "2[\"a\",1e]",
        "2[\"a\",TRUE]",
        "2[\"a\",nul]",
        "2['a']",
        "2\"a\"",
        "2 [\"a\"]",
        "0\"x\"",
        "2[\"a\",1.5.2]",
        "2[\"a\",1-2]",
        "2[\"\\x41\"]",
        "4abc",
        "0{a:1}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(parse_status(bad[i]), SH_SIO_ERR_JSON);
}

static void test_sio_rejects_embedded_nul(void **state) {
    sh_sio_config c = cfg_default();
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse_with("2[\"a\"]\0", 7, &c, &p), SH_SIO_ERR_JSON);
    assert_int_equal(parse_with("2[\"a\0\"]", 7, &c, &p), SH_SIO_ERR_JSON);
    assert_int_equal(parse_with("2/a\0b,[\"a\"]", 11, &c, &p), SH_SIO_ERR_NAMESPACE);
}

static void test_sio_rejects_invalid_utf8(void **state) {
    (void)state;
    assert_int_equal(parse_status("2[\"\xff\"]"), SH_SIO_ERR_UTF8);
    assert_int_equal(parse_status("2[\"\xed\xa0\x80\"]"), SH_SIO_ERR_UTF8);
    assert_int_equal(parse_status("2/\xc0\xaf,[\"a\"]"), SH_SIO_ERR_UTF8);
}

static void test_sio_lone_surrogate_escape_becomes_replacement_char(void **state) {
    sh_sio_packet p;
    json_object *s;
    (void)state;
    assert_int_equal(parse("2[\"a\",\"\\ud800\"]", &p), SH_SIO_OK);
    s = json_object_array_get_idx(p.data, 1);
    assert_true(sh_utf8_valid(json_object_get_string(s), (size_t)json_object_get_string_len(s)));
    sh_sio_packet_clear(&p);
}

static void test_sio_enforces_depth_and_size_limits(void **state) {
    sh_sio_config c = cfg_default();
    sh_sio_packet p;
    char deep[200];
    size_t i, n = 0;
    (void)state;
    deep[n++] = '2';
    deep[n++] = '[';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ',';
    for (i = 0; i < 40; i++)
        deep[n++] = '[';
    for (i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n++] = ']';
    assert_int_equal(parse_with(deep, n, &c, &p), SH_SIO_ERR_JSON); /* depth 41 > 32 */
    c.max_json_depth = 64;
    assert_int_equal(parse_with(deep, n, &c, &p), SH_SIO_OK);
    sh_sio_packet_clear(&p);
    c.max_packet_len = n - 1;
    assert_int_equal(parse_with(deep, n, &c, &p), SH_SIO_ERR_TOO_BIG);
    c.max_json_depth = 0;
    assert_int_equal(parse_with(deep, n, &c, &p), SH_SIO_ERR_ARG);
    assert_int_equal(parse_with(deep, n, NULL, &p), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_parse(deep, n, &c, NULL), SH_SIO_ERR_ARG);
}

/* ---------------------------------------------------------------- encoding */

static void test_sio_encodes_spec_examples(void **state) {
    json_object *d = json_tokener_parse("{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    char *out;
    size_t len;
    (void)state;
    assert_int_equal(sh_sio_encode(SH_SIO_CONNECT, "/admin", -1, 0, d, &out, &len), SH_SIO_OK);
    assert_string_equal(out, "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    free(out);
    json_object_put(d);
    assert_int_equal(sh_sio_encode(SH_SIO_CONNECT, NULL, -1, 0, NULL, &out, &len), SH_SIO_OK);
    assert_string_equal(out, "0");
    assert_int_equal(len, 1);
    free(out);
    assert_int_equal(sh_sio_encode(SH_SIO_DISCONNECT, "/", -1, 0, NULL, &out, &len), SH_SIO_OK);
    assert_string_equal(out, "1");
    free(out);
    d = json_tokener_parse("[\"foo\",\"a/b\"]");
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, "/", 12, 0, d, &out, &len), SH_SIO_OK);
    assert_string_equal(out, "212[\"foo\",\"a/b\"]"); /* no slash escaping */
    free(out);
    json_object_put(d);
}

static void test_sio_encode_rejects_bad_arguments(void **state) {
    json_object *d = json_tokener_parse("[\"a\"]");
    json_object *bin = json_tokener_parse("[\"a\"]");
    char *out = (char *)"x";
    size_t len;
    (void)state;
    json_object_array_add(bin, sh_sio_binary_new("\x01", 1));
    assert_int_equal(sh_sio_encode(7, NULL, -1, 0, d, &out, &len), SH_SIO_ERR_ARG);
    assert_null(out);
    assert_int_equal(sh_sio_encode(-1, NULL, -1, 0, d, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, "admin", -1, 0, d, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, "/a,b", -1, 0, d, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, "/\xff", -1, 0, d, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, NULL, -2, 0, d, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, NULL, -1, 1, d, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode(SH_SIO_EVENT, NULL, -1, 0, bin, &out, &len), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_encode_packet(NULL, &out, &len), SH_SIO_ERR_ARG);
    json_object_put(d);
    json_object_put(bin);
}

/* ---------------------------------------------------------------- binary */

static void test_sio_binary_values_carry_bytes_and_tag(void **state) {
    json_object *b = sh_sio_binary_new("a\0b", 3), *s = json_object_new_string_len("a\0b", 3);
    const uint8_t *d;
    size_t len;
    (void)state;
    assert_true(sh_sio_is_binary(b));
    assert_false(sh_sio_is_binary(s));
    assert_false(sh_sio_is_binary(NULL));
    d = sh_sio_binary_data(b, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "a\0b", 3);
    assert_null(sh_sio_binary_data(s, &len));
    assert_int_equal(len, 0);
    json_object_put(b);
    json_object_put(s);
    b = sh_sio_binary_new(NULL, 0);
    assert_true(sh_sio_is_binary(b));
    json_object_put(b);
    assert_null(sh_sio_binary_new(NULL, 1));
}

static void test_sio_reconstruct_replaces_placeholders(void **state) {
    sh_sio_packet p;
    sh_sio_buffer bufs[2] = {{"\x01\x02", 2}, {"\x00\x03\x04", 3}};
    json_object *o, *b;
    const uint8_t *d;
    size_t len;
    (void)state;
    /* out of order, nested in an object */
    assert_int_equal(parse("52-[\"up\",{\"x\":{\"_placeholder\":true,\"num\":1}},"
                           "{\"_placeholder\":true,\"num\":0},{\"_placeholder\":false}]",
                           &p),
                     SH_SIO_OK);
    assert_int_equal(sh_sio_reconstruct(&p, bufs, 2), SH_SIO_OK);
    b = json_object_array_get_idx(p.data, 2);
    d = sh_sio_binary_data(b, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(d, "\x01\x02", 2);
    json_object_object_get_ex(json_object_array_get_idx(p.data, 1), "x", &o);
    d = sh_sio_binary_data(o, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "\x00\x03\x04", 3);
    /* "_placeholder": false is plain data */
    o = json_object_array_get_idx(p.data, 3);
    assert_true(json_object_is_type(o, json_type_object));
    sh_sio_packet_clear(&p);
}

static void check_reconstruct_fails(const char *text, size_t n, int expect) {
    sh_sio_buffer bufs[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
    sh_sio_packet p;
    char *before;
    assert_int_equal(parse(text, &p), SH_SIO_OK);
    before = strdup(json(p.data));
    assert_int_equal(sh_sio_reconstruct(&p, bufs, n), expect);
    assert_string_equal(json(p.data), before); /* tree unchanged */
    free(before);
    sh_sio_packet_clear(&p);
}

static void test_sio_reconstruct_rejects_bad_placeholders(void **state) {
    (void)state;
    /* out of range */
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true,\"num\":1}]", 1, SH_SIO_ERR_PLACEHOLDER);
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", 1, SH_SIO_ERR_PLACEHOLDER);
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true,\"num\":99999999999999999999}]", 1,
                            SH_SIO_ERR_PLACEHOLDER);
    /* not an integer, or missing */
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]", 1, SH_SIO_ERR_PLACEHOLDER);
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true,\"num\":0.0}]", 1, SH_SIO_ERR_PLACEHOLDER);
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true}]", 1, SH_SIO_ERR_PLACEHOLDER);
    /* duplicate (and so one missing) */
    check_reconstruct_fails("52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":0}]", 2,
                            SH_SIO_ERR_PLACEHOLDER);
    /* an attachment no placeholder uses */
    check_reconstruct_fails("52-[\"a\",{\"_placeholder\":true,\"num\":1}]", 2, SH_SIO_ERR_PLACEHOLDER);
    check_reconstruct_fails("51-[\"a\"]", 1, SH_SIO_ERR_PLACEHOLDER);
    /* count differs from the header */
    check_reconstruct_fails("51-[\"a\",{\"_placeholder\":true,\"num\":0}]", 2, SH_SIO_ERR_PLACEHOLDER);
    /* a placeholder inside a valid one's later sibling, placed after a bad one */
    check_reconstruct_fails("52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"k\":{\"_placeholder\":true,\"num\":2}}]", 2,
                            SH_SIO_ERR_PLACEHOLDER);
    /* not a binary packet */
    check_reconstruct_fails("2[\"a\",{\"_placeholder\":true,\"num\":0}]", 1, SH_SIO_ERR_ARG);
}

static void test_sio_reconstruct_with_zero_attachments(void **state) {
    sh_sio_packet p;
    (void)state;
    assert_int_equal(parse("50-[\"a\",{\"b\":1}]", &p), SH_SIO_OK);
    assert_int_equal(sh_sio_reconstruct(&p, NULL, 0), SH_SIO_OK);
    sh_sio_packet_clear(&p);
}

static void test_sio_deconstruct_extracts_binaries_in_order(void **state) {
    json_object *d = json_tokener_parse("[\"upload\",{\"meta\":1}]"), *att[4];
    json_object *obj = json_object_array_get_idx(d, 1);
    char *out;
    size_t n, len, blen;
    (void)state;
    json_object_array_add(d, sh_sio_binary_new("\x01\x02", 2));
    json_object_object_add(obj, "file", sh_sio_binary_new("\xff", 1));
    assert_int_equal(sh_sio_deconstruct(d, att, 4, &n), SH_SIO_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sh_sio_encode(SH_SIO_BINARY_EVENT, "/", -1, n, d, &out, &len), SH_SIO_OK);
    assert_string_equal(out, "52-[\"upload\",{\"meta\":1,\"file\":{\"_placeholder\":true,\"num\":0}},"
                             "{\"_placeholder\":true,\"num\":1}]");
    assert_memory_equal(sh_sio_binary_data(att[0], &blen), "\xff", 1);
    assert_memory_equal(sh_sio_binary_data(att[1], &blen), "\x01\x02", 2);
    free(out);
    json_object_put(att[0]);
    json_object_put(att[1]);
    json_object_put(d);
}

static void test_sio_deconstruct_respects_max_and_rejects_binary_root(void **state) {
    json_object *d = json_tokener_parse("[\"x\"]"), *att[1], *b = sh_sio_binary_new("z", 1);
    char *before;
    size_t n;
    (void)state;
    json_object_array_add(d, sh_sio_binary_new("a", 1));
    json_object_array_add(d, sh_sio_binary_new("b", 1));
    before = strdup(json(d));
    assert_int_equal(sh_sio_deconstruct(d, att, 1, &n), SH_SIO_ERR_ATTACHMENTS);
    assert_int_equal(n, 0);
    assert_string_equal(json(d), before);
    assert_int_equal(sh_sio_deconstruct(b, att, 1, &n), SH_SIO_ERR_ARG);
    assert_int_equal(sh_sio_deconstruct(NULL, att, 1, &n), SH_SIO_OK);
    assert_int_equal(n, 0);
    free(before);
    json_object_put(d);
    json_object_put(b);
}

/* Server side sends binary; the packet parsed back and reconstructed has the same bytes. */
static void test_sio_binary_round_trip_through_wire_format(void **state) {
    json_object *d = json_tokener_parse("[\"frame\",{\"n\":3}]"), *att[10];
    sh_sio_buffer bufs[10];
    sh_sio_packet p;
    char *out;
    size_t n, len, i, blen;
    uint8_t bytes[3][5] = {{0, 1, 2, 3, 4}, {5}, {0xff, 0, 0xfe}};
    (void)state;
    json_object_array_add(d, sh_sio_binary_new(bytes[0], 5));
    json_object_array_add(d, sh_sio_binary_new(bytes[1], 1));
    json_object_object_add(json_object_array_get_idx(d, 1), "raw", sh_sio_binary_new(bytes[2], 3));
    assert_int_equal(sh_sio_deconstruct(d, att, 10, &n), SH_SIO_OK);
    assert_int_equal(n, 3);
    assert_int_equal(sh_sio_encode(SH_SIO_BINARY_ACK, "/media", 77, n, d, &out, &len), SH_SIO_OK);
    for (i = 0; i < n; i++)
        bufs[i].data = sh_sio_binary_data(att[i], &bufs[i].len);
    assert_int_equal(parse(out, &p), SH_SIO_OK);
    assert_int_equal(p.type, SH_SIO_BINARY_ACK);
    assert_int_equal(p.ack_id, 77);
    assert_string_equal(p.nsp, "/media");
    assert_int_equal(sh_sio_reconstruct(&p, bufs, n), SH_SIO_OK);
    assert_memory_equal(sh_sio_binary_data(json_object_array_get_idx(p.data, 2), &blen), bytes[0], 5);
    assert_int_equal(blen, 5);
    assert_memory_equal(sh_sio_binary_data(json_object_array_get_idx(p.data, 3), &blen), bytes[1], 1);
    for (i = 0; i < n; i++)
        json_object_put(att[i]);
    sh_sio_packet_clear(&p);
    free(out);
    json_object_put(d);
}

static void test_sio_packet_clear_resets_and_strerror_covers_all(void **state) {
    sh_sio_packet p;
    int st;
    (void)state;
    assert_int_equal(parse("2/x,5[\"a\"]", &p), SH_SIO_OK);
    sh_sio_packet_clear(&p);
    assert_null(p.nsp);
    assert_null(p.data);
    assert_int_equal(p.ack_id, -1);
    sh_sio_packet_clear(&p);
    sh_sio_packet_clear(NULL);
    for (st = 0; st >= -13; st--)
        assert_non_null(sh_sio_strerror(st));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sio_parses_connect_variants),
        cmocka_unit_test(test_sio_parses_disconnect),
        cmocka_unit_test(test_sio_parses_events_with_namespace_and_ack),
        cmocka_unit_test(test_sio_parses_acks),
        cmocka_unit_test(test_sio_parses_connect_error),
        cmocka_unit_test(test_sio_parses_binary_event_and_ack),
        cmocka_unit_test(test_sio_accepts_int64_ack_ids_and_leading_zeros),
        cmocka_unit_test(test_sio_accepts_trailing_json_whitespace),
        cmocka_unit_test(test_sio_rejects_empty_and_unknown_types),
        cmocka_unit_test(test_sio_rejects_the_checklist_packets),
        cmocka_unit_test(test_sio_rejects_event_payloads_of_wrong_shape),
        cmocka_unit_test(test_sio_reserved_events_allowed_by_config),
        cmocka_unit_test(test_sio_rejects_other_payloads_of_wrong_shape),
        cmocka_unit_test(test_sio_rejects_ack_ids_where_they_do_not_belong),
        cmocka_unit_test(test_sio_rejects_overlong_ack_ids),
        cmocka_unit_test(test_sio_rejects_bad_attachment_counts),
        cmocka_unit_test(test_sio_rejects_bad_namespaces),
        cmocka_unit_test(test_sio_rejects_malformed_or_trailing_json),
        cmocka_unit_test(test_sio_rejects_embedded_nul),
        cmocka_unit_test(test_sio_rejects_invalid_utf8),
        cmocka_unit_test(test_sio_lone_surrogate_escape_becomes_replacement_char),
        cmocka_unit_test(test_sio_enforces_depth_and_size_limits),
        cmocka_unit_test(test_sio_encodes_spec_examples),
        cmocka_unit_test(test_sio_encode_rejects_bad_arguments),
        cmocka_unit_test(test_sio_binary_values_carry_bytes_and_tag),
        cmocka_unit_test(test_sio_reconstruct_replaces_placeholders),
        cmocka_unit_test(test_sio_reconstruct_rejects_bad_placeholders),
        cmocka_unit_test(test_sio_reconstruct_with_zero_attachments),
        cmocka_unit_test(test_sio_deconstruct_extracts_binaries_in_order),
        cmocka_unit_test(test_sio_deconstruct_respects_max_and_rejects_binary_root),
        cmocka_unit_test(test_sio_binary_round_trip_through_wire_format),
        cmocka_unit_test(test_sio_packet_clear_resets_and_strerror_covers_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
