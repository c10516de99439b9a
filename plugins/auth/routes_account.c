/*
 * routes_account.c - POST /api/auth/register, POST /api/auth/login, POST /api/auth/logout,
 * GET /api/auth/me (see docs/API.md, "Accounts").
 *
 * Register: validate every field (400 naming it) -> per-IP limit -> bcrypt on a worker -> make a
 * stream key -> INSERT (409 on a taken username/e-mail, told apart by the unique index hit) ->
 * 201 {token, user}.
 * Login: validate -> per-IP limit -> look the account up by e-mail or username -> per-account
 * limit -> bcrypt verify on a worker, against the stored hash or, for an unknown account, a dummy
 * hash of the same cost (same answer, same work) -> 200 {token, user} or 401.
 * Each request's state lives in a context freed when the request is answered. Loop thread.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/auth_plugin.h"
#include "plugins/auth/streamkey.h"
#include "plugins/auth/validate.h"

static void bad_field(const auth_state *st, sh_request *req, const char *field, int code) {
    st->host->respond_error(req, 400, "invalid_field", authv_message(field, code), field);
}

/* Read body.password (not trimmed, any bytes but NUL). 0, or -1 after answering 400. */
static int get_password(const auth_state *st, sh_request *req, json_object *body, int is_new, const char **pw,
                        size_t *len) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(body, "password", &v) || !v) {
        bad_field(st, req, "password", AUTHV_EMPTY);
        return -1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        st->host->respond_error(req, 400, "invalid_field", "password must be a string.", "password");
        return -1;
    }
    const char *s = json_object_get_string(v);
    size_t l = (size_t)json_object_get_string_len(v);
    int rc = is_new ? authv_password_new(s, l) : authv_password_login(s, l);
    if (rc != AUTHV_OK) {
        bad_field(st, req, "password", rc);
        return -1;
    }
    *pw = s;
    *len = l;
    return 0;
}

