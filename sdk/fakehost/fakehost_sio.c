/*
 * fakehost_sio.c - Socket.IO for the fake host: namespaces, events, acknowledgements, rooms and identities
 * with the rules of core/sio_server.c, and the fake clients the test drives.
 *
 * Part of the fake host (fakehost.h): fakehost.c #includes it, so that the whole fake host is one
 * translation unit whose internals stay static. Not compiled on its own.
 */
#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

/* ---- Socket.IO (the host's sio_server rules) ---------------------------------------------- */
static const char binary_tag; /* its address marks binary values, as in the host */

static fake_nsp *find_nsp(const sh_fake *fh, const char *name) {
    for (size_t i = 0; name && i < fh->nnsps; i++)
        if (strcmp(fh->nsps[i]->name, name) == 0) return fh->nsps[i];
    return NULL;
}

static int ensure_nsp(sh_fake *fh, const char *name) {
    if (!name || name[0] != '/' || strchr(name, ',') || strlen(name) > 200) return SH_ERR_INVALID;
    if (find_nsp(fh, name)) return SH_OK;
    fake_nsp *ns = xcalloc(1, sizeof *ns);
    ns->name = xstrdup(name);
    GROW(fh->nsps, fh->nnsps);
    fh->nsps[fh->nnsps++] = ns;
    return SH_OK;
}

static int api_sio_namespace(sh_plugin *p, const char *nsp) {
    if (!in_init(p->fh, "sio_namespace")) return SH_ERR_STATE;
    int rc = ensure_nsp(p->fh, nsp);
    if (rc == SH_OK) note_reg(p->fh, "namespace %s", nsp);
    return rc;
}

static int api_sio_on(sh_plugin *p, const char *nsp, const char *event, sh_sio_handler fn, void *ud) {
    sh_fake *fh = p->fh;
    if (!in_init(fh, "sio_on")) return SH_ERR_STATE;
    if (!event || !*event || !fn || ensure_nsp(fh, nsp) != SH_OK) return SH_ERR_INVALID;
    fake_nsp *ns = find_nsp(fh, nsp);
    for (size_t i = 0; i < ns->nhandlers; i++)
        if (strcmp(ns->handlers[i].event, event) == 0) return SH_ERR_EXISTS;
    GROW(ns->handlers, ns->nhandlers);
    ns->handlers[ns->nhandlers++] = (fake_sio_handler){xstrdup(event), fn, ud};
    note_reg(fh, "socket event %s %s", nsp, event);
    return SH_OK;
}

static int add_hook(sh_fake *fh, const char *what, const char *nsp, void (*fn)(void), void *ud, int connect) {
    if (!in_init(fh, what)) return SH_ERR_STATE;
    if (!fn || ensure_nsp(fh, nsp) != SH_OK) return SH_ERR_INVALID;
    fake_nsp *ns = find_nsp(fh, nsp);
    fake_hook **list = connect ? &ns->on_connect : &ns->on_disconnect;
    size_t *n = connect ? &ns->nconnect : &ns->ndisconnect;
    GROW(*list, *n);
    (*list)[(*n)++] = (fake_hook){fn, ud};
    return SH_OK;
}
/* The hooks are stored as void (*)(void) and cast back to their real type before each call. */
static int api_sio_on_connect(sh_plugin *p, const char *nsp, sh_sio_connect_cb cb, void *ud) {
    return add_hook(p->fh, "sio_on_connect", nsp, (void (*)(void))cb, ud, 1);
}
static int api_sio_on_disconnect(sh_plugin *p, const char *nsp, sh_sio_disconnect_cb cb, void *ud) {
    return add_hook(p->fh, "sio_on_disconnect", nsp, (void (*)(void))cb, ud, 0);
}

/* May the plugin use this socket? Reading is allowed during its disconnect callbacks. */
static int sock_ok(sh_socket *s, const char *fn, int reading) {
    if (!s) return 0;
    if (s->state == SOCK_CONNECTED || (reading && s->state == SOCK_CLOSING)) return 1;
    if (s->state == SOCK_GONE)
        violation(s->fh, "%s on a socket that has disconnected (freed memory in the real host)", fn);
    return 0;
}

