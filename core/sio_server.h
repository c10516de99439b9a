/*
 * sio_server.h - the Socket.IO v5 server on top of the Engine.IO sessions of eio_server.h:
 * namespaces, sockets with identity (the CONNECT auth token checked through the `auth` service),
 * events and acknowledgements (with binary attachments), rooms, and cluster delivery of room
 * and namespace emits through Redis (channel "<redis prefix>sio").
 *
 * The SDK's sio_* functions live here (sio_api.c wraps them for the host table).
 * Thread: loop only.
 */
#ifndef SH_CORE_SIO_SERVER_H
#define SH_CORE_SIO_SERVER_H

#include "core/eio_server.h"
#include "core/host.h"

typedef struct sh_sio_server sh_sio_server;

sh_sio_server *sh_sio_server_new(sh_host *h, char *err, size_t errlen);
/* Start serving (after plugins registered their namespaces and handlers). */
int sh_sio_server_start(sh_sio_server *srv, char *err, size_t errlen);
void sh_sio_server_free(sh_sio_server *srv);

int sh_sio_namespace(sh_sio_server *srv, const char *nsp);
int sh_sio_on(sh_sio_server *srv, sh_plugin *p, const char *nsp, const char *event, sh_sio_handler h, void *ud);
int sh_sio_on_connect(sh_sio_server *srv, sh_plugin *p, const char *nsp, sh_sio_connect_cb cb, void *ud);
int sh_sio_on_disconnect(sh_sio_server *srv, sh_plugin *p, const char *nsp, sh_sio_disconnect_cb cb, void *ud);
void sh_sio_ack(sh_ack *ack, json_object *args);
int sh_sio_emit(sh_socket *s, const char *event, json_object *data);
int sh_sio_emit_args(sh_socket *s, const char *event, json_object *args);
int sh_sio_emit_room(sh_sio_server *srv, const char *nsp, const char *room, const char *event, json_object *data,
                     sh_socket *except);
int sh_sio_join(sh_socket *s, const char *room);
int sh_sio_leave(sh_socket *s, const char *room);
int sh_sio_in_room(sh_socket *s, const char *room);
size_t sh_sio_room_size(sh_sio_server *srv, const char *nsp, const char *room);
const char *sh_sio_id(sh_socket *s);
int64_t sh_sio_user_id(sh_socket *s);
const char *sh_sio_username(sh_socket *s);
const char *sh_sio_remote_addr(sh_socket *s);
const char *sh_sio_nsp(sh_socket *s);
void sh_sio_set_data(sh_socket *s, sh_plugin *p, void *data);
void *sh_sio_get_data(sh_socket *s, sh_plugin *p);
void sh_sio_disconnect(sh_socket *s);
size_t sh_sio_socket_count(const sh_sio_server *srv);

#endif
