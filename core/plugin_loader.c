/*
 * plugin_loader.c - finding, checking, ordering and running the lifecycle of plugins.
 *
 * Load: for each entry of `plugins:` resolve the file (path, or <plugin_dir>/<name>.so), refuse
 * group/world-writable files and directories, dlopen(RTLD_NOW | RTLD_LOCAL), find the one entry
 * symbol, check the descriptor (major equal, minor <= ours, a size we know, name matching the
 * config), validate the plugin's config section against its settings, then order by
 * provides/requires (Kahn's algorithm, keeping config order among equals). Every refusal is one
 * line naming the plugin and what to do. Plugins are never dlclose'd.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/host.h"
#include "core/log.h"

/* Descriptor sizes this host understands: one per ABI minor that changed the descriptor. */
static const uint32_t known_desc_sizes[] = {sizeof(sh_plugin_desc)};

static int writable_by_others(const char *path, char *why, size_t whylen) {
    struct stat st;
    if (stat(path, &st) < 0) return 0;
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, whylen, "%s is writable by %s", path, (st.st_mode & S_IWOTH) ? "everyone" : "its group");
        return 1;
    }
    return 0;
}

static int load_one(sh_host *h, const sh_plugin_cfg *pc, char *err, size_t errlen) {
    char path[PATH_MAX];
    const char *dir = sh_cfg_s(&h->cfg->server, "plugin_dir");
    if (pc->path)
        snprintf(path, sizeof path, "%s", pc->path);
    else
        snprintf(path, sizeof path, "%s/%s.so", dir, pc->name);
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen,
                 "plugin %s: %s not found (%s); build it (make) or give its path in %s.path",
                 pc->name, path, strerror(errno), pc->yaml_path);
        return -1;
    }
    char real[PATH_MAX], why[PATH_MAX + 64];
    if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
    char dirpart[PATH_MAX];
    snprintf(dirpart, sizeof dirpart, "%s", real);
    char *slash = strrchr(dirpart, '/');
    if (slash) *slash = '\0';
    if (writable_by_others(real, why, sizeof why) || (slash && writable_by_others(dirpart, why, sizeof why))) {
        snprintf(err, errlen, "plugin %s: refused: %s (anyone who can write there could run code as this server); "
                 "fix with chmod go-w", pc->name, why);
        return -1;
    }
    void *so = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        snprintf(err, errlen, "plugin %s: cannot load %s: %s", pc->name, real, dlerror());
        return -1;
    }
    sh_plugin_entry_fn entry;
    *(void **)&entry = dlsym(so, SH_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(err, errlen,
                 "plugin %s: %s does not export %s(): not a StreamHub plugin (declare it with SH_PLUGIN_EXPORT)",
                 pc->name, real, SH_PLUGIN_ENTRY_SYMBOL);
        return -1;
    }
    const sh_plugin_desc *d = entry();
    if (!d) {
        snprintf(err, errlen, "plugin %s: %s returned no descriptor", pc->name, real);
        return -1;
    }
    if (d->abi_major != SH_ABI_MAJOR) {
        snprintf(err, errlen,
                 "plugin %s: incompatible ABI: %s was built for SDK %u.%u, this host provides %d.%d; rebuild it "
                 "against SDK %d.x",
                 pc->name, real, d->abi_major, d->abi_minor, SH_ABI_MAJOR, SH_ABI_MINOR, SH_ABI_MAJOR);
        return -1;
    }
    if (d->abi_minor > SH_ABI_MINOR) {
        snprintf(err, errlen,
                 "plugin %s: %s needs SDK %u.%u but this host provides %d.%d; upgrade StreamHub or rebuild the plugin "
                 "against SDK %d.%d",
                 pc->name, real, d->abi_major, d->abi_minor, SH_ABI_MAJOR, SH_ABI_MINOR, SH_ABI_MAJOR, SH_ABI_MINOR);
        return -1;
    }
    int size_ok = 0;
    for (size_t i = 0; i < sizeof known_desc_sizes / sizeof *known_desc_sizes; i++)
        size_ok |= d->size == known_desc_sizes[i];
    if (!size_ok) {
        snprintf(err, errlen,
                 "plugin %s: %s has a descriptor of %u bytes, which SDK %d.%d does not know; rebuild it against SDK "
                 "%d.%d",
                 pc->name, real, d->size, SH_ABI_MAJOR, SH_ABI_MINOR, SH_ABI_MAJOR, SH_ABI_MINOR);
        return -1;
    }
    if (!d->name || strcmp(d->name, pc->name) != 0) {
        snprintf(err, errlen, "plugin %s: %s calls itself \"%s\"; use that name in %s.name", pc->name, real,
                 d->name ? d->name : "", pc->yaml_path);
        return -1;
    }
    if (!d->init) {
        snprintf(err, errlen, "plugin %s: %s has no init function", pc->name, real);
        return -1;
    }
    for (size_t i = 0; i < h->nplugins; i++)
        if (strcmp(h->plugins[i]->name, d->name) == 0) {
            snprintf(err, errlen, "plugin %s: loaded twice (%s and %s); list it once", d->name, h->plugins[i]->path, real);
            return -1;
        }
    sh_plugin *p = calloc(1, sizeof *p);
    sh_plugin **np = realloc(h->plugins, (h->nplugins + 1) * sizeof *np);
    if (!p || !np) {
        free(p);
        if (np) h->plugins = np;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->plugins = np;
    p->host = h;
    p->desc = d;
    p->name = strdup(d->name);
    p->path = strdup(real);
    p->pcfg = pc;
    char section[128];
    snprintf(section, sizeof section, "%s.config", pc->yaml_path);
    if (sh_config_section(h->cfg->file, pc->conf, section, d->settings, &p->cfg, err, errlen) < 0) {
        free(p->name);
        free(p->path);
        free(p);
        return -1;
    }
    h->plugins[h->nplugins++] = p;
    return 0;
}

