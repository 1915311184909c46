-- The number reactions the bot last saw on each card, so that changes made while it was offline
-- can be told apart from ratings given with /rate.

CREATE TABLE card_reactions (
    movie_id  BIGINT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL,
    score     INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
    PRIMARY KEY (movie_id, member_id, score)
);
