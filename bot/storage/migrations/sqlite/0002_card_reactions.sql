-- The number reactions the bot last saw on each card, so that changes made while it was offline
-- can be told apart from ratings given with /rate.
BEGIN IMMEDIATE;

CREATE TABLE card_reactions (
    movie_id  INTEGER NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL,
    score     INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
    PRIMARY KEY (movie_id, member_id, score)
) STRICT, WITHOUT ROWID;

PRAGMA user_version = 2;
COMMIT;