static const sh_plugin *provider_of(sh_host *h, const sh_dep *req) {
    for (size_t i = 0; i < h->nplugins; i++)
        for (const sh_dep *d = h->plugins[i]->desc->provides; d && d->name; d++)
            if (strcmp(d->name, req->name) == 0 && d->major == req->major && d->minor >= req->minor) return h->plugins[i];
    return NULL;
}

static int order_plugins(sh_host *h, char *err, size_t errlen) {
    size_t n = h->nplugins;
    if (!n) return 0;
    /* dep[i][j] = plugin i needs plugin j first */
    unsigned char *dep = calloc(n * n, 1);
    sh_plugin **out = calloc(n, sizeof *out);
    int *done = calloc(n, sizeof *done);
    if (!dep || !out || !done) goto nomem;
    for (size_t i = 0; i < n; i++)
        for (const sh_dep *r = h->plugins[i]->desc->requires; r && r->name; r++) {
            const sh_plugin *prov = provider_of(h, r);
            if (!prov) {
                if (r->optional) continue;
                snprintf(err, errlen,
                         "plugin %s: requires service %s %d.%d, which no listed plugin provides; add the plugin that "
                         "provides it to plugins: (usually \"%s\")",
                         h->plugins[i]->name, r->name, r->major, r->minor, r->name);
                goto fail;
            }
            for (size_t j = 0; j < n; j++)
                if (h->plugins[j] == prov && j != i) dep[i * n + j] = 1;
        }
    for (size_t k = 0; k < n; k++) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++) {
            if (done[i]) continue;
            int ready = 1;
            for (size_t j = 0; j < n; j++)
                if (dep[i * n + j] && !done[j]) ready = 0;
            if (ready) pick = i;
        }
        if (pick == n) {
            char names[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < n; i++)
                if (!done[i])
                    used += (size_t)snprintf(names + used, used < sizeof names ? sizeof names - used : 0, "%s%s",
                                             used ? ", " : "", h->plugins[i]->name);
            snprintf(err, errlen, "plugins %s: their requires form a dependency cycle; remove one of them", names);
            goto fail;
        }
        done[pick] = 1;
        out[k] = h->plugins[pick];
        out[k]->index = k;
    }
    memcpy(h->plugins, out, n * sizeof *out);
    free(dep);
    free(out);
    free(done);
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    free(dep);
    free(out);
    free(done);
    return -1;
}

