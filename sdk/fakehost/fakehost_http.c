/*
 * fakehost_http.c - HTTP for the fake host: routing with the host's rules, requests and their answers,
 * JSON body validation, and dispatch with the bearer-token check through the `auth` service.
 *
 * Part of the fake host (fakehost.h): fakehost.c #includes it, so that the whole fake host is one
 * translation unit whose internals stay static. Not compiled on its own.
 */
#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

/* ---- routing (the host's rules) ----------------------------------------------------------- */
/* "/a/b" -> {"a","b"}; "/" -> none; inner empty segments kept as "". -1 if not absolute. */
static int split_path(const char *path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!path || path[0] != '/') return -1;
    const char *p = path + 1;
    if (!*p) return 0;
    for (;;) {
        if (*n >= FAKE_MAX_SEGMENTS) {
            free_strv(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        GROW(*out, *n);
        (*out)[(*n)++] = xstrndup(p, l);
        if (!slash) return 0;
        p = slash + 1;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode; NULL if malformed or it would contain NUL. */
static char *url_decode(const char *s, size_t len, int plus_is_space) {
    char *out = xrealloc(NULL, len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= len) goto bad;
            h = hexval(s[i + 1]);
            l = hexval(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0)) goto bad;
            *o++ = (char)(h * 16 + l);
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static int api_http_route(sh_plugin *p, const char *method, const char *pattern, unsigned flags,
                          sh_http_handler handler, void *ud) {
    sh_fake *fh = p->fh;
    if (!in_init(fh, "http_route")) return SH_ERR_STATE;
    if (!method || !*method || !pattern || !handler) return SH_ERR_INVALID;
    fake_route rt = {0};
    if (split_path(pattern, &rt.seg, &rt.nseg) < 0) {
        logline(fh, SH_LOG_ERROR, "bad route pattern \"%s\" (it must start with '/')", pattern);
        return SH_ERR_INVALID;
    }
    int params = 0;
    for (size_t i = 0; i < rt.nseg; i++) {
        const char *s = rt.seg[i];
        int bad = 0;
        if (s[0] == ':')
            bad = !s[1] || ++params > FAKE_MAX_PARAMS;
        else if (strcmp(s, "*") == 0)
            bad = i + 1 != rt.nseg || ++params > FAKE_MAX_PARAMS;
        else
            rt.literals++;
        if (bad) {
            logline(fh, SH_LOG_ERROR, "bad route pattern \"%s\": empty or too many :params, or '*' not last", pattern);
            free_strv(rt.seg, rt.nseg);
            return SH_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < fh->nroutes; i++)
        if (strcmp(fh->routes[i].method, method) == 0 && strcmp(fh->routes[i].pattern, pattern) == 0) {
            logline(fh, SH_LOG_ERROR, "route %s %s is already registered", method, pattern);
            free_strv(rt.seg, rt.nseg);
            return SH_ERR_EXISTS;
        }
    rt.method = xstrdup(method);
    rt.pattern = xstrdup(pattern);
    rt.flags = flags;
    rt.handler = handler;
    rt.ud = ud;
    GROW(fh->routes, fh->nroutes);
    fh->routes[fh->nroutes++] = rt;
    note_reg(fh, "route %s %s%s", method, pattern,
             (flags & SH_ROUTE_AUTH)       ? " (auth)"
             : (flags & SH_ROUTE_AUTH_OPT) ? " (auth optional)"
                                           : "");
    return SH_OK;
}

/* 1 if `rt` matches the split path; fills r's params when r != NULL; -1 on a bad escape. */
static int match_route(const fake_route *rt, char **seg, size_t nseg, sh_request *r) {
    int wildcard = rt->nseg && strcmp(rt->seg[rt->nseg - 1], "*") == 0;
    size_t fixed = wildcard ? rt->nseg - 1 : rt->nseg;
    if (wildcard ? nseg < fixed : nseg != fixed) return 0;
    for (size_t i = 0; i < fixed; i++) {
        const char *ps = rt->seg[i];
        if (ps[0] == ':') {
            if (!seg[i][0]) return 0;
        } else if (strcmp(ps, seg[i]) != 0) {
            return 0;
        }
    }
    if (!r) return 1;
    for (size_t i = 0; i < fixed; i++)
        if (rt->seg[i][0] == ':') {
            r->pnames[r->nparams] = rt->seg[i] + 1;
            if (!(r->pvalues[r->nparams++] = url_decode(seg[i], strlen(seg[i]), 0))) return -1;
        }
    if (wildcard) {
        size_t total = 1;
        for (size_t i = fixed; i < nseg; i++)
            total += strlen(seg[i]) + 1;
        char *rest = xcalloc(total, 1);
        for (size_t i = fixed; i < nseg; i++) {
            if (i > fixed) strcat(rest, "/");
            strcat(rest, seg[i]);
        }
        r->pnames[r->nparams] = "*";
        r->pvalues[r->nparams] = url_decode(rest, strlen(rest), 0);
        free(rest);
        if (!r->pvalues[r->nparams++]) return -1;
    }
    return 1;
}

/* ---- requests and answers ----------------------------------------------------------------- */
static void request_release(sh_request *r) {
    for (size_t i = 0; i < r->nparams; i++)
        free(r->pvalues[i]);
    r->nparams = 0;
    free_strv(r->qnames, r->nquery);
    free_strv(r->qvalues, r->nquery);
    free_strv(r->hnames, r->nhdr);
    free_strv(r->hvalues, r->nhdr);
    r->qnames = r->qvalues = r->hnames = r->hvalues = NULL;
    r->nquery = r->nhdr = 0;
    free(r->path);
    free(r->body);
    free(r->remote);
    free(r->token);
    free(r->username);
    r->path = r->body = r->remote = r->token = r->username = NULL;
    r->body_len = 0;
    if (r->json) json_object_put(r->json);
    r->json = NULL;
}

static int usable(sh_request *r, const char *fn) {
    if (!r) return 0;
    if (!r->answered) return 1;
    violation(r->fh, "%s on a request that was already answered", fn);
    return 0;
}

/* Record the answer (copies the bytes) and release the request's data. */
static void finish(sh_request *r, int status, const char *content_type, const void *data, size_t len) {
    if (r) r->resp->answers++;
    if (!usable(r, "respond")) return;
    sh_fake_response *o = r->resp;
    o->status = status;
    free((char *)o->content_type);
    free((char *)o->body);
    o->content_type = xstrdup(content_type);
    char *b = xrealloc(NULL, len + 1);
    if (len) memcpy(b, data, len);
    b[len] = '\0';
    o->body = b;
    o->body_len = len;
    if (o->json) json_object_put(o->json);
    o->json = len ? json_tokener_parse(b) : NULL;
    r->answered = 1;
    request_release(r);
}

static const char *api_req_method(sh_request *r) {
    return usable(r, "req_method") ? r->method : NULL;
}
static const char *api_req_path(sh_request *r) {
    return usable(r, "req_path") ? r->path : NULL;
}
static const char *api_req_param(sh_request *r, const char *name) {
    if (!usable(r, "req_param") || !name) return NULL;
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->pnames[i], name) == 0) return r->pvalues[i];
    return NULL;
}
static const char *api_req_query(sh_request *r, const char *name) {
    if (!usable(r, "req_query") || !name) return NULL;
    for (size_t i = 0; i < r->nquery; i++)
        if (strcmp(r->qnames[i], name) == 0) return r->qvalues[i];
    return NULL;
}
static const char *api_req_header(sh_request *r, const char *name) {
    if (!usable(r, "req_header") || !name) return NULL;
    for (size_t i = 0; i < r->nhdr; i++)
        if (strcasecmp(r->hnames[i], name) == 0) return r->hvalues[i];
    return NULL;
}
static const void *api_req_body(sh_request *r, size_t *len) {
    if (!usable(r, "req_body")) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = r->body_len;
    return r->body ? r->body : "";
}
static const char *api_req_remote_addr(sh_request *r) {
    return usable(r, "req_remote_addr") ? r->remote : NULL;
}
static int64_t api_req_user_id(sh_request *r) {
    return usable(r, "req_user_id") ? r->user_id : 0;
}
static const char *api_req_username(sh_request *r) {
    return usable(r, "req_username") ? r->username : NULL;
}
static const char *api_req_token(sh_request *r) {
    return usable(r, "req_token") ? r->token : NULL;
}

static void api_resp_header(sh_request *r, const char *name, const char *value) {
    if (!usable(r, "resp_header") || !name || !value) return;
    sh_fake_response *o = r->resp;
    GROW(o->header_names, o->nheaders);
    GROW(o->header_values, o->nheaders);
    o->header_names[o->nheaders] = xstrdup(name);
    o->header_values[o->nheaders++] = xstrdup(value);
}

static void api_respond_json(sh_request *r, int status, json_object *body) {
    if (!body) {
        finish(r, status, NULL, NULL, 0);
        return;
    }
    size_t len;
    const char *s =
        json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    finish(r, status, "application/json; charset=utf-8", s, len);
    json_object_put(body);
}

static void api_respond_error(sh_request *r, int status, const char *code, const char *message, const char *field) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code ? code : "error"));
    json_object_object_add(e, "message", json_object_new_string(message ? message : "Error."));
    if (field) json_object_object_add(e, "field", json_object_new_string(field));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", e);
    api_respond_json(r, status, o);
}