static void sock_record(sh_socket *s, const char *event, json_object *args /* takes */) {
    GROW(s->recv_event, s->nrecv);
    GROW(s->recv_args, s->nrecv);
    s->recv_event[s->nrecv] = xstrdup(event);
    s->recv_args[s->nrecv++] = args;
}

static json_object *args_of(json_object *data /* takes */) {
    json_object *arr = json_object_new_array();
    if (data) json_object_array_add(arr, data);
    return arr;
}

static int api_sio_emit(sh_socket *s, const char *event, json_object *data) {
    if (!event || !sock_ok(s, "sio_emit", 0)) {
        json_object_put(data);
        return SH_ERR_STATE;
    }
    sock_record(s, event, args_of(data));
    return SH_OK;
}

static int api_sio_emit_args(sh_socket *s, const char *event, json_object *args) {
    if (!event || !args || !json_object_is_type(args, json_type_array) || !sock_ok(s, "sio_emit_args", 0)) {
        json_object_put(args);
        return SH_ERR_INVALID;
    }
    sock_record(s, event, args);
    return SH_OK;
}

static int in_room(const sh_socket *s, const char *room) {
    for (size_t i = 0; room && i < s->nrooms; i++)
        if (strcmp(s->rooms[i], room) == 0) return 1;
    return 0;
}

static int emit_room(sh_fake *fh, const char *nsp, const char *room, const char *event, json_object *data,
                     sh_socket *except) {
    fake_nsp *ns = find_nsp(fh, nsp ? nsp : "/");
    if (!ns || !event) {
        json_object_put(data);
        return SH_ERR_INVALID;
    }
    for (size_t i = 0; i < fh->nsocks; i++) {
        sh_socket *s = fh->socks[i];
        if (s->ns == ns && s != except && s->state == SOCK_CONNECTED && (!room || in_room(s, room)))
            sock_record(s, event, args_of(json_object_get(data)));
    }
    json_object_put(data);
    return SH_OK;
}
static int api_sio_emit_room(sh_plugin *p, const char *nsp, const char *room, const char *event, json_object *data,
                             sh_socket *except) {
    if (!room) {
        json_object_put(data);
        return SH_ERR_INVALID;
    }
    return emit_room(p->fh, nsp, room, event, data, except);
}
static int api_sio_emit_all(sh_plugin *p, const char *nsp, const char *event, json_object *data) {
    return emit_room(p->fh, nsp, NULL, event, data, NULL);
}

static void api_sio_ack(sh_ack *ack, json_object *args) {
    if (!ack) {
        json_object_put(args);
        return;
    }
    sh_fake *fh = ack->sock->fh;
    if (ack->pub.answered) {
        violation(fh, "sio_ack on an acknowledgement that was already answered (freed memory in the real host)");
        json_object_put(args);
        return;
    }
    ack->pub.answered = 1;
    ack->pub.dropped = ack->sock->state == SOCK_GONE;
    ack->pub.args = args && json_object_is_type(args, json_type_array) ? args : args_of(args);
}

