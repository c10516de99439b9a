/*
 * core/sio_packet.c - Socket.IO v5 packet codec. See core/sio_packet.h.
 */
#include "core/sio_packet.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* Address used as the json-c userdata marker of binary values; never written. */
static const char sio_binary_tag[] = "sh_sio_binary";

#define SIO_ACK_ID_MAX_DIGITS 19 /* INT64_MAX has 19 digits */

static const char *const sio_reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

void sh_sio_config_default(sh_sio_config *cfg) {
    cfg->max_packet_len = 1000000;
    cfg->max_attachments = 10;
    cfg->max_namespace_len = 256;
    cfg->max_json_depth = 32;
    cfg->allow_reserved_events = false;
}

/* ---------------------------------------------------------------- binary values */

json_object *sh_sio_binary_new(const void *data, size_t len) {
    json_object *o;

    if (len > INT_MAX || (len && !data)) return NULL;
    o = json_object_new_string_len(len ? data : "", (int)len);
    if (o) json_object_set_userdata(o, (void *)(uintptr_t)sio_binary_tag, NULL);
    return o;
}

bool sh_sio_is_binary(json_object *o) {
    return o && json_object_is_type(o, json_type_string) &&
           json_object_get_userdata(o) == (void *)(uintptr_t)sio_binary_tag;
}

const uint8_t *sh_sio_binary_data(json_object *o, size_t *len) {
    *len = 0;
    if (!sh_sio_is_binary(o)) return NULL;
    *len = (size_t)json_object_get_string_len(o);
    return (const uint8_t *)json_object_get_string(o);
}

/* ---------------------------------------------------------------- JSON helpers */

static bool sio_is_digit(char c) {
    return c >= '0' && c <= '9';
}

static bool sio_is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* End of a JSON number (RFC 8259 grammar) starting at s[i], or 0 if malformed. */
static size_t sio_number_end(const char *s, size_t i, size_t n) {
    size_t d;

    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && sio_is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && sio_is_digit(s[i]);)
            i++;
        if (i == d) return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        for (d = i; i < n && sio_is_digit(s[i]);)
            i++;
        if (i == d) return 0;
    }
    if (i < n && (sio_is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-'))
        return 0;
    return i;
}

/*
 * Lexical strictness json-c lacks even in strict mode: outside strings, numbers must follow the
 * JSON grammar ("1." and "-Infinity" are refused) and bare words must be true/false/null (NaN and
 * Infinity are refused). Such values would otherwise be re-serialised as text a browser's
 * JSON.parse rejects.
 */
static bool sio_json_lex_ok(const char *s, size_t n) {
    size_t i = 0, j;

    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
        } else if (c == '-' || sio_is_digit(c)) {
            j = sio_number_end(s, i, n);
            if (j == 0) return false;
            i = j;
        } else if (sio_is_alpha(c)) {
            for (j = i; j < n && sio_is_alpha(s[j]);)
                j++;
            if (!((j - i == 4 && (!memcmp(s + i, "true", 4) || !memcmp(s + i, "null", 4))) ||
                  (j - i == 5 && !memcmp(s + i, "false", 5))))
                return false;
            i = j;
        } else {
            i++;
        }
    }
    return true;
}

static int sio_parse_json(const char *s, size_t n, int depth, json_object **out) {
    json_tokener *tok;
    json_object *o;
    int rc = SH_SIO_OK;

    *out = NULL;
    if (n > INT_MAX) return SH_SIO_ERR_TOO_BIG;
    if (s[0] != '[' && s[0] != '{') return SH_SIO_ERR_JSON;
    if (!sio_json_lex_ok(s, n)) return SH_SIO_ERR_JSON;
    tok = json_tokener_new_ex(depth);
    if (!tok) return SH_SIO_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)n);
    if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n) {
        json_object_put(o);
        o = NULL;
        rc = SH_SIO_ERR_JSON; /* includes trailing garbage and embedded NUL */
    }
    json_tokener_free(tok);
    *out = o;
    return rc;
}

/* ---------------------------------------------------------------- parsing */

