/*
 * sio_server.c - see sio_server.h.
 *
 * Structures: an sio_conn per Engine.IO session holds its sockets (one per connected namespace)
 * and any binary packet still waiting for attachments. A socket (sh_socket) belongs to one
 * namespace, is listed in it, and records its rooms with its index in each (O(1) leave). A
 * namespace has its event handlers, connect/disconnect hooks and its room table.
 *
 * Emits to a room encode the packet once; with Redis the same bytes are published once in a
 * length-framed envelope (see publish()) and every other node delivers them to its own members.
 *
 * Room batches (a room emit is O(1) per message, each member gets one slice per turn): sio_batch.c.
 */
#include "core/sio_server.h"
#include "core/sio_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/sio_packet.h"
#include "core/sio_rooms.h"

static nsp *find_nsp(const sh_sio_server *srv, const char *name) {
    for (size_t i = 0; i < srv->nnsps; i++)
        if (strcmp(srv->nsps[i]->name, name) == 0) return srv->nsps[i];
    return NULL;
}

int sh_sio_namespace(sh_sio_server *srv, const char *name) {
    if (!name || name[0] != '/' || strchr(name, ',') || strlen(name) > 200) return SH_ERR_INVALID;
    if (find_nsp(srv, name)) return SH_OK;
    nsp *ns = calloc(1, sizeof *ns);
    nsp **n = realloc(srv->nsps, (srv->nnsps + 1) * sizeof *n);
    if (!ns || !n || !(ns->name = strdup(name)) || sh_rooms_init(&ns->rooms) < 0) {
        if (ns) free(ns->name);
        free(ns);
        if (n) srv->nsps = n;
        return SH_ERR_NOMEM;
    }
    srv->nsps = n;
    srv->nsps[srv->nnsps++] = ns;
    return SH_OK;
}

int sh_sio_on(sh_sio_server *srv, sh_plugin *p, const char *name, const char *event, sh_sio_handler fn, void *ud) {
    if (!event || !*event || !fn || sh_sio_namespace(srv, name) != SH_OK) return SH_ERR_INVALID;
    nsp *ns = find_nsp(srv, name);
    for (size_t i = 0; i < ns->nhandlers; i++) /* several plugins may handle one event, once each */
        if (strcmp(ns->handlers[i].event, event) == 0 && ns->handlers[i].owner == p) return SH_ERR_EXISTS;
    handler *nh = realloc(ns->handlers, (ns->nhandlers + 1) * sizeof *nh);
    if (!nh) return SH_ERR_NOMEM;
    ns->handlers = nh;
    ns->handlers[ns->nhandlers++] = (handler){strdup(event), fn, ud, p};
    return SH_OK;
}

static int add_hook(hook **list, size_t *n, void *fn, void *ud) {
    hook *nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl) return SH_ERR_NOMEM;
    *list = nl;
    nl[(*n)++] = (hook){fn, ud};
    return SH_OK;
}

int sh_sio_on_connect(sh_sio_server *srv, sh_plugin *p, const char *name, sh_sio_connect_cb cb, void *ud) {
    (void)p;
    if (!cb || sh_sio_namespace(srv, name) != SH_OK) return SH_ERR_INVALID;
    nsp *ns = find_nsp(srv, name);
    return add_hook(&ns->on_connect, &ns->nconnect, *(void **)&cb, ud);
}

int sh_sio_on_disconnect(sh_sio_server *srv, sh_plugin *p, const char *name, sh_sio_disconnect_cb cb, void *ud) {
    (void)p;
    if (!cb || sh_sio_namespace(srv, name) != SH_OK) return SH_ERR_INVALID;
    nsp *ns = find_nsp(srv, name);
    return add_hook(&ns->on_disconnect, &ns->ndisconnect, *(void **)&cb, ud);
}

/* ---- sending -------------------------------------------------------------------------------- */

/* Send a packet (data borrowed) to one socket's session, splitting out binary attachments. */
static int send_packet(sio_conn *c, int type, const char *nspname, int64_t ack_id, json_object *data) {
    sio_batch_seal_for(c); /* room messages emitted before this one go first */
    json_object *att[16];
    size_t natt = 0;
    if (data && sh_sio_deconstruct(data, att, 10, &natt) != SH_SIO_OK) return SH_ERR_INVALID;
    if (natt) type = type == SH_SIO_ACK ? SH_SIO_BINARY_ACK : SH_SIO_BINARY_EVENT;
    char *out;
    size_t len;
    int rc = sh_sio_encode(type, nspname, ack_id, natt, data, &out, &len);
    if (rc == SH_SIO_OK) {
        rc = sh_eio_send(c->es, out, len, false);
        free(out);
        for (size_t i = 0; i < natt && rc == SH_OK; i++) {
            size_t blen;
            const uint8_t *b = sh_sio_binary_data(att[i], &blen);
            rc = sh_eio_send(c->es, b, blen, true);
        }
    }
    for (size_t i = 0; i < natt; i++) json_object_put(att[i]);
    return rc == SH_SIO_OK ? SH_OK : SH_ERR;
}