int sh_plugins_load(sh_host *h, char *err, size_t errlen) {
    for (size_t i = 0; i < h->cfg->nplugins; i++)
        if (load_one(h, &h->cfg->plugins[i], err, errlen) < 0) return -1;
    return order_plugins(h, err, errlen);
}

int sh_plugins_init(sh_host *h, char *err, size_t errlen) {
    h->phase = SH_PHASE_INIT;
    for (size_t i = 0; i < h->nplugins; i++) {
        sh_plugin *p = h->plugins[i];
        int rc = p->desc->init(p, &h->api);
        if (rc != SH_OK) {
            snprintf(err, errlen, "plugin %s: init failed (status %d; see the lines above); fix its config or remove it "
                     "from plugins:", p->name, rc);
            h->phase = SH_PHASE_LOAD;
            return -1;
        }
        p->initialized = 1;
    }
    h->phase = SH_PHASE_LOAD;
    return 0;
}

int sh_plugins_start(sh_host *h, char *err, size_t errlen) {
    for (size_t i = 0; i < h->nplugins; i++) {
        sh_plugin *p = h->plugins[i];
        if (p->desc->start && p->desc->start(p) != SH_OK) {
            snprintf(err, errlen, "plugin %s: start failed (see the lines above)", p->name);
            return -1;
        }
        p->started = 1;
    }
    return 0;
}

void sh_plugins_stop(sh_host *h) {
    for (size_t i = h->nplugins; i-- > 0;) {
        sh_plugin *p = h->plugins[i];
        if (p->started && p->desc->stop) p->desc->stop(p);
        p->started = 0;
    }
}

void sh_plugins_fini(sh_host *h) {
    for (size_t i = h->nplugins; i-- > 0;) {
        sh_plugin *p = h->plugins[i];
        if (p->initialized && p->desc->fini) p->desc->fini(p);
        p->initialized = 0;
    }
    for (size_t i = 0; i < h->nplugins; i++) {
        sh_plugin *p = h->plugins[i];
        sh_csection_free(&p->cfg);
        for (size_t k = 0; k < p->nreg_lines; k++) free(p->reg_lines[k]);
        free(p->reg_lines);
        free(p->name);
        free(p->path);
        free(p);
    }
    free(h->plugins);
    h->plugins = NULL;
    h->nplugins = 0;
}

void sh_plugins_list(sh_host *h, FILE *out) {
    for (size_t i = 0; i < h->nplugins; i++) {
        sh_plugin *p = h->plugins[i];
        const sh_plugin_desc *d = p->desc;
        fprintf(out, "%s %s (SDK %u.%u) - %s\n  file: %s\n", d->name, d->version ? d->version : "?", d->abi_major,
                d->abi_minor, d->description ? d->description : "", p->path);
        for (const sh_dep *x = d->provides; x && x->name; x++) fprintf(out, "  provides %s %d.%d\n", x->name, x->major, x->minor);
        for (const sh_dep *x = d->requires; x && x->name; x++)
            fprintf(out, "  requires %s %d.%d%s\n", x->name, x->major, x->minor, x->optional ? " (optional)" : "");
        fprintf(out, "  registered: %d routes, %d socket events, %d migrations, %d media stages, %d services, %d "
                     "subscriptions\n",
                p->reg.routes, p->reg.events, p->reg.migrations, p->reg.stages, p->reg.services, p->reg.subscriptions);
        for (size_t k = 0; k < p->nreg_lines; k++) fprintf(out, "    %s\n", p->reg_lines[k]);
    }
}
