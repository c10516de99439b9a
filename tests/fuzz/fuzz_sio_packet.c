/*
 * tests/fuzz/fuzz_sio_packet.c - fuzz the Socket.IO v5 codec.
 *
 * Input: one Socket.IO packet's text. Checks: a parsed packet has the shape its type demands;
 * encoding it and parsing the result gives the same packet and the same encoding (fixed point);
 * for binary packets, reconstruct with made-up attachments, then deconstruct, encode and parse
 * again with the same attachment count.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sio_packet.c"
#include "core/utf8.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

static void fz_binary(sh_sio_packet *p, const sh_sio_config *cfg) {
    static const uint8_t bytes[] = {0x00, 0x01, 0xfe, 0xff, 0x7f, 0x80, 0x1e, 0x00};
    sh_sio_buffer bufs[16];
    json_object *att[16];
    sh_sio_packet q;
    char *out;
    size_t i, n, len, total;
    int rc;

    for (i = 0; i < p->attachments && i < 16; i++) {
        bufs[i].data = bytes;
        bufs[i].len = i % sizeof bytes;
    }
    rc = sh_sio_reconstruct(p, bufs, p->attachments);
    if (rc != SH_SIO_OK) {
        FZ_CHECK(rc == SH_SIO_ERR_PLACEHOLDER);
        return;
    }
    FZ_CHECK(sh_sio_deconstruct(p->data, att, 16, &n) == SH_SIO_OK);
    FZ_CHECK(n == p->attachments);
    /* deconstruct numbers attachments in tree order, which may differ from the original
     * numbering: compare the total size instead */
    for (i = 0, total = 0; i < n; i++) {
        const uint8_t *b = sh_sio_binary_data(att[i], &len);
        FZ_CHECK(b != NULL && len < sizeof bytes);
        total += len;
        total -= i % sizeof bytes;
    }
    FZ_CHECK(total == 0);
    FZ_CHECK(sh_sio_encode(p->type, p->nsp, p->ack_id, n, p->data, &out, &len) == SH_SIO_OK);
    FZ_CHECK(sh_sio_parse(out, len, cfg, &q) == SH_SIO_OK);
    FZ_CHECK(q.attachments == n && q.type == p->type);
    sh_sio_packet_clear(&q);
    free(out);
    for (i = 0; i < n; i++)
        json_object_put(att[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sh_sio_config cfg;
    sh_sio_packet p, q;
    char *out, *out2;
    size_t len, len2;

    sh_sio_config_default(&cfg);
    if (sh_sio_parse((const char *)data, size, &cfg, &p) != SH_SIO_OK) return 0;
    FZ_CHECK(p.nsp != NULL && p.nsp[0] == '/');
    FZ_CHECK(p.attachments <= cfg.max_attachments);
    if (p.type == SH_SIO_EVENT || p.type == SH_SIO_BINARY_EVENT) FZ_CHECK(sh_sio_event_name(&p) != NULL);
    if (p.type == SH_SIO_ACK || p.type == SH_SIO_BINARY_ACK) FZ_CHECK(p.ack_id >= 0);
    if (sh_sio_encode_packet(&p, &out, &len) != SH_SIO_OK) {
        /* only a namespace holding ',' cannot happen; anything else is a bug */
        abort();
    }
    FZ_CHECK(sh_utf8_valid(out, len));
    FZ_CHECK(sh_sio_parse(out, len, &cfg, &q) == SH_SIO_OK);
    FZ_CHECK(q.type == p.type && q.ack_id == p.ack_id && q.attachments == p.attachments);
    FZ_CHECK(strcmp(q.nsp, p.nsp) == 0);
    FZ_CHECK(sh_sio_encode_packet(&q, &out2, &len2) == SH_SIO_OK);
    FZ_CHECK(len2 == len && memcmp(out, out2, len) == 0);
    free(out2);
    sh_sio_packet_clear(&q);
    free(out);
    if (p.type == SH_SIO_BINARY_EVENT || p.type == SH_SIO_BINARY_ACK) fz_binary(&p, &cfg);
    sh_sio_packet_clear(&p);
    return 0;
}