static json_object *event_array(const char *event, json_object *data) {
    json_object *arr = json_object_new_array_ext(2);
    json_object_array_add(arr, json_object_new_string(event));
    if (data) json_object_array_add(arr, data);
    return arr;
}

int sh_sio_emit_args(sh_socket *s, const char *event, json_object *args) {
    if (!s || s->closing || !event || !args || !json_object_is_type(args, json_type_array)) {
        json_object_put(args);
        return SH_ERR_INVALID;
    }
    json_object *arr = json_object_new_array_ext((int)json_object_array_length(args) + 1);
    json_object_array_add(arr, json_object_new_string(event));
    for (size_t i = 0; i < json_object_array_length(args); i++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(args, i)));
    json_object_put(args);
    int rc = send_packet(s->conn, SH_SIO_EVENT, s->ns->name, -1, arr);
    json_object_put(arr);
    sh_metric_add(s->conn->srv->m_emits, 1);
    return rc;
}

int sh_sio_emit(sh_socket *s, const char *event, json_object *data) {
    if (!s || s->closing || !event) {
        json_object_put(data);
        return SH_ERR_STATE;
    }
    json_object *arr = event_array(event, data);
    int rc = send_packet(s->conn, SH_SIO_EVENT, s->ns->name, -1, arr);
    json_object_put(arr);
    sh_metric_add(s->conn->srv->m_emits, 1);
    return rc;
}

void sh_sio_ack(sh_ack *ack, json_object *args) {
    if (!ack) {
        json_object_put(args);
        return;
    }
    sh_socket *s = ack->sock;
    if (s) {
        for (sh_ack **pp = &s->acks; *pp; pp = &(*pp)->next)
            if (*pp == ack) {
                *pp = ack->next;
                break;
            }
        json_object *arr = args;
        if (!arr || !json_object_is_type(arr, json_type_array)) {
            arr = json_object_new_array();
            if (args) json_object_array_add(arr, args);
        }
        if (!s->closing) send_packet(s->conn, SH_SIO_ACK, s->ns->name, ack->id, arr);
        json_object_put(arr);
    } else {
        json_object_put(args);
    }
    free(ack);
}

/* Queue the blobs of one packet on a socket unless it is leaving or excepted. */
static void deliver_one(sh_socket *s, const char *except_sid, sh_eio_blob **blobs, size_t nb) {
    if (s->closing || (except_sid && strcmp(s->id, except_sid) == 0)) return;
    for (size_t k = 0; k < nb; k++) sh_eio_send_blob(s->es, blobs[k]);
}

/* Deliver an encoded packet (text, borrowed) and its binary attachments to the local members of
 * `room` (NULL = the whole namespace): appended to the room's batch, or, with an excepted socket,
 * each piece made into one blob queued on every member but that one (after the open batch). */
static void deliver_local(sh_sio_server *srv, nsp *ns, const char *room, const char *except_sid, const char *pkt,
                          size_t len, const sh_sio_buffer *att, size_t natt) {
    sh_room *r = room ? sh_rooms_find(&ns->rooms, room) : NULL;
    if (room ? !r || !r->n : !ns->head) return;
    if (!except_sid) {
        if (sio_batch_add(srv, ns, r, pkt, len, att, natt) == 0) sh_metric_add(srv->m_emits, 1);
        return;
    }
    sio_batch_seal(srv);
    sh_eio_blob *blobs[1 + SIO_MAX_ATTACHMENTS];
    size_t nb = 0;
    if ((blobs[nb] = sh_eio_blob_new(pkt, len, false))) nb++;
    for (size_t i = 0; nb == i + 1 && i < natt; i++)
        if ((blobs[nb] = sh_eio_blob_new(att[i].data, att[i].len, true))) nb++;
    if (nb == 1 + natt) {
        if (r)
            for (size_t i = 0; i < r->n; i++) deliver_one(r->members[i], except_sid, blobs, nb);
        else
            for (sh_socket *s = ns->head; s; s = s->next) deliver_one(s, except_sid, blobs, nb);
        sh_metric_add(srv->m_emits, 1);
    }
    for (size_t k = 0; k < nb; k++) sh_eio_blob_unref(blobs[k]);
}

