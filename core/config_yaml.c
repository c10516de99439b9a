/*
 * config_yaml.c - YAML text to an sh_cnode tree (libyaml's event parser), with ${ENV}
 * expansion of scalar values. Anchors and aliases are refused (a config never needs them and
 * they allow billion-laughs expansion); nesting depth and document size are bounded.
 */
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 16
#define MAX_SCALAR (64 * 1024)

typedef struct {
    yaml_parser_t parser;
    const char *name;
    char *err;
    size_t errlen;
} yctx;

void sh_cnode_free(sh_cnode *n);

void sh_cnode_free(sh_cnode *n) {
    if (!n)
        return;
    free(n->scalar);
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        sh_cnode_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_lines);
    free(n->items);
    free(n);
}

static int push(sh_cnode *n, char *key, int key_line, sh_cnode *item) {
    sh_cnode **items = realloc(n->items, (n->n + 1) * sizeof *items);
    if (!items)
        return -1;
    n->items = items;
    if (n->type == SH_CN_MAP) {
        char **keys = realloc(n->keys, (n->n + 1) * sizeof *keys);
        if (!keys)
            return -1;
        n->keys = keys;
        n->keys[n->n] = key;
        int *kl = realloc(n->key_lines, (n->n + 1) * sizeof *kl);
        if (!kl) return -1;
        n->key_lines = kl;
        n->key_lines[n->n] = key_line;
    }
    n->items[n->n++] = item;
    return 0;
}

/* Expand ${NAME} and ${NAME:-default}. Returns a new string or NULL with err set. */
static char *expand_env(const char *in, const char *file, int line, char *err, size_t errlen) {
    size_t cap = strlen(in) + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = in; *p;) {
        const char *val = NULL;
        size_t vlen = 0, adv = 1;
        char tmp[2] = {*p, 0};
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) {
                snprintf(err, errlen, "%s:%d: unterminated ${ in \"%s\"", file, line, in);
                free(out);
                return NULL;
            }
            char name[256];
            size_t nlen = (size_t)(end - (p + 2));
            const char *def = NULL;
            size_t deflen = 0;
            const char *colon = memchr(p + 2, ':', nlen);
            if (colon && colon[1] == '-') {
                def = colon + 2;
                deflen = (size_t)(end - def);
                nlen = (size_t)(colon - (p + 2));
            }
            if (nlen == 0 || nlen >= sizeof name) {
                snprintf(err, errlen, "%s:%d: bad variable name in \"%s\"", file, line, in);
                free(out);
                return NULL;
            }
            memcpy(name, p + 2, nlen);
            name[nlen] = '\0';
            for (size_t i = 0; i < nlen; i++) {
                char c = name[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                    snprintf(err, errlen, "%s:%d: bad variable name \"%s\"", file, line, name);
                    free(out);
                    return NULL;
                }
            }
            const char *env = getenv(name);
            if (env && *env) {
                val = env;
                vlen = strlen(env);
            } else if (def) {
                val = def;
                vlen = deflen;
            } else if (env) {
                val = "";
            } else {
                snprintf(err, errlen, "%s:%d: environment variable %s is not set (write ${%s:-default} for a default)",
                         file, line, name, name);
                free(out);
                return NULL;
            }
            adv = (size_t)(end - p) + 1;
        } else {
            val = tmp;
            vlen = 1;
        }
        if (len + vlen + 1 > cap) {
            cap = (len + vlen + 1) * 2;
            char *n = realloc(out, cap);
            if (!n) {
                free(out);
                return NULL;
            }
            out = n;
        }
        memcpy(out + len, val, vlen);
        len += vlen;
        p += adv;
    }
    out[len] = '\0';
    return out;
}

static int next(yctx *c, yaml_event_t *ev) {
    if (!yaml_parser_parse(&c->parser, ev)) {
        snprintf(c->err, c->errlen, "%s:%zu: YAML syntax error: %s", c->name, c->parser.problem_mark.line + 1,
                 c->parser.problem ? c->parser.problem : "unknown");
        return -1;
    }
    return 0;
}

static sh_cnode *parse_node(yctx *c, yaml_event_t *ev, int depth);

static sh_cnode *new_node(sh_cnode_type t, const yaml_event_t *ev) {
    sh_cnode *n = calloc(1, sizeof *n);
    if (n) {
        n->type = t;
        n->line = (int)ev->start_mark.line + 1;
    }
    return n;
}

