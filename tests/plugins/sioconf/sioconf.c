/*
 * sioconf.c - test-only plugin: the Socket.IO protocol's reference test server behaviour, so the
 * public protocol test suites (and ours) can run against StreamHub. Not in the default config.
 *   - on connect to "/" or "/custom": emit "auth" with the handshake's auth payload
 *   - "message": emit "message-back" with the same arguments
 *   - "message-with-ack": answer the ack with the same arguments
 *   - "join" {room}, "to-room" {room, data}: join a room; emit "room-msg" data to a room
 *   - "to-all" {data}: emit "all-msg" data to every socket of "/" (every node)
 *   - "room-size" {room}: answer the ack with the room's size on this node
 *   - "script" [step...]: run the steps in order within this one handler (one loop turn), then
 *     answer the ack with true; a step is ["room", room, data] (emit "seq" data to the room),
 *     ["room-except", room, data] (the same without this socket), ["all", data] (emit "seq" to
 *     every socket of "/"), ["direct", data] (emit "seq" to this socket), ["join", room],
 *     ["leave", room], ["disconnect"] (server-side disconnect of this socket; the rest is skipped,
 *     no ack). For the ordering of batched room emits against everything else.
 *   - namespace "/kick": the first connect hook disconnects the socket at once (a plugin refusing
 *     it); a second hook, which must then not run, would emit "not-refused"
 * Run it with realtime ping_interval_ms 300, ping_timeout_ms 200, max_payload 1000000.
 */
#include <streamhub/streamhub.h>
#include <string.h>

static const sh_host_api *host;
static sh_plugin *self;

static void on_connect(sh_socket *s, json_object *auth, void *ud) {
    (void)ud;
    host->sio_emit(s, "auth", auth ? json_object_get(auth) : json_object_new_object());
}

static void on_kick(sh_socket *s, json_object *auth, void *ud) {
    (void)auth;
    (void)ud;
    host->sio_disconnect(s);
}

static void on_kick_second(sh_socket *s, json_object *auth, void *ud) {
    (void)auth;
    (void)ud;
    host->sio_emit(s, "not-refused", NULL);
}

static void on_message(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    (void)ud;
    host->sio_emit_args(s, "message-back", json_object_get(args));
    if (ack) host->sio_ack(ack, NULL);
}

static void on_message_ack(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)s;
    (void)event;
    (void)ud;
    if (ack) host->sio_ack(ack, json_object_get(args));
}

static void on_join(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    (void)ud;
    json_object *room = json_object_array_get_idx(args, 0);
    int ok = room && json_object_is_type(room, json_type_string) &&
             host->sio_join(s, json_object_get_string(room)) == SH_OK;
    if (ack) host->sio_ack(ack, json_object_new_boolean(ok));
}

static void on_to_room(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)s;
    (void)event;
    (void)ud;
    json_object *room = json_object_array_get_idx(args, 0), *data = json_object_array_get_idx(args, 1);
    if (room && json_object_is_type(room, json_type_string))
        host->sio_emit_room(self, "/", json_object_get_string(room), "room-msg", json_object_get(data), NULL);
    if (ack) host->sio_ack(ack, json_object_new_boolean(1));
}

static void on_to_all(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)s;
    (void)event;
    (void)ud;
    host->sio_emit_all(self, "/", "all-msg", json_object_get(json_object_array_get_idx(args, 0)));
    if (ack) host->sio_ack(ack, json_object_new_boolean(1));
}

static void on_room_size(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)s;
    (void)event;
    (void)ud;
    json_object *room = json_object_array_get_idx(args, 0);
    size_t n = room && json_object_is_type(room, json_type_string)
                   ? host->sio_room_size(self, "/", json_object_get_string(room))
                   : 0;
    if (ack) host->sio_ack(ack, json_object_new_int64((int64_t)n));
}

static void on_script(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    (void)ud;
    for (size_t i = 0; i < json_object_array_length(args); i++) {
        json_object *step = json_object_array_get_idx(args, i);
        if (!json_object_is_type(step, json_type_array)) continue;
        const char *op = json_object_get_string(json_object_array_get_idx(step, 0));
        json_object *a1 = json_object_array_get_idx(step, 1), *a2 = json_object_array_get_idx(step, 2);
        const char *room = json_object_is_type(a1, json_type_string) ? json_object_get_string(a1) : NULL;
        if (!op) continue;
        if (strcmp(op, "room") == 0 && room)
            host->sio_emit_room(self, "/", room, "seq", json_object_get(a2), NULL);
        else if (strcmp(op, "room-except") == 0 && room)
            host->sio_emit_room(self, "/", room, "seq", json_object_get(a2), s);
        else if (strcmp(op, "all") == 0)
            host->sio_emit_all(self, "/", "seq", json_object_get(a1));
        else if (strcmp(op, "direct") == 0)
            host->sio_emit(s, "seq", json_object_get(a1));
        else if (strcmp(op, "join") == 0 && room)
            host->sio_join(s, room);
        else if (strcmp(op, "leave") == 0 && room)
            host->sio_leave(s, room);
        else if (strcmp(op, "disconnect") == 0) {
            host->sio_disconnect(s);
            if (ack) host->sio_ack(ack, NULL); /* dropped: the socket is gone */
            return;
        }
    }
    if (ack) host->sio_ack(ack, json_object_new_boolean(1));
}

static void on_whoami(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    (void)args;
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "userId", json_object_new_int64(host->sio_user_id(s)));
    const char *u = host->sio_username(s);
    json_object_object_add(o, "username", u ? json_object_new_string(u) : NULL);
    if (ack) host->sio_ack(ack, o);
    else json_object_put(o);
}

static int init(sh_plugin *p, const sh_host_api *h) {
    host = h;
    self = p;
    if (!SH_HOST_HAS(h, sio_emit_args)) return SH_ERR;
    static const char *const nsps[] = {"/", "/custom"};
    for (int i = 0; i < 2; i++) {
        if (h->sio_namespace(p, nsps[i]) != SH_OK || h->sio_on_connect(p, nsps[i], on_connect, NULL) != SH_OK ||
            h->sio_on(p, nsps[i], "message", on_message, NULL) != SH_OK ||
            h->sio_on(p, nsps[i], "message-with-ack", on_message_ack, NULL) != SH_OK)
            return SH_ERR;
    }
    if (h->sio_on(p, "/", "join", on_join, NULL) != SH_OK || h->sio_on(p, "/", "to-room", on_to_room, NULL) != SH_OK ||
        h->sio_on(p, "/", "whoami", on_whoami, NULL) != SH_OK || h->sio_on(p, "/", "to-all", on_to_all, NULL) != SH_OK ||
        h->sio_on(p, "/", "room-size", on_room_size, NULL) != SH_OK || h->sio_on(p, "/", "script", on_script, NULL) != SH_OK ||
        h->sio_namespace(p, "/kick") != SH_OK ||
        h->sio_on_connect(p, "/kick", on_kick, NULL) != SH_OK ||
        h->sio_on_connect(p, "/kick", on_kick_second, NULL) != SH_OK)
        return SH_ERR;
    return SH_OK;
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,
    .name = "sioconf",
    .version = "1.0.0",
    .description = "test only: Socket.IO reference test server behaviour",
    .init = init,
};
SH_PLUGIN_EXPORT(desc)