static int sio_check_event(json_object *data, const sh_sio_config *cfg) {
    json_object *name;
    const char *s;
    size_t i;

    if (!json_object_is_type(data, json_type_array) || json_object_array_length(data) == 0) return SH_SIO_ERR_PAYLOAD;
    name = json_object_array_get_idx(data, 0);
    if (!json_object_is_type(name, json_type_string)) return SH_SIO_ERR_PAYLOAD;
    s = json_object_get_string(name);
    if (strlen(s) != (size_t)json_object_get_string_len(name))
        return SH_SIO_ERR_PAYLOAD; /* NUL inside the event name */
    if (!cfg->allow_reserved_events)
        for (i = 0; i < sizeof sio_reserved_events / sizeof *sio_reserved_events; i++)
            if (strcmp(s, sio_reserved_events[i]) == 0) return SH_SIO_ERR_PAYLOAD;
    return SH_SIO_OK;
}

/* Check that data and ack id fit the packet type. */
static int sio_check_shape(const sh_sio_packet *p, const sh_sio_config *cfg) {
    switch (p->type) {
    case SH_SIO_CONNECT:
        if (p->ack_id >= 0) return SH_SIO_ERR_ACK_ID;
        if (p->data && !json_object_is_type(p->data, json_type_object)) return SH_SIO_ERR_PAYLOAD;
        return SH_SIO_OK;
    case SH_SIO_DISCONNECT:
        if (p->ack_id >= 0) return SH_SIO_ERR_ACK_ID;
        return p->data ? SH_SIO_ERR_PAYLOAD : SH_SIO_OK;
    case SH_SIO_CONNECT_ERROR:
        if (p->ack_id >= 0) return SH_SIO_ERR_ACK_ID;
        return json_object_is_type(p->data, json_type_object) ? SH_SIO_OK : SH_SIO_ERR_PAYLOAD;
    case SH_SIO_EVENT:
    case SH_SIO_BINARY_EVENT:
        return sio_check_event(p->data, cfg);
    case SH_SIO_ACK:
    case SH_SIO_BINARY_ACK:
        if (p->ack_id < 0) return SH_SIO_ERR_ACK_ID;
        return json_object_is_type(p->data, json_type_array) ? SH_SIO_OK : SH_SIO_ERR_PAYLOAD;
    default:
        return SH_SIO_ERR_TYPE;
    }
}

static bool sio_config_ok(const sh_sio_config *cfg) {
    return cfg && cfg->max_packet_len > 0 && cfg->max_json_depth >= 1 && cfg->max_json_depth <= SH_SIO_MAX_DEPTH;
}

int sh_sio_parse(const char *s, size_t len, const sh_sio_config *cfg, sh_sio_packet *out) {
    sh_sio_packet p = {.type = 0, .nsp = NULL, .ack_id = -1, .attachments = 0, .data = NULL};
    const char *nsp = "/", *comma;
    size_t i = 1, nsp_len = 1, start, k;
    int rc;

    if (!out) return SH_SIO_ERR_ARG;
    *out = p;
    if (!sio_config_ok(cfg) || (len && !s)) return SH_SIO_ERR_ARG;
    if (len == 0) return SH_SIO_ERR_EMPTY;
    if (len > cfg->max_packet_len) return SH_SIO_ERR_TOO_BIG;
    if (!sh_utf8_valid(s, len)) return SH_SIO_ERR_UTF8;
    if (s[0] < '0' || s[0] > '6') return SH_SIO_ERR_TYPE;
    p.type = s[0] - '0';

    if (p.type == SH_SIO_BINARY_EVENT || p.type == SH_SIO_BINARY_ACK) {
        for (start = i; i < len && sio_is_digit(s[i]); i++) {
            p.attachments = p.attachments * 10 + (size_t)(s[i] - '0');
            if (p.attachments > cfg->max_attachments || i - start >= 9) return SH_SIO_ERR_ATTACHMENTS;
        }
        if (i == start || i >= len || s[i] != '-') return SH_SIO_ERR_ATTACHMENTS;
        i++;
    }

    if (i < len && s[i] == '/') {
        /* Runs to the ',' (or, like the reference parser, to the end of the packet). */
        comma = memchr(s + i, ',', len - i);
        nsp = s + i;
        nsp_len = comma ? (size_t)(comma - nsp) : len - i;
        i += nsp_len + (comma ? 1 : 0);
        if (nsp_len > cfg->max_namespace_len) return SH_SIO_ERR_NAMESPACE;
        for (k = 0; k < nsp_len; k++)
            if ((unsigned char)nsp[k] < 0x20 || nsp[k] == 0x7f) return SH_SIO_ERR_NAMESPACE;
    }

    if (i < len && sio_is_digit(s[i])) {
        uint64_t id = 0;
        for (start = i; i < len && sio_is_digit(s[i]); i++) {
            if (i - start >= SIO_ACK_ID_MAX_DIGITS) return SH_SIO_ERR_ACK_ID;
            id = id * 10 + (uint64_t)(s[i] - '0');
        }
        if (id > INT64_MAX) return SH_SIO_ERR_ACK_ID;
        p.ack_id = (int64_t)id;
    }

    if (i < len) {
        rc = sio_parse_json(s + i, len - i, cfg->max_json_depth, &p.data);
        if (rc != SH_SIO_OK) return rc;
    }
    rc = sio_check_shape(&p, cfg);
    if (rc != SH_SIO_OK) goto fail;
    p.nsp = malloc(nsp_len + 1);
    if (!p.nsp) {
        rc = SH_SIO_ERR_NOMEM;
        goto fail;
    }
    memcpy(p.nsp, nsp, nsp_len);
    p.nsp[nsp_len] = '\0';
    *out = p;
    return SH_SIO_OK;
fail:
    json_object_put(p.data);
    return rc;
}

