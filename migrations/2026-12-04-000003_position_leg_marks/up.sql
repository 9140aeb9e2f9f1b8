-- Per-leg quotes (bid/ask/mid) of every open position at its last mark, so a flatten that has
-- no market (watchdog, kill switch) prices at the last marks under the fill model.
ALTER TABLE positions ADD COLUMN leg_marks_json TEXT;
ALTER TABLE positions ADD COLUMN marked_at TIMESTAMP;