/*
 * Cluster envelope: one Redis message per room or namespace emit, binary-safe and length-framed
 * so that any room name (newlines included) and binary attachments travel unchanged:
 *     "<node id>\n<nsp len> <room len, -1 = whole namespace> <except len> <attachments> <packet len>
 *      [<attachment len> ...]\n" then the namespace, room, except id, packet text and attachments.
 */
static void env_put(char *env, size_t *off, const void *data, size_t len) {
    if (len) memcpy(env + *off, data, len);
    *off += len;
}

static void publish(sh_sio_server *srv, nsp *ns, const char *room, const char *except_sid, const char *pkt, size_t len,
                    const sh_sio_buffer *att, size_t natt) {
    size_t nl = strlen(ns->name), rl = room ? strlen(room) : 0, el = except_sid ? strlen(except_sid) : 0;
    char head[512];
    int n = snprintf(head, sizeof head, "%s\n%zu %lld %zu %zu %zu", srv->h->node_id, nl, room ? (long long)rl : -1LL,
                     el, natt, len);
    size_t total = nl + rl + el + len;
    for (size_t i = 0; i < natt && n > 0 && (size_t)n < sizeof head; i++) {
        n += snprintf(head + n, sizeof head - (size_t)n, " %zu", att[i].len);
        total += att[i].len;
    }
    if (n <= 0 || (size_t)n >= sizeof head - 1) return;
    head[n++] = '\n';
    char *env = malloc((size_t)n + total);
    if (!env) return;
    size_t off = 0;
    env_put(env, &off, head, (size_t)n);
    env_put(env, &off, ns->name, nl);
    env_put(env, &off, room, rl);
    env_put(env, &off, except_sid, el);
    env_put(env, &off, pkt, len);
    for (size_t i = 0; i < natt; i++) env_put(env, &off, att[i].data, att[i].len);
    sh_redis_publish(srv->h->redis, srv->channel, env, off);
    free(env);
}

int sh_sio_emit_room(sh_sio_server *srv, const char *name, const char *room, const char *event, json_object *data,
                     sh_socket *except) {
    nsp *ns = find_nsp(srv, name ? name : "/");
    if (!ns || !event) {
        json_object_put(data);
        return SH_ERR_INVALID;
    }
    json_object *arr = event_array(event, data);
    /* encoded once: binary values become placeholders plus attachments shared by every member */
    json_object *att[SIO_MAX_ATTACHMENTS];
    size_t natt = 0;
    char *pkt = NULL;
    size_t len = 0;
    int rc = sh_sio_deconstruct(arr, att, SIO_MAX_ATTACHMENTS, &natt);
    if (rc == SH_SIO_OK)
        rc = sh_sio_encode(natt ? SH_SIO_BINARY_EVENT : SH_SIO_EVENT, ns->name, -1, natt, arr, &pkt, &len);
    json_object_put(arr);
    if (rc != SH_SIO_OK) {
        for (size_t i = 0; i < natt; i++) json_object_put(att[i]);
        return SH_ERR_INVALID;
    }
    sh_sio_buffer bufs[SIO_MAX_ATTACHMENTS];
    for (size_t i = 0; i < natt; i++) bufs[i].data = sh_sio_binary_data(att[i], &bufs[i].len);
    deliver_local(srv, ns, room, except ? except->id : NULL, pkt, len, bufs, natt);
    if (srv->h->redis) publish(srv, ns, room, except ? except->id : NULL, pkt, len, bufs, natt);
    free(pkt);
    for (size_t i = 0; i < natt; i++) json_object_put(att[i]);
    return SH_OK;
}

/* Read one unsigned (or -1) decimal field of the envelope head. */
static int env_num(const char **p, const char *end, long long *out) {
    const char *s = *p;
    int neg = 0;
    if (s < end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s == end || *s < '0' || *s > '9') return -1;
    long long v = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v > 100000000000LL) return -1;
        v = v * 10 + (*s - '0');
    }
    if (s < end && *s == ' ') s++;
    *p = s;
    *out = neg ? -v : v;
    return 0;
}

