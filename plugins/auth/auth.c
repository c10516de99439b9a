/*
 * auth.c - the auth plugin: accounts, sessions (JWT), profiles and stream keys; provides the
 * `auth` service (streamhub/auth.h) that the core uses for SH_ROUTE_AUTH routes.
 *
 * This file: the descriptor and its settings, init (config -> auth_state, migrations, routes,
 * service, metrics), start (the revocation sweep timer), stop and fini. See auth_plugin.h for the
 * map of the other files. Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/auth_plugin.h"
#include "plugins/auth/streamkey.h"
#include <streamhub/migrations.h>

extern const sh_embedded_sql auth_migrations[]; /* generated from migrations/NNN_name.sql */

#define REVOKED_MAX 1000000 /* local revoked-token ids, at most */
#define SWEEP_MS    60000

auth_state *auth_g;
static auth_state g_state;

static const sh_dep provides[] = {{SH_AUTH_SERVICE, SH_AUTH_MAJOR, SH_AUTH_MINOR, 0}, {NULL, 0, 0, 0}};

static const sh_setting settings[] = {
    {"jwt_secret", SH_CFG_STRING, NULL, 0, 4096, SH_CFG_REQUIRED | SH_CFG_SECRET,
     "HS256 key for session tokens: at least 32 random bytes (e.g. ${STREAMHUB_JWT_SECRET})"},
    {"issuer", SH_CFG_STRING, "streamhub", 1, 256, 0, "token `iss` claim, issued and required"},
    {"audience", SH_CFG_STRING, "streamhub", 1, 256, 0, "token `aud` claim, issued and required"},
    {"token_ttl_seconds", SH_CFG_INT, "604800", 60, 31536000, 0, "lifetime of a session token (default 7 days)"},
    {"bcrypt_cost", SH_CFG_INT, "12", 10, 20, 0, "bcrypt work factor (2^cost rounds) for new password hashes"},
    {"login_limit_per_ip", SH_CFG_INT, "20", 0, 1000000, 0, "login attempts per client address per window (0 = off)"},
    {"login_limit_per_account", SH_CFG_INT, "10", 0, 1000000, 0, "login attempts per account per window (0 = off)"},
    {"login_window_ms", SH_CFG_INT, "900000", 1000, 86400000, 0, "window of the login limits"},
    {"register_limit_per_ip", SH_CFG_INT, "10", 0, 1000000, 0, "registrations per client address per window (0 = off)"},
    {"register_window_ms", SH_CFG_INT, "3600000", 1000, 86400000, 0, "window of the registration limit"},
    {"exempt_loopback", SH_CFG_BOOL, "false", 0, 0, 0,
     "exempt 127.0.0.1/::1 from this plugin's per-address limits (tests); per-account limits always apply"},
    {"rtmp_url", SH_CFG_STRING, "rtmp://localhost:1935/live", 1, 1024, 0, "ingest URL shown next to the stream key"},
    {"stream_key_secret", SH_CFG_STRING, NULL, 0, 4096, SH_CFG_SECRET,
     "seals stored stream keys (>= 32 bytes); default: derived from jwt_secret"},
    {"revocation_fail_closed", SH_CFG_BOOL, "false", 0, 0, 0,
     "refuse every token (503) while Redis cannot be asked whether it was revoked"},
    {"redis_prefix", SH_CFG_STRING, "sh:auth:", 0, 64, 0, "prefix of this plugin's Redis keys"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static void on_sweep(void *ud) {
    auth_state *st = ud;
    auth_revset_sweep(st->revoked, auth_now_s(st));
}

static int auth_init(sh_plugin *self, const sh_host_api *host) {
    auth_state *st = &g_state;
    memset(st, 0, sizeof *st);
    st->self = self;
    st->host = host;

    const char *secret = host->cfg_str(self, "jwt_secret");
    size_t slen = secret ? strlen(secret) : 0;
    if (slen < AUTH_SECRET_MIN) {
        host->log(self, SH_LOG_ERROR,
                  "jwt_secret is %zu bytes; it must be at least %d random bytes (set STREAMHUB_JWT_SECRET, "
                  "e.g. to the output of `openssl rand -hex 32`)",
                  slen, AUTH_SECRET_MIN);
        return SH_ERR;
    }
    st->tok.key = (const unsigned char *)secret;
    st->tok.keylen = slen;
    st->tok.issuer = host->cfg_str(self, "issuer");
    st->tok.audience = host->cfg_str(self, "audience");
    st->tok.ttl_s = host->cfg_int(self, "token_ttl_seconds");

    const char *seal = host->cfg_str(self, "stream_key_secret");
    if (seal && *seal && strlen(seal) < AUTH_SECRET_MIN) {
        host->log(self, SH_LOG_ERROR, "stream_key_secret is %zu bytes; it must be at least %d random bytes (or unset)",
                  strlen(seal), AUTH_SECRET_MIN);
        return SH_ERR;
    }
    if (!seal || !*seal) seal = secret;
    if (sk_derive((const unsigned char *)seal, strlen(seal), st->seal_key) < 0) {
        host->log(self, SH_LOG_ERROR, "cannot derive the stream key sealing key");
        return SH_ERR;
    }

    st->bcrypt_cost = (unsigned)host->cfg_int(self, "bcrypt_cost");
    unsigned char rnd[16];
    if (host->random_bytes(self, rnd, sizeof rnd) != SH_OK ||
        pw_dummy_hash(st->bcrypt_cost, rnd, st->dummy_hash, sizeof st->dummy_hash) < 0) {
        host->log(self, SH_LOG_ERROR, "libxcrypt refused a bcrypt ($2b$) setting of cost %u", st->bcrypt_cost);
        return SH_ERR;
    }
    st->login_ip_limit = (int)host->cfg_int(self, "login_limit_per_ip");
    st->login_account_limit = (int)host->cfg_int(self, "login_limit_per_account");
    st->login_window_ms = (uint64_t)host->cfg_int(self, "login_window_ms");
    st->register_ip_limit = (int)host->cfg_int(self, "register_limit_per_ip");
    st->register_window_ms = (uint64_t)host->cfg_int(self, "register_window_ms");
    st->exempt_loopback = host->cfg_bool(self, "exempt_loopback");
    st->rtmp_url = host->cfg_str(self, "rtmp_url");
    st->revocation_fail_closed = host->cfg_bool(self, "revocation_fail_closed");
    st->redis_prefix = host->cfg_str(self, "redis_prefix");
    if (!st->redis_prefix) st->redis_prefix = "";

    if (!(st->revoked = auth_revset_new(REVOKED_MAX))) {
        host->log(self, SH_LOG_ERROR, "out of memory");
        return SH_ERR_NOMEM;
    }
    if (sh_migrations_register(self, host, auth_migrations) != SH_OK) goto fail;
    if (auth_routes_account(st) != SH_OK || auth_routes_users(st) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the HTTP routes");
        goto fail;
    }
    if (host->service_provide(self, SH_AUTH_SERVICE, SH_AUTH_MAJOR, SH_AUTH_MINOR, &auth_service) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot provide the auth service");
        goto fail;
    }
    const char *lname = "streamhub_auth_logins_total", *lhelp = "Login attempts, by result";
    st->m_login_ok = host->metric_new(self, SH_METRIC_COUNTER, lname, lhelp, "result=\"ok\"");
    st->m_login_fail = host->metric_new(self, SH_METRIC_COUNTER, lname, lhelp, "result=\"invalid\"");
    st->m_login_limited = host->metric_new(self, SH_METRIC_COUNTER, lname, lhelp, "result=\"rate_limited\"");
    const char *rname = "streamhub_auth_registrations_total", *rhelp = "Registration attempts, by result";
    st->m_register_ok = host->metric_new(self, SH_METRIC_COUNTER, rname, rhelp, "result=\"ok\"");
    st->m_register_limited = host->metric_new(self, SH_METRIC_COUNTER, rname, rhelp, "result=\"rate_limited\"");
    auth_g = st;
    host->log(self, SH_LOG_INFO, "ready: bcrypt cost %u, tokens valid %lld s, issuer \"%s\", audience \"%s\"",
              st->bcrypt_cost, (long long)st->tok.ttl_s, st->tok.issuer, st->tok.audience);
    return SH_OK;
fail:
    auth_revset_free(st->revoked);
    st->revoked = NULL;
    return SH_ERR;
}

static int auth_start(sh_plugin *self) {
    auth_state *st = &g_state;
    st->sweep_timer = st->host->timer_add(self, SWEEP_MS, 1, on_sweep, st);
    return SH_OK;
}

static void auth_stop(sh_plugin *self) {
    (void)self;
    auth_state *st = &g_state;
    if (st->sweep_timer) st->host->timer_cancel(st->sweep_timer);
    st->sweep_timer = NULL;
}

static void auth_fini(sh_plugin *self) {
    (void)self;
    auth_state *st = &g_state;
    auth_g = NULL;
    auth_revset_free(st->revoked);
    explicit_bzero(st, sizeof *st);
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,
    .name = "auth",
    .version = "1.0.0",
    .description = "accounts, sessions (JWT), profiles and stream keys; provides the auth service",
    .provides = provides,
    .requires = NULL,
    .settings = settings,
    .init = auth_init,
    .start = auth_start,
    .stop = auth_stop,
    .fini = auth_fini,
};

SH_PLUGIN_EXPORT(desc)