static void api_respond_bytes(sh_request *r, int status, const char *content_type, const void *data, size_t len) {
    finish(r, status, content_type, data, len);
}

static void api_respond_ref(sh_request *r, int status, const char *content_type, const void *data, size_t len,
                            void (*release)(void *ud), void *ud) {
    finish(r, status, content_type, data, len);
    if (release) release(ud);
}

/* Reads the range into the recorded answer (pread: the fd's offset is left alone). */
static void api_respond_file(sh_request *r, int status, const char *content_type, int fd, uint64_t offset, uint64_t len,
                             void (*release)(void *ud), void *ud) {
    char *buf = len && len <= (uint64_t)SIZE_MAX ? malloc((size_t)len) : NULL;
    size_t got = 0;
    while (buf && got < len) {
        ssize_t n = pread(fd, buf + got, (size_t)len - got, (off_t)(offset + got));
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (len && got != len)
        api_respond_error(r, 500, "internal", "Cannot send the file.", NULL);
    else
        finish(r, status, content_type, buf, (size_t)len);
    free(buf);
    if (release) release(ud);
}

static int api_db_status(const sh_db_result *res);
static void api_respond_db_error(sh_request *r, const sh_db_result *res) {
    if (!res || api_db_status(res) == SH_ERR_UNAVAILABLE)
        api_respond_error(r, 503, "database_unavailable", "The database is unavailable; try again shortly.", NULL);
    else
        api_respond_error(r, 500, "internal", "Internal error.", NULL);
}

static json_object *api_req_json(sh_request *r) {
    if (!usable(r, "req_json")) return NULL;
    if (r->json) return r->json;
    size_t len = r->body_len;
    const char *body = r->body ? r->body : "";
    json_tokener *tok = json_tokener_new_ex(32);
    json_object *o = NULL;
    if (tok && len) {
        o = json_tokener_parse_ex(tok, body, (int)len);
        size_t off = json_tokener_get_parse_end(tok);
        int ok = json_tokener_get_error(tok) == json_tokener_success;
        for (; ok && off < len; off++)
            if (!strchr(" \t\r\n", body[off])) ok = 0;
        if (!ok) {
            json_object_put(o);
            o = NULL;
        }
    }
    if (tok) json_tokener_free(tok);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        api_respond_error(r, 400, "invalid_json", len ? "The body must be a JSON object." : "A JSON body is required.",
                          NULL);
        return NULL;
    }
    r->json = o;
    return o;
}