static void on_cluster_msg(const char *channel, const char *data, size_t len, void *ud) {
    (void)channel;
    sh_sio_server *srv = ud;
    const char *end = data + len;
    const char *nl1 = memchr(data, '\n', len);
    if (!nl1) return;
    if ((size_t)(nl1 - data) == strlen(srv->h->node_id) && memcmp(data, srv->h->node_id, (size_t)(nl1 - data)) == 0)
        return; /* our own */
    const char *nl2 = memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1));
    if (!nl2) return;
    const char *h = nl1 + 1;
    long long nlen, rlen, elen, natt, plen, alen[SIO_MAX_ATTACHMENTS];
    if (env_num(&h, nl2, &nlen) || env_num(&h, nl2, &rlen) || env_num(&h, nl2, &elen) || env_num(&h, nl2, &natt) ||
        env_num(&h, nl2, &plen))
        return;
    char nspname[256], room[1024], except[32];
    if (nlen < 1 || nlen >= (long long)sizeof nspname || rlen < -1 || rlen >= (long long)sizeof room || elen < 0 ||
        elen >= (long long)sizeof except || natt < 0 || natt > SIO_MAX_ATTACHMENTS || plen < 1)
        return;
    long long total = nlen + (rlen > 0 ? rlen : 0) + elen + plen;
    for (long long i = 0; i < natt; i++) {
        if (env_num(&h, nl2, &alen[i]) || alen[i] < 0) return;
        total += alen[i];
    }
    const char *p = nl2 + 1;
    if (h != nl2 || total != (long long)(end - p)) return;
    memcpy(nspname, p, (size_t)nlen);
    nspname[nlen] = '\0';
    p += nlen;
    size_t rl = rlen > 0 ? (size_t)rlen : 0;
    memcpy(room, p, rl);
    room[rl] = '\0';
    p += rl;
    memcpy(except, p, (size_t)elen);
    except[elen] = '\0';
    p += elen;
    const char *pkt = p;
    p += plen;
    sh_sio_buffer bufs[SIO_MAX_ATTACHMENTS];
    for (long long i = 0; i < natt; i++) {
        bufs[i] = (sh_sio_buffer){p, (size_t)alen[i]};
        p += alen[i];
    }
    if (strlen(nspname) != (size_t)nlen || strlen(room) != rl) return; /* a NUL inside */
    nsp *ns = find_nsp(srv, nspname);
    if (ns) deliver_local(srv, ns, rlen >= 0 ? room : NULL, elen ? except : NULL, pkt, (size_t)plen, bufs, (size_t)natt);
}

/* ---- rooms --------------------------------------------------------------------------------- */
static void on_moved(void *member, sh_room *room, size_t idx, void *ud) {
    (void)ud;
    sh_socket *s = member;
    for (size_t i = 0; i < s->nrooms; i++)
        if (s->rooms[i].room == room) s->rooms[i].idx = idx;
}

int sh_sio_in_room(sh_socket *s, const char *room) {
    for (size_t i = 0; s && i < s->nrooms; i++)
        if (strcmp(s->rooms[i].room->name, room) == 0) return 1;
    return 0;
}

int sh_sio_join(sh_socket *s, const char *room) {
    if (!s || !room || !*room || strlen(room) > 1000) return SH_ERR_INVALID;
    if (sh_sio_in_room(s, room)) return SH_OK;
    if (s->nrooms == s->caprooms) {
        size_t nc = s->caprooms ? s->caprooms * 2 : 4;
        membership *m = realloc(s->rooms, nc * sizeof *m);
        if (!m) return SH_ERR_NOMEM;
        s->rooms = m;
        s->caprooms = nc;
    }
    sio_batch *b = &s->conn->srv->batch;
    if (b->room && b->ns == s->ns && strcmp(b->room->name, room) == 0)
        sio_batch_seal(s->conn->srv); /* joining the open batch's room: not its earlier messages */
    membership *m = &s->rooms[s->nrooms];
    if (sh_rooms_add(&s->ns->rooms, room, s, &m->room, &m->idx) < 0) return SH_ERR_NOMEM;
    s->nrooms++;
    return SH_OK;
}

static void leave_at(sh_socket *s, size_t i) {
    membership m = s->rooms[i];
    /* the messages emitted before still reach s; and the batch never outlives its room */
    if (s->conn->srv->batch.room == m.room) sio_batch_seal(s->conn->srv);
    s->rooms[i] = s->rooms[--s->nrooms];
    sh_rooms_remove(&s->ns->rooms, m.room, m.idx, on_moved, NULL);
}

int sh_sio_leave(sh_socket *s, const char *room) {
    for (size_t i = 0; s && i < s->nrooms; i++)
        if (strcmp(s->rooms[i].room->name, room) == 0) {
            leave_at(s, i);
            return SH_OK;
        }
    return SH_ERR_NOTFOUND;
}

size_t sh_sio_room_size(sh_sio_server *srv, const char *name, const char *room) {
    nsp *ns = find_nsp(srv, name ? name : "/");
    sh_room *r = ns ? sh_rooms_find(&ns->rooms, room) : NULL;
    return r ? r->n : 0;
}

