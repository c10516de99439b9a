/*
 * core/eio_packet.c - Engine.IO v4 packet codec. See core/eio_packet.h.
 */
#include "core/eio_packet.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

#define EIO_SEP 0x1e

static const char eio_b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---------------------------------------------------------------- base64 (RFC 4648, padded) */

static size_t eio_b64_encoded_len(size_t n) {
    return (n + 2) / 3 * 4;
}

static void eio_b64_encode(const uint8_t *in, size_t n, uint8_t *out) {
    size_t i = 0;
    uint32_t v;

    for (; n - i >= 3; i += 3) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = (uint8_t)eio_b64_alphabet[v >> 18];
        *out++ = (uint8_t)eio_b64_alphabet[(v >> 12) & 63];
        *out++ = (uint8_t)eio_b64_alphabet[(v >> 6) & 63];
        *out++ = (uint8_t)eio_b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        v = (uint32_t)in[i] << 16;
        *out++ = (uint8_t)eio_b64_alphabet[v >> 18];
        *out++ = (uint8_t)eio_b64_alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = (uint8_t)eio_b64_alphabet[v >> 18];
        *out++ = (uint8_t)eio_b64_alphabet[(v >> 12) & 63];
        *out++ = (uint8_t)eio_b64_alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
}

static int eio_b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/*
 * Strict decode: length a multiple of 4, standard alphabet, '=' only as 1 or 2 final pad
 * characters, unused trailing bits zero (canonical form, as every encoder produces). `out` has
 * room for n / 4 * 3 bytes. Returns the decoded length or -1.
 */
static long eio_b64_decode(const uint8_t *in, size_t n, uint8_t *out) {
    size_t i, o = 0;

    if (n % 4) return -1;
    for (i = 0; i < n; i += 4) {
        int a = eio_b64_value(in[i]), b = eio_b64_value(in[i + 1]);
        int c = eio_b64_value(in[i + 2]), d = eio_b64_value(in[i + 3]);
        bool last = i + 4 == n;
        if (a < 0 || b < 0) return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        if (last && in[i + 2] == '=' && in[i + 3] == '=') {
            if (b & 0x0F) return -1;
            break;
        }
        if (c < 0) return -1;
        out[o++] = (uint8_t)((b & 0x0F) << 4 | c >> 2);
        if (last && in[i + 3] == '=') {
            if (c & 0x03) return -1;
            break;
        }
        if (d < 0) return -1;
        out[o++] = (uint8_t)((c & 0x03) << 6 | d);
    }
    return (long)o;
}

/* ---------------------------------------------------------------- parsing */

char sh_eio_type_char(int type) {
    return type >= SH_EIO_OPEN && type <= SH_EIO_NOOP ? (char)('0' + type) : 0;
}

int sh_eio_parse_ws(const void *msg, size_t len, bool is_binary, sh_eio_packet *out) {
    const uint8_t *m = msg;
    static const uint8_t eio_empty[1] = {0};

    memset(out, 0, sizeof *out);
    if (is_binary) {
        out->type = SH_EIO_MESSAGE;
        out->binary = true;
        out->data = len ? m : eio_empty;
        out->len = len;
        return SH_EIO_OK;
    }
    if (len == 0) return SH_EIO_ERR_EMPTY;
    if (m[0] < '0' || m[0] > '6') return SH_EIO_ERR_TYPE;
    out->type = (uint8_t)(m[0] - '0');
    out->data = m + 1;
    out->len = len - 1;
    return SH_EIO_OK;
}

/* Parse one polling segment [seg, seg + n) into *pkt, writing its data at *store. */
static int eio_parse_segment(const uint8_t *seg, size_t n, sh_eio_packet *pkt, uint8_t **store) {
    long dec;

    if (n == 0) return SH_EIO_ERR_EMPTY;
    pkt->data = *store;
    if (seg[0] == 'b') {
        dec = eio_b64_decode(seg + 1, n - 1, *store);
        if (dec < 0) return SH_EIO_ERR_BASE64;
        pkt->type = SH_EIO_MESSAGE;
        pkt->binary = true;
        pkt->len = (size_t)dec;
    } else if (seg[0] >= '0' && seg[0] <= '6') {
        pkt->type = (uint8_t)(seg[0] - '0');
        pkt->binary = false;
        pkt->len = n - 1;
        if (n > 1) memcpy(*store, seg + 1, n - 1);
    } else {
        return SH_EIO_ERR_TYPE;
    }
    *store += pkt->len;
    return SH_EIO_OK;
}

