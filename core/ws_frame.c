/*
 * core/ws_frame.c - WebSocket (RFC 6455) handshake helpers, incremental frame parser, encoders.
 * See core/ws_frame.h for the contract.
 */
#include "core/ws_frame.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

enum { WS_ST_HEADER = 0, WS_ST_PAYLOAD = 1 };

#define WS_GUID    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_MAX 64 /* longest key text accepted by sh_ws_accept_key */

/* ---------------------------------------------------------------- handshake */

static bool ws_is_ows(char c) {
    return c == ' ' || c == '\t';
}

/* Trim optional whitespace: sets *start and returns the trimmed length. */
static size_t ws_trim(const char *s, const char **start) {
    size_t n;
    while (ws_is_ows(*s))
        s++;
    n = strlen(s);
    while (n > 0 && ws_is_ows(s[n - 1]))
        n--;
    *start = s;
    return n;
}

/* True if the comma-separated list `list` holds `token` (case-insensitive, OWS trimmed). */
static bool ws_list_has_token(const char *list, const char *token) {
    size_t tlen = strlen(token);
    const char *p = list;

    while (*p) {
        const char *end = strchr(p, ',');
        const char *a = p, *b = end ? end : p + strlen(p);
        while (a < b && ws_is_ows(*a))
            a++;
        while (b > a && ws_is_ows(b[-1]))
            b--;
        if ((size_t)(b - a) == tlen && strncasecmp(a, token, tlen) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

static bool ws_is_b64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int sh_ws_handshake_validate(const sh_ws_handshake *req) {
    const char *s;
    size_t n, i;

    if (!req) return SH_WS_ERR_ARG;
    if (!req->upgrade || !ws_list_has_token(req->upgrade, "websocket")) return SH_WS_ERR_HS_UPGRADE;
    if (!req->connection || !ws_list_has_token(req->connection, "upgrade")) return SH_WS_ERR_HS_CONNECTION;
    if (!req->version) return SH_WS_ERR_HS_VERSION;
    n = ws_trim(req->version, &s);
    if (n != 2 || s[0] != '1' || s[1] != '3') return SH_WS_ERR_HS_VERSION;
    if (!req->key) return SH_WS_ERR_HS_KEY;
    /* base64 of 16 bytes: 22 significant characters, then "==". */
    n = ws_trim(req->key, &s);
    if (n != 24 || s[22] != '=' || s[23] != '=') return SH_WS_ERR_HS_KEY;
    for (i = 0; i < 22; i++)
        if (!ws_is_b64(s[i])) return SH_WS_ERR_HS_KEY;
    return SH_WS_OK;
}

int sh_ws_accept_key(const char *key, char out[SH_WS_ACCEPT_LEN + 1]) {
    char buf[WS_KEY_MAX + sizeof WS_GUID];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    const char *s;
    size_t n;

    if (!key || !out) return SH_WS_ERR_HS_KEY;
    n = ws_trim(key, &s);
    if (n == 0 || n > WS_KEY_MAX) return SH_WS_ERR_HS_KEY;
    memcpy(buf, s, n);
    memcpy(buf + n, WS_GUID, sizeof WS_GUID - 1);
    if (EVP_Digest(buf, n + sizeof WS_GUID - 1, md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
        return SH_WS_ERR_CRYPTO;
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != SH_WS_ACCEPT_LEN) return SH_WS_ERR_CRYPTO;
    out[SH_WS_ACCEPT_LEN] = '\0';
    return SH_WS_OK;
}

int sh_ws_handshake_accept(const sh_ws_handshake *req, char out[SH_WS_ACCEPT_LEN + 1]) {
    int rc = sh_ws_handshake_validate(req);
    if (rc != SH_WS_OK) return rc;
    return sh_ws_accept_key(req->key, out);
}

int sh_ws_handshake_http_status(int status) {
    switch (status) {
    case SH_WS_OK:
        return 101;
    case SH_WS_ERR_HS_VERSION:
        return 426;
    case SH_WS_ERR_CRYPTO:
    case SH_WS_ERR_NOMEM:
        return 500;
    default:
        return 400;
    }
}

/* ---------------------------------------------------------------- parser */

int sh_ws_parser_init(sh_ws_parser *p, const sh_ws_parser_config *cfg) {
    if (!p || !cfg || cfg->max_message_size == 0) return SH_WS_ERR_ARG;
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    p->state = WS_ST_HEADER;
    p->hdr_need = 2;
    sh_utf8_init(&p->utf8);
    return SH_WS_OK;
}

void sh_ws_parser_free(sh_ws_parser *p) {
    if (!p) return;
    free(p->buf);
    p->buf = NULL;
    p->buf_cap = 0;
    p->buf_len = 0;
}

/* Forget the data message delivered by the previous call; keep a small buffer for reuse. */
static void ws_release(sh_ws_parser *p) {
    p->release_pending = false;
    p->buf_len = 0;
    if (p->buf && p->buf_cap > p->cfg.retain_buffer) {
        free(p->buf);
        p->buf = NULL;
        p->buf_cap = 0;
    }
}

static int ws_fail(sh_ws_parser *p, int status) {
    p->error = status;
    return status;
}

static bool ws_opcode_known(uint8_t op) {
    return op == SH_WS_OP_CONT || op == SH_WS_OP_TEXT || op == SH_WS_OP_BINARY || op == SH_WS_OP_CLOSE ||
           op == SH_WS_OP_PING || op == SH_WS_OP_PONG;
}

static bool ws_is_control(uint8_t op) {
    return (op & 0x8) != 0;
}

/* The first two header bytes are in: check them and learn how long the header is. */
static int ws_header_start(sh_ws_parser *p) {
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1], len7 = b1 & 0x7F;

    p->fin = (b0 & 0x80) != 0;
    p->opcode = b0 & 0x0F;
    if (b0 & 0x70) return SH_WS_ERR_PROTOCOL; /* RSV1-3: no extension negotiated */
    if (!ws_opcode_known(p->opcode)) return SH_WS_ERR_PROTOCOL;
    if (!(b1 & 0x80)) return SH_WS_ERR_PROTOCOL; /* client frames must be masked */
    if (ws_is_control(p->opcode)) {
        if (!p->fin || len7 > SH_WS_CONTROL_MAX) return SH_WS_ERR_PROTOCOL;
    } else if (p->opcode == SH_WS_OP_CONT) {
        if (!p->in_message) return SH_WS_ERR_PROTOCOL; /* continuation without a start */
    } else if (p->in_message) {
        return SH_WS_ERR_PROTOCOL; /* new data frame inside a fragmented message */
    }
    p->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
    return SH_WS_OK;
}

/* The whole header is in: decode length and mask, apply the size limit. */
static int ws_header_done(sh_ws_parser *p) {
    uint8_t len7 = p->hdr[1] & 0x7F;
    uint64_t len = len7;
    size_t have;
    int i;

    if (len7 == 126) {
        len = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
    } else if (len7 == 127) {
        len = 0;
        for (i = 0; i < 8; i++)
            len = (len << 8) | p->hdr[2 + i];
        if (len >> 63) return SH_WS_ERR_PROTOCOL;
    }
    memcpy(p->mask, p->hdr + p->hdr_need - 4, 4);
    p->frame_len = len;
    p->frame_pos = 0;
    if (ws_is_control(p->opcode)) return SH_WS_OK;
    have = p->opcode == SH_WS_OP_CONT ? p->buf_len : 0;
    if (len > (uint64_t)(p->cfg.max_message_size - have)) return SH_WS_ERR_TOO_BIG;
    if (p->opcode != SH_WS_OP_CONT) {
        p->in_message = true;
        p->msg_opcode = p->opcode;
        sh_utf8_init(&p->utf8);
    }
    return SH_WS_OK;
}

/* Make room for `n` more bytes in the reassembly buffer (n bytes have actually arrived). */
static int ws_reserve(sh_ws_parser *p, size_t n) {
    size_t need = p->buf_len + n, cap;
    uint8_t *nb;

    if (need <= p->buf_cap) return SH_WS_OK;
    cap = p->buf_cap ? p->buf_cap * 2 : 256;
    if (cap < need) cap = need;
    if (cap > p->cfg.max_message_size) cap = p->cfg.max_message_size; /* need <= max is guaranteed by ws_header_done */
    nb = realloc(p->buf, cap);
    if (!nb) return SH_WS_ERR_NOMEM;
    p->buf = nb;
    p->buf_cap = cap;
    return SH_WS_OK;
}

static int ws_parse_close(sh_ws_parser *p, sh_ws_message *msg) {
    size_t n = (size_t)p->frame_len;

    if (n == 0) return SH_WS_OK;
    if (n == 1) return SH_WS_ERR_PROTOCOL;
    msg->close_code = (uint16_t)((p->ctrl[0] << 8) | p->ctrl[1]);
    if (!sh_ws_close_code_is_valid(msg->close_code)) return SH_WS_ERR_PROTOCOL;
    if (!sh_utf8_valid(p->ctrl + 2, n - 2)) return SH_WS_ERR_UTF8;
    msg->close_reason = (const char *)p->ctrl + 2;
    msg->close_reason_len = n - 2;
    return SH_WS_OK;
}

/* A frame's payload is complete. Fills *msg if something is to be delivered. */
static int ws_frame_done(sh_ws_parser *p, sh_ws_message *msg) {
    int rc;

    p->state = WS_ST_HEADER;
    p->hdr_len = 0;
    p->hdr_need = 2;
    if (ws_is_control(p->opcode)) {
        msg->opcode = p->opcode;
        msg->data = p->ctrl;
        msg->len = (size_t)p->frame_len;
        if (p->opcode == SH_WS_OP_CLOSE) {
            rc = ws_parse_close(p, msg);
            if (rc != SH_WS_OK) {
                memset(msg, 0, sizeof *msg);
                return rc;
            }
            p->closed = true;
        }
        msg->ready = true;
        return SH_WS_OK;
    }
    if (!p->fin) return SH_WS_OK;
    if (p->msg_opcode == SH_WS_OP_TEXT && !sh_utf8_is_complete(&p->utf8))
        return SH_WS_ERR_UTF8; /* message ends inside a code point */
    msg->opcode = p->msg_opcode;
    msg->data = p->buf ? p->buf : p->ctrl; /* never NULL, even when empty */
    msg->len = p->buf_len;
    msg->ready = true;
    p->in_message = false;
    p->release_pending = true;
    return SH_WS_OK;
}

/* Copy and unmask up to the rest of the current frame's payload from `src`. */
static int ws_payload(sh_ws_parser *p, const uint8_t *src, size_t avail, size_t *used) {
    uint64_t left = p->frame_len - p->frame_pos;
    size_t n = (uint64_t)avail < left ? avail : (size_t)left, k;
    uint8_t *dst;
    int rc;

    if (ws_is_control(p->opcode)) {
        dst = p->ctrl + p->frame_pos;
    } else {
        rc = ws_reserve(p, n);
        if (rc != SH_WS_OK) return rc;
        dst = p->buf + p->buf_len;
    }
    for (k = 0; k < n; k++)
        dst[k] = src[k] ^ p->mask[(p->frame_pos + k) & 3];
    if (!ws_is_control(p->opcode)) {
        if (p->msg_opcode == SH_WS_OP_TEXT && sh_utf8_feed(&p->utf8, dst, n) != SH_UTF8_OK)
            return SH_WS_ERR_UTF8; /* fail fast, mid-frame */
        p->buf_len += n;
    }
    p->frame_pos += n;
    *used = n;
    return SH_WS_OK;
}

int sh_ws_parser_feed(sh_ws_parser *p, const void *data, size_t len, size_t *consumed, sh_ws_message *msg) {
    const uint8_t *d = data;
    size_t i = 0, used;
    int rc;

    memset(msg, 0, sizeof *msg);
    *consumed = 0;
    if (p->error) return p->error;
    if (p->release_pending) ws_release(p);
    if (p->closed) {
        *consumed = len; /* nothing may follow a close frame: ignore it */
        return SH_WS_OK;
    }
    while (i < len && !msg->ready) {
        if (p->state == WS_ST_HEADER) {
            p->hdr[p->hdr_len++] = d[i++];
            if (p->hdr_len == 2 && (rc = ws_header_start(p)) != SH_WS_OK) return ws_fail(p, rc);
            if (p->hdr_len < 2 || p->hdr_len < p->hdr_need) continue;
            if ((rc = ws_header_done(p)) != SH_WS_OK) return ws_fail(p, rc);
            p->state = WS_ST_PAYLOAD;
        } else {
            if ((rc = ws_payload(p, d + i, len - i, &used)) != SH_WS_OK) return ws_fail(p, rc);
            i += used;
        }
        if (p->frame_pos == p->frame_len && (rc = ws_frame_done(p, msg)) != SH_WS_OK) return ws_fail(p, rc);
    }
    *consumed = i;
    return SH_WS_OK;
}

uint8_t *sh_ws_parser_take_message(sh_ws_parser *p, size_t *len) {
    uint8_t *b;

    *len = 0;
    if (!p->release_pending || !p->buf || p->buf_len == 0) return NULL;
    b = p->buf;
    *len = p->buf_len;
    p->buf = NULL;
    p->buf_cap = 0;
    p->buf_len = 0;
    p->release_pending = false;
    return b;
}

bool sh_ws_parser_in_message(const sh_ws_parser *p) {
    return p->in_message;
}

uint16_t sh_ws_status_close_code(int status) {
    switch (status) {
    case SH_WS_OK:
        return SH_WS_CLOSE_NORMAL;
    case SH_WS_ERR_TOO_BIG:
        return SH_WS_CLOSE_TOO_BIG;
    case SH_WS_ERR_UTF8:
        return SH_WS_CLOSE_INVALID_DATA;
    case SH_WS_ERR_NOMEM:
        return SH_WS_CLOSE_INTERNAL_ERROR;
    default:
        return SH_WS_CLOSE_PROTOCOL_ERROR;
    }
}

const char *sh_ws_strerror(int status) {
    switch (status) {
    case SH_WS_OK:
        return "ok";
    case SH_WS_ERR_PROTOCOL:
        return "websocket protocol error";
    case SH_WS_ERR_TOO_BIG:
        return "websocket message too big";
    case SH_WS_ERR_UTF8:
        return "invalid UTF-8 in websocket text";
    case SH_WS_ERR_NOMEM:
        return "out of memory";
    case SH_WS_ERR_ARG:
        return "invalid argument";
    case SH_WS_ERR_HS_UPGRADE:
        return "handshake: Upgrade header lacks websocket";
    case SH_WS_ERR_HS_CONNECTION:
        return "handshake: Connection header lacks upgrade";
    case SH_WS_ERR_HS_VERSION:
        return "handshake: unsupported Sec-WebSocket-Version";
    case SH_WS_ERR_HS_KEY:
        return "handshake: bad Sec-WebSocket-Key";
    case SH_WS_ERR_CRYPTO:
        return "handshake: libcrypto failure";
    default:
        return "unknown websocket status";
    }
}

bool sh_ws_close_code_is_valid(uint16_t code) {
    if (code >= 1000 && code <= 1003) return true;
    if (code >= 1007 && code <= 1014) return true;
    return code >= 3000 && code <= 4999;
}

/* ---------------------------------------------------------------- encoders */

size_t sh_ws_encode_header(uint8_t out[SH_WS_HEADER_MAX], uint8_t opcode, bool fin, uint64_t payload_len) {
    int i;

    if (!ws_opcode_known(opcode) || (payload_len >> 63)) return 0;
    if (ws_is_control(opcode) && (!fin || payload_len > SH_WS_CONTROL_MAX)) return 0;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (payload_len < 126) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        return 4;
    }
    out[1] = 127;
    for (i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
    return 10;
}

int sh_ws_encode_close(uint8_t out[SH_WS_CONTROL_FRAME_MAX], uint16_t code, const char *reason, size_t reason_len,
                       size_t *out_len) {
    size_t n;

    if (!out || !out_len || (reason_len && !reason)) return SH_WS_ERR_ARG;
    if (code == 0) {
        if (reason_len) return SH_WS_ERR_ARG;
        *out_len = sh_ws_encode_header(out, SH_WS_OP_CLOSE, true, 0);
        return SH_WS_OK;
    }
    if (!sh_ws_close_code_is_valid(code)) return SH_WS_ERR_ARG;
    if (!sh_utf8_valid(reason, reason_len)) return SH_WS_ERR_UTF8;
    n = sh_utf8_truncate(reason, reason_len, SH_WS_CLOSE_REASON_MAX);
    out[0] = 0x80 | SH_WS_OP_CLOSE;
    out[1] = (uint8_t)(2 + n);
    out[2] = (uint8_t)(code >> 8);
    out[3] = (uint8_t)code;
    if (n) memcpy(out + 4, reason, n);
    *out_len = 4 + n;
    return SH_WS_OK;
}

static int ws_encode_control(uint8_t *out, uint8_t opcode, const void *payload, size_t len, size_t *out_len) {
    if (!out || !out_len || len > SH_WS_CONTROL_MAX || (len && !payload)) return SH_WS_ERR_ARG;
    out[0] = (uint8_t)(0x80 | opcode);
    out[1] = (uint8_t)len;
    if (len) memcpy(out + 2, payload, len);
    *out_len = 2 + len;
    return SH_WS_OK;
}

int sh_ws_encode_ping(uint8_t out[SH_WS_CONTROL_FRAME_MAX], const void *payload, size_t len, size_t *out_len) {
    return ws_encode_control(out, SH_WS_OP_PING, payload, len, out_len);
}

int sh_ws_encode_pong(uint8_t out[SH_WS_CONTROL_FRAME_MAX], const void *payload, size_t len, size_t *out_len) {
    return ws_encode_control(out, SH_WS_OP_PONG, payload, len, out_len);
}