/* ---- socket lifecycle ---------------------------------------------------------------------- */
static void socket_remove(sh_socket *s, const char *reason) {
    sio_conn *c = s->conn;
    sh_sio_server *srv = c->srv;
    nsp *ns = s->ns;
    if (sio_batch_has_socket(&srv->batch, s)) sio_batch_seal(srv); /* what was emitted before it leaves */
    s->closing = 1;
    for (size_t i = 0; i < ns->ndisconnect; i++) {
        sh_sio_disconnect_cb cb;
        *(void **)&cb = ns->on_disconnect[i].fn;
        cb(s, reason, ns->on_disconnect[i].ud);
    }
    while (s->nrooms) leave_at(s, s->nrooms - 1);
    for (sh_ack *a = s->acks; a; a = a->next) a->sock = NULL; /* the plugin still answers (dropped) */
    if (s->prev) s->prev->next = s->next;
    else ns->head = s->next;
    if (s->next) s->next->prev = s->prev;
    ns->count--;
    for (size_t i = 0; i < c->nsocks; i++)
        if (c->socks[i] == s) {
            c->socks[i] = c->socks[--c->nsocks];
            break;
        }
    srv->nsockets--;
    sh_metric_set(srv->m_sockets, (double)srv->nsockets);
    free(s->rooms);
    free(s->pdata);
    free(s->username);
    free(s);
}

static sh_socket *conn_socket(sio_conn *c, const char *name) {
    for (size_t i = 0; i < c->nsocks; i++)
        if (strcmp(c->socks[i]->ns->name, name) == 0) return c->socks[i];
    return NULL;
}

static void connect_error(sio_conn *c, const char *nspname, const char *message) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string(message));
    send_packet(c, SH_SIO_CONNECT_ERROR, nspname, -1, o);
    json_object_put(o);
}

static void finish_connect(sio_conn *c, nsp *ns, json_object *auth, const sh_identity *who) {
    sh_sio_server *srv = c->srv;
    if (conn_socket(c, ns->name) || c->nsocks >= MAX_SOCK_PER_CONN) {
        connect_error(c, ns->name, "already connected");
        return;
    }
    sh_socket *s = calloc(1, sizeof *s);
    if (!s) return;
    s->conn = c;
    s->es = c->es;
    s->ns = ns;
    unsigned char rnd[15];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memset(rnd, 7, sizeof rnd);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0, nid = 0;
    for (size_t i = 0; i < sizeof rnd; i++) {
        acc = (acc << 8) | rnd[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s->id[nid++] = b64[(acc >> bits) & 63];
        }
    }
    s->id[nid] = 0;
    if (srv->batch.ns == ns && !srv->batch.room) sio_batch_seal(srv); /* a namespace emit before it connected */
    if (who && who->user_id > 0) {
        s->user_id = who->user_id;
        s->username = strdup(who->username ? who->username : "");
    }
    s->next = ns->head;
    if (ns->head) ns->head->prev = s;
    ns->head = s;
    ns->count++;
    c->socks[c->nsocks++] = s;
    srv->nsockets++;
    sh_metric_set(srv->m_sockets, (double)srv->nsockets);
    sh_sio_join(s, s->id); /* reach one socket on any node: emit to the room named by its id */
    if (s->user_id > 0) {
        char room[48];
        snprintf(room, sizeof room, "user:%lld", (long long)s->user_id);
        sh_sio_join(s, room);
    }
    if (c->deadline) {
        srv->h->api.timer_cancel(c->deadline);
        c->deadline = NULL;
    }
    c->connected_once = 1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sid", json_object_new_string(s->id));
    send_packet(c, SH_SIO_CONNECT, ns->name, -1, o);
    json_object_put(o);
    for (size_t i = 0; i < ns->nconnect; i++) {
        sh_sio_connect_cb cb;
        *(void **)&cb = ns->on_connect[i].fn;
        cb(s, auth, ns->on_connect[i].ud);
        if (conn_socket(c, ns->name) != s) break; /* the hook disconnected it: s is freed */
    }
}

static void on_verified(int status, const sh_identity *who, void *ud) {
    pending_connect *pc = ud;
    sio_conn *c = pc->conn;
    if (c) {
        for (pending_connect **pp = &c->pending; *pp; pp = &(*pp)->next)
            if (*pp == pc) {
                *pp = pc->next;
                break;
            }
        if (status == SH_OK)
            finish_connect(c, pc->ns, pc->auth, who);
        else
            connect_error(c, pc->ns->name, status == SH_ERR_UNAVAILABLE ? "auth_unavailable" : "invalid_token");
    }
    json_object_put(pc->auth);
    free(pc);
}