int sh_eio_parse_payload(const void *body, size_t len, const sh_eio_limits *lim, sh_eio_payload *out) {
    const uint8_t *b = body, *p, *end, *sep;
    sh_eio_packet *pkts = NULL;
    uint8_t *storage = NULL, *store;
    size_t count = 1, i = 0;
    int rc;

    if (!out) return SH_EIO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!lim || lim->max_payload == 0 || lim->max_packets == 0 || (len && !body)) return SH_EIO_ERR_ARG;
    if (len == 0) return SH_EIO_ERR_EMPTY;
    if (len > lim->max_payload) return SH_EIO_ERR_TOO_BIG;
    if (!sh_utf8_valid(b, len)) return SH_EIO_ERR_UTF8;
    /* Count packets first, stopping as soon as the limit is passed. */
    for (p = b, end = b + len; (sep = memchr(p, EIO_SEP, (size_t)(end - p))) != NULL; p = sep + 1)
        if (++count > lim->max_packets) return SH_EIO_ERR_TOO_MANY;
    pkts = calloc(count, sizeof *pkts);
    storage = malloc(len);
    if (!pkts || !storage) {
        rc = SH_EIO_ERR_NOMEM;
        goto fail;
    }
    store = storage;
    for (p = b; i < count; i++) {
        sep = memchr(p, EIO_SEP, (size_t)(end - p));
        if (!sep) sep = end;
        rc = eio_parse_segment(p, (size_t)(sep - p), &pkts[i], &store);
        if (rc != SH_EIO_OK) goto fail;
        p = sep + 1;
    }
    out->packets = pkts;
    out->count = count;
    out->storage = storage;
    return SH_EIO_OK;
fail:
    free(pkts);
    free(storage);
    return rc;
}

void sh_eio_payload_free(sh_eio_payload *pl) {
    if (!pl) return;
    free(pl->packets);
    free(pl->storage);
    memset(pl, 0, sizeof *pl);
}

/* ---------------------------------------------------------------- encoding */

static bool eio_packet_ok(const sh_eio_packet *pkt) {
    if (!pkt || pkt->type > SH_EIO_NOOP || (pkt->len && !pkt->data)) return false;
    return !pkt->binary || pkt->type == SH_EIO_MESSAGE;
}

int sh_eio_encode_payload(const sh_eio_packet *pkts, size_t n, uint8_t **out, size_t *out_len) {
    size_t total = 0, i, add;
    uint8_t *buf, *w;

    if (!out || !out_len) return SH_EIO_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    if (!pkts || n == 0) return SH_EIO_ERR_ARG;
    for (i = 0; i < n; i++) {
        if (!eio_packet_ok(&pkts[i])) return SH_EIO_ERR_ARG;
        if (pkts[i].binary) {
            if (pkts[i].len > (SIZE_MAX - 8) / 4 * 3) return SH_EIO_ERR_ARG;
            add = 1 + eio_b64_encoded_len(pkts[i].len);
        } else {
            if (pkts[i].len && memchr(pkts[i].data, EIO_SEP, pkts[i].len)) return SH_EIO_ERR_SEPARATOR;
            add = 1 + pkts[i].len;
        }
        if (add > SIZE_MAX - 2 - total) return SH_EIO_ERR_ARG;
        total += add + (i ? 1 : 0);
    }
    buf = malloc(total + 1);
    if (!buf) return SH_EIO_ERR_NOMEM;
    w = buf;
    for (i = 0; i < n; i++) {
        if (i) *w++ = EIO_SEP;
        if (pkts[i].binary) {
            *w++ = 'b';
            eio_b64_encode(pkts[i].data, pkts[i].len, w);
            w += eio_b64_encoded_len(pkts[i].len);
        } else {
            *w++ = (uint8_t)sh_eio_type_char(pkts[i].type);
            if (pkts[i].len) memcpy(w, pkts[i].data, pkts[i].len);
            w += pkts[i].len;
        }
    }
    *w = '\0';
    *out = buf;
    *out_len = total;
    return SH_EIO_OK;
}

int sh_eio_encode_ws(const sh_eio_packet *pkt, uint8_t **out, size_t *out_len, bool *is_binary) {
    size_t prefix;
    uint8_t *buf;

    if (!out || !out_len || !is_binary) return SH_EIO_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    if (!eio_packet_ok(pkt) || pkt->len > SIZE_MAX - 2) return SH_EIO_ERR_ARG;
    prefix = pkt->binary ? 0 : 1;
    buf = malloc(prefix + pkt->len + 1);
    if (!buf) return SH_EIO_ERR_NOMEM;
    if (prefix) buf[0] = (uint8_t)sh_eio_type_char(pkt->type);
    if (pkt->len) memcpy(buf + prefix, pkt->data, pkt->len);
    buf[prefix + pkt->len] = '\0';
    *out = buf;
    *out_len = prefix + pkt->len;
    *is_binary = pkt->binary;
    return SH_EIO_OK;
}

