-- chat plugin: messages, per-room chat state (the last clear), moderators, bans and timeouts, and
-- the moderation log. rooms(id) belongs to the rooms plugin, users(id) to auth.
--
-- Messages are never removed by the plugin: a delete sets `deleted` (soft delete), a clear moves
-- the room's `cleared_through` (every message with an id up to it is hidden); both leave the rows
-- for the moderation record. Ids come from one bigserial: within a room, storage order is id order.
CREATE TABLE chat_messages (
    id         bigserial   PRIMARY KEY,
    room_pk    bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    bigint      REFERENCES users (id) ON DELETE SET NULL,
    username   text        NOT NULL,
    content    text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted    boolean     NOT NULL DEFAULT false,
    deleted_at timestamptz,
    deleted_by bigint
);

-- history: a room's messages newest first (keyset on id)
CREATE INDEX chat_messages_room_idx ON chat_messages (room_pk, id DESC);

CREATE TABLE chat_room_state (
    room_pk         bigint      PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    cleared_through bigint      NOT NULL DEFAULT 0,
    cleared_at      timestamptz
);

CREATE TABLE chat_moderators (
    room_pk    bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_by   bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_pk, user_id)
);

-- One row per banned user and room: expires_at NULL = permanent, else a timeout (an expired row
-- is no ban; a new ban replaces the row).
CREATE TABLE chat_bans (
    room_pk    bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned_by  bigint,
    reason     text        NOT NULL DEFAULT '' CHECK (char_length(reason) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    PRIMARY KEY (room_pk, user_id)
);

CREATE TABLE chat_moderation_log (
    id               bigserial   PRIMARY KEY,
    room_pk          bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    actor_id         bigint,
    actor_name       text        NOT NULL,
    action           text        NOT NULL CHECK (action IN ('delete_message', 'clear_chat', 'ban', 'timeout', 'unban',
                                                            'add_moderator', 'remove_moderator')),
    target_id        bigint,
    target_name      text,
    message_id       bigint,
    reason           text,
    duration_seconds bigint,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chat_moderation_log_room_idx ON chat_moderation_log (room_pk, id DESC);