static void handle_connect(sio_conn *c, sh_sio_packet *pkt) {
    nsp *ns = find_nsp(c->srv, pkt->nsp);
    if (!ns) {
        connect_error(c, pkt->nsp, "Invalid namespace");
        return;
    }
    json_object *tok = NULL;
    if (c->srv->verify_tokens && pkt->data && json_object_object_get_ex(pkt->data, "token", &tok) && json_object_is_type(tok, json_type_string) &&
        json_object_get_string_len(tok) > 0) {
        const sh_auth_api *auth = sh_host_auth(c->srv->h);
        if (!auth) {
            connect_error(c, ns->name, "auth_unavailable");
            return;
        }
        pending_connect *pc = calloc(1, sizeof *pc);
        if (!pc) return;
        pc->conn = c;
        pc->ns = ns;
        pc->auth = json_object_get(pkt->data);
        pc->next = c->pending;
        c->pending = pc;
        auth->verify_token(json_object_get_string(tok), on_verified, pc);
        return;
    }
    finish_connect(c, ns, pkt->data, NULL);
}

static void dispatch_event(sio_conn *c, sh_sio_packet *pkt) {
    sh_socket *s = conn_socket(c, pkt->nsp);
    if (!s) return; /* not connected to that namespace: ignored, as the reference server does */
    const char *event = sh_sio_event_name(pkt);
    nsp *ns = s->ns;
    sh_eio_session *es = c->es; /* outlives this call even if a handler closes it (freed later) */
    sh_metric_add(c->srv->m_events, 1);
    int first = 1;
    for (size_t i = 0; i < ns->nhandlers; i++) {
        if (strcmp(ns->handlers[i].event, event) != 0) continue;
        size_t n = json_object_array_length(pkt->data);
        json_object *args = json_object_new_array_ext(n > 1 ? (int)n - 1 : 1);
        for (size_t k = 1; k < n; k++) json_object_array_add(args, json_object_get(json_object_array_get_idx(pkt->data, k)));
        sh_ack *ack = NULL;
        if (pkt->ack_id >= 0 && first) { /* only the first handler answers the ack */
            ack = calloc(1, sizeof *ack);
            if (ack) {
                ack->sock = s;
                ack->id = pkt->ack_id;
                ack->next = s->acks;
                s->acks = ack;
            }
        }
        first = 0;
        ns->handlers[i].fn(s, event, args, ack, ns->handlers[i].ud);
        json_object_put(args);
        /* a handler may have closed the session (c is then freed) or disconnected the socket */
        if (sh_eio_session_closed(es) || conn_socket(c, ns->name) != s) return;
    }
}

static void handle_packet(sio_conn *c, sh_sio_packet *pkt) {
    switch (pkt->type) {
    case SH_SIO_CONNECT: handle_connect(c, pkt); break;
    case SH_SIO_DISCONNECT: {
        sh_socket *s = conn_socket(c, pkt->nsp);
        if (s) socket_remove(s, "client namespace disconnect");
        break;
    }
    case SH_SIO_EVENT:
    case SH_SIO_BINARY_EVENT: dispatch_event(c, pkt); break;
    default: break; /* ACKs for server emits are not requested by the SDK; ignored */
    }
}

static void clear_binary(sio_conn *c) {
    for (size_t i = 0; i < c->nbufs; i++) free((void *)c->bufs[i].data);
    free(c->bufs);
    c->bufs = NULL;
    c->nbufs = 0;
    sh_sio_packet_clear(&c->bin);
}

/* ---- Engine.IO callbacks -------------------------------------------------------------------- */
static void on_deadline(void *ud) {
    sio_conn *c = ud;
    c->deadline = NULL;
    if (!c->connected_once) sh_eio_close(c->es, "connect timeout");
}

static void eio_open(sh_eio_session *es, void *ud) {
    sh_sio_server *srv = ud;
    sio_conn *c = calloc(1, sizeof *c);
    if (!c) {
        sh_eio_close(es, "out of memory");
        return;
    }
    c->srv = srv;
    c->es = es;
    c->bin.ack_id = -1;
    sh_eio_session_set_data(es, c);
    c->deadline = srv->h->api.timer_add(&srv->h->core_plugin, srv->connect_timeout_ms, 0, on_deadline, c);
}

