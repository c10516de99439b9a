/*
 * sio_internal.h - the Socket.IO server's structures, shared by sio_server.c (namespaces, sockets,
 * packets, the cluster) and sio_batch.c (room batches). Not an interface: only these two files
 * include it. Loop thread.
 */
#ifndef SH_CORE_SIO_INTERNAL_H
#define SH_CORE_SIO_INTERNAL_H

#include "core/eio_server.h"
#include "core/sio_packet.h"
#include "core/sio_rooms.h"
#include "core/sio_server.h"

#define MAX_SOCK_PER_CONN   16
#define SIO_MAX_ATTACHMENTS 10 /* binary attachments of one emitted packet */

typedef struct handler {
    char *event;
    sh_sio_handler fn;
    void *ud;
    sh_plugin *owner;
} handler;

typedef struct hook {
    void *fn;
    void *ud;
} hook;

typedef struct nsp {
    char *name;
    handler *handlers;
    size_t nhandlers;
    hook *on_connect, *on_disconnect;
    size_t nconnect, ndisconnect;
    sh_room_table rooms;
    sh_socket *head; /* every socket of the namespace on this node */
    size_t count;
} nsp;

typedef struct sio_conn sio_conn;

typedef struct membership {
    sh_room *room;
    size_t idx;
} membership;

struct sh_ack {
    sh_socket *sock; /* NULL once the socket is gone */
    int64_t id;
    struct sh_ack *next;
};

struct sh_socket {
    sio_conn *conn;
    sh_eio_session *es; /* conn->es, one pointer less to follow when sealing a batch */
    nsp *ns;
    char id[24];
    int64_t user_id;
    char *username;
    membership *rooms;
    size_t nrooms, caprooms;
    void **pdata;
    size_t npdata;
    sh_ack *acks;
    int closing;
    sh_socket *prev, *next;
};

typedef struct pending_connect pending_connect;

struct sio_conn {
    sh_sio_server *srv;
    sh_eio_session *es;
    sh_socket *socks[MAX_SOCK_PER_CONN];
    size_t nsocks;
    sh_sio_packet bin; /* a BINARY_* packet waiting for its attachments */
    sh_sio_buffer *bufs;
    size_t nbufs;
    pending_connect *pending;
    sh_timer *deadline;
    int connected_once;
};

struct pending_connect {
    sio_conn *conn; /* NULL if the session closed meanwhile */
    nsp *ns;
    json_object *auth;
    pending_connect *next;
};

/* The open room batch (see the top of this file). */
typedef struct sio_batch {
    nsp *ns;            /* the open batch's target namespace; NULL: no batch open */
    sh_room *room;      /* its room, or NULL: every socket of ns */
    sh_eio_blob *chunk; /* this turn's chunk (a reference held), or NULL */
    size_t cap;         /* chunk's capacity */
    uint32_t start;     /* the open batch's frames are chunk->data[start .. chunk->len) */
    size_t hint;        /* the next turn's first chunk size (from this turn's use) */
} sio_batch;

struct sh_sio_server {
    sh_host *h;
    sio_batch batch;
    sh_eio_server *eio;
    sh_eio_server *echo; /* test-only raw Engine.IO echo (realtime.conformance_echo_path) */
    nsp **nsps;
    size_t nnsps;
    sh_sio_config pcfg;
    char channel[96];
    uint64_t connect_timeout_ms;
    int verify_tokens;
    size_t nsockets;
    sh_metric *m_sockets, *m_events, *m_emits;
};

/* ---- room batches (sio_batch.c) ---------------------------------------------------------------- */

/* Queue the open batch's frames on every member of its target (one slice each) and close it. */
void sio_batch_seal(sh_sio_server *srv);
/* 1 if socket s is in the open batch's target. */
int sio_batch_has_socket(const sio_batch *b, const sh_socket *s);
/* Before queueing anything to c's session outside the batch: seal it if c is a member. */
void sio_batch_seal_for(sio_conn *c);
/* Append one packet (text, then its binary attachments; borrowed) to the batch for (ns, r),
 * opening it (and sealing another target's) if needed. -1 if out of memory (nothing appended). */
int sio_batch_add(sh_sio_server *srv, nsp *ns, sh_room *r, const char *pkt, size_t len, const sh_sio_buffer *att,
                  size_t natt);
/* The Engine.IO flush pass (end of the loop turn): seal the open batch, let go of the turn's chunk. */
void sio_batch_flush(void *ud);

#endif
