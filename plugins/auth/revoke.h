/*
 * revoke.h - the in-process set of revoked token ids (jti -> the token's exp).
 *
 * Used on every node: logout adds the jti here and, with Redis, as a key with the token's
 * remaining lifetime (SET PX) that every node checks; without Redis this set is the only record.
 * Entries are dropped once their token has expired (auth_revset_sweep, from a timer). The set is
 * bounded: an add beyond `max_entries` fails (the caller answers 503 rather than pretend).
 *
 * Pure data structure: time comes in as an argument. One owner; loop thread in the plugin.
 */
#ifndef SH_AUTH_REVOKE_H
#define SH_AUTH_REVOKE_H

#include <stddef.h>
#include <stdint.h>

typedef struct auth_revset auth_revset;

/* NULL on out of memory. */
auth_revset *auth_revset_new(size_t max_entries);
void auth_revset_free(auth_revset *s);
/* Record jti (32 hex digits, copied) as revoked until exp_s. 0, or -1 (full, no memory, bad
 * jti). Adding a jti already present keeps the later expiry. Already expired: nothing to do, 0. */
int auth_revset_add(auth_revset *s, const char *jti, int64_t exp_s, int64_t now_s);
/* 1 if jti is revoked (and its token not yet expired), else 0. */
int auth_revset_has(const auth_revset *s, const char *jti, int64_t now_s);
/* Drop the entries whose token has expired; returns how many. */
size_t auth_revset_sweep(auth_revset *s, int64_t now_s);
size_t auth_revset_count(const auth_revset *s);

#endif