/* Growable string for the open JSON. */
typedef struct eio_str {
    char *buf;
    size_t len;
    size_t cap;
    bool oom;
} eio_str;

static void eio_str_put(eio_str *s, const char *data, size_t n) {
    char *nb;
    size_t cap;

    if (s->oom) return;
    if (n >= s->cap - s->len) {
        cap = s->cap;
        while (n >= cap - s->len)
            cap *= 2;
        nb = realloc(s->buf, cap);
        if (!nb) {
            s->oom = true;
            return;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

static void eio_str_cstr(eio_str *s, const char *z) {
    eio_str_put(s, z, strlen(z));
}

/* Append `z` as a JSON string literal. */
static void eio_str_json(eio_str *s, const char *z) {
    char esc[8];

    eio_str_put(s, "\"", 1);
    for (; *z; z++) {
        unsigned char c = (unsigned char)*z;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            eio_str_put(s, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            eio_str_put(s, esc, 6);
        } else {
            eio_str_put(s, z, 1);
        }
    }
    eio_str_put(s, "\"", 1);
}

int sh_eio_encode_open(const sh_eio_open *o, char **out, size_t *out_len) {
    eio_str s = {0};
    char num[64];
    size_t i;

    if (!out || !out_len) return SH_EIO_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    if (!o || !o->sid || !o->sid[0] || (o->n_upgrades && !o->upgrades)) return SH_EIO_ERR_ARG;
    if (!sh_utf8_valid(o->sid, strlen(o->sid))) return SH_EIO_ERR_UTF8;
    for (i = 0; i < o->n_upgrades; i++) {
        if (!o->upgrades[i]) return SH_EIO_ERR_ARG;
        if (!sh_utf8_valid(o->upgrades[i], strlen(o->upgrades[i]))) return SH_EIO_ERR_UTF8;
    }
    s.cap = 128;
    s.buf = malloc(s.cap);
    if (!s.buf) return SH_EIO_ERR_NOMEM;
    s.buf[0] = '\0';
    eio_str_cstr(&s, "{\"sid\":");
    eio_str_json(&s, o->sid);
    eio_str_cstr(&s, ",\"upgrades\":[");
    for (i = 0; i < o->n_upgrades; i++) {
        if (i) eio_str_put(&s, ",", 1);
        eio_str_json(&s, o->upgrades[i]);
    }
    snprintf(num, sizeof num, "],\"pingInterval\":%" PRIu32 ",\"pingTimeout\":%" PRIu32, o->ping_interval,
             o->ping_timeout);
    eio_str_cstr(&s, num);
    snprintf(num, sizeof num, ",\"maxPayload\":%" PRIu64 "}", o->max_payload);
    eio_str_cstr(&s, num);
    if (s.oom) {
        free(s.buf);
        return SH_EIO_ERR_NOMEM;
    }
    *out = s.buf;
    *out_len = s.len;
    return SH_EIO_OK;
}

bool sh_eio_packet_is(const sh_eio_packet *pkt, int type, const char *data) {
    size_t n = data ? strlen(data) : 0;

    if (!pkt || pkt->binary || pkt->type != type || pkt->len != n) return false;
    return n == 0 || memcmp(pkt->data, data, n) == 0;
}

const char *sh_eio_strerror(int status) {
    switch (status) {
    case SH_EIO_OK:
        return "ok";
    case SH_EIO_ERR_EMPTY:
        return "empty engine.io packet";
    case SH_EIO_ERR_TYPE:
        return "unknown engine.io packet type";
    case SH_EIO_ERR_BASE64:
        return "malformed base64 in binary packet";
    case SH_EIO_ERR_TOO_BIG:
        return "engine.io payload too big";
    case SH_EIO_ERR_TOO_MANY:
        return "too many packets in engine.io payload";
    case SH_EIO_ERR_UTF8:
        return "engine.io payload is not valid UTF-8";
    case SH_EIO_ERR_NOMEM:
        return "out of memory";
    case SH_EIO_ERR_ARG:
        return "invalid argument";
    case SH_EIO_ERR_SEPARATOR:
        return "record separator in text packet";
    default:
        return "unknown engine.io status";
    }
}
