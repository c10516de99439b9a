/*
 * tests/fuzz/fuzz_amf0.c - fuzz the AMF0 decoder and encoder.
 *
 * Input: byte 0 picks the entry point (one value, a value sequence, a command) and the limits
 * (tight or default); the rest is AMF0. Checks: a decoded value re-encodes to exactly as many
 * bytes as were consumed (only a boolean's non-zero byte may change), and re-encoding is stable
 * (decode(encode(v)) encodes to the same bytes); decoded trees respect the depth and count
 * limits; a command has a string name and a number transaction id; lookups never misbehave.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/amf0.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

/* Checks limits and walks the tree; returns the number of values in it. */
static uint32_t fz_walk(const struct amf0_value *v, uint32_t depth, uint32_t max_depth) {
    uint32_t n = 1;
    switch (v->type) {
    case AMF0_STRING:
    case AMF0_LONG_STRING:
        FZ_CHECK(v->u.string.ptr != NULL && v->u.string.ptr[v->u.string.len] == '\0');
        break;
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
        FZ_CHECK(depth < max_depth);
        for (uint32_t i = 0; i < v->u.object.count; i++) {
            const struct amf0_prop *p = &v->u.object.props[i];
            FZ_CHECK(p->key_len > 0 && p->key[p->key_len] == '\0');
            n += fz_walk(&p->value, depth + 1, max_depth);
        }
        if (v->u.object.count > 0) /* the first property is found by its key */
            (void)amf0_object_get(v, v->u.object.props[0].key);
        break;
    case AMF0_STRICT_ARRAY:
        FZ_CHECK(depth < max_depth);
        for (uint32_t i = 0; i < v->u.array.count; i++)
            n += fz_walk(&v->u.array.items[i], depth + 1, max_depth);
        break;
    default:
        break;
    }
    return n;
}

/* Encodes values; returns the writer (caller frees). */
static struct amf0_writer fz_encode(const struct amf0_value *v, uint32_t count) {
    struct amf0_writer w;
    amf0_writer_init(&w, 64u << 20);
    for (uint32_t i = 0; i < count; i++)
        amf0_put_value(&w, &v[i]);
    FZ_CHECK(w.error == AMF0_OK);
    return w;
}

static void fz_stable(const struct amf0_value *v, uint32_t count, size_t consumed, const struct amf0_limits *lim) {
    struct amf0_writer w1 = fz_encode(v, count), w2;
    struct amf0_value *back;
    uint32_t n;

    FZ_CHECK(w1.len == consumed);
    FZ_CHECK(amf0_decode_all(w1.data, w1.len, lim, &back, &n) == AMF0_OK && n == count);
    w2 = fz_encode(back, n);
    FZ_CHECK(w2.len == w1.len && (w1.len == 0 || memcmp(w1.data, w2.data, w1.len) == 0));
    amf0_values_free(back, n);
    amf0_writer_free(&w1);
    amf0_writer_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct amf0_limits lim;
    uint8_t mode;

    if (size < 1) return 0;
    mode = data[0];
    data++;
    size--;
    amf0_limits_default(&lim);
    if (mode & 4) {
        lim.max_depth = 3;
        lim.max_values = 50;
        lim.max_string = 16;
    }

    switch (mode & 3) {
    case 0: {
        struct amf0_value v;
        size_t used = 0;
        if (amf0_decode(data, size, &lim, &v, &used) == AMF0_OK) {
            FZ_CHECK(used >= 1 && used <= size);
            FZ_CHECK(fz_walk(&v, 0, lim.max_depth) <= lim.max_values);
            fz_stable(&v, 1, used, &lim);
        } else {
            FZ_CHECK(v.type == AMF0_NULL && used == 0);
        }
        amf0_value_clear(&v);
        break;
    }
    case 1: {
        struct amf0_value *vals;
        uint32_t n, total = 0;
        if (amf0_decode_all(data, size, &lim, &vals, &n) == AMF0_OK) {
            for (uint32_t i = 0; i < n; i++)
                total += fz_walk(&vals[i], 0, lim.max_depth);
            FZ_CHECK(total <= lim.max_values);
            fz_stable(vals, n, size, &lim);
            amf0_values_free(vals, n);
        } else {
            FZ_CHECK(vals == NULL && n == 0);
        }
        break;
    }
    default: {
        struct amf0_command cmd;
        if (amf0_command_decode(data, size, &lim, &cmd) == AMF0_OK) {
            FZ_CHECK(cmd.count >= 2 && cmd.name == cmd.values[0].u.string.ptr);
            FZ_CHECK(cmd.argc == (cmd.count > 3 ? cmd.count - 3 : 0));
            (void)amf0_get_string(amf0_object_get(cmd.object, "app"), NULL);
            fz_stable(cmd.values, cmd.count, size, &lim);
            amf0_command_clear(&cmd);
        }
        break;
    }
    }
    return 0;
}
