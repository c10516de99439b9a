/*
 * test_auth_plugin.c - the auth plugin as a whole against the SDK's fake host (sdk/fakehost):
 * init refusals, registrations, the HTTP handlers with scripted database answers, bcrypt on the
 * worker pool (counted), logout and revocation, stream keys (hash-only look-ups, sealing, the
 * reset event) and that no secret reaches the log. The pure parts have test_auth_tokens.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdk/fakehost/fakehost.c"

#include "plugins/auth/auth.c"
#include "plugins/auth/passwords.c"
#include "plugins/auth/revoke.c"
#include "plugins/auth/routes_account.c"
#include "plugins/auth/routes_users.c"
#include "plugins/auth/service.c"
#include "plugins/auth/streamkey.c"
#include "plugins/auth/tokens.c"
#include "plugins/auth/users.c"
#include "plugins/auth/validate.c"

/* What tools/embed_sql generates from migrations/ in the real build. */
const sh_embedded_sql auth_migrations[] = {{"001_users", "CREATE TABLE users (id bigserial PRIMARY KEY)"},
                                           {NULL, NULL}};

#define SECRET "unit-test-secret-0123456789abcdef0123456789"

/* ---- fixture ------------------------------------------------------------------------------- */

static int work_jobs; /* jobs the plugin handed to host->work */
static sh_work_fn real_work_fn;
static int (*real_work)(sh_plugin *, sh_work_fn, sh_done_fn, void *);
static int counting_work(sh_plugin *p, sh_work_fn w, sh_done_fn d, void *ud) {
    work_jobs++;
    real_work_fn = w;
    return real_work(p, w, d, ud);
}

static sh_fake *up_with(const char *const *config) {
    sh_fake *fh = sh_fake_new(sh_plugin_entry);
    assert_non_null(fh);
    assert_int_equal(sh_fake_set_config(fh, "jwt_secret", SECRET), SH_OK);
    assert_int_equal(sh_fake_set_config(fh, "bcrypt_cost", "10"), SH_OK);
    for (const char *const *c = config; c && c[0]; c += 2)
        assert_int_equal(sh_fake_set_config(fh, c[0], c[1]), SH_OK);
    sh_host_api *api = (sh_host_api *)sh_fake_api(fh); /* a test-only hook: count worker jobs */
    real_work = api->work;
    api->work = counting_work;
    work_jobs = 0;
    assert_int_equal(sh_fake_init(fh), SH_OK);
    assert_int_equal(sh_fake_start(fh), SH_OK);
    return fh;
}

static void down(sh_fake *fh, const char *const *secrets) {
    const char *log = sh_fake_log(fh);
    assert_null(strstr(log, SECRET));
    for (const char *const *s = secrets; s && *s; s++)
        if (**s) assert_null(strstr(log, *s));
    int v = sh_fake_violations(fh);
    if (v) fprintf(stderr, "%s", log);
    sh_fake_free(fh);
    assert_int_equal(v, 0);
}

static const char *SELF[] = {"id",           "username",       "display_name",    "avatar_url", "bio",
                             "is_streaming", "follower_count", "following_count", "created_at", "email"};

static void push_self(sh_fake *fh, const char *id, const char *username, const char *email) {
    const char *vals[] = {id, username, username, NULL, "", "f", "3", "4", "2023-11-14T22:13:20.000Z", email};
    sh_fake_db_answer a = {.status = SH_OK, .ncols = 10, .cols = SELF, .nrows = 1, .values = vals};
    assert_int_equal(sh_fake_db_push(fh, &a), SH_OK);
}

static void push_login_row(sh_fake *fh, const char *id, const char *hash) {
    static const char *cols[] = {"id", "password_hash"};
    const char *vals[] = {id, hash};
    sh_fake_db_answer a = {.status = SH_OK, .ncols = 2, .cols = cols, .nrows = id ? 1 : 0, .values = id ? vals : NULL};
    assert_int_equal(sh_fake_db_push(fh, &a), SH_OK);
}