void sh_sio_packet_clear(sh_sio_packet *pkt) {
    if (!pkt) return;
    free(pkt->nsp);
    json_object_put(pkt->data);
    memset(pkt, 0, sizeof *pkt);
    pkt->ack_id = -1;
}

const char *sh_sio_event_name(const sh_sio_packet *pkt) {
    json_object *name;

    if (!pkt || (pkt->type != SH_SIO_EVENT && pkt->type != SH_SIO_BINARY_EVENT) ||
        !json_object_is_type(pkt->data, json_type_array))
        return NULL;
    name = json_object_array_get_idx(pkt->data, 0);
    return json_object_is_type(name, json_type_string) ? json_object_get_string(name) : NULL;
}

/* ---------------------------------------------------------------- tree walks */

/* Count binary values below `o` (not `o` itself). -1 if nested deeper than SH_SIO_MAX_DEPTH. */
static int sio_count_binary(json_object *o, int depth, size_t *count) {
    size_t i, n;
    struct lh_entry *e;
    json_object *c;

    if (depth > SH_SIO_MAX_DEPTH) return -1;
    if (json_object_is_type(o, json_type_array)) {
        n = json_object_array_length(o);
        for (i = 0; i < n; i++) {
            c = json_object_array_get_idx(o, i);
            if (sh_sio_is_binary(c))
                (*count)++;
            else if (sio_count_binary(c, depth + 1, count) < 0)
                return -1;
        }
    } else if (json_object_is_type(o, json_type_object)) {
        for (e = json_object_get_object(o)->head; e; e = e->next) {
            c = (json_object *)lh_entry_v(e);
            if (sh_sio_is_binary(c))
                (*count)++;
            else if (sio_count_binary(c, depth + 1, count) < 0)
                return -1;
        }
    }
    return 0;
}

/* Is `o` a placeholder? 1 with *num set if valid for n attachments, 0 if not one, -1 if bad. */
static int sio_placeholder(json_object *o, size_t n, size_t *num) {
    json_object *flag, *jn;
    int64_t v;

    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "_placeholder", &flag) ||
        !json_object_is_type(flag, json_type_boolean) || !json_object_get_boolean(flag))
        return 0;
    if (!json_object_object_get_ex(o, "num", &jn) || !json_object_is_type(jn, json_type_int)) return -1;
    v = json_object_get_int64(jn);
    if (v < 0 || (uint64_t)v >= n) return -1;
    *num = (size_t)v;
    return 1;
}

/*
 * Walk the children of `o`. Mode 0 (scan): mark used placeholder indices in `seen`, count them.
 * Mode 1 (fill): replace each placeholder with a binary copy of bufs[num].
 */
typedef struct sio_walk {
    int mode;
    size_t n;
    unsigned char *seen;
    size_t found;
    const sh_sio_buffer *bufs;
} sio_walk;

/*
 * One child `c` of the walk: 0 if it is not a placeholder (the caller recurses into it), 1 if it
 * is one and was handled (scan: recorded; fill: *repl set to its replacement), or a negative
 * status.
 */
static int sio_visit(sio_walk *w, json_object *c, json_object **repl) {
    size_t num = 0;
    int r = sio_placeholder(c, w->n, &num);

    *repl = NULL;
    if (r < 0) return SH_SIO_ERR_PLACEHOLDER;
    if (r == 0) return 0;
    if (w->mode == 0) {
        if (w->seen[num]) return SH_SIO_ERR_PLACEHOLDER; /* duplicate */
        w->seen[num] = 1;
        w->found++;
        return 1;
    }
    *repl = sh_sio_binary_new(w->bufs[num].data, w->bufs[num].len);
    return *repl ? 1 : SH_SIO_ERR_NOMEM;
}

