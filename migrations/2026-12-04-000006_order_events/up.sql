-- Every status change of an order, so its life can be read back, not only its last status.
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    client_order_id TEXT NOT NULL,
    from_status TEXT,          -- NULL: the order's first record (a venue-originated order)
    to_status TEXT NOT NULL,
    event TEXT NOT NULL,       -- DENY, APPROVE, SUBMIT, FILL, REJECT, CANCEL, VENUE, BACKFILL
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (client_order_id, id);
-- Orders recorded before this table existed: their last status, marked as such.
INSERT INTO order_events (client_order_id, from_status, to_status, event, reason, created_at)
SELECT client_order_id, NULL, status, 'BACKFILL', 'recorded before order_events existed', updated_at
FROM orders;
