-- The weekly watch pick: the pool members suggest into, each guild's schedule, and one run per
-- guild and ISO week (recorded before anything is posted, completed after), with its poll.
BEGIN IMMEDIATE;

CREATE TABLE watch_pool (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    movie_id     INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    suggested_by INTEGER NOT NULL,
    suggested_at TEXT NOT NULL,
    UNIQUE (guild_id, movie_id)
) STRICT;

-- The guild's time zone is guild_settings.timezone; the post goes to guild_settings'
-- picks channel, else to channel_id (where /watch schedule was used or the channel it named).
CREATE TABLE watch_schedules (
    guild_id   INTEGER PRIMARY KEY,
    weekday    INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    time       TEXT NOT NULL CHECK (time GLOB '[0-2][0-9]:[0-5][0-9]' AND time < '24:00'),
    channel_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- 'started' is committed before the first Discord call of a week's post, 'posted' after it; a
-- 'started' run found later is finished by looking for its marker in the channel (never posted
-- twice). 'skipped': a started run whose week ended with nothing posted.
CREATE TABLE watch_runs (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    week_key          TEXT NOT NULL CHECK (week_key GLOB '[0-9][0-9][0-9][0-9]-W[0-5][0-9]'),
    status            TEXT NOT NULL CHECK (status IN ('started', 'posted', 'skipped')),
    started_at        TEXT NOT NULL,
    posted_at         TEXT,
    channel_id        INTEGER NOT NULL,
    pick_movie_id     INTEGER REFERENCES movies (id) ON DELETE SET NULL,
    pick_label        TEXT,
    pick_suggested_by INTEGER,
    pick_suggested_at TEXT,
    pick_reason       TEXT CHECK (pick_reason IS NULL OR pick_reason IN ('poll', 'predicted')),
    pick_votes        INTEGER,
    pick_predicted    REAL,
    poll_state        TEXT NOT NULL
                      CHECK (poll_state IN ('planned', 'no_permission', 'too_few_movies')),
    pick_message_id   INTEGER,
    poll_message_id   INTEGER,
    poll_closed       INTEGER NOT NULL DEFAULT 0 CHECK (poll_closed IN (0, 1)),
    thread_id         INTEGER,
    UNIQUE (guild_id, week_key),
    CHECK (status != 'posted' OR (posted_at IS NOT NULL AND pick_message_id IS NOT NULL))
) STRICT;
CREATE INDEX watch_runs_by_status ON watch_runs (status, guild_id);

-- The movies of a run's poll in answer order: Discord numbers answers 1, 2, ... as sent.
-- votes stays NULL until the poll is ended and its final counts are read.
CREATE TABLE watch_poll_answers (
    run_id    INTEGER NOT NULL REFERENCES watch_runs (id) ON DELETE CASCADE,
    answer_id INTEGER NOT NULL CHECK (answer_id BETWEEN 1 AND 10),
    movie_id  INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    votes     INTEGER CHECK (votes IS NULL OR votes >= 0),
    PRIMARY KEY (run_id, answer_id)
) STRICT, WITHOUT ROWID;

PRAGMA user_version = 4;
COMMIT;
