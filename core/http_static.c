/*
 * http_static.c - the web app's files from server.web_root, with the SPA fallback.
 *
 * GET/HEAD of a path that no route claims: the file under web_root if it exists (never outside
 * it: the resolved real path must stay inside the root), else index.html for paths that look
 * like app routes (no file extension), so that client-side routing works on reload. Vite's
 * hashed assets (/assets/...) are cached for a year; index.html is revalidated every time.
 * Files are read into memory and sent by reference (they are small; the page cache serves them).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/http.h"

static const struct {
    const char *ext, *type;
} mime[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".json", "application/json"}, {".map", "application/json"},
    {".svg", "image/svg+xml"}, {".png", "image/png"},
    {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
    {".gif", "image/gif"}, {".webp", "image/webp"},
    {".ico", "image/x-icon"}, {".woff2", "font/woff2"},
    {".woff", "font/woff"}, {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"}, {".wasm", "application/wasm"},
    {".m3u8", "application/vnd.apple.mpegurl"}, {".mp4", "video/mp4"},
};

const char *sh_mime_type(const char *path);
const char *sh_mime_type(const char *path) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof mime / sizeof *mime; i++)
            if (strcasecmp(dot, mime[i].ext) == 0) return mime[i].type;
    return "application/octet-stream";
}

#define APP_CSP                                                                                         \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; " \
    "media-src 'self' blob:; connect-src 'self' ws: wss:; worker-src 'self' blob:; object-src 'none'; "      \
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

/* Read a regular file under root; 0 with *data (malloc'd) or -1. */
static int read_under(const char *root_real, const char *rel, char **data, size_t *len, char *resolved) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", root_real, rel) >= (int)sizeof path) return -1;
    if (!realpath(path, resolved)) return -1;
    size_t rl = strlen(root_real);
    if (strncmp(resolved, root_real, rl) != 0 || (resolved[rl] != '/' && resolved[rl] != '\0')) return -1;
    int fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = got;
    return 0;
}

int sh_http_static(sh_host *h, sh_request *r) {
    const char *root = sh_cfg_s(&h->cfg->server, "web_root");
    if (!root || !*root) return 0;
    char root_real[PATH_MAX], resolved[PATH_MAX];
    if (!realpath(root, root_real)) return 0;
    const char *path = sh_req_path(r);
    if (!path || path[0] != '/' || strstr(path, "/..") || strchr(path, '\\')) return 0;
    const char *rel = path + 1;
    if (!*rel) rel = "index.html";
    char *data = NULL;
    size_t len = 0;
    int fallback = 0;
    if (read_under(root_real, rel, &data, &len, resolved) < 0) {
        /* SPA fallback: app routes have no extension in their last segment */
        const char *last = strrchr(path, '/');
        if (strchr(last ? last : path, '.') || strncmp(path, "/assets/", 8) == 0) return 0;
        if (read_under(root_real, "index.html", &data, &len, resolved) < 0) return 0;
        fallback = 1;
    }
    const char *type = sh_mime_type(resolved);
    if (strncmp(path, "/assets/", 8) == 0 && !fallback)
        sh_resp_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    else
        sh_resp_header(r, "Cache-Control", "no-cache");
    if (strncmp(type, "text/html", 9) == 0) sh_resp_header(r, "Content-Security-Policy", APP_CSP);
    sh_respond_ref(r, 200, type, data, len, free, data);
    return 1;
}
