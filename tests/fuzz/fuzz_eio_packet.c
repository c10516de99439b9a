/*
 * tests/fuzz/fuzz_eio_packet.c - fuzz the Engine.IO v4 codec.
 *
 * Input: byte 0 picks the limits, the rest is a WebSocket message (text and binary) and a
 * polling body. Checks: a parsed WebSocket packet re-encodes to the same bytes; a parsed polling
 * payload re-encodes to exactly the same body (the parser only accepts canonical input) and
 * parses again to the same packets; the open packet JSON built from fuzzed strings is valid JSON
 * holding the same sid.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/eio_packet.c"
#include "core/utf8.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

static void fz_ws(const uint8_t *data, size_t size, bool binary) {
    sh_eio_packet p;
    uint8_t *out;
    size_t len;
    bool is_bin;

    if (sh_eio_parse_ws(data, size, binary, &p) != SH_EIO_OK) return;
    FZ_CHECK(p.type <= SH_EIO_NOOP && p.data != NULL);
    FZ_CHECK(sh_eio_encode_ws(&p, &out, &len, &is_bin) == SH_EIO_OK);
    FZ_CHECK(is_bin == binary && len == size && (size == 0 || memcmp(out, data, size) == 0));
    free(out);
}

static void fz_payload(const uint8_t *data, size_t size, const sh_eio_limits *lim) {
    sh_eio_payload pl, again;
    uint8_t *out;
    size_t len, i;

    if (sh_eio_parse_payload(data, size, lim, &pl) != SH_EIO_OK) return;
    FZ_CHECK(pl.count >= 1 && pl.count <= lim->max_packets);
    FZ_CHECK(sh_eio_encode_payload(pl.packets, pl.count, &out, &len) == SH_EIO_OK);
    FZ_CHECK(len == size && memcmp(out, data, size) == 0);
    FZ_CHECK(sh_eio_parse_payload(out, len, lim, &again) == SH_EIO_OK);
    FZ_CHECK(again.count == pl.count);
    for (i = 0; i < pl.count; i++) {
        FZ_CHECK(again.packets[i].type == pl.packets[i].type);
        FZ_CHECK(again.packets[i].binary == pl.packets[i].binary);
        FZ_CHECK(again.packets[i].len == pl.packets[i].len);
        FZ_CHECK(pl.packets[i].len == 0 || memcmp(again.packets[i].data, pl.packets[i].data, pl.packets[i].len) == 0);
    }
    sh_eio_payload_free(&again);
    sh_eio_payload_free(&pl);
    free(out);
}

static void fz_open(const uint8_t *data, size_t size) {
    char sid[64];
    const char *ups[] = {"websocket", sid};
    size_t n = size < sizeof sid - 1 ? size : sizeof sid - 1;
    sh_eio_open o = {.sid = sid,
                     .upgrades = ups,
                     .n_upgrades = 2,
                     .ping_interval = 25000,
                     .ping_timeout = 20000,
                     .max_payload = 1000000};
    json_object *j, *v;
    char *out;
    size_t len;

    memcpy(sid, data, n);
    sid[n] = '\0';
    if (sh_eio_encode_open(&o, &out, &len) != SH_EIO_OK) {
        FZ_CHECK(n == 0 || sid[0] == '\0' || !sh_utf8_valid(sid, strlen(sid)));
        return;
    }
    FZ_CHECK(strlen(out) == len);
    j = json_tokener_parse(out);
    FZ_CHECK(j != NULL);
    FZ_CHECK(json_object_object_get_ex(j, "sid", &v));
    FZ_CHECK(strcmp(json_object_get_string(v), sid) == 0);
    FZ_CHECK(json_object_object_get_ex(j, "upgrades", &v));
    FZ_CHECK(json_object_array_length(v) == 2);
    json_object_put(j);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sh_eio_limits lim = {.max_payload = 100000, .max_packets = 64};

    if (size < 1) return 0;
    if (data[0] & 1) {
        lim.max_payload = 64;
        lim.max_packets = 4;
    }
    data++;
    size--;
    fz_ws(data, size, false);
    fz_ws(data, size, true);
    fz_payload(data, size, &lim);
    fz_open(data, size);
    return 0;
}