/* ---- JSON field validation (the host's rules) --------------------------------------------- */
static int utf8_valid(const unsigned char *s, size_t len) {
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2, lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            need = 2;
        } else if (c == 0xED) {
            need = 2, hi = 0x9F;
        } else if (c == 0xF0) {
            need = 3, lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3, hi = 0x8F;
        } else {
            return 0;
        }
        if (len - i - 1 < need) return 0;
        for (size_t k = 1; k <= need; k++) {
            unsigned char x = s[i + k];
            if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return 0;
        }
        i += need + 1;
    }
    return 1;
}

static int text_ok(const char *s, size_t len, int multiline) {
    if (!utf8_valid((const unsigned char *)s, len)) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(multiline && c == '\n')) || c == 0x7F) return 0;
        if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F) return 0;
    }
    return 1;
}

static json_object *field_of(json_object *obj, const char *field, int *absent) {
    json_object *v = NULL;
    *absent = !obj || !json_object_object_get_ex(obj, field, &v) || v == NULL;
    return v;
}

static int json_fail(sh_request *r, const char *field, const char *msg) {
    api_respond_error(r, 400, "invalid_field", msg, field);
    return -1;
}

static int api_json_str(sh_request *r, json_object *obj, const char *field, size_t min, size_t max, unsigned flags,
                        const char **out) {
    char msg[256];
    int absent;
    if (!usable(r, "json_str")) return -1;
    json_object *v = field_of(obj, field, &absent);
    if (absent) {
        if (flags & SH_JSON_OPTIONAL) return 1;
        snprintf(msg, sizeof msg, "%s is required.", field);
        return json_fail(r, field, msg);
    }
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(msg, sizeof msg, "%s must be a string.", field);
        return json_fail(r, field, msg);
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (memchr(s, '\0', len) || !text_ok(s, len, (flags & SH_JSON_MULTILINE) != 0)) {
        snprintf(msg, sizeof msg, "%s must be valid UTF-8 text without control characters.", field);
        return json_fail(r, field, msg);
    }
    if (!(flags & SH_JSON_NOTRIM)) {
        size_t a = 0, b = len;
        while (a < b && strchr(" \t\n\r", s[a]))
            a++;
        while (b > a && strchr(" \t\n\r", s[b - 1]))
            b--;
        if (a != 0 || b != len) {
            /* copy first: json-c would memcpy from its own buffer into itself (overlapping) */
            char *t = xstrndup(s + a, b - a);
            json_object_set_string_len(v, t, (int)(b - a));
            free(t);
            s = json_object_get_string(v);
            len = b - a;
        }
    }
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) chars++;
    if (chars < min || chars > max) {
        if (min == max)
            snprintf(msg, sizeof msg, "%s must be %zu characters.", field, min);
        else if (min > 0)
            snprintf(msg, sizeof msg, "%s must be %zu to %zu characters.", field, min, max);
        else
            snprintf(msg, sizeof msg, "%s must be at most %zu characters.", field, max);
        return json_fail(r, field, msg);
    }
    *out = s;
    return 0;
}