static int api_sio_join(sh_socket *s, const char *room) {
    if (!sock_ok(s, "sio_join", 0) || !room || !*room || strlen(room) > 1000) return SH_ERR_INVALID;
    if (in_room(s, room)) return SH_OK;
    GROW(s->rooms, s->nrooms);
    s->rooms[s->nrooms++] = xstrdup(room);
    return SH_OK;
}
static int api_sio_leave(sh_socket *s, const char *room) {
    if (!sock_ok(s, "sio_leave", 1) || !room) return SH_ERR_INVALID;
    for (size_t i = 0; i < s->nrooms; i++)
        if (strcmp(s->rooms[i], room) == 0) {
            free(s->rooms[i]);
            s->rooms[i] = s->rooms[--s->nrooms];
            return SH_OK;
        }
    return SH_ERR_NOTFOUND;
}
static int api_sio_in_room(sh_socket *s, const char *room) {
    return sock_ok(s, "sio_in_room", 1) && in_room(s, room);
}
static size_t api_sio_room_size(sh_plugin *p, const char *nsp, const char *room) {
    sh_fake *fh = p->fh;
    fake_nsp *ns = find_nsp(fh, nsp ? nsp : "/");
    size_t n = 0;
    for (size_t i = 0; ns && i < fh->nsocks; i++)
        n += fh->socks[i]->ns == ns && fh->socks[i]->state != SOCK_GONE && in_room(fh->socks[i], room);
    return n;
}
static const char *api_sio_id(sh_socket *s) {
    return sock_ok(s, "sio_id", 1) ? s->id : NULL;
}
static int64_t api_sio_user_id(sh_socket *s) {
    return sock_ok(s, "sio_user_id", 1) ? s->user_id : 0;
}
static const char *api_sio_username(sh_socket *s) {
    return sock_ok(s, "sio_username", 1) ? s->username : NULL;
}
static const char *api_sio_remote_addr(sh_socket *s) {
    return sock_ok(s, "sio_remote_addr", 1) ? "127.0.0.1" : NULL;
}
static const char *api_sio_nsp(sh_socket *s) {
    return sock_ok(s, "sio_nsp", 1) ? s->ns->name : NULL;
}
static void api_sio_set_data(sh_socket *s, sh_plugin *p, void *data) {
    (void)p;
    if (sock_ok(s, "sio_set_data", 1)) s->data = data;
}
static void *api_sio_get_data(sh_socket *s, sh_plugin *p) {
    (void)p;
    return sock_ok(s, "sio_get_data", 1) ? s->data : NULL;
}

/* Disconnect callbacks, then out of every room; the shell stays for the test. */
static void sock_remove(sh_socket *s, const char *reason) {
    s->state = SOCK_CLOSING;
    fake_nsp *ns = s->ns;
    for (size_t i = 0; i < ns->ndisconnect; i++)
        ((sh_sio_disconnect_cb)ns->on_disconnect[i].fn)(s, reason, ns->on_disconnect[i].ud);
    free_strv(s->rooms, s->nrooms);
    s->rooms = NULL;
    s->nrooms = 0;
    s->state = SOCK_GONE;
}

static void api_sio_disconnect(sh_socket *s) {
    if (!s || s->state != SOCK_CONNECTED) return;
    sock_remove(s, "server namespace disconnect");
}

static json_object *api_sio_binary_new(const void *data, size_t len) {
    if (len > INT32_MAX || (len && !data)) return NULL;
    json_object *o = json_object_new_string_len(len ? data : "", (int)len);
    if (o) json_object_set_userdata(o, (void *)&binary_tag, NULL);
    return o;
}
static const void *api_sio_binary_data(json_object *o, size_t *len) {
    if (len) *len = 0;
    if (!o || !json_object_is_type(o, json_type_string) || json_object_get_userdata(o) != (void *)&binary_tag)
        return NULL;
    if (len) *len = (size_t)json_object_get_string_len(o);
    return json_object_get_string(o);
}

/* The test's side. */
typedef struct pending_connect {
    sh_fake *fh;
    fake_nsp *ns;
    json_object *auth;
    sh_socket *result;
    int done;
} pending_connect;

static void finish_connect(pending_connect *pc, const sh_identity *who) {
    sh_fake *fh = pc->fh;
    sh_socket *s = xcalloc(1, sizeof *s);
    s->fh = fh;
    s->ns = pc->ns;
    snprintf(s->id, sizeof s->id, "fake-sock-%zu", fh->nsocks + 1);
    GROW(fh->socks, fh->nsocks);
    fh->socks[fh->nsocks++] = s;
    if (who && who->user_id > 0) {
        char room[48];
        s->user_id = who->user_id;
        s->username = xstrdup(who->username ? who->username : "");
        snprintf(room, sizeof room, "user:%lld", (long long)s->user_id);
        api_sio_join(s, room);
    }
    pc->result = s;
    for (size_t i = 0; i < pc->ns->nconnect && s->state == SOCK_CONNECTED; i++)
        ((sh_sio_connect_cb)pc->ns->on_connect[i].fn)(s, pc->auth, pc->ns->on_connect[i].ud);
}

static void on_sio_verified(int status, const sh_identity *who, void *ud) {
    pending_connect *pc = ud;
    pc->done = 1;
    if (status == SH_OK)
        finish_connect(pc, who);
    else
        snprintf(pc->fh->sio_error, sizeof pc->fh->sio_error, "%s",
                 status == SH_ERR_UNAVAILABLE ? "auth_unavailable" : "invalid_token");
}

