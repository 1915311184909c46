-- Where each review was posted (so it can be edited, deleted and found from a reaction) and
-- who found it helpful. The reviews table itself has been there since 0001.

-- One row per message the bot posted for a review: its copy in the reviews channel
-- (in_thread = 0) and, for spoiler reviews, the open copy in the movie's spoiler thread.
CREATE TABLE review_messages (
    review_id  BIGINT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL UNIQUE,
    part       INTEGER NOT NULL CHECK (part >= 0),
    in_thread  INTEGER NOT NULL CHECK (in_thread IN (0, 1)),
    PRIMARY KEY (review_id, in_thread, part)
);

-- One helpful vote per member per review; the author's own is never stored.
CREATE TABLE helpful_votes (
    review_id BIGINT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL,
    PRIMARY KEY (review_id, member_id)
);
