-- follow plugin: who follows whom, and the notifications sent to users (e.g. "someone you follow
-- went live"). users(id) belongs to the auth plugin; users.follower_count / following_count are
-- kept by this plugin in the same statement as the follow row itself (see routes.c).
CREATE TABLE follows (
    id           bigserial   PRIMARY KEY,
    follower_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    following_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (follower_id <> following_id),
    UNIQUE (follower_id, following_id)
);

-- followers of a user / users a user follows, newest first (keyset on id)
CREATE INDEX follows_following_idx ON follows (following_id, id DESC);
CREATE INDEX follows_follower_idx ON follows (follower_id, id DESC);

CREATE TABLE notifications (
    id         bigserial   PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       text        NOT NULL CHECK (type ~ '^[a-z0-9-]{1,40}$'),
    data       jsonb       NOT NULL DEFAULT '{}',
    read       boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE NOT read;