sh_socket *sh_fake_sio_connect(sh_fake *fh, const char *nsp, const char *token, const char *auth_json) {
    fh->sio_error[0] = '\0';
    fake_nsp *ns = find_nsp(fh, nsp ? nsp : "/");
    if (!ns) {
        snprintf(fh->sio_error, sizeof fh->sio_error, "Invalid namespace");
        return NULL;
    }
    pending_connect *pc = xcalloc(1, sizeof *pc);
    GROW(fh->pcs, fh->npcs);
    fh->pcs[fh->npcs++] = pc;
    pc->fh = fh;
    pc->ns = ns;
    pc->auth = auth_json ? json_tokener_parse(auth_json) : json_object_new_object();
    if (!pc->auth || !json_object_is_type(pc->auth, json_type_object)) {
        json_object_put(pc->auth);
        pc->auth = json_object_new_object();
    }
    if (token) json_object_object_add(pc->auth, "token", json_object_new_string(token));
    if (token && *token) {
        const fake_service *auth = find_service(fh, SH_AUTH_SERVICE, SH_AUTH_MAJOR);
        if (!auth)
            snprintf(fh->sio_error, sizeof fh->sio_error, "auth_unavailable");
        else
            ((const sh_auth_api *)auth->table)->verify_token(token, on_sio_verified, pc);
        if (auth && !pc->done) {
            sh_fake_run(fh);
            if (!pc->done) { /* the test's auth service should answer within sh_fake_run */
                violation(fh, "sh_fake_sio_connect: the auth service did not answer");
                snprintf(fh->sio_error, sizeof fh->sio_error, "auth_unavailable");
            }
        }
    } else {
        finish_connect(pc, NULL);
    }
    sh_fake_run(fh);
    return pc->result && pc->result->state == SOCK_CONNECTED ? pc->result : NULL;
}

const char *sh_fake_sio_error(const sh_fake *fh) {
    return fh->sio_error;
}

const sh_fake_ack *sh_fake_sio_send_args(sh_fake *fh, sh_socket *sock, const char *event, json_object *args,
                                         int want_ack) {
    struct sh_ack *ack = xcalloc(1, sizeof *ack);
    ack->sock = sock;
    GROW(fh->acks, fh->nacks);
    fh->acks[fh->nacks++] = ack;
    if (!args || !json_object_is_type(args, json_type_array)) {
        json_object_put(args);
        logline(fh, SH_LOG_ERROR, "sh_fake_sio_send: the arguments must be a JSON array");
        return &ack->pub;
    }
    const fake_sio_handler *h = NULL;
    for (size_t i = 0; sock && event && sock->state == SOCK_CONNECTED && i < sock->ns->nhandlers; i++)
        if (strcmp(sock->ns->handlers[i].event, event) == 0) h = &sock->ns->handlers[i];
    if (h) {
        ack->pub.handled = 1;
        h->fn(sock, event, args, want_ack ? ack : NULL, h->ud);
    }
    json_object_put(args);
    sh_fake_run(fh);
    return &ack->pub;
}

const sh_fake_ack *sh_fake_sio_send(sh_fake *fh, sh_socket *sock, const char *event, const char *args_json,
                                    int want_ack) {
    return sh_fake_sio_send_args(fh, sock, event, args_json ? json_tokener_parse(args_json) : json_object_new_array(),
                                 want_ack);
}

void sh_fake_sio_close(sh_fake *fh, sh_socket *sock) {
    if (!sock || sock->state != SOCK_CONNECTED) return;
    sock_remove(sock, "client namespace disconnect");
    sh_fake_run(fh);
}

int sh_fake_sio_connected(const sh_socket *sock) {
    return sock && sock->state == SOCK_CONNECTED;
}
size_t sh_fake_sio_received(const sh_socket *sock) {
    return sock ? sock->nrecv : 0;
}
const char *sh_fake_sio_received_event(const sh_socket *sock, size_t i) {
    return sock && i < sock->nrecv ? sock->recv_event[i] : NULL;
}
json_object *sh_fake_sio_received_args(const sh_socket *sock, size_t i) {
    return sock && i < sock->nrecv ? sock->recv_args[i] : NULL;
}
