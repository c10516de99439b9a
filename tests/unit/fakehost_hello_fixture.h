/*
 * tests/unit/fakehost_hello_fixture.h - what the tests of the SDK's example plugin
 * (sdk/examples/hello) against the SDK's fake host (sdk/fakehost) share: both sources, an
 * in-memory hello_greetings table, a started hello (hello_up / hello_down, setup_default /
 * teardown for cmocka) and JSON getters. Included once by each test_fakehost_*.c (one binary
 * each); the helpers are static inline so that a file need not use them all.
 */
#ifndef SH_TESTS_FAKEHOST_HELLO_FIXTURE_H
#define SH_TESTS_FAKEHOST_HELLO_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdk/fakehost/fakehost.c"
#include "sdk/examples/hello/hello.c"

/* ---- an in-memory hello_greetings table that answers hello's two statements --------------- */
typedef struct memdb {
    char names[256][80];
    int n;
    char count[32];
} memdb;

static void memdb_answer(void *ud, const char *sql, int nparams, const char *const *params, sh_fake_db_answer *out) {
    static const char *cols[] = {"count"};
    static const char *vals[1];
    memdb *db = ud;
    if (strncmp(sql, "INSERT INTO hello_greetings", 27) == 0 && nparams == 1 && db->n < 256) {
        snprintf(db->names[db->n++], sizeof db->names[0], "%s", params[0]);
        out->affected = 1;
    } else if (strncmp(sql, "SELECT count(*) FROM hello_greetings WHERE name = $1", 52) == 0 && nparams == 1) {
        int c = 0;
        for (int i = 0; i < db->n; i++)
            c += strcmp(db->names[i], params[0]) == 0;
        snprintf(db->count, sizeof db->count, "%d", c);
        vals[0] = db->count;
        out->ncols = 1;
        out->cols = cols;
        out->nrows = 1;
        out->values = vals;
    } else {
        out->status = SH_ERR;
        out->sqlstate = "42601";
        out->error = "unexpected statement";
    }
}

typedef struct fixture {
    sh_fake *fh;
    memdb db;
} fixture;

/* A started hello with config pairs (name, value, ..., NULL) and optionally a signed-in user. */
static inline fixture *hello_up(const char *const *config, int with_auth) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fh = sh_fake_new(sh_plugin_entry);
    assert_non_null(f->fh);
    for (const char *const *c = config; c && c[0]; c += 2)
        assert_int_equal(sh_fake_set_config(f->fh, c[0], c[1]), SH_OK);
    if (with_auth) assert_int_equal(sh_fake_auth_add(f->fh, "tok-alice", 7, "alice"), SH_OK);
    sh_fake_db_set_handler(f->fh, memdb_answer, &f->db);
    assert_int_equal(sh_fake_init(f->fh), SH_OK);
    assert_int_equal(sh_fake_start(f->fh), SH_OK);
    return f;
}

static inline void hello_down(fixture *f) {
    int violations = sh_fake_violations(f->fh);
    if (violations) fprintf(stderr, "%s", sh_fake_log(f->fh));
    sh_fake_free(f->fh);
    free(f);
    assert_int_equal(violations, 0);
}

static inline int setup_default(void **state) {
    *state = hello_up(NULL, 0);
    return 0;
}
static inline int teardown(void **state) {
    hello_down(*state);
    return 0;
}

static inline const char *jstr(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}
static inline int64_t jint(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

#endif
