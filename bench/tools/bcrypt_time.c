/*
 * bcrypt_time.c - how long one bcrypt hash of the given cost takes on this machine (libxcrypt's
 * crypt_r with a "$2b$" setting, as the auth plugin uses it): B7's "cores / hash time".
 *   bcrypt_time [COST] [REPEATS]   prints "BCRYPT cost=12 median_ms=... min_ms=..."
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o bcrypt_time bcrypt_time.c -lcrypt
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

int main(int argc, char **argv) {
    int cost = argc > 1 ? atoi(argv[1]) : 12, n = argc > 2 ? atoi(argv[2]) : 5;
    if (cost < 4 || cost > 20 || n < 1 || n > 100) return 2;
    char *setting = crypt_gensalt_ra("$2b$", (unsigned long)cost, NULL, 0);
    if (!setting) return 1;
    double t[100];
    struct crypt_data *cd = calloc(1, sizeof *cd);
    for (int i = 0; i < n; i++) {
        uint64_t a = mono_ns();
        if (!crypt_r("bench-password-1", setting, cd)) return 1;
        t[i] = (double)(mono_ns() - a) / 1e6;
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    printf("BCRYPT cost=%d median_ms=%.1f min_ms=%.1f\n", cost, t[n / 2], t[0]);
    free(setting);
    free(cd);
    return 0;
}