static void respond_session(auth_state *st, sh_request *req, int status, const sh_db_result *res) {
    const sh_host_api *h = st->host;
    const char *id = h->db_value(res, 0, h->db_col(res, "id"));
    const char *name = h->db_value(res, 0, h->db_col(res, "username"));
    char *tok = auth_issue_token(st, id ? strtoll(id, NULL, 10) : 0, name ? name : "");
    json_object *user = auth_user_json(h, res, 0, 1);
    if (!tok || !user) {
        free(tok);
        json_object_put(user);
        h->log(st->self, SH_LOG_ERROR, "cannot issue a token");
        h->respond_error(req, 500, "internal", "Something went wrong; try again.", NULL);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", json_object_new_string(tok));
    json_object_object_add(o, "user", user);
    explicit_bzero(tok, strlen(tok));
    free(tok);
    h->resp_header(req, "Cache-Control", "no-store");
    h->respond_json(req, status, o);
}

static void respond_busy(const auth_state *st, sh_request *req) {
    st->host->resp_header(req, "Retry-After", "1");
    st->host->respond_error(req, 503, "busy", "The server is busy; try again shortly.", NULL);
}

/* ---- register ---------------------------------------------------------------------------------- */

typedef struct reg_ctx {
    auth_state *st;
    sh_request *req;
    char username[AUTH_USERNAME_MAX + 1];
    char email[AUTH_EMAIL_MAX + 1];
    char *display; /* malloc'd */
    char pw[AUTH_PASSWORD_MAX + 1];
    size_t pwlen;
    char key_hash[SK_HASH_HEX + 1];
    char key_sealed[SK_SEAL_MAX];
} reg_ctx;

static void reg_free(reg_ctx *c) {
    free(c->display);
    explicit_bzero(c, sizeof *c);
    free(c);
}

static void on_register_inserted(const sh_db_result *res, void *ud) {
    reg_ctx *c = ud;
    auth_state *st = c->st;
    const sh_host_api *h = st->host;
    if (h->db_status(res) == SH_ERR && strcmp(h->db_sqlstate(res), "23505") == 0) {
        const char *msg = h->db_error(res);
        if (msg && strstr(msg, "users_email"))
            h->respond_error(c->req, 409, "email_taken", "An account with this email already exists.", "email");
        else if (msg && strstr(msg, "users_username"))
            h->respond_error(c->req, 409, "username_taken", "This username is taken.", "username");
        else
            auth_respond_db(st, c->req, res);
    } else if (h->db_status(res) != SH_OK || h->db_nrows(res) != 1) {
        auth_respond_db(st, c->req, res);
    } else {
        if (st->m_register_ok) h->metric_add(st->m_register_ok, 1);
        respond_session(st, c->req, 201, res);
    }
    reg_free(c);
}

static void on_register_hashed(const char *hash, void *ud) {
    reg_ctx *c = ud;
    auth_state *st = c->st;
    const sh_host_api *h = st->host;
    char plain[SK_KEY_LEN + 1];
    if (!hash || auth_new_stream_key(st, plain, c->key_hash, c->key_sealed) < 0) {
        explicit_bzero(plain, sizeof plain);
        h->log(st->self, SH_LOG_ERROR, "cannot hash a password or make a stream key");
        h->respond_error(c->req, 500, "internal", "Something went wrong; try again.", NULL);
        reg_free(c);
        return;
    }
    explicit_bzero(plain, sizeof plain);
    const char *params[6] = {c->username, c->email,      hash,
                             c->key_hash, c->key_sealed, c->display ? c->display : c->username};
    if (auth_db(st, c->req,
                "INSERT INTO users (username, email, password_hash, stream_key_hash, stream_key_enc, display_name) "
                "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " AUTH_SELF_COLS,
                6, params, on_register_inserted, c) < 0)
        reg_free(c);
}

static void register_go(reg_ctx *c) {
    auth_state *st = c->st;
    int rc = auth_pw_hash_async(st->self, st->host, st->bcrypt_cost, c->pw, c->pwlen, on_register_hashed, c);
    explicit_bzero(c->pw, sizeof c->pw);
    if (rc != SH_OK) {
        respond_busy(st, c->req);
        reg_free(c);
    }
}

static void on_register_rate(int allowed, uint64_t retry_after_ms, void *ud) {
    reg_ctx *c = ud;
    if (!allowed) {
        if (c->st->m_register_limited) c->st->host->metric_add(c->st->m_register_limited, 1);
        auth_respond_limited(c->st, c->req, retry_after_ms);
        reg_free(c);
        return;
    }
    register_go(c);
}

static void h_register(sh_request *req, void *ud) {
    auth_state *st = ud;
    const sh_host_api *h = st->host;
    json_object *body = h->req_json(req);
    if (!body) return;
    const char *username, *email, *display = NULL, *pw;
    size_t pwlen;
    int rc;
    if (h->json_str(req, body, "username", AUTH_USERNAME_MIN, AUTH_USERNAME_MAX, 0, &username) < 0) return;
    if ((rc = authv_username(username, strlen(username))) != AUTHV_OK) {
        bad_field(st, req, "username", rc);
        return;
    }
    if (h->json_str(req, body, "email", 3, AUTH_EMAIL_MAX, 0, &email) < 0) return;
    if ((rc = authv_email(email, strlen(email))) != AUTHV_OK) {
        bad_field(st, req, "email", rc);
        return;
    }
    if (get_password(st, req, body, 1, &pw, &pwlen) < 0) return;
    if (h->json_str(req, body, "displayName", 1, AUTH_DISPLAY_NAME_MAX, SH_JSON_OPTIONAL, &display) < 0) return;

    reg_ctx *c = calloc(1, sizeof *c);
    if (!c || (display && !(c->display = strdup(display)))) {
        free(c);
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    c->st = st;
    c->req = req;
    snprintf(c->username, sizeof c->username, "%s", username);
    snprintf(c->email, sizeof c->email, "%s", email);
    memcpy(c->pw, pw, pwlen);
    c->pwlen = pwlen;
    if (st->register_ip_limit > 0 && !auth_ip_exempt(st, req)) {
        char key[96];
        snprintf(key, sizeof key, "register:ip:%s", h->req_remote_addr(req));
        h->rate_hit(st->self, key, st->register_ip_limit, st->register_window_ms, on_register_rate, c);
    } else {
        register_go(c);
    }
}

/* ---- login ------------------------------------------------------------------------------------- */

typedef struct login_ctx {
    auth_state *st;
    sh_request *req;
    char ident[AUTH_EMAIL_MAX + 1];
    char pw[AUTH_PASSWORD_MAX + 1];
    size_t pwlen;
    int64_t user_id; /* 0 = unknown account */
    char hash[PW_HASH_LEN + 1];
} login_ctx;

static void login_free(login_ctx *c) {
    explicit_bzero(c, sizeof *c);
    free(c);
}

static void login_fail(login_ctx *c) {
    auth_state *st = c->st;
    if (st->m_login_fail) st->host->metric_add(st->m_login_fail, 1);
    st->host->respond_error(c->req, 401, "invalid_credentials", "Wrong email, username or password.", NULL);
    login_free(c);
}

static void on_login_updated(const sh_db_result *res, void *ud) {
    login_ctx *c = ud;
    auth_state *st = c->st;
    if (st->host->db_status(res) != SH_OK) {
        auth_respond_db(st, c->req, res);
    } else if (st->host->db_nrows(res) != 1) { /* deleted meanwhile */
        login_fail(c);
        return;
    } else {
        if (st->m_login_ok) st->host->metric_add(st->m_login_ok, 1);
        respond_session(st, c->req, 200, res);
    }
    login_free(c);
}

static void on_login_verified(int status, void *ud) {
    login_ctx *c = ud;
    auth_state *st = c->st;
    if (status < 0) {
        respond_busy(st, c->req);
        login_free(c);
        return;
    }
    if (status != 1 || c->user_id <= 0) {
        login_fail(c);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->user_id);
    const char *params[1] = {id};
    if (auth_db(st, c->req, "UPDATE users SET last_login = now() WHERE id = $1 RETURNING " AUTH_SELF_COLS, 1, params,
                on_login_updated, c) < 0)
        login_free(c);
}

static void on_login_account_rate(int allowed, uint64_t retry_after_ms, void *ud) {
    login_ctx *c = ud;
    auth_state *st = c->st;
    if (!allowed) {
        if (st->m_login_limited) st->host->metric_add(st->m_login_limited, 1);
        auth_respond_limited(st, c->req, retry_after_ms);
        login_free(c);
        return;
    }
    int rc = auth_pw_verify_async(st->self, st->host, c->pw, c->pwlen, c->user_id > 0 ? c->hash : NULL, st->dummy_hash,
                                  on_login_verified, c);
    explicit_bzero(c->pw, sizeof c->pw);
    if (rc != SH_OK) {
        respond_busy(st, c->req);
        login_free(c);
    }
}

static void on_login_lookup(const sh_db_result *res, void *ud) {
    login_ctx *c = ud;
    auth_state *st = c->st;
    const sh_host_api *h = st->host;
    if (h->db_status(res) != SH_OK) {
        auth_respond_db(st, c->req, res);
        login_free(c);
        return;
    }
    char key[AUTH_EMAIL_MAX + 32];
    if (h->db_nrows(res) >= 1) {
        const char *id = h->db_value(res, 0, 0), *hash = h->db_value(res, 0, 1);
        c->user_id = id ? strtoll(id, NULL, 10) : 0;
        snprintf(c->hash, sizeof c->hash, "%s", hash ? hash : "");
        snprintf(key, sizeof key, "login:user:%lld", (long long)c->user_id);
    } else {
        /* unknown account: limited under its name all the same */
        for (char *p = c->ident; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        snprintf(key, sizeof key, "login:name:%s", c->ident);
    }
    if (st->login_account_limit > 0)
        h->rate_hit(st->self, key, st->login_account_limit, st->login_window_ms, on_login_account_rate, c);
    else
        on_login_account_rate(1, 0, c);
}

static void login_lookup(login_ctx *c) {
    const char *params[1] = {c->ident};
    /* usernames never contain '@' and addresses always do: at most one row can match */
    if (auth_db(c->st, c->req,
                "SELECT id, password_hash FROM users WHERE lower(email) = lower($1) OR "
                "lower(username) = lower($1) LIMIT 1",
                1, params, on_login_lookup, c) < 0)
        login_free(c);
}

static void on_login_ip_rate(int allowed, uint64_t retry_after_ms, void *ud) {
    login_ctx *c = ud;
    if (!allowed) {
        if (c->st->m_login_limited) c->st->host->metric_add(c->st->m_login_limited, 1);
        auth_respond_limited(c->st, c->req, retry_after_ms);
        login_free(c);
        return;
    }
    login_lookup(c);
}

static void h_login(sh_request *req, void *ud) {
    auth_state *st = ud;
    const sh_host_api *h = st->host;
    json_object *body = h->req_json(req);
    if (!body) return;
    const char *ident = NULL, *pw;
    size_t pwlen;
    int rc = h->json_str(req, body, "email", 1, AUTH_EMAIL_MAX, SH_JSON_OPTIONAL, &ident);
    if (rc < 0) return;
    if (rc == 1) {
        rc = h->json_str(req, body, "username", 1, AUTH_EMAIL_MAX, SH_JSON_OPTIONAL, &ident);
        if (rc < 0) return;
        if (rc == 1) {
            h->respond_error(req, 400, "invalid_field", "email or username is required.", "email");
            return;
        }
    }
    if (get_password(st, req, body, 0, &pw, &pwlen) < 0) return;
    login_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    c->st = st;
    c->req = req;
    snprintf(c->ident, sizeof c->ident, "%s", ident);
    memcpy(c->pw, pw, pwlen);
    c->pwlen = pwlen;
    if (st->login_ip_limit > 0 && !auth_ip_exempt(st, req)) {
        char key[96];
        snprintf(key, sizeof key, "login:ip:%s", h->req_remote_addr(req));
        h->rate_hit(st->self, key, st->login_ip_limit, st->login_window_ms, on_login_ip_rate, c);
    } else {
        login_lookup(c);
    }
}

/* ---- logout and me ----------------------------------------------------------------------------- */

static void on_logout_revoked(int status, void *ud) {
    sh_request *req = ud;
    auth_state *st = auth_g;
    if (status == SH_OK)
        st->host->respond_json(req, 204, NULL);
    else
        st->host->respond_error(req, 503, "revocation_unavailable", "Cannot sign out right now; try again shortly.",
                                NULL);
}

static void h_logout(sh_request *req, void *ud) {
    auth_state *st = ud;
    auth_claims c;
    /* the core verified the token already (SH_ROUTE_AUTH); read its claims again */
    if (auth_token_verify(&st->tok, st->host->req_token(req), auth_now_s(st), &c) != AUTH_TOK_OK) {
        st->host->respond_error(req, 401, "invalid_token", "The token is invalid or expired; sign in again.", NULL);
        return;
    }
    auth_revoke(st, &c, on_logout_revoked, req);
}

typedef struct me_ctx {
    auth_state *st;
    sh_request *req;
} me_ctx;

static void on_me(const sh_db_result *res, void *ud) {
    me_ctx *m = ud;
    const sh_host_api *h = m->st->host;
    if (h->db_status(res) != SH_OK) {
        auth_respond_db(m->st, m->req, res);
    } else if (h->db_nrows(res) != 1) {
        h->respond_error(m->req, 401, "invalid_token", "This account no longer exists.", NULL);
    } else {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "user", auth_user_json(h, res, 0, 1));
        h->resp_header(m->req, "Cache-Control", "no-store");
        h->respond_json(m->req, 200, o);
    }
    free(m);
}

static void h_me(sh_request *req, void *ud) {
    auth_state *st = ud;
    me_ctx *m = malloc(sizeof *m);
    if (!m) {
        st->host->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    *m = (me_ctx){st, req};
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)st->host->req_user_id(req));
    const char *params[1] = {id};
    if (auth_db(st, req, "SELECT " AUTH_SELF_COLS " FROM users WHERE id = $1", 1, params, on_me, m) < 0) free(m);
}

int auth_routes_account(auth_state *st) {
    const sh_host_api *h = st->host;
    if (h->http_route(st->self, "POST", "/api/auth/register", 0, h_register, st) != SH_OK ||
        h->http_route(st->self, "POST", "/api/auth/login", 0, h_login, st) != SH_OK ||
        h->http_route(st->self, "POST", "/api/auth/logout", SH_ROUTE_AUTH, h_logout, st) != SH_OK ||
        h->http_route(st->self, "GET", "/api/auth/me", SH_ROUTE_AUTH, h_me, st) != SH_OK)
        return SH_ERR;
    return SH_OK;
}
