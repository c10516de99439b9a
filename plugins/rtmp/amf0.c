/*
 * plugins/rtmp/amf0.c - AMF0 decode / encode (see amf0.h).
 *
 * The decoder is a recursive descent over a bounds-checked cursor. Recursion depth is bounded by
 * limits.max_depth (clamped to AMF0_DEPTH_CAP); the number of values by a per-call budget. Arrays
 * of properties and items grow by doubling as elements are actually parsed, never from the
 * count fields on the wire.
 */
#include "amf0.h"

#include <stdlib.h>
#include <string.h>

struct cursor {
    const uint8_t *p;
    size_t len;
    size_t pos;
    uint32_t max_depth;
    uint32_t values_left;
    uint32_t max_string;
};

void amf0_limits_default(struct amf0_limits *lim) {
    lim->max_depth = 32;
    lim->max_values = 4096;
    lim->max_string = 1u << 20;
}

static void cursor_init(struct cursor *c, const uint8_t *buf, size_t len, const struct amf0_limits *lim) {
    struct amf0_limits l;
    if (lim != NULL)
        l = *lim;
    else
        amf0_limits_default(&l);
    c->p = buf;
    c->len = len;
    c->pos = 0;
    c->max_depth = l.max_depth > AMF0_DEPTH_CAP ? AMF0_DEPTH_CAP : l.max_depth;
    c->values_left = l.max_values;
    c->max_string = l.max_string;
}

static bool have(const struct cursor *c, size_t n) {
    return c->len - c->pos >= n;
}