static sh_cnode *parse_collection(yctx *c, yaml_event_t *start, int depth, sh_cnode_type t) {
    sh_cnode *n = new_node(t, start);
    if (!n)
        return NULL;
    yaml_event_type_t end = t == SH_CN_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    for (;;) {
        yaml_event_t ev;
        if (next(c, &ev) < 0)
            goto fail;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return n;
        }
        char *key = NULL;
        int key_line = (int)ev.start_mark.line + 1;
        if (t == SH_CN_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                snprintf(c->err, c->errlen, "%s:%zu: map keys must be plain strings", c->name, ev.start_mark.line + 1);
                yaml_event_delete(&ev);
                goto fail;
            }
            key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            for (size_t i = 0; key && i < n->n; i++)
                if (strcmp(n->keys[i], key) == 0) {
                    snprintf(c->err, c->errlen, "%s:%zu: duplicate key \"%s\"", c->name, ev.start_mark.line + 1, key);
                    free(key);
                    yaml_event_delete(&ev);
                    goto fail;
                }
            yaml_event_delete(&ev);
            if (!key || next(c, &ev) < 0) {
                free(key);
                goto fail;
            }
        }
        sh_cnode *item = parse_node(c, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!item || push(n, key, key_line, item) < 0) {
            free(key);
            sh_cnode_free(item);
            goto fail;
        }
    }
fail:
    sh_cnode_free(n);
    return NULL;
}

static sh_cnode *parse_node(yctx *c, yaml_event_t *ev, int depth) {
    if (depth > MAX_DEPTH) {
        snprintf(c->err, c->errlen, "%s:%zu: nesting deeper than %d levels", c->name, ev->start_mark.line + 1, MAX_DEPTH);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor) {
            snprintf(c->err, c->errlen, "%s:%zu: anchors are not supported", c->name, ev->start_mark.line + 1);
            return NULL;
        }
        if (ev->data.scalar.length > MAX_SCALAR || memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
            snprintf(c->err, c->errlen, "%s:%zu: value too long or contains NUL", c->name, ev->start_mark.line + 1);
            return NULL;
        }
        sh_cnode *n = new_node(SH_CN_SCALAR, ev);
        if (!n)
            return NULL;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        char *raw = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!raw) {
            free(n);
            return NULL;
        }
        n->scalar = expand_env(raw, c->name, n->line, c->err, c->errlen);
        if (strstr(raw, "${")) n->plain = 0; /* an expanded value is text, never a YAML null */
        free(raw);
        if (!n->scalar) {
            free(n);
            return NULL;
        }
        return n;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        if ((ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor)) {
            snprintf(c->err, c->errlen, "%s:%zu: anchors are not supported", c->name, ev->start_mark.line + 1);
            return NULL;
        }
        return parse_collection(c, ev, depth, ev->type == YAML_MAPPING_START_EVENT ? SH_CN_MAP : SH_CN_SEQ);
    case YAML_ALIAS_EVENT:
        snprintf(c->err, c->errlen, "%s:%zu: aliases are not supported", c->name, ev->start_mark.line + 1);
        return NULL;
    default:
        snprintf(c->err, c->errlen, "%s:%zu: unexpected YAML event", c->name, ev->start_mark.line + 1);
        return NULL;
    }
}

sh_cnode *sh_yaml_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);

/* Parse a whole document. An empty document gives an empty map. */
sh_cnode *sh_yaml_parse(const char *name, const char *text, size_t len, char *err, size_t errlen) {
    yctx c = {.name = name, .err = err, .errlen = errlen};
    err[0] = '\0';
    if (!yaml_parser_initialize(&c.parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    sh_cnode *root = NULL;
    yaml_event_t ev;
    for (;;) {
        if (next(&c, &ev) < 0)
            break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        root = parse_node(&c, &ev, 0);
        yaml_event_delete(&ev);
        if (!root) break;
        /* exactly one document: a second one is almost always a mistake */
        for (;;) {
            if (next(&c, &ev) < 0) {
                sh_cnode_free(root);
                root = NULL;
                break;
            }
            yaml_event_type_t t2 = ev.type;
            int line2 = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            if (t2 == YAML_STREAM_END_EVENT) break;
            if (t2 == YAML_DOCUMENT_START_EVENT) {
                snprintf(err, errlen, "%s:%d: a second YAML document; the config is one document", name, line2);
                sh_cnode_free(root);
                root = NULL;
                break;
            }
        }
        break;
    }
    yaml_parser_delete(&c.parser);
    if (!root && !err[0]) {
        root = calloc(1, sizeof *root);
        if (root)
            root->type = SH_CN_MAP;
    }
    if (root && root->type != SH_CN_MAP) {
        snprintf(err, errlen, "%s:%d: the top level must be a map (server:, database:, plugins: ...)", name, root->line);
        sh_cnode_free(root);
        return NULL;
    }
    return root;
}