static const char *jstr(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}
static json_object *jobj(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The service's answer, captured. */
typedef struct got {
    int calls, status;
    int64_t id;
    char name[64];
} got;
static void capture(int status, const sh_identity *who, void *ud) {
    got *g = ud;
    g->calls++;
    g->status = status;
    g->id = who ? who->user_id : 0;
    snprintf(g->name, sizeof g->name, "%s", who && who->username ? who->username : "");
}

static char *hash_at_cost4(const char *pw) {
    unsigned char rnd[16] = {42};
    char setting[PW_SETTING_MAX];
    char *h = malloc(PW_HASH_LEN + 1);
    assert_int_equal(pw_setting(4, rnd, setting, sizeof setting), 0);
    assert_int_equal(pw_hash(pw, strlen(pw), setting, h, PW_HASH_LEN + 1), 0);
    return h;
}

static const char *login_body(const char *ident, const char *pw, char *buf, size_t n) {
    snprintf(buf, n, "{\"email\":\"%s\",\"password\":\"%s\"}", ident, pw);
    return buf;
}

/* ---- init ---------------------------------------------------------------------------------- */

static void test_init_refuses_a_short_jwt_secret_without_printing_it(void **s) {
    (void)s;
    sh_fake *fh = sh_fake_new(sh_plugin_entry);
    assert_int_equal(sh_fake_set_config(fh, "jwt_secret", "tooShortSecret-31-bytes-long!!x"), SH_OK);
    assert_int_not_equal(sh_fake_init(fh), SH_OK);
    assert_true(sh_fake_log_has(fh, "jwt_secret is 31 bytes; it must be at least 32"));
    assert_false(sh_fake_log_has(fh, "tooShortSecret"));
    sh_fake_free(fh);
    fh = sh_fake_new(sh_plugin_entry);
    assert_int_equal(sh_fake_set_config(fh, "jwt_secret", ""), SH_OK);
    assert_int_not_equal(sh_fake_init(fh), SH_OK);
    sh_fake_free(fh);
    fh = sh_fake_new(sh_plugin_entry); /* required */
    assert_int_not_equal(sh_fake_init(fh), SH_OK);
    sh_fake_free(fh);
    fh = sh_fake_new(sh_plugin_entry);
    assert_int_equal(sh_fake_set_config(fh, "jwt_secret", SECRET), SH_OK);
    assert_int_equal(sh_fake_set_config(fh, "stream_key_secret", "short-seal"), SH_OK);
    assert_int_not_equal(sh_fake_init(fh), SH_OK);
    assert_false(sh_fake_log_has(fh, "short-seal"));
    sh_fake_free(fh);
    /* bcrypt_cost below 10 is a config error */
    fh = sh_fake_new(sh_plugin_entry);
    assert_int_not_equal(sh_fake_set_config(fh, "bcrypt_cost", "9"), SH_OK);
    sh_fake_free(fh);
}

static void test_init_registers_routes_service_and_migration(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    static const char *want[] = {
        "route POST /api/auth/register",
        "route POST /api/auth/login",
        "route POST /api/auth/logout (auth)",
        "route GET /api/auth/me (auth)",
        "route GET /api/users/:username",
        "route PATCH /api/users/me (auth)",
        "route GET /api/users/me/stream-key (auth)",
        "route POST /api/users/me/stream-key/reset (auth)",
        "service auth 1.0",
        "migration 001_users",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_true(sh_fake_registered(fh, want[i]));
    const sh_auth_api *a = sh_fake_service(fh, SH_AUTH_SERVICE, SH_AUTH_MAJOR);
    assert_ptr_equal(a, &auth_service);
    assert_int_equal(a->size, sizeof(sh_auth_api));
    assert_int_equal(sh_fake_timers_active(fh), 1); /* the revocation sweep */
    down(fh, NULL);
}

/* ---- register ------------------------------------------------------------------------------ */

static void test_register_hashes_on_a_worker_and_stores_no_plain_secret(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    push_self(fh, "7", "alice", "alice@example.com");
    const char *body = "{\"username\":\"alice\",\"email\":\"alice@example.com\",\"password\":\"correct horse 1\"}";
    const sh_fake_response *r = sh_fake_request(fh, "POST", "/api/auth/register", body, NULL);
    assert_int_equal(r->status, 201);
    assert_int_equal(work_jobs, 1);
    assert_ptr_equal(real_work_fn, pw_work);
    assert_string_equal(sh_fake_response_header(r, "Cache-Control"), "no-store");
    const char *token = jstr(r->json, "token");
    assert_non_null(token);
    assert_string_equal(jstr(jobj(r->json, "user"), "email"), "alice@example.com");
    /* the INSERT: username, email, a $2b$10$ hash of the password, the key's hash, the sealed key */
    assert_int_equal(sh_fake_db_query_count(fh), 1);
    assert_non_null(strstr(sh_fake_db_query_sql(fh, 0), "INSERT INTO users"));
    assert_int_equal(sh_fake_db_query_nparams(fh, 0), 6);
    assert_string_equal(sh_fake_db_query_param(fh, 0, 0), "alice");
    const char *hash = sh_fake_db_query_param(fh, 0, 2);
    assert_int_equal(strncmp(hash, "$2b$10$", 7), 0);
    assert_int_equal(pw_verify("correct horse 1", 15, hash), 1);
    const char *khash = sh_fake_db_query_param(fh, 0, 3), *sealed = sh_fake_db_query_param(fh, 0, 4);
    assert_int_equal(strlen(khash), 64);
    char key[SK_KEY_LEN + 1], check[SK_HASH_HEX + 1];
    assert_int_equal(sk_open(auth_g->seal_key, sealed, khash, key, sizeof key), 0);
    assert_int_equal(sk_hash(key, strlen(key), check), 0);
    assert_string_equal(check, khash);
    assert_string_equal(sh_fake_db_query_param(fh, 0, 5), "alice"); /* displayName defaults */
    for (int i = 0; i < 6; i++)
        assert_null(strstr(sh_fake_db_query_param(fh, 0, i), "correct horse"));
    /* the token is good for the core's check */
    got g = {0};
    auth_service.verify_token(token, capture, &g);
    sh_fake_run(fh);
    assert_int_equal(g.status, SH_OK);
    assert_int_equal(g.id, 7);
    assert_string_equal(g.name, "alice");
    const char *secrets[] = {"correct horse 1", token, key, NULL};
    down(fh, secrets);
}

static void test_register_tells_which_unique_field_is_taken(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    const char *body = "{\"username\":\"alice\",\"email\":\"alice@example.com\",\"password\":\"correct horse 1\"}";
    sh_fake_db_push_error(fh, SH_ERR, "23505",
                          "duplicate key value violates unique constraint \"users_email_lower_idx\"");
    const sh_fake_response *r = sh_fake_request(fh, "POST", "/api/auth/register", body, NULL);
    assert_int_equal(r->status, 409);
    assert_string_equal(sh_fake_response_error(r), "email_taken");
    assert_string_equal(sh_fake_response_field(r), "email");
    sh_fake_db_push_error(fh, SH_ERR, "23505",
                          "duplicate key value violates unique constraint \"users_username_lower_idx\"");
    r = sh_fake_request(fh, "POST", "/api/auth/register", body, NULL);
    assert_int_equal(r->status, 409);
    assert_string_equal(sh_fake_response_error(r), "username_taken");
    assert_string_equal(sh_fake_response_field(r), "username");
    sh_fake_db_set_available(fh, 0);
    r = sh_fake_request(fh, "POST", "/api/auth/register", body, NULL);
    assert_int_equal(r->status, 503);
    down(fh, NULL);
}

static void test_register_validates_before_any_work(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    struct {
        const char *body, *field;
    } cases[] = {
        {"{\"email\":\"a@b.co\",\"password\":\"12345678\"}", "username"},
        {"{\"username\":\"a-b\",\"email\":\"a@b.co\",\"password\":\"12345678\"}", "username"},
        {"{\"username\":\"abc\",\"email\":\"a@b\",\"password\":\"12345678\"}", "email"},
        {"{\"username\":\"abc\",\"email\":\"a@b.co\",\"password\":\"1234567\"}", "password"},
        {"{\"username\":\"abc\",\"email\":\"a@b.co\",\"password\":\"12345678\",\"displayName\":\"\"}", "displayName"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const sh_fake_response *r = sh_fake_request(fh, "POST", "/api/auth/register", cases[i].body, NULL);
        assert_int_equal(r->status, 400);
        assert_string_equal(sh_fake_response_error(r), "invalid_field");
        assert_string_equal(sh_fake_response_field(r), cases[i].field);
    }
    assert_int_equal(work_jobs, 0);
    assert_int_equal(sh_fake_db_query_count(fh), 0);
    down(fh, NULL);
}

/* ---- login --------------------------------------------------------------------------------- */

static void test_login_unknown_account_costs_a_hash_and_answers_like_a_wrong_password(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    char buf[256], *hash = hash_at_cost4("right-password");
    push_login_row(fh, NULL, NULL); /* nobody */
    const sh_fake_response *unknown = sh_fake_request(
        fh, "POST", "/api/auth/login", login_body("ghost@example.com", "whatever1", buf, sizeof buf), NULL);
    assert_int_equal(unknown->status, 401);
    assert_int_equal(work_jobs, 1); /* verified against the dummy hash all the same */
    push_login_row(fh, "7", hash);
    const sh_fake_response *wrong = sh_fake_request(
        fh, "POST", "/api/auth/login", login_body("alice@example.com", "wrong-password", buf, sizeof buf), NULL);
    assert_int_equal(wrong->status, 401);
    assert_int_equal(work_jobs, 2);
    assert_string_equal(unknown->body, wrong->body);
    assert_string_equal(sh_fake_response_error(wrong), "invalid_credentials");
    /* the look-up takes the identifier as a parameter, never in the SQL text */
    assert_string_equal(sh_fake_db_query_param(fh, 0, 0), "ghost@example.com");
    assert_null(strstr(sh_fake_db_query_sql(fh, 0), "ghost"));
    double v = 0;
    assert_int_equal(sh_fake_metric(fh, "streamhub_auth_logins_total", "result=\"invalid\"", &v, NULL), SH_OK);
    assert_true(v == 2.0);
    const char *secrets[] = {"wrong-password", "whatever1", NULL};
    down(fh, secrets);
    free(hash);
}

static void test_login_success_issues_a_token_the_service_accepts(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    char buf[256], *hash = hash_at_cost4("right-password");
    push_login_row(fh, "7", hash);
    push_self(fh, "7", "alice", "alice@example.com");
    const sh_fake_response *r =
        sh_fake_request(fh, "POST", "/api/auth/login", login_body("ALICE", "right-password", buf, sizeof buf), NULL);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(sh_fake_db_query_sql(fh, 1), "last_login = now()"));
    const char *token = jstr(r->json, "token");
    auth_claims c;
    assert_int_equal(auth_token_verify(&auth_g->tok, token, auth_now_s(auth_g), &c), AUTH_TOK_OK);
    assert_int_equal(c.user_id, 7);
    assert_int_equal(c.exp - c.iat, 604800);
    /* the route guarded by SH_ROUTE_AUTH lets it in */
    push_self(fh, "7", "alice", "alice@example.com");
    r = sh_fake_request(fh, "GET", "/api/auth/me", NULL, token);
    assert_int_equal(r->status, 200);
    assert_string_equal(jstr(jobj(r->json, "user"), "username"), "alice");
    assert_string_equal(sh_fake_db_query_param(fh, 2, 0), "7");
    const char *secrets[] = {"right-password", token, NULL};
    down(fh, secrets);
    free(hash);
}

static void test_login_is_rate_limited_per_address_and_per_account(void **s) {
    (void)s;
    const char *cfg[] = {"login_limit_per_ip", "2", "login_limit_per_account", "3", NULL};
    sh_fake *fh = up_with(cfg);
    char buf[256];
    for (int i = 0; i < 2; i++) {
        push_login_row(fh, NULL, NULL);
        sh_fake_req rq = {.method = "POST",
                          .path = "/api/auth/login",
                          .remote_addr = "10.0.0.1",
                          .body = login_body("ghost@example.com", "password1", buf, sizeof buf)};
        assert_int_equal(sh_fake_request_ex(fh, &rq)->status, 401);
    }
    sh_fake_req rq = {.method = "POST",
                      .path = "/api/auth/login",
                      .remote_addr = "10.0.0.1",
                      .body = login_body("ghost@example.com", "password1", buf, sizeof buf)};
    const sh_fake_response *r = sh_fake_request_ex(fh, &rq);
    assert_int_equal(r->status, 429);
    assert_string_equal(sh_fake_response_error(r), "rate_limited");
    assert_string_equal(sh_fake_response_header(r, "Retry-After"), "900");
    assert_int_equal(work_jobs, 2); /* the refused attempt cost nothing */
    /* per account: a third attempt from another address still counts for ghost@example.com */
    push_login_row(fh, NULL, NULL);
    rq.remote_addr = "10.0.0.2";
    assert_int_equal(sh_fake_request_ex(fh, &rq)->status, 401);
    push_login_row(fh, NULL, NULL);
    rq.remote_addr = "10.0.0.3";
    assert_int_equal(sh_fake_request_ex(fh, &rq)->status, 429);
    /* loopback is limited too unless exempt_loopback */
    for (int i = 0; i < 2; i++) {
        push_login_row(fh, NULL, NULL);
        sh_fake_req lo = {.method = "POST",
                          .path = "/api/auth/login",
                          .remote_addr = "127.0.0.1",
                          .body = login_body("other@example.com", "password1", buf, sizeof buf)};
        assert_int_equal(sh_fake_request_ex(fh, &lo)->status, 401);
    }
    sh_fake_req lo = {.method = "POST",
                      .path = "/api/auth/login",
                      .remote_addr = "127.0.0.1",
                      .body = login_body("third@example.com", "password1", buf, sizeof buf)};
    assert_int_equal(sh_fake_request_ex(fh, &lo)->status, 429);
    /* the window ends */
    sh_fake_advance(fh, 900000);
    push_login_row(fh, NULL, NULL);
    assert_int_equal(sh_fake_request_ex(fh, &lo)->status, 401);
    down(fh, NULL);
}

/* ---- logout -------------------------------------------------------------------------------- */

static void test_logout_revokes_the_token_until_it_expires(void **s) {
    (void)s;
    const char *cfg[] = {"token_ttl_seconds", "120", NULL};
    sh_fake *fh = up_with(cfg);
    char *token = auth_issue_token(auth_g, 7, "alice");
    char *other = auth_issue_token(auth_g, 7, "alice");
    const sh_fake_response *r = sh_fake_request(fh, "POST", "/api/auth/logout", NULL, token);
    assert_int_equal(r->status, 204);
    r = sh_fake_request(fh, "GET", "/api/auth/me", NULL, token);
    assert_int_equal(r->status, 401);
    assert_string_equal(sh_fake_response_error(r), "invalid_token");
    got g = {0};
    auth_service.verify_token(token, capture, &g);
    assert_int_equal(g.status, SH_ERR_INVALID);
    g = (got){0};
    auth_service.verify_token(other, capture, &g); /* another session of the same user */
    assert_int_equal(g.status, SH_OK);
    assert_int_equal(sh_fake_db_query_count(fh), 0);
    assert_int_equal(auth_revset_count(auth_g->revoked), 1);
    sh_fake_advance(fh, 120000); /* expired: the sweep forgets it */
    assert_int_equal(auth_revset_count(auth_g->revoked), 0);
    g = (got){0};
    auth_service.verify_token(token, capture, &g);
    assert_int_equal(g.status, SH_ERR_INVALID);
    const char *secrets[] = {token, other, NULL};
    down(fh, secrets);
    free(token);
    free(other);
}

/* ---- stream keys --------------------------------------------------------------------------- */

static void test_stream_key_reset_replaces_hash_and_tells_every_node(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    char *token = auth_issue_token(auth_g, 7, "alice");
    assert_int_equal(sh_fake_db_push_value(fh, "id", "7"), SH_OK);
    const sh_fake_response *r = sh_fake_request(fh, "POST", "/api/users/me/stream-key/reset", NULL, token);
    assert_int_equal(r->status, 200);
    assert_string_equal(sh_fake_response_header(r, "Cache-Control"), "no-store");
    char key[SK_KEY_LEN + 1], hash[SK_HASH_HEX + 1], opened[SK_KEY_LEN + 1];
    snprintf(key, sizeof key, "%s", jstr(r->json, "streamKey"));
    assert_int_equal(authv_stream_key(key, strlen(key)), AUTHV_OK);
    assert_string_equal(jstr(r->json, "rtmpUrl"), "rtmp://localhost:1935/live");
    sk_hash(key, strlen(key), hash);
    assert_string_equal(sh_fake_db_query_param(fh, 0, 0), "7");
    assert_string_equal(sh_fake_db_query_param(fh, 0, 1), hash);
    assert_int_equal(sk_open(auth_g->seal_key, sh_fake_db_query_param(fh, 0, 2), hash, opened, sizeof opened), 0);
    assert_string_equal(opened, key);
    assert_int_equal(sh_fake_published_count(fh), 1);
    assert_string_equal(sh_fake_published_topic(fh, 0), SH_TOPIC_STREAM_KEY_RESET);
    assert_int_equal(sh_fake_published_flags(fh, 0), SH_BUS_CLUSTER);
    assert_int_equal(json_object_get_int64(jobj(sh_fake_published_payload(fh, 0), "userId")), 7);
    const char *secrets[] = {key, token, NULL};
    down(fh, secrets);
    free(token);
}

static void test_stream_key_is_shown_to_its_owner_only_when_it_unseals(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    char *token = auth_issue_token(auth_g, 7, "alice");
    char key[SK_KEY_LEN + 1], hash[SK_HASH_HEX + 1], sealed[SK_SEAL_MAX];
    assert_int_equal(auth_new_stream_key(auth_g, key, hash, sealed), 0);
    static const char *cols[] = {"stream_key_enc", "stream_key_hash"};
    const char *vals[] = {sealed, hash};
    sh_fake_db_answer a = {.status = SH_OK, .ncols = 2, .cols = cols, .nrows = 1, .values = vals};
    sh_fake_db_push(fh, &a);
    const sh_fake_response *r = sh_fake_request(fh, "GET", "/api/users/me/stream-key", NULL, token);
    assert_int_equal(r->status, 200);
    assert_string_equal(jstr(r->json, "streamKey"), key);
    /* sealed under another secret (or bound to another hash): 409, never garbage */
    const char *bad[] = {sealed, "0000000000000000000000000000000000000000000000000000000000000000"};
    sh_fake_db_answer b = {.status = SH_OK, .ncols = 2, .cols = cols, .nrows = 1, .values = bad};
    sh_fake_db_push(fh, &b);
    r = sh_fake_request(fh, "GET", "/api/users/me/stream-key", NULL, token);
    assert_int_equal(r->status, 409);
    assert_string_equal(sh_fake_response_error(r), "stream_key_unavailable");
    /* without a token */
    r = sh_fake_request(fh, "GET", "/api/users/me/stream-key", NULL, NULL);
    assert_int_equal(r->status, 401);
    const char *secrets[] = {key, token, NULL};
    down(fh, secrets);
    free(token);
}

static void test_service_looks_keys_up_by_hash_only(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    const char *key = "live_00112233445566778899aabbccddeeff00112233";
    char hash[SK_HASH_HEX + 1];
    sk_hash(key, strlen(key), hash);
    static const char *cols[] = {"id", "username"};
    const char *vals[] = {"7", "alice"};
    sh_fake_db_answer a = {.status = SH_OK, .ncols = 2, .cols = cols, .nrows = 1, .values = vals};
    sh_fake_db_push(fh, &a);
    got g = {0};
    auth_service.user_by_stream_key(key, capture, &g);
    sh_fake_run(fh);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.status, SH_OK);
    assert_int_equal(g.id, 7);
    assert_non_null(strstr(sh_fake_db_query_sql(fh, 0), "stream_key_hash = $1"));
    assert_string_equal(sh_fake_db_query_param(fh, 0, 0), hash);
    /* no match; malformed keys never reach the database */
    sh_fake_db_push(fh, &(sh_fake_db_answer){.status = SH_OK, .ncols = 2, .cols = cols});
    g = (got){0};
    auth_service.user_by_stream_key(key, capture, &g);
    sh_fake_run(fh);
    assert_int_equal(g.status, SH_ERR_INVALID);
    const char *bad[] = {"", "live_", "LIVE_00112233445566778899aabbccddeeff00112233", "' OR 1=1 --", NULL};
    for (int i = 0; i < 4; i++) {
        g = (got){0};
        auth_service.user_by_stream_key(bad[i], capture, &g);
        sh_fake_run(fh);
        assert_int_equal(g.status, SH_ERR_INVALID);
    }
    g = (got){0};
    auth_service.user_by_stream_key(NULL, capture, &g);
    assert_int_equal(g.status, SH_ERR_INVALID);
    assert_int_equal(sh_fake_db_query_count(fh), 2);
    /* the database is down */
    sh_fake_db_set_available(fh, 0);
    g = (got){0};
    auth_service.user_by_id(7, capture, &g);
    sh_fake_run(fh);
    assert_int_equal(g.status, SH_ERR_UNAVAILABLE);
    const char *secrets[] = {key, NULL};
    down(fh, secrets);
}

static void test_public_profile_never_selects_private_columns(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    static const char *cols[] = {"id",           "username",       "display_name",    "avatar_url", "bio",
                                 "is_streaming", "follower_count", "following_count", "created_at"};
    const char *vals[] = {"7", "alice", "Alice", "https://x.com/a.png",     "hi",
                          "t", "10",    "2",     "2023-11-14T22:13:20.000Z"};
    sh_fake_db_push(fh, &(sh_fake_db_answer){.status = SH_OK, .ncols = 9, .cols = cols, .nrows = 1, .values = vals});
    const sh_fake_response *r = sh_fake_request(fh, "GET", "/api/users/Alice", NULL, NULL);
    assert_int_equal(r->status, 200);
    const char *sql = sh_fake_db_query_sql(fh, 0);
    assert_null(strstr(sql, "email"));
    assert_null(strstr(sql, "stream_key"));
    assert_null(strstr(sql, "password"));
    json_object *u = jobj(r->json, "user");
    assert_int_equal(json_object_object_length(u), 9);
    assert_null(jobj(u, "email"));
    assert_true(json_object_get_boolean(jobj(u, "isStreaming")));
    assert_int_equal(json_object_get_int64(jobj(u, "followerCount")), 10);
    /* impossible names are 404 without a query */
    r = sh_fake_request(fh, "GET", "/api/users/a%27b", NULL, NULL);
    assert_int_equal(r->status, 404);
    assert_int_equal(sh_fake_db_query_count(fh), 1);
    down(fh, NULL);
}

static void test_patch_me_sends_only_what_changes(void **s) {
    (void)s;
    sh_fake *fh = up_with(NULL);
    char *token = auth_issue_token(auth_g, 7, "alice");
    push_self(fh, "7", "alice", "alice@example.com");
    const sh_fake_response *r =
        sh_fake_request(fh, "PATCH", "/api/users/me", "{\"bio\":\"  line\\nline  \",\"avatarUrl\":\"\"}", token);
    assert_int_equal(r->status, 200);
    assert_string_equal(sh_fake_db_query_param(fh, 0, 0), "7");
    assert_null(sh_fake_db_query_param(fh, 0, 1)); /* displayName: unchanged */
    assert_string_equal(sh_fake_db_query_param(fh, 0, 2), "line\nline");
    assert_string_equal(sh_fake_db_query_param(fh, 0, 3), ""); /* clears the avatar */
    r = sh_fake_request(fh, "PATCH", "/api/users/me", "{\"avatarUrl\":\"http://x.com/a.png\"}", token);
    assert_int_equal(r->status, 400);
    assert_string_equal(sh_fake_response_field(r), "avatarUrl");
    assert_int_equal(sh_fake_db_query_count(fh), 1);
    const char *secrets[] = {token, NULL};
    down(fh, secrets);
    free(token);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_refuses_a_short_jwt_secret_without_printing_it),
        cmocka_unit_test(test_init_registers_routes_service_and_migration),
        cmocka_unit_test(test_register_hashes_on_a_worker_and_stores_no_plain_secret),
        cmocka_unit_test(test_register_tells_which_unique_field_is_taken),
        cmocka_unit_test(test_register_validates_before_any_work),
        cmocka_unit_test(test_login_unknown_account_costs_a_hash_and_answers_like_a_wrong_password),
        cmocka_unit_test(test_login_success_issues_a_token_the_service_accepts),
        cmocka_unit_test(test_login_is_rate_limited_per_address_and_per_account),
        cmocka_unit_test(test_logout_revokes_the_token_until_it_expires),
        cmocka_unit_test(test_stream_key_reset_replaces_hash_and_tells_every_node),
        cmocka_unit_test(test_stream_key_is_shown_to_its_owner_only_when_it_unseals),
        cmocka_unit_test(test_service_looks_keys_up_by_hash_only),
        cmocka_unit_test(test_public_profile_never_selects_private_columns),
        cmocka_unit_test(test_patch_me_sends_only_what_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