static uint32_t rd_be(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static double rd_double(const uint8_t *p) {
    uint64_t bits = ((uint64_t)rd_be(p, 4) << 32) | rd_be(p + 4, 4);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Reads a length-prefixed string (2- or 4-byte length) into a NUL-terminated copy. */
static int read_string(struct cursor *c, int len_bytes, char **out, uint32_t *out_len) {
    uint32_t n;
    char *s;

    if (!have(c, (size_t)len_bytes)) return AMF0_ERR_TRUNCATED;
    n = rd_be(c->p + c->pos, len_bytes);
    c->pos += (size_t)len_bytes;
    if (!have(c, n)) return AMF0_ERR_TRUNCATED;
    if (n > c->max_string) return AMF0_ERR_LIMIT;
    s = malloc((size_t)n + 1);
    if (s == NULL) return AMF0_ERR_NOMEM;
    memcpy(s, c->p + c->pos, n);
    s[n] = '\0';
    c->pos += n;
    *out = s;
    *out_len = n;
    return AMF0_OK;
}

static int decode_value(struct cursor *c, uint32_t depth, struct amf0_value *out);

static void free_props(struct amf0_prop *props, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        free(props[i].key);
        amf0_value_clear(&props[i].value);
    }
    free(props);
}

/* Properties up to and including the empty-key + object-end terminator. */
static int decode_props(struct cursor *c, uint32_t depth, struct amf0_value *out) {
    struct amf0_prop *props = NULL;
    uint32_t count = 0, cap = 0;
    int rc;

    for (;;) {
        struct amf0_prop prop;
        uint32_t klen;

        if (!have(c, 2)) {
            rc = AMF0_ERR_TRUNCATED;
            goto fail;
        }
        klen = rd_be(c->p + c->pos, 2);
        if (klen == 0) {
            if (!have(c, 3)) {
                rc = AMF0_ERR_TRUNCATED;
                goto fail;
            }
            if (c->p[c->pos + 2] != AMF0_OBJECT_END) {
                rc = AMF0_ERR_INVALID; /* an empty key must close the object */
                goto fail;
            }
            c->pos += 3;
            break;
        }
        if ((rc = read_string(c, 2, &prop.key, &klen)) != AMF0_OK) goto fail;
        prop.key_len = (uint16_t)klen;
        if ((rc = decode_value(c, depth, &prop.value)) != AMF0_OK) {
            free(prop.key);
            goto fail;
        }
        if (count == cap) {
            uint32_t ncap = cap ? cap * 2 : 4;
            struct amf0_prop *np = realloc(props, (size_t)ncap * sizeof *np);
            if (np == NULL) {
                free(prop.key);
                amf0_value_clear(&prop.value);
                rc = AMF0_ERR_NOMEM;
                goto fail;
            }
            props = np;
            cap = ncap;
        }
        props[count++] = prop;
    }
    out->u.object.props = props;
    out->u.object.count = count;
    return AMF0_OK;

fail:
    free_props(props, count);
    return rc;
}

static int decode_strict_array(struct cursor *c, uint32_t depth, struct amf0_value *out) {
    struct amf0_value *items = NULL;
    uint32_t n, count = 0, cap = 0;
    int rc;

    if (!have(c, 4)) return AMF0_ERR_TRUNCATED;
    n = rd_be(c->p + c->pos, 4);
    c->pos += 4;
    while (count < n) {
        struct amf0_value item;
        if ((rc = decode_value(c, depth, &item)) != AMF0_OK) goto fail;
        if (count == cap) {
            uint32_t ncap = cap ? cap * 2 : 4;
            struct amf0_value *ni = realloc(items, (size_t)ncap * sizeof *ni);
            if (ni == NULL) {
                amf0_value_clear(&item);
                rc = AMF0_ERR_NOMEM;
                goto fail;
            }
            items = ni;
            cap = ncap;
        }
        items[count++] = item;
    }
    out->u.array.items = items;
    out->u.array.count = count;
    return AMF0_OK;

fail:
    amf0_values_free(items, count);
    return rc;
}

/* depth: number of containers enclosing this value. */
static int decode_value(struct cursor *c, uint32_t depth, struct amf0_value *out) {
    uint8_t marker;
    int rc = AMF0_OK;

    memset(out, 0, sizeof *out);
    out->type = AMF0_NULL;
    if (c->values_left == 0) return AMF0_ERR_LIMIT;
    c->values_left--;
    if (!have(c, 1)) return AMF0_ERR_TRUNCATED;
    marker = c->p[c->pos++];

    switch (marker) {
    case AMF0_NUMBER:
        if (!have(c, 8)) return AMF0_ERR_TRUNCATED;
        out->u.number = rd_double(c->p + c->pos);
        c->pos += 8;
        break;
    case AMF0_BOOLEAN:
        if (!have(c, 1)) return AMF0_ERR_TRUNCATED;
        out->u.boolean = c->p[c->pos++] != 0;
        break;
    case AMF0_STRING:
    case AMF0_LONG_STRING:
        rc = read_string(c, marker == AMF0_STRING ? 2 : 4, &out->u.string.ptr, &out->u.string.len);
        break;
    case AMF0_NULL:
    case AMF0_UNDEFINED:
        break;
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
    case AMF0_STRICT_ARRAY:
        if (depth + 1 > c->max_depth) return AMF0_ERR_DEPTH;
        if (marker == AMF0_OBJECT) {
            rc = decode_props(c, depth + 1, out);
        } else if (marker == AMF0_ECMA_ARRAY) {
            if (!have(c, 4)) return AMF0_ERR_TRUNCATED;
            out->u.object.ecma_count = rd_be(c->p + c->pos, 4);
            c->pos += 4;
            rc = decode_props(c, depth + 1, out);
        } else {
            rc = decode_strict_array(c, depth + 1, out);
        }
        break;
    case AMF0_DATE:
        if (!have(c, 10)) return AMF0_ERR_TRUNCATED;
        out->u.date.ms = rd_double(c->p + c->pos);
        out->u.date.tz = (int16_t)rd_be(c->p + c->pos + 8, 2);
        c->pos += 10;
        break;
    case AMF0_OBJECT_END:
        return AMF0_ERR_INVALID; /* only valid after an empty key */
    case AMF0_MOVIECLIP:
    case AMF0_REFERENCE:
    case AMF0_UNSUPPORTED:
    case AMF0_RECORDSET:
    case AMF0_XML_DOCUMENT:
    case AMF0_TYPED_OBJECT:
    case AMF0_AVMPLUS:
        return AMF0_ERR_UNSUPPORTED;
    default:
        return AMF0_ERR_MARKER;
    }
    if (rc == AMF0_OK)
        out->type = (enum amf0_type)marker;
    else
        memset(&out->u, 0, sizeof out->u); /* the helpers freed what they built */
    return rc;
}

int amf0_decode(const uint8_t *buf, size_t len, const struct amf0_limits *lim, struct amf0_value *out,
                size_t *consumed) {
    struct cursor c;
    int rc;

    if (consumed != NULL) *consumed = 0;
    if (out == NULL) return AMF0_ERR_ARG;
    memset(out, 0, sizeof *out);
    out->type = AMF0_NULL;
    if (buf == NULL && len > 0) return AMF0_ERR_ARG;
    cursor_init(&c, buf, len, lim);
    rc = decode_value(&c, 0, out);
    if (rc == AMF0_OK && consumed != NULL) *consumed = c.pos;
    return rc;
}

int amf0_decode_all(const uint8_t *buf, size_t len, const struct amf0_limits *lim, struct amf0_value **values,
                    uint32_t *count) {
    struct cursor c;
    struct amf0_value *vals = NULL;
    uint32_t n = 0, cap = 0;
    int rc;

    if (values == NULL || count == NULL) return AMF0_ERR_ARG;
    *values = NULL;
    *count = 0;
    if (buf == NULL && len > 0) return AMF0_ERR_ARG;
    cursor_init(&c, buf, len, lim);
    while (c.pos < c.len) {
        struct amf0_value v;
        if ((rc = decode_value(&c, 0, &v)) != AMF0_OK) goto fail;
        if (n == cap) {
            uint32_t ncap = cap ? cap * 2 : 4;
            struct amf0_value *nv = realloc(vals, (size_t)ncap * sizeof *nv);
            if (nv == NULL) {
                amf0_value_clear(&v);
                rc = AMF0_ERR_NOMEM;
                goto fail;
            }
            vals = nv;
            cap = ncap;
        }
        vals[n++] = v;
    }
    *values = vals;
    *count = n;
    return AMF0_OK;

fail:
    amf0_values_free(vals, n);
    return rc;
}

int amf0_command_decode(const uint8_t *buf, size_t len, const struct amf0_limits *lim, struct amf0_command *cmd) {
    struct amf0_value *vals;
    uint32_t n;
    int rc;

    if (cmd == NULL) return AMF0_ERR_ARG;
    memset(cmd, 0, sizeof *cmd);
    if ((rc = amf0_decode_all(buf, len, lim, &vals, &n)) != AMF0_OK) return rc;
    if (n < 2 || (vals[0].type != AMF0_STRING && vals[0].type != AMF0_LONG_STRING) || vals[1].type != AMF0_NUMBER) {
        amf0_values_free(vals, n);
        return AMF0_ERR_INVALID;
    }
    cmd->values = vals;
    cmd->count = n;
    cmd->name = vals[0].u.string.ptr;
    cmd->name_len = vals[0].u.string.len;
    cmd->transaction_id = vals[1].u.number;
    cmd->object = n > 2 ? &vals[2] : NULL;
    cmd->args = n > 3 ? &vals[3] : NULL;
    cmd->argc = n > 3 ? n - 3 : 0;
    return AMF0_OK;
}

void amf0_value_clear(struct amf0_value *v) {
    if (v == NULL) return;
    switch (v->type) {
    case AMF0_STRING:
    case AMF0_LONG_STRING:
        free(v->u.string.ptr);
        break;
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
        free_props(v->u.object.props, v->u.object.count);
        break;
    case AMF0_STRICT_ARRAY:
        amf0_values_free(v->u.array.items, v->u.array.count);
        break;
    default:
        break;
    }
    memset(v, 0, sizeof *v);
    v->type = AMF0_NULL;
}

void amf0_values_free(struct amf0_value *values, uint32_t count) {
    if (values == NULL) return;
    for (uint32_t i = 0; i < count; i++)
        amf0_value_clear(&values[i]);
    free(values);
}

void amf0_command_clear(struct amf0_command *cmd) {
    if (cmd == NULL) return;
    amf0_values_free(cmd->values, cmd->count);
    memset(cmd, 0, sizeof *cmd);
}

const struct amf0_value *amf0_object_get(const struct amf0_value *v, const char *key) {
    size_t klen;
    if (v == NULL || key == NULL || (v->type != AMF0_OBJECT && v->type != AMF0_ECMA_ARRAY)) return NULL;
    klen = strlen(key);
    for (uint32_t i = 0; i < v->u.object.count; i++) {
        const struct amf0_prop *p = &v->u.object.props[i];
        if (p->key_len == klen && memcmp(p->key, key, klen) == 0) return &p->value;
    }
    return NULL;
}

const char *amf0_get_string(const struct amf0_value *v, uint32_t *len) {
    if (v == NULL || (v->type != AMF0_STRING && v->type != AMF0_LONG_STRING)) return NULL;
    if (len != NULL) *len = v->u.string.len;
    return v->u.string.ptr;
}

bool amf0_get_number(const struct amf0_value *v, double *out) {
    if (v == NULL || v->type != AMF0_NUMBER) return false;
    if (out != NULL) *out = v->u.number;
    return true;
}

bool amf0_get_bool(const struct amf0_value *v, bool *out) {
    if (v == NULL || v->type != AMF0_BOOLEAN) return false;
    if (out != NULL) *out = v->u.boolean;
    return true;
}

const char *amf0_strerror(int status) {
    switch (status) {
    case AMF0_OK:
        return "ok";
    case AMF0_ERR_ARG:
        return "invalid argument";
    case AMF0_ERR_TRUNCATED:
        return "AMF0 value runs past the end of the buffer";
    case AMF0_ERR_MARKER:
        return "unknown AMF0 type marker";
    case AMF0_ERR_UNSUPPORTED:
        return "unsupported AMF0 type (reference, typed object, AMF3, ...)";
    case AMF0_ERR_DEPTH:
        return "AMF0 nesting too deep";
    case AMF0_ERR_LIMIT:
        return "AMF0 value count or string length limit exceeded";
    case AMF0_ERR_INVALID:
        return "malformed AMF0 data";
    case AMF0_ERR_NOMEM:
        return "out of memory";
    case AMF0_ERR_TOO_BIG:
        return "AMF0 output too large";
    default:
        return "unknown AMF0 error";
    }
}

/* ---- encoder ---- */

void amf0_writer_init(struct amf0_writer *w, size_t max_len) {
    memset(w, 0, sizeof *w);
    w->max_len = max_len;
}

void amf0_writer_free(struct amf0_writer *w) {
    if (w == NULL) return;
    free(w->data);
    memset(w, 0, sizeof *w);
}

void amf0_writer_reset(struct amf0_writer *w) {
    w->len = 0;
    w->error = AMF0_OK;
}

static int set_error(struct amf0_writer *w, int rc) {
    if (w->error == AMF0_OK) w->error = rc;
    return w->error;
}

/* Returns a pointer to n fresh bytes at the end of the buffer, or NULL (error recorded). */
static uint8_t *w_reserve(struct amf0_writer *w, size_t n) {
    uint8_t *p;
    if (w->error != AMF0_OK) return NULL;
    if (n > w->max_len || w->len > w->max_len - n) {
        set_error(w, AMF0_ERR_TOO_BIG);
        return NULL;
    }
    if (w->len + n > w->cap) {
        size_t ncap = w->cap ? w->cap : 64;
        while (ncap < w->len + n)
            ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
        if (ncap > w->max_len) ncap = w->max_len;
        uint8_t *nd = realloc(w->data, ncap);
        if (nd == NULL) {
            set_error(w, AMF0_ERR_NOMEM);
            return NULL;
        }
        w->data = nd;
        w->cap = ncap;
    }
    p = w->data + w->len;
    w->len += n;
    return p;
}

static void wr_be(uint8_t *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

int amf0_put_number(struct amf0_writer *w, double v) {
    uint8_t *p = w_reserve(w, 9);
    uint64_t bits;
    if (p == NULL) return w->error;
    memcpy(&bits, &v, sizeof bits);
    p[0] = AMF0_NUMBER;
    wr_be(p + 1, bits, 8);
    return AMF0_OK;
}

int amf0_put_bool(struct amf0_writer *w, bool v) {
    uint8_t *p = w_reserve(w, 2);
    if (p == NULL) return w->error;
    p[0] = AMF0_BOOLEAN;
    p[1] = v ? 1 : 0;
    return AMF0_OK;
}

static int put_string_as(struct amf0_writer *w, uint8_t marker, const char *s, size_t len) {
    int lb = marker == AMF0_STRING ? 2 : 4;
    uint8_t *p;
    if (w->error != AMF0_OK) return w->error;
    if ((s == NULL && len > 0) || len > (marker == AMF0_STRING ? 0xFFFFu : 0xFFFFFFFFu))
        return set_error(w, AMF0_ERR_ARG);
    if ((p = w_reserve(w, 1 + (size_t)lb + len)) == NULL) return w->error;
    p[0] = marker;
    wr_be(p + 1, len, lb);
    if (len > 0) memcpy(p + 1 + lb, s, len);
    return AMF0_OK;
}

int amf0_put_string(struct amf0_writer *w, const char *s, size_t len) {
    return put_string_as(w, len <= 0xFFFF ? AMF0_STRING : AMF0_LONG_STRING, s, len);
}

int amf0_put_cstr(struct amf0_writer *w, const char *s) {
    if (s == NULL) return set_error(w, AMF0_ERR_ARG);
    return amf0_put_string(w, s, strlen(s));
}

static int put_marker(struct amf0_writer *w, uint8_t marker) {
    uint8_t *p = w_reserve(w, 1);
    if (p == NULL) return w->error;
    p[0] = marker;
    return AMF0_OK;
}

int amf0_put_null(struct amf0_writer *w) {
    return put_marker(w, AMF0_NULL);
}

int amf0_put_undefined(struct amf0_writer *w) {
    return put_marker(w, AMF0_UNDEFINED);
}

int amf0_put_object_begin(struct amf0_writer *w) {
    return put_marker(w, AMF0_OBJECT);
}

static int put_marker_u32(struct amf0_writer *w, uint8_t marker, uint32_t count) {
    uint8_t *p = w_reserve(w, 5);
    if (p == NULL) return w->error;
    p[0] = marker;
    wr_be(p + 1, count, 4);
    return AMF0_OK;
}

int amf0_put_ecma_begin(struct amf0_writer *w, uint32_t count) {
    return put_marker_u32(w, AMF0_ECMA_ARRAY, count);
}

int amf0_put_strict_array_begin(struct amf0_writer *w, uint32_t count) {
    return put_marker_u32(w, AMF0_STRICT_ARRAY, count);
}

static int put_key_len(struct amf0_writer *w, const char *key, size_t len) {
    uint8_t *p;
    if (w->error != AMF0_OK) return w->error;
    if (key == NULL || len == 0 || len > 0xFFFF) return set_error(w, AMF0_ERR_ARG);
    if ((p = w_reserve(w, 2 + len)) == NULL) return w->error;
    wr_be(p, len, 2);
    memcpy(p + 2, key, len);
    return AMF0_OK;
}

int amf0_put_key(struct amf0_writer *w, const char *key) {
    if (key == NULL) return set_error(w, AMF0_ERR_ARG);
    return put_key_len(w, key, strlen(key));
}

int amf0_put_object_end(struct amf0_writer *w) {
    uint8_t *p = w_reserve(w, 3);
    if (p == NULL) return w->error;
    p[0] = 0;
    p[1] = 0;
    p[2] = AMF0_OBJECT_END;
    return AMF0_OK;
}

int amf0_put_prop_number(struct amf0_writer *w, const char *key, double v) {
    amf0_put_key(w, key);
    return amf0_put_number(w, v);
}

int amf0_put_prop_bool(struct amf0_writer *w, const char *key, bool v) {
    amf0_put_key(w, key);
    return amf0_put_bool(w, v);
}

int amf0_put_prop_cstr(struct amf0_writer *w, const char *key, const char *s) {
    amf0_put_key(w, key);
    return amf0_put_cstr(w, s);
}

int amf0_put_prop_null(struct amf0_writer *w, const char *key) {
    amf0_put_key(w, key);
    return amf0_put_null(w);
}

int amf0_put_command(struct amf0_writer *w, const char *name, double transaction_id) {
    amf0_put_cstr(w, name);
    return amf0_put_number(w, transaction_id);
}

int amf0_put_status(struct amf0_writer *w, const char *level, const char *code, const char *description) {
    amf0_put_object_begin(w);
    amf0_put_prop_cstr(w, "level", level);
    amf0_put_prop_cstr(w, "code", code);
    if (description != NULL) amf0_put_prop_cstr(w, "description", description);
    return amf0_put_object_end(w);
}

static int put_value(struct amf0_writer *w, const struct amf0_value *v, uint32_t depth) {
    if (w->error != AMF0_OK) return w->error;
    if (v == NULL) return set_error(w, AMF0_ERR_ARG);
    switch (v->type) {
    case AMF0_NUMBER:
        return amf0_put_number(w, v->u.number);
    case AMF0_BOOLEAN:
        return amf0_put_bool(w, v->u.boolean);
    case AMF0_STRING:
    case AMF0_LONG_STRING:
        return put_string_as(w, (uint8_t)v->type, v->u.string.ptr, v->u.string.len);
    case AMF0_NULL:
    case AMF0_UNDEFINED:
        return put_marker(w, (uint8_t)v->type);
    case AMF0_DATE: {
        uint8_t *p = w_reserve(w, 11);
        uint64_t bits;
        if (p == NULL) return w->error;
        memcpy(&bits, &v->u.date.ms, sizeof bits);
        p[0] = AMF0_DATE;
        wr_be(p + 1, bits, 8);
        wr_be(p + 9, (uint16_t)v->u.date.tz, 2);
        return AMF0_OK;
    }
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
    case AMF0_STRICT_ARRAY:
        if (depth + 1 > AMF0_DEPTH_CAP) return set_error(w, AMF0_ERR_DEPTH);
        if (v->type == AMF0_STRICT_ARRAY) {
            if (v->u.array.count > 0 && v->u.array.items == NULL) return set_error(w, AMF0_ERR_ARG);
            amf0_put_strict_array_begin(w, v->u.array.count);
            for (uint32_t i = 0; i < v->u.array.count; i++)
                put_value(w, &v->u.array.items[i], depth + 1);
            return w->error;
        }
        if (v->u.object.count > 0 && v->u.object.props == NULL) return set_error(w, AMF0_ERR_ARG);
        if (v->type == AMF0_OBJECT)
            amf0_put_object_begin(w);
        else
            amf0_put_ecma_begin(w, v->u.object.ecma_count);
        for (uint32_t i = 0; i < v->u.object.count; i++) {
            const struct amf0_prop *p = &v->u.object.props[i];
            put_key_len(w, p->key, p->key_len);
            put_value(w, &p->value, depth + 1);
        }
        return amf0_put_object_end(w);
    default:
        return set_error(w, AMF0_ERR_ARG);
    }
}

int amf0_put_value(struct amf0_writer *w, const struct amf0_value *v) {
    return put_value(w, v, 0);
}