static int sio_walk_placeholders(sio_walk *w, json_object *o, int depth) {
    size_t i, n;
    struct lh_entry *e;
    json_object *c, *repl;
    int rc;

    if (depth > SH_SIO_MAX_DEPTH) return SH_SIO_ERR_ARG;
    if (json_object_is_type(o, json_type_array)) {
        n = json_object_array_length(o);
        for (i = 0; i < n; i++) {
            c = json_object_array_get_idx(o, i);
            rc = sio_visit(w, c, &repl);
            if (rc == 0)
                rc = sio_walk_placeholders(w, c, depth + 1);
            else if (rc == 1 && repl)
                json_object_array_put_idx(o, i, repl);
            if (rc < 0) return rc;
        }
    } else if (json_object_is_type(o, json_type_object)) {
        for (e = json_object_get_object(o)->head; e; e = e->next) {
            c = (json_object *)lh_entry_v(e);
            rc = sio_visit(w, c, &repl);
            if (rc == 0)
                rc = sio_walk_placeholders(w, c, depth + 1);
            else if (rc == 1 && repl)
                json_object_object_add(o, (const char *)lh_entry_k(e), repl);
            if (rc < 0) return rc;
        }
    }
    return SH_SIO_OK;
}

int sh_sio_reconstruct(sh_sio_packet *pkt, const sh_sio_buffer *bufs, size_t n) {
    sio_walk w = {0};
    int rc;

    if (!pkt || (pkt->type != SH_SIO_BINARY_EVENT && pkt->type != SH_SIO_BINARY_ACK) ||
        !json_object_is_type(pkt->data, json_type_array) || (n && !bufs))
        return SH_SIO_ERR_ARG;
    if (n != pkt->attachments) return SH_SIO_ERR_PLACEHOLDER;
    w.n = n;
    w.bufs = bufs;
    w.seen = calloc(n ? n : 1, 1);
    if (!w.seen) return SH_SIO_ERR_NOMEM;
    rc = sio_walk_placeholders(&w, pkt->data, 0);
    if (rc == SH_SIO_OK && w.found != n) rc = SH_SIO_ERR_PLACEHOLDER; /* an attachment no placeholder refers to */
    if (rc == SH_SIO_OK && n) {
        w.mode = 1;
        rc = sio_walk_placeholders(&w, pkt->data, 0);
    }
    free(w.seen);
    return rc;
}

static json_object *sio_placeholder_new(size_t num) {
    json_object *o = json_object_new_object(), *t = json_object_new_boolean(1),
                *k = json_object_new_int64((int64_t)num);

    if (!o || !t || !k || json_object_object_add(o, "_placeholder", t) != 0) {
        json_object_put(o);
        json_object_put(t);
        json_object_put(k);
        return NULL;
    }
    if (json_object_object_add(o, "num", k) != 0) {
        json_object_put(o);
        json_object_put(k);
        return NULL;
    }
    return o;
}

/* Replace binary children of `o` by placeholders, collecting them in atts[*k..]. */
static int sio_take_binary(json_object *o, json_object **atts, size_t *k) {
    size_t i, n;
    struct lh_entry *e;
    json_object *c, *ph;
    int rc;

    if (json_object_is_type(o, json_type_array)) {
        n = json_object_array_length(o);
        for (i = 0; i < n; i++) {
            c = json_object_array_get_idx(o, i);
            if (!sh_sio_is_binary(c)) {
                if ((rc = sio_take_binary(c, atts, k)) != SH_SIO_OK) return rc;
                continue;
            }
            if (!(ph = sio_placeholder_new(*k))) return SH_SIO_ERR_NOMEM;
            atts[(*k)++] = json_object_get(c);
            json_object_array_put_idx(o, i, ph);
        }
    } else if (json_object_is_type(o, json_type_object)) {
        for (e = json_object_get_object(o)->head; e; e = e->next) {
            c = (json_object *)lh_entry_v(e);
            if (!sh_sio_is_binary(c)) {
                if ((rc = sio_take_binary(c, atts, k)) != SH_SIO_OK) return rc;
                continue;
            }
            if (!(ph = sio_placeholder_new(*k))) return SH_SIO_ERR_NOMEM;
            atts[(*k)++] = json_object_get(c);
            json_object_object_add(o, (const char *)lh_entry_k(e), ph);
        }
    }
    return SH_SIO_OK;
}