static int api_json_int(sh_request *r, json_object *obj, const char *field, int64_t min, int64_t max, unsigned flags,
                        int64_t *out) {
    char msg[256];
    int absent;
    if (!usable(r, "json_int")) return -1;
    json_object *v = field_of(obj, field, &absent);
    if (absent) {
        if (flags & SH_JSON_OPTIONAL) return 1;
        snprintf(msg, sizeof msg, "%s is required.", field);
        return json_fail(r, field, msg);
    }
    if (!json_object_is_type(v, json_type_int)) {
        snprintf(msg, sizeof msg, "%s must be an integer.", field);
        return json_fail(r, field, msg);
    }
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno || x < min || x > max) {
        snprintf(msg, sizeof msg, "%s must be from %lld to %lld.", field, (long long)min, (long long)max);
        return json_fail(r, field, msg);
    }
    *out = x;
    return 0;
}

static int api_json_bool(sh_request *r, json_object *obj, const char *field, unsigned flags, int *out) {
    char msg[256];
    int absent;
    if (!usable(r, "json_bool")) return -1;
    json_object *v = field_of(obj, field, &absent);
    if (absent) {
        if (flags & SH_JSON_OPTIONAL) return 1;
        snprintf(msg, sizeof msg, "%s is required.", field);
        return json_fail(r, field, msg);
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        snprintf(msg, sizeof msg, "%s must be true or false.", field);
        return json_fail(r, field, msg);
    }
    *out = json_object_get_boolean(v);
    return 0;
}

