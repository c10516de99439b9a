/*
 * tests/fuzz/replay.c - replay fuzz corpus files without libFuzzer.
 *
 * Linked (by gcc, usually under ASan/UBSan) with exactly one tests/fuzz/fuzz_<name>.c, it calls
 * LLVMFuzzerTestOneInput() once per file. Each argument is a file or a directory; a directory's
 * entries are replayed in name order, recursing one level (so both `corpus/ws_frame` and
 * `corpus` work). Prints "replayed N files" and exits non-zero if a path could not be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int rc = -1;

    if (!f) goto fail;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) goto fail;
    /* exact-size buffer so that ASan catches reads past the end of the input */
    buf = malloc(size ? (size_t)size : 1);
    if (!buf || (size && fread(buf, 1, (size_t)size, f) != (size_t)size)) goto fail;
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    (*count)++;
    rc = 0;
fail:
    if (rc != 0) fprintf(stderr, "replay: cannot read %s\n", path);
    free(buf);
    if (f) fclose(f);
    return rc;
}

static int replay_path(const char *path, int depth, size_t *count) {
    struct stat st;
    struct dirent **names = NULL;
    int n, i, rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return replay_file(path, count);
    if (depth > 1) return 0; /* only one level of recursion */
    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", path);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(path) + strlen(name) + 2;
        char *child = malloc(len);
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            if (!child) {
                rc = -1;
            } else {
                snprintf(child, len, "%s/%s", path, name);
                if (replay_path(child, depth + 1, count) != 0) rc = -1;
            }
        }
        free(child);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    size_t count = 0;
    int i, rc = 0;

    for (i = 1; i < argc; i++)
        if (replay_path(argv[i], 0, &count) != 0) rc = 1;
    printf("replayed %zu files\n", count);
    return rc;
}