static void eio_message(sh_eio_session *es, const char *data, size_t len, bool binary, void *ud) {
    (void)ud;
    sio_conn *c = sh_eio_session_data(es);
    if (!c) return;
    if (c->bin.nsp) { /* waiting for attachments */
        if (!binary) {
            sh_eio_close(es, "parse error: text packet while attachments were expected");
            return;
        }
        sh_sio_buffer *nb = realloc(c->bufs, (c->nbufs + 1) * sizeof *nb);
        void *copy = malloc(len ? len : 1);
        if (!nb || !copy) {
            free(copy);
            if (nb) c->bufs = nb;
            sh_eio_close(es, "out of memory");
            return;
        }
        memcpy(copy, data, len);
        c->bufs = nb;
        c->bufs[c->nbufs++] = (sh_sio_buffer){copy, len};
        if (c->nbufs == c->bin.attachments) {
            if (sh_sio_reconstruct(&c->bin, c->bufs, c->nbufs) != SH_SIO_OK) {
                sh_eio_close(es, "parse error: bad attachment placeholders");
                return;
            }
            sh_sio_packet pkt = c->bin;
            memset(&c->bin, 0, sizeof c->bin);
            c->bin.ack_id = -1;
            for (size_t i = 0; i < c->nbufs; i++) free((void *)c->bufs[i].data);
            free(c->bufs);
            c->bufs = NULL;
            c->nbufs = 0;
            handle_packet(c, &pkt);
            sh_sio_packet_clear(&pkt);
        }
        return;
    }
    if (binary) {
        sh_eio_close(es, "parse error: unexpected binary data");
        return;
    }
    sh_sio_packet pkt;
    int rc = sh_sio_parse(data, len, &c->srv->pcfg, &pkt);
    if (rc != SH_SIO_OK) {
        sh_eio_close(es, "parse error");
        return;
    }
    if ((pkt.type == SH_SIO_BINARY_EVENT || pkt.type == SH_SIO_BINARY_ACK) && pkt.attachments > 0) {
        c->bin = pkt;
        return;
    }
    handle_packet(c, &pkt);
    sh_sio_packet_clear(&pkt);
}

/* sh_eio_close is about to queue the close packet: room messages emitted before go first. */
static void eio_before_close(sh_eio_session *es, void *ud) {
    (void)ud;
    sio_conn *c = sh_eio_session_data(es);
    if (c) sio_batch_seal_for(c);
}

static void eio_close(sh_eio_session *es, const char *reason, void *ud) {
    (void)ud;
    sio_conn *c = sh_eio_session_data(es);
    if (!c) return;
    while (c->nsocks) socket_remove(c->socks[c->nsocks - 1], reason);
    for (pending_connect *p = c->pending; p; p = p->next) p->conn = NULL;
    if (c->deadline) c->srv->h->api.timer_cancel(c->deadline);
    clear_binary(c);
    sh_eio_session_set_data(es, NULL);
    free(c);
}

void sh_sio_disconnect(sh_socket *s) {
    if (!s || s->closing) return;
    sio_conn *c = s->conn;
    send_packet(c, SH_SIO_DISCONNECT, s->ns->name, -1, NULL);
    socket_remove(s, "server namespace disconnect");
}

/* ---- accessors ------------------------------------------------------------------------------ */
const char *sh_sio_id(sh_socket *s) { return s->id; }
int64_t sh_sio_user_id(sh_socket *s) { return s->user_id; }
const char *sh_sio_username(sh_socket *s) { return s->username; }
const char *sh_sio_remote_addr(sh_socket *s) { return sh_eio_session_remote(s->conn->es); }
const char *sh_sio_nsp(sh_socket *s) { return s->ns->name; }
size_t sh_sio_socket_count(const sh_sio_server *srv) { return srv->nsockets; }

void sh_sio_set_data(sh_socket *s, sh_plugin *p, void *data) {
    size_t i = p->index;
    if (i >= s->npdata) {
        void **nd = realloc(s->pdata, (i + 1) * sizeof *nd);
        if (!nd) return;
        memset(nd + s->npdata, 0, (i + 1 - s->npdata) * sizeof *nd);
        s->pdata = nd;
        s->npdata = i + 1;
    }
    s->pdata[i] = data;
}

void *sh_sio_get_data(sh_socket *s, sh_plugin *p) { return p->index < s->npdata ? s->pdata[p->index] : NULL; }