/* ---- HTTP dispatch ------------------------------------------------------------------------ */
static void dispatch(sh_request *r) {
    r->rt->handler(r, r->rt->ud);
}

static void on_auth(int status, const sh_identity *who, void *ud) {
    sh_request *r = ud;
    if (!usable(r, "the auth service's callback")) return;
    if (status == SH_OK && who && who->user_id > 0) {
        r->user_id = who->user_id;
        r->username = xstrdup(who->username ? who->username : "");
        dispatch(r);
    } else if (status == SH_ERR_UNAVAILABLE) {
        api_respond_error(r, 503, "auth_unavailable", "Sign-in cannot be checked right now; try again shortly.", NULL);
    } else if (r->rt->flags & SH_ROUTE_AUTH) {
        api_respond_error(r, 401, "invalid_token", "The token is invalid or expired; sign in again.", NULL);
    } else {
        dispatch(r);
    }
}

static void step_auth(sh_request *r) {
    unsigned flags = r->rt->flags;
    if (!(flags & (SH_ROUTE_AUTH | SH_ROUTE_AUTH_OPT))) {
        dispatch(r);
        return;
    }
    const char *h = api_req_header(r, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0 && h[7]) r->token = xstrdup(h + 7);
    const fake_service *auth = find_service(r->fh, SH_AUTH_SERVICE, SH_AUTH_MAJOR);
    if (!r->token) {
        if (flags & SH_ROUTE_AUTH)
            api_respond_error(r, 401, "unauthorized", "Sign in first (Authorization: Bearer <token>).", NULL);
        else
            dispatch(r);
        return;
    }
    if (!auth) {
        api_respond_error(r, 503, "auth_unavailable", "No auth plugin is loaded.", NULL);
        return;
    }
    ((const sh_auth_api *)auth->table)->verify_token(r->token, on_auth, r);
}

static void add_header(sh_request *r, const char *name, const char *value) {
    GROW(r->hnames, r->nhdr);
    GROW(r->hvalues, r->nhdr);
    r->hnames[r->nhdr] = xstrdup(name);
    r->hvalues[r->nhdr++] = xstrdup(value);
}

static void parse_query(sh_request *r, const char *q) {
    while (q && *q) {
        size_t l = strcspn(q, "&");
        const char *eq = memchr(q, '=', l);
        size_t nl = eq ? (size_t)(eq - q) : l;
        char *name = url_decode(q, nl, 1);
        char *value = eq ? url_decode(eq + 1, l - nl - 1, 1) : xstrdup("");
        if (name && value && *name) {
            GROW(r->qnames, r->nquery);
            GROW(r->qvalues, r->nquery);
            r->qnames[r->nquery] = name;
            r->qvalues[r->nquery++] = value;
        } else {
            free(name);
            free(value);
        }
        q += l;
        if (*q == '&') q++;
    }
}

