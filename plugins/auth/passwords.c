/*
 * passwords.c - see passwords.h. bcrypt through libxcrypt's reentrant crypt_rn (its state, a
 * struct crypt_data of ~32 KiB, is allocated per call on the worker that uses it).
 */
#include "plugins/auth/passwords.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/validate.h"

static int setting_ok(const char *s, size_t *prefix_len) {
    /* "$2b$" two digits "$" then 22 characters of bcrypt's base64 alphabet */
    if (strncmp(s, "$2b$", 4) != 0) return 0;
    if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$') return 0;
    for (int i = 7; i < 29; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '/'))
            return 0;
    }
    if (prefix_len) *prefix_len = 29;
    return 1;
}

int pw_hash_cost(const char *hash) {
    if (!hash || strlen(hash) < 29 || !setting_ok(hash, NULL)) return -1;
    return (hash[4] - '0') * 10 + (hash[5] - '0');
}

int pw_setting(unsigned cost, const unsigned char rnd[16], char *out, size_t outlen) {
    if (cost < PW_COST_MIN || cost > PW_COST_MAX || !rnd || !out || outlen < PW_SETTING_LEN + 1) return -1;
    char buf[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$2b$", cost, (const char *)rnd, 16, buf, (int)sizeof buf)) return -1;
    if (buf[0] == '*' || strlen(buf) != PW_SETTING_LEN || !setting_ok(buf, NULL)) return -1;
    memcpy(out, buf, PW_SETTING_LEN + 1);
    return 0;
}

int pw_dummy_hash(unsigned cost, const unsigned char rnd[16], char *out, size_t outlen) {
    if (outlen < PW_HASH_LEN + 1 || pw_setting(cost, rnd, out, outlen) < 0) return -1;
    /* 31 hash characters: any value of the right shape; callers never accept a match */
    memcpy(out + 29, "0000000000000000000000000000000", 31);
    out[PW_HASH_LEN] = '\0';
    return 0;
}

int pw_ct_streq(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return 0;
    unsigned char d = 0;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Run crypt_rn on a NUL-terminated copy of pw; the result (PW_HASH_LEN chars) goes to out. */
static int run_crypt(const char *pw, size_t len, const char *setting, char *out, size_t outlen) {
    if (authv_password_login(pw, len) != AUTHV_OK || outlen < PW_HASH_LEN + 1) return -1;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    char *phrase = malloc(len + 1);
    int rc = -1;
    if (!cd || !phrase) goto out;
    memcpy(phrase, pw, len);
    phrase[len] = '\0';
    const char *h = crypt_rn(phrase, setting, cd, (int)sizeof *cd);
    if (h && h[0] != '*' && strlen(h) == PW_HASH_LEN && setting_ok(h, NULL)) {
        memcpy(out, h, PW_HASH_LEN + 1);
        rc = 0;
    }
out:
    if (phrase) {
        explicit_bzero(phrase, len + 1);
        free(phrase);
    }
    if (cd) {
        explicit_bzero(cd, sizeof *cd);
        free(cd);
    }
    return rc;
}

int pw_hash(const char *pw, size_t len, const char *setting, char *out, size_t outlen) {
    if (!pw || !setting || !out || !setting_ok(setting, NULL)) return -1;
    if (authv_password_login(pw, len) != AUTHV_OK) return -1;
    return run_crypt(pw, len, setting, out, outlen);
}

int pw_verify(const char *pw, size_t len, const char *stored) {
    if (!pw || !stored || strlen(stored) != PW_HASH_LEN || !setting_ok(stored, NULL)) return 0;
    char got[PW_HASH_LEN + 1];
    if (run_crypt(pw, len, stored, got, sizeof got) < 0) return 0;
    int ok = pw_ct_streq(got, stored);
    explicit_bzero(got, sizeof got);
    return ok;
}

/* ---- asynchronous ------------------------------------------------------------------------------ */

typedef struct pw_job {
    int verify; /* 0 = hash, 1 = verify */
    int force_fail;
    int result; /* verify: 1/0; hash: 0/-1 */
    size_t len;
    char pw[AUTH_PASSWORD_MAX + 1];
    char setting[PW_HASH_LEN + 1]; /* hash: the setting; verify: the stored hash (or the dummy) */
    char out[PW_HASH_LEN + 1];
    auth_pw_hash_cb hash_cb;
    auth_pw_verify_cb verify_cb;
    void *ud;
} pw_job;

static void pw_work(void *arg) {
    pw_job *j = arg;
    if (j->verify) {
        int ok = pw_verify(j->pw, j->len, j->setting);
        j->result = j->force_fail ? 0 : ok;
    } else {
        j->result = pw_hash(j->pw, j->len, j->setting, j->out, sizeof j->out);
    }
    explicit_bzero(j->pw, sizeof j->pw);
}

static void pw_done(void *arg) {
    pw_job *j = arg;
    if (j->verify)
        j->verify_cb(j->result, j->ud);
    else
        j->hash_cb(j->result == 0 ? j->out : NULL, j->ud);
    explicit_bzero(j, sizeof *j);
    free(j);
}

static pw_job *job_new(const char *pw, size_t len) {
    if (!pw || len > AUTH_PASSWORD_MAX) return NULL;
    pw_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    memcpy(j->pw, pw, len);
    j->len = len;
    return j;
}

static int job_submit(sh_plugin *self, const sh_host_api *host, pw_job *j) {
    int rc = host->work(self, pw_work, pw_done, j);
    if (rc != SH_OK) {
        explicit_bzero(j, sizeof *j);
        free(j);
    }
    return rc;
}

int auth_pw_hash_async(sh_plugin *self, const sh_host_api *host, unsigned cost, const char *pw, size_t len,
                       auth_pw_hash_cb cb, void *ud) {
    unsigned char rnd[16];
    pw_job *j = job_new(pw, len);
    if (!j) return SH_ERR_NOMEM;
    if (host->random_bytes(self, rnd, sizeof rnd) != SH_OK ||
        pw_setting(cost, rnd, j->setting, sizeof j->setting) < 0) {
        explicit_bzero(j, sizeof *j);
        free(j);
        return SH_ERR;
    }
    explicit_bzero(rnd, sizeof rnd);
    j->hash_cb = cb;
    j->ud = ud;
    return job_submit(self, host, j);
}

int auth_pw_verify_async(sh_plugin *self, const sh_host_api *host, const char *pw, size_t len, const char *stored,
                         const char *dummy, auth_pw_verify_cb cb, void *ud) {
    pw_job *j = job_new(pw, len);
    if (!j) return SH_ERR_NOMEM;
    j->verify = 1;
    /* An unknown user, or a stored value that is not one of our hashes: the same work, no match. */
    const char *target = stored;
    if (!stored || strlen(stored) != PW_HASH_LEN || !setting_ok(stored, NULL)) {
        target = dummy;
        j->force_fail = 1;
    }
    if (!target || strlen(target) != PW_HASH_LEN) {
        explicit_bzero(j, sizeof *j);
        free(j);
        return SH_ERR_INVALID;
    }
    memcpy(j->setting, target, PW_HASH_LEN + 1);
    j->verify_cb = cb;
    j->ud = ud;
    return job_submit(self, host, j);
}