/* ---- server -------------------------------------------------------------------------------- */
sh_sio_server *sh_sio_server_new(sh_host *h, char *err, size_t errlen) {
    sh_sio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->h = h;
    sh_sio_config_default(&srv->pcfg);
    srv->pcfg.max_packet_len = (size_t)sh_cfg_i(&h->cfg->realtime, "max_payload");
    srv->connect_timeout_ms = (uint64_t)sh_cfg_i(&h->cfg->realtime, "connect_timeout_ms");
    srv->verify_tokens = sh_cfg_b(&h->cfg->realtime, "verify_tokens");
    const char *prefix = sh_cfg_s(&h->cfg->redis, "prefix");
    snprintf(srv->channel, sizeof srv->channel, "%ssio", prefix ? prefix : "");
    srv->m_sockets = sh_metrics_get(h->metrics, SH_METRIC_GAUGE, "streamhub_sio_sockets", "Connected Socket.IO sockets", NULL);
    srv->m_events = sh_metrics_get(h->metrics, SH_METRIC_COUNTER, "streamhub_sio_events_total", "Socket.IO events received", NULL);
    srv->m_emits = sh_metrics_get(h->metrics, SH_METRIC_COUNTER, "streamhub_sio_emits_total", "Socket.IO emits (a room emit counts once)", NULL);
    if (sh_sio_namespace(srv, "/") != SH_OK) {
        snprintf(err, errlen, "out of memory");
        free(srv);
        return NULL;
    }
    return srv;
}

/* The raw Engine.IO echo of the protocol's reference test server: every message comes back. */
static void echo_open(sh_eio_session *es, void *ud) {
    (void)es;
    (void)ud;
}
static void echo_message(sh_eio_session *es, const char *data, size_t len, bool binary, void *ud) {
    (void)ud;
    sh_eio_send(es, data, len, binary);
}
static void echo_close(sh_eio_session *es, const char *reason, void *ud) {
    (void)es;
    (void)reason;
    (void)ud;
}

int sh_sio_server_start(sh_sio_server *srv, char *err, size_t errlen) {
    sh_host *h = srv->h;
    const sh_csection *rt = &h->cfg->realtime;
    const sh_cvalue *cors = sh_csection_get(&h->cfg->server, "cors_origins");
    sh_eio_config cfg = {
        .path = "/socket.io/",
        .ping_interval_ms = (uint32_t)sh_cfg_i(rt, "ping_interval_ms"),
        .ping_timeout_ms = (uint32_t)sh_cfg_i(rt, "ping_timeout_ms"),
        .max_payload = (size_t)sh_cfg_i(rt, "max_payload"),
        .conn_per_ip_per_min = (uint32_t)sh_cfg_i(rt, "connections_per_ip_per_minute"),
        .exempt_loopback = sh_cfg_b(&h->cfg->server, "rate_limit_exempt_loopback"),
        .max_connections = (size_t)sh_cfg_i(rt, "max_connections"),
        .high_water = (size_t)sh_cfg_i(rt, "output_high_water"),
        .packets_per_second = (uint32_t)sh_cfg_i(rt, "packets_per_second"),
        .origins = cors->list,
        .norigins = cors->nlist,
    };
    static const sh_eio_callbacks cbs = {eio_open, eio_message, eio_close, sio_batch_flush, eio_before_close};
    srv->eio = sh_eio_server_new(h, &cfg, &cbs, srv, err, errlen);
    if (!srv->eio) return -1;
    const char *echo_path = sh_cfg_s(rt, "conformance_echo_path");
    if (echo_path && *echo_path) {
        static const sh_eio_callbacks echo_cbs = {echo_open, echo_message, echo_close, NULL, NULL};
        sh_eio_config ecfg = cfg;
        ecfg.path = echo_path;
        srv->echo = sh_eio_server_new(h, &ecfg, &echo_cbs, srv, err, errlen);
        if (!srv->echo) return -1;
        SH_LOG_W("sio", "test-only Engine.IO echo endpoint mounted at %s", echo_path);
    }
    if (h->redis) sh_redis_subscribe(h->redis, srv->channel, on_cluster_msg, srv);
    return 0;
}

void sh_sio_server_free(sh_sio_server *srv) {
    if (!srv) return;
    sio_batch_seal(srv); /* queued on the sessions: written as they close */
    sh_eio_server_free(srv->echo);
    sh_eio_server_free(srv->eio);
    sh_eio_blob_unref(srv->batch.chunk);
    for (size_t i = 0; i < srv->nnsps; i++) {
        nsp *ns = srv->nsps[i];
        for (size_t k = 0; k < ns->nhandlers; k++) free(ns->handlers[k].event);
        free(ns->handlers);
        free(ns->on_connect);
        free(ns->on_disconnect);
        sh_rooms_free(&ns->rooms);
        free(ns->name);
        free(ns);
    }
    free(srv->nsps);
    free(srv);
}
