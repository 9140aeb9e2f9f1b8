-- The holds that restrict trading (one per cause); the trading state is the strictest.
-- Written only through risk::holds::apply (store::holds::record).
CREATE TABLE holds (
    cause TEXT PRIMARY KEY NOT NULL,
    level TEXT NOT NULL,
    since TIMESTAMP NOT NULL,
    clears_on TEXT NOT NULL,
    detail TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