int sh_sio_deconstruct(json_object *data, json_object **attachments, size_t max, size_t *n) {
    size_t count = 0;
    int rc;

    if (!n) return SH_SIO_ERR_ARG;
    *n = 0;
    if (sh_sio_is_binary(data) || (max && !attachments)) return SH_SIO_ERR_ARG;
    if (!data) return SH_SIO_OK;
    if (sio_count_binary(data, 0, &count) < 0) return SH_SIO_ERR_ARG;
    if (count > max) return SH_SIO_ERR_ATTACHMENTS;
    rc = sio_take_binary(data, attachments, n);
    return rc;
}

/* ---------------------------------------------------------------- encoding */

int sh_sio_encode(int type, const char *nsp, int64_t ack_id, size_t attachments, json_object *data, char **out,
                  size_t *out_len) {
    const char *json = NULL;
    size_t jlen = 0, nlen = 0, cap, count = 0;
    bool binary = type == SH_SIO_BINARY_EVENT || type == SH_SIO_BINARY_ACK;
    char *buf;
    int w;

    if (!out || !out_len) return SH_SIO_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    if (type < SH_SIO_CONNECT || type > SH_SIO_BINARY_ACK || ack_id < -1 || (!binary && attachments))
        return SH_SIO_ERR_ARG;
    if (nsp && strcmp(nsp, "/") != 0) {
        nlen = strlen(nsp);
        if (nsp[0] != '/' || strchr(nsp, ',') || !sh_utf8_valid(nsp, nlen)) return SH_SIO_ERR_ARG;
    }
    if (data) {
        if (sh_sio_is_binary(data) || sio_count_binary(data, 0, &count) < 0 || count)
            return SH_SIO_ERR_ARG; /* binary must be deconstructed first */
        json = json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jlen);
        if (!json) return SH_SIO_ERR_NOMEM;
    }
    if (nlen > SIZE_MAX / 2 || jlen > SIZE_MAX / 2) return SH_SIO_ERR_ARG;
    cap = 1 + 21 + nlen + 1 + 21 + jlen + 1;
    buf = malloc(cap);
    if (!buf) return SH_SIO_ERR_NOMEM;
    w = snprintf(buf, cap, "%d", type);
    if (binary) w += snprintf(buf + w, cap - (size_t)w, "%zu-", attachments);
    if (nlen) {
        memcpy(buf + w, nsp, nlen);
        w += (int)nlen;
        buf[w++] = ',';
    }
    if (ack_id >= 0) w += snprintf(buf + w, cap - (size_t)w, "%" PRId64, ack_id);
    if (jlen) memcpy(buf + w, json, jlen);
    buf[(size_t)w + jlen] = '\0';
    *out = buf;
    *out_len = (size_t)w + jlen;
    return SH_SIO_OK;
}

int sh_sio_encode_packet(const sh_sio_packet *pkt, char **out, size_t *out_len) {
    if (!pkt) return SH_SIO_ERR_ARG;
    return sh_sio_encode(pkt->type, pkt->nsp, pkt->ack_id, pkt->attachments, pkt->data, out, out_len);
}

const char *sh_sio_strerror(int status) {
    switch (status) {
    case SH_SIO_OK:
        return "ok";
    case SH_SIO_ERR_EMPTY:
        return "empty socket.io packet";
    case SH_SIO_ERR_TYPE:
        return "unknown socket.io packet type";
    case SH_SIO_ERR_ATTACHMENTS:
        return "bad binary attachment count";
    case SH_SIO_ERR_NAMESPACE:
        return "bad namespace";
    case SH_SIO_ERR_ACK_ID:
        return "bad ack id";
    case SH_SIO_ERR_JSON:
        return "malformed JSON payload";
    case SH_SIO_ERR_PAYLOAD:
        return "payload does not match the packet type";
    case SH_SIO_ERR_UTF8:
        return "packet is not valid UTF-8";
    case SH_SIO_ERR_TOO_BIG:
        return "socket.io packet too big";
    case SH_SIO_ERR_PLACEHOLDER:
        return "bad binary placeholder";
    case SH_SIO_ERR_NOMEM:
        return "out of memory";
    case SH_SIO_ERR_ARG:
        return "invalid argument";
    default:
        return "unknown socket.io status";
    }
}
