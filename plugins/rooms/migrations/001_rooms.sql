-- rooms plugin: categories, rooms (one per streamer: their channel) and streams (one live session
-- of a room each). users(id) belongs to the auth plugin.
--
-- rooms.room_id is the public, URL-safe id (base62, never the stream key). viewer_count is the
-- last count a node computed from presence (Redis or in-process): it orders the list and is a
-- few seconds behind at most; GET /api/rooms/:roomId answers the live count. live_seen_at is
-- refreshed by the node that ingests a live stream; a room whose node stopped refreshing it is
-- ended by any node's sweep ("node_lost"). At most one open stream (ended_at IS NULL) per room.
CREATE TABLE categories (
    id       text    PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,40}$'),
    name     text    NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 50),
    position integer NOT NULL DEFAULT 0
);

INSERT INTO categories (id, name, position) VALUES
    ('just-chatting', 'Just Chatting', 1),
    ('gaming', 'Gaming', 2),
    ('music', 'Music', 3),
    ('art', 'Art', 4),
    ('science-technology', 'Science & Technology', 5),
    ('sports', 'Sports', 6),
    ('other', 'Other', 7);

CREATE TABLE rooms (
    id                     bigserial   PRIMARY KEY,
    room_id                text        NOT NULL UNIQUE CHECK (room_id ~ '^[A-Za-z0-9]{1,32}$'),
    streamer_id            bigint      NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    title                  text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 140),
    description            text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    category_id            text        REFERENCES categories (id) ON DELETE SET NULL,
    is_live                boolean     NOT NULL DEFAULT false,
    viewer_count           integer     NOT NULL DEFAULT 0 CHECK (viewer_count >= 0),
    started_at             timestamptz,
    ended_at               timestamptz,
    live_seen_at           timestamptz,
    slow_mode_seconds      integer     NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 3600),
    followers_only         boolean     NOT NULL DEFAULT false,
    followers_only_minutes integer     NOT NULL DEFAULT 0 CHECK (followers_only_minutes BETWEEN 0 AND 129600),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- the list order (live first, most viewers, newest id) and its keyset pages
CREATE INDEX rooms_list_idx ON rooms (is_live DESC, viewer_count DESC, id DESC);
CREATE INDEX rooms_category_list_idx ON rooms (category_id, is_live DESC, viewer_count DESC, id DESC);
CREATE INDEX rooms_live_seen_idx ON rooms (live_seen_at) WHERE is_live;

CREATE TABLE streams (
    id           bigserial   PRIMARY KEY,
    room_pk      bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    node_id      text        NOT NULL,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    end_reason   text,
    peak_viewers integer     NOT NULL DEFAULT 0 CHECK (peak_viewers >= 0),
    messages     integer     NOT NULL DEFAULT 0 CHECK (messages >= 0)
);

CREATE INDEX streams_room_idx ON streams (room_pk, id DESC);
CREATE UNIQUE INDEX streams_open_idx ON streams (room_pk) WHERE ended_at IS NULL;

-- One row per room with its public JSON (the `room` object of docs/API.md) next to the columns
-- that filter and order it. The follow plugin reads this view too (rooms of followed streamers):
-- it is this plugin's published read interface; change it only compatibly.
CREATE VIEW rooms_public AS
SELECT r.id AS pk,
       r.room_id,
       r.streamer_id,
       r.category_id,
       r.is_live,
       r.viewer_count,
       r.title,
       u.username,
       u.display_name,
       json_build_object(
           'id', r.room_id,
           'title', r.title,
           'description', r.description,
           'category', c.name,
           'isLive', r.is_live,
           'viewerCount', r.viewer_count,
           'startedAt', to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'endedAt', to_char(r.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'thumbnailUrl', CASE WHEN r.is_live THEN '/hls/' || r.room_id || '/thumbnail.jpg' END,
           'hlsUrl', CASE WHEN r.is_live THEN '/hls/' || r.room_id || '/index.m3u8' END,
           'slowModeSeconds', r.slow_mode_seconds,
           'followersOnly', r.followers_only,
           'followersOnlyMinutes', r.followers_only_minutes,
           'streamer', json_build_object('id', u.id, 'username', u.username, 'displayName', u.display_name,
                                         'avatarUrl', u.avatar_url)
       )::text AS room_json
FROM rooms r
JOIN users u ON u.id = r.streamer_id
LEFT JOIN categories c ON c.id = r.category_id;