const sh_fake_response *sh_fake_request_ex(sh_fake *fh, const sh_fake_req *in) {
    sh_fake_response *resp = xcalloc(1, sizeof *resp);
    resp->body = xstrdup("");
    sh_request *r = xcalloc(1, sizeof *r);
    GROW(fh->resps, fh->nreqs);
    GROW(fh->reqs, fh->nreqs);
    fh->resps[fh->nreqs] = resp;
    fh->reqs[fh->nreqs++] = r;
    r->fh = fh;
    r->resp = resp;
    snprintf(r->method, sizeof r->method, "%s", in->method ? in->method : "GET");
    r->remote = xstrdup(in->remote_addr ? in->remote_addr : "127.0.0.1");
    if (in->body) {
        r->body_len = in->body_len ? in->body_len : strlen(in->body);
        r->body = xstrndup(in->body, r->body_len);
        add_header(r, "Content-Type", "application/json");
    }
    if (in->bearer) {
        char auth[1024];
        snprintf(auth, sizeof auth, "Bearer %s", in->bearer);
        add_header(r, "Authorization", auth);
    }
    for (const char *const *h = in->headers; h && h[0] && h[1]; h += 2)
        add_header(r, h[0], h[1]);
    const char *full = in->path ? in->path : "/";
    const char *qm = strchr(full, '?');
    char *raw = xstrndup(full, qm ? (size_t)(qm - full) : strlen(full));
    if (qm) parse_query(r, qm + 1);
    r->path = url_decode(raw, strlen(raw), 0);
    char **seg = NULL;
    size_t nseg = 0;
    if (!r->path || split_path(raw, &seg, &nseg) < 0) {
        if (!r->path) r->path = xstrdup(raw);
        api_respond_error(r, 400, "bad_path", "The request path is malformed.", NULL);
        goto out;
    }
    const char *want = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    const fake_route *best = NULL;
    char allow[256] = "";
    int any_path = 0, has_get = 0;
    for (size_t i = 0; i < fh->nroutes; i++) {
        const fake_route *rt = &fh->routes[i];
        if (match_route(rt, seg, nseg, NULL) != 1) continue;
        any_path = 1;
        if (strcmp(rt->method, want) == 0 || strcmp(rt->method, r->method) == 0) {
            if (!best || rt->literals > best->literals) best = rt;
        } else if (!strstr(allow, rt->method)) {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", rt->method);
            has_get |= strcmp(rt->method, "GET") == 0;
        }
    }
    if (best) {
        r->rt = best;
        if (match_route(best, seg, nseg, r) != 1)
            api_respond_error(r, 400, "bad_path", "The request path is malformed.", NULL);
        else
            step_auth(r);
    } else if (any_path) {
        if (has_get) {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof allow - used, ", HEAD");
        }
        api_resp_header(r, "Allow", allow);
        api_respond_error(r, 405, "method_not_allowed", "This method is not allowed here.", NULL);
    } else {
        api_respond_error(r, 404, "not_found", "Nothing here.", NULL);
    }
out:
    free_strv(seg, nseg);
    free(raw);
    /* r may be answered (its data released) but its shell lives until sh_fake_free */
    if (!in->no_run) sh_fake_run(fh);
    return resp;
}

const sh_fake_response *sh_fake_request(sh_fake *fh, const char *method, const char *path, const char *body,
                                        const char *bearer) {
    sh_fake_req req = {.method = method, .path = path, .body = body, .bearer = bearer};
    return sh_fake_request_ex(fh, &req);
}

const char *sh_fake_response_header(const sh_fake_response *r, const char *name) {
    for (size_t i = 0; r && name && i < r->nheaders; i++)
        if (strcasecmp(r->header_names[i], name) == 0) return r->header_values[i];
    return NULL;
}

static const char *error_member(const sh_fake_response *r, const char *key) {
    json_object *e, *v;
    if (!r || !r->json || !json_object_object_get_ex(r->json, "error", &e) || !json_object_object_get_ex(e, key, &v))
        return NULL;
    return json_object_get_string(v);
}
const char *sh_fake_response_error(const sh_fake_response *r) {
    return error_member(r, "code");
}
const char *sh_fake_response_field(const sh_fake_response *r) {
    return error_member(r, "field");
}
