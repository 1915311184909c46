-- The club, its catalog and the tables every feature reads from day one.
BEGIN IMMEDIATE;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE guild_settings (
    guild_id           INTEGER PRIMARY KEY,
    movies_channel_id  INTEGER,
    reviews_channel_id INTEGER,
    picks_channel_id   INTEGER,
    timezone           TEXT NOT NULL DEFAULT 'UTC',
    updated_at         TEXT NOT NULL
) STRICT;

CREATE TABLE movies (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    title_key       TEXT NOT NULL CHECK (length(title_key) >= 1),
    year            INTEGER CHECK (year IS NULL OR year BETWEEN 1870 AND 2200),
    external_id     TEXT,
    added_by        INTEGER NOT NULL,
    added_at        TEXT NOT NULL,
    card_channel_id INTEGER,
    card_message_id INTEGER,
    thread_id       INTEGER
) STRICT;
-- Same title (case, accents and spacing folded) and same year is the same movie; an unknown
-- year counts as one year of its own.
CREATE UNIQUE INDEX movies_identity ON movies (guild_id, title_key, coalesce(year, 0));
CREATE INDEX movies_by_guild_added ON movies (guild_id, added_at DESC, id DESC);
CREATE UNIQUE INDEX movies_by_card ON movies (card_message_id) WHERE card_message_id IS NOT NULL;

CREATE TABLE ratings (
    movie_id   INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL,
    score      INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
    source     TEXT NOT NULL CHECK (source IN ('reaction', 'command')),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (movie_id, member_id)
) STRICT;
CREATE INDEX ratings_by_member ON ratings (member_id);

CREATE TABLE reviews (
    id         INTEGER PRIMARY KEY,
    movie_id   INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL,
    headline   TEXT,
    body       TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 40000),
    spoilers   INTEGER NOT NULL CHECK (spoilers IN (0, 1)),
    rating     INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 10),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (movie_id, author_id)
) STRICT;

PRAGMA user_version = 1;
COMMIT;
