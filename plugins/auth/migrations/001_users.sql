-- auth plugin: accounts. Usernames and e-mail addresses are unique without regard to case (the
-- unique indexes on lower(...) are also what the look-ups use). The stream key itself is never
-- stored in the clear: stream_key_hash (hex SHA-256, unique) finds its owner at RTMP ingest and
-- stream_key_enc (AES-256-GCM, see plugins/auth/streamkey.h) lets its owner see it again.
-- follower_count / following_count belong to the follow plugin, is_streaming to rooms/rtmp.
CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    username        text        NOT NULL CHECK (username ~ '^[A-Za-z0-9_]{3,30}$'),
    email           text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash   text        NOT NULL,
    stream_key_hash text        NOT NULL CHECK (stream_key_hash ~ '^[0-9a-f]{64}$'),
    stream_key_enc  text        NOT NULL,
    display_name    text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 50),
    avatar_url      text        CHECK (avatar_url IS NULL OR char_length(avatar_url) <= 2048),
    bio             text        NOT NULL DEFAULT '' CHECK (char_length(bio) <= 500),
    is_streaming    boolean     NOT NULL DEFAULT false,
    follower_count  integer     NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    following_count integer     NOT NULL DEFAULT 0 CHECK (following_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_login      timestamptz
);

CREATE UNIQUE INDEX users_username_lower_idx ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_idx ON users (lower(email));
CREATE UNIQUE INDEX users_stream_key_hash_idx ON users (stream_key_hash);
