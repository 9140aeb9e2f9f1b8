-- AlphaHive store: every input, decision, verdict, order and fill.
-- Money is TEXT holding an exact decimal; timestamps are TEXT (ISO 8601).

CREATE TABLE cycles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    market_ts TIMESTAMP NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status TEXT NOT NULL,
    trading_state TEXT NOT NULL,
    signals_ok INTEGER NOT NULL DEFAULT 0,
    abstentions INTEGER NOT NULL DEFAULT 0,
    orders_proposed INTEGER NOT NULL DEFAULT 0,
    orders_approved INTEGER NOT NULL DEFAULT 0,
    orders_denied INTEGER NOT NULL DEFAULT 0,
    fills INTEGER NOT NULL DEFAULT 0,
    cash TEXT,
    equity TEXT,
    snapshot_path TEXT,
    snapshot_sha256 TEXT,
    error TEXT
);
CREATE INDEX cycles_market_ts ON cycles (market_ts);

CREATE TABLE signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    cycle_id INTEGER NOT NULL REFERENCES cycles (id),
    instance_id TEXT NOT NULL,
    template TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'abstain', 'timeout', 'error')),
    target TEXT,
    signal TEXT,
    confidence DOUBLE,
    reason TEXT,
    detail TEXT,
    raw TEXT,
    signal_json TEXT,
    prompt_sha256 TEXT,
    latency_ms DOUBLE NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX signals_cycle ON signals (cycle_id);

CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    cycle_id INTEGER REFERENCES cycles (id),
    instance_id TEXT,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    latency_ms DOUBLE NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost TEXT NOT NULL DEFAULT '0',
    status TEXT NOT NULL,
    error TEXT,
    cached BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX llm_calls_cycle ON llm_calls (cycle_id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    client_order_id TEXT NOT NULL UNIQUE,
    cycle_id INTEGER REFERENCES cycles (id),
    instance_id TEXT NOT NULL,
    underlying TEXT NOT NULL,
    strategy TEXT NOT NULL,
    intent TEXT NOT NULL CHECK (intent IN ('OPEN', 'TAKE_PROFIT', 'STOP_LOSS', 'TIME_EXIT', 'EXPIRY', 'FLATTEN')),
    position_id TEXT,
    legs_json TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    limit_price TEXT NOT NULL,
    max_risk TEXT NOT NULL,
    capital_required TEXT NOT NULL,
    status TEXT NOT NULL,
    deny_code TEXT,
    deny_reason TEXT,
    reasoning TEXT,
    market_ts TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_cycle ON orders (cycle_id);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE fills (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
    cycle_id INTEGER REFERENCES cycles (id),
    leg_index INTEGER NOT NULL,
    contract TEXT NOT NULL,
    action TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price TEXT NOT NULL,
    commission TEXT NOT NULL,
    cash_delta TEXT NOT NULL,
    market_ts TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (client_order_id, leg_index)
);

CREATE TABLE positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    position_id TEXT NOT NULL UNIQUE,
    instance_id TEXT NOT NULL,
    underlying TEXT NOT NULL,
    strategy TEXT NOT NULL,
    expiry DATE NOT NULL,
    legs_json TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    entry_price TEXT NOT NULL,
    max_risk TEXT NOT NULL,
    max_profit TEXT NOT NULL,
    mark TEXT NOT NULL,
    unrealized_pnl TEXT NOT NULL,
    realized_pnl TEXT NOT NULL DEFAULT '0',
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    close_intent TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX positions_open ON positions (quantity);

CREATE TABLE account_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    cycle_id INTEGER REFERENCES cycles (id),
    market_ts TIMESTAMP NOT NULL,
    trading_day DATE NOT NULL,
    cash TEXT NOT NULL,
    positions_value TEXT NOT NULL,
    equity TEXT NOT NULL,
    day_start_equity TEXT NOT NULL,
    day_pnl TEXT NOT NULL,
    high_water_mark TEXT NOT NULL,
    open_positions INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX account_snapshots_day ON account_snapshots (trading_day);

CREATE TABLE safety_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    cycle_id INTEGER,
    event_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    actor TEXT,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX safety_events_type ON safety_events (event_type);

-- The paper venue's cash; its positions are the `positions` table.
CREATE TABLE paper_account (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    cash TEXT NOT NULL,
    starting_cash TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Small durable key/value state: trading state, breaker, simulated clock.
CREATE TABLE runtime_state (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
