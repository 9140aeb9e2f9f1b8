//! Rows and the queries the runtime uses. Money is an exact decimal stored as TEXT.

use super::schema::*;
use super::StoreError;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Wall-clock now (UTC, naive) for `created_at` columns.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Parses a decimal stored as TEXT.
pub fn dec(s: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(s).map_err(|e| StoreError::Corrupt(format!("decimal {s:?}: {e}")))
}

/// A new `cycles` row, inserted when a cycle starts.
#[derive(Debug, Insertable)]
#[diesel(table_name = cycles)]
pub struct NewCycle<'a> {
    /// Run identifier.
    pub run_id: &'a str,
    /// Cycle number within the run.
    pub seq: i32,
    /// Market time of the cycle.
    pub market_ts: NaiveDateTime,
    /// Wall-clock start.
    pub started_at: NaiveDateTime,
    /// `running` until finished.
    pub status: &'a str,
    /// Trading state at start.
    pub trading_state: &'a str,
    /// [`crate::config::decision_sha256`] of the config it runs under.
    pub config_sha256: Option<&'a str>,
}

/// Figures written when a cycle finishes.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = cycles)]
pub struct CycleFinish {
    /// Wall-clock finish.
    pub finished_at: Option<NaiveDateTime>,
    /// `done`, `failed`, `aborted`.
    pub status: String,
    /// Trading state at the end.
    pub trading_state: String,
    /// Valid signals.
    pub signals_ok: i32,
    /// Abstentions, timeouts and errors.
    pub abstentions: i32,
    /// Orders proposed to the risk gate.
    pub orders_proposed: i32,
    /// Orders approved.
    pub orders_approved: i32,
    /// Orders denied.
    pub orders_denied: i32,
    /// Fills.
    pub fills: i32,
    /// Cash after the cycle.
    pub cash: Option<String>,
    /// Equity after the cycle.
    pub equity: Option<String>,
    /// Snapshot file.
    pub snapshot_path: Option<String>,
    /// Snapshot sha256.
    pub snapshot_sha256: Option<String>,
    /// Error, if the cycle failed.
    pub error: Option<String>,
}

/// Inserts a cycle row and returns its id.
pub fn insert_cycle(conn: &mut SqliteConnection, row: &NewCycle<'_>) -> Result<i32, StoreError> {
    Ok(diesel::insert_into(cycles::table)
        .values(row)
        .returning(cycles::id)
        .get_result(conn)?)
}

/// Writes a cycle's final figures.
pub fn finish_cycle(
    conn: &mut SqliteConnection,
    id: i32,
    f: &CycleFinish,
) -> Result<(), StoreError> {
    diesel::update(cycles::table.find(id))
        .set(f)
        .execute(conn)?;
    Ok(())
}

/// Marks cycles left `running` by a crash as `aborted`; returns how many.
pub fn abort_running_cycles(conn: &mut SqliteConnection) -> Result<usize, StoreError> {
    Ok(
        diesel::update(cycles::table.filter(cycles::status.eq("running")))
            .set((
                cycles::status.eq("aborted"),
                cycles::error.eq("process ended mid-cycle; reconciled at restart"),
            ))
            .execute(conn)?,
    )
}

/// The market time of the last cycle that started, if any.
pub fn last_market_ts(conn: &mut SqliteConnection) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(cycles::table
        .select(diesel::dsl::max(cycles::market_ts))
        .first::<Option<NaiveDateTime>>(conn)?)
}

/// A `signals` row: one per agent per cycle.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = signals)]
pub struct NewSignal {
    /// Cycle.
    pub cycle_id: i32,
    /// Instance.
    pub instance_id: String,
    /// Template.
    pub template: String,
    /// Provider name.
    pub provider: String,
    /// ok, abstain, timeout, error.
    pub status: String,
    /// Target underlying.
    pub target: Option<String>,
    /// Structure name.
    pub signal: Option<String>,
    /// Confidence.
    pub confidence: Option<f64>,
    /// Abstention code.
    pub reason: Option<String>,
    /// Abstention detail.
    pub detail: Option<String>,
    /// Raw answer text.
    pub raw: Option<String>,
    /// The validated signal as JSON.
    pub signal_json: Option<String>,
    /// sha256 of the rendered prompt.
    pub prompt_sha256: Option<String>,
    /// Agent latency.
    pub latency_ms: f64,
    /// Wall clock.
    pub created_at: NaiveDateTime,
}

/// An `orders` row as proposed.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder {
    /// Unique client order id.
    pub client_order_id: String,
    /// Cycle.
    pub cycle_id: Option<i32>,
    /// Instance (or `commander`, `watchdog`).
    pub instance_id: String,
    /// Underlying.
    pub underlying: String,
    /// Structure name.
    pub strategy: String,
    /// Intent name.
    pub intent: String,
    /// The position it opens or closes.
    pub position_id: Option<String>,
    /// Legs as JSON.
    pub legs_json: String,
    /// Combo quantity.
    pub quantity: i32,
    /// Net limit price per share (credit positive).
    pub limit_price: String,
    /// Max risk in dollars.
    pub max_risk: String,
    /// Capital in dollars.
    pub capital_required: String,
    /// Order status.
    pub status: String,
    /// Denial code.
    pub deny_code: Option<String>,
    /// Denial reason with context.
    pub deny_reason: Option<String>,
    /// Why the commander proposed it.
    pub reasoning: Option<String>,
    /// Market time of the proposal.
    pub market_ts: NaiveDateTime,
    /// Wall clock.
    pub created_at: NaiveDateTime,
    /// Wall clock.
    pub updated_at: NaiveDateTime,
}

/// An `order_events` row: one status change of an order.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = order_events)]
pub struct NewOrderEvent<'a> {
    /// The order.
    pub client_order_id: &'a str,
    /// Status before (none for an order's first record at the venue).
    pub from_status: Option<&'a str>,
    /// Status after.
    pub to_status: &'a str,
    /// What happened: an [`crate::orders::OrderEvent`] name, or `VENUE` for an order the venue
    /// itself originated.
    pub event: &'a str,
    /// Why, when known (a denial, a rejection, a cancel).
    pub reason: Option<&'a str>,
    /// Wall clock.
    pub created_at: NaiveDateTime,
}

/// The stable name of an order event in `order_events.event`.
pub fn order_event_name(event: crate::orders::OrderEvent) -> &'static str {
    use crate::orders::OrderEvent as E;
    match event {
        E::Deny => "DENY",
        E::Approve => "APPROVE",
        E::Submit => "SUBMIT",
        E::Fill => "FILL",
        E::Reject => "REJECT",
        E::Cancel => "CANCEL",
    }
}

/// Inserts an order row and its first `order_events` row: a proposal the gate decided
/// (`PROPOSED` → `APPROVED`/`DENIED`, with the denial as the reason) or an order the venue
/// originated (→ its status, event `VENUE`).
pub fn insert_order(conn: &mut SqliteConnection, row: &NewOrder) -> Result<(), StoreError> {
    diesel::insert_into(orders::table)
        .values(row)
        .execute(conn)?;
    let (from, event) = match row.status.as_str() {
        "APPROVED" => (Some("PROPOSED"), "APPROVE"),
        "DENIED" => (Some("PROPOSED"), "DENY"),
        _ => (None, "VENUE"),
    };
    diesel::insert_into(order_events::table)
        .values(NewOrderEvent {
            client_order_id: &row.client_order_id,
            from_status: from,
            to_status: &row.status,
            event,
            reason: row
                .deny_reason
                .as_deref()
                .or(row.reasoning.as_deref().filter(|_| from.is_none())),
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// Moves an order through the one transition table (`OrderStatus::apply`) and returns its
/// new status; an event the current status does not accept is an error and changes nothing.
pub fn transition_order(
    conn: &mut SqliteConnection,
    coid: &str,
    event: crate::orders::OrderEvent,
) -> Result<crate::orders::OrderStatus, StoreError> {
    transition_order_because(conn, coid, event, None)
}

/// [`transition_order`], recording why in `order_events.reason`.
pub fn transition_order_because(
    conn: &mut SqliteConnection,
    coid: &str,
    event: crate::orders::OrderEvent,
    reason: Option<&str>,
) -> Result<crate::orders::OrderStatus, StoreError> {
    let current: String = orders::table
        .filter(orders::client_order_id.eq(coid))
        .select(orders::status)
        .first(conn)?;
    let from = crate::orders::OrderStatus::parse(&current)
        .ok_or_else(|| StoreError::Corrupt(format!("order {coid} has status {current:?}")))?;
    let to = from
        .apply(event)
        .map_err(|e| StoreError::Transition(format!("order {coid}: {e}")))?;
    diesel::update(orders::table.filter(orders::client_order_id.eq(coid)))
        .set((orders::status.eq(to.as_str()), orders::updated_at.eq(now())))
        .execute(conn)?;
    diesel::insert_into(order_events::table)
        .values(NewOrderEvent {
            client_order_id: coid,
            from_status: Some(from.as_str()),
            to_status: to.as_str(),
            event: order_event_name(event),
            reason,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(to)
}

/// True when an order with this client order id exists.
pub fn order_exists(conn: &mut SqliteConnection, coid: &str) -> Result<bool, StoreError> {
    use diesel::dsl::{exists, select};
    Ok(select(exists(
        orders::table.filter(orders::client_order_id.eq(coid)),
    ))
    .get_result(conn)?)
}

/// Client order ids of orders in the given statuses.
pub fn orders_in_status(
    conn: &mut SqliteConnection,
    statuses: &[&str],
) -> Result<Vec<String>, StoreError> {
    Ok(orders::table
        .filter(orders::status.eq_any(statuses))
        .select(orders::client_order_id)
        .load(conn)?)
}

/// A `fills` row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = fills)]
pub struct NewFill {
    /// Order.
    pub client_order_id: String,
    /// Cycle.
    pub cycle_id: Option<i32>,
    /// Leg index within the combo.
    pub leg_index: i32,
    /// Contract key.
    pub contract: String,
    /// BUY or SELL.
    pub action: String,
    /// Contracts.
    pub quantity: i32,
    /// Per-share price.
    pub price: String,
    /// Commission for this leg.
    pub commission: String,
    /// Cash moved by this leg (premium and commission).
    pub cash_delta: String,
    /// Market time.
    pub market_ts: NaiveDateTime,
    /// Wall clock.
    pub created_at: NaiveDateTime,
}

/// A `positions` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = positions)]
pub struct PositionRow {
    /// Position id (the opening order's client order id).
    pub position_id: String,
    /// Instance that opened it.
    pub instance_id: String,
    /// Underlying.
    pub underlying: String,
    /// Structure name.
    pub strategy: String,
    /// Expiry.
    pub expiry: NaiveDate,
    /// Legs as JSON (one combo unit).
    pub legs_json: String,
    /// Combo quantity (0 once closed).
    pub quantity: i32,
    /// Net entry price per share (credit positive).
    pub entry_price: String,
    /// Max loss in dollars for the whole position.
    pub max_risk: String,
    /// Max profit in dollars for the whole position.
    pub max_profit: String,
    /// Last net mark per share to close (credit positive = what it would cost to buy back).
    pub mark: String,
    /// Unrealized P&L in dollars.
    pub unrealized_pnl: String,
    /// Realized P&L in dollars.
    pub realized_pnl: String,
    /// Market time opened.
    pub opened_at: NaiveDateTime,
    /// Market time closed.
    pub closed_at: Option<NaiveDateTime>,
    /// Intent of the close.
    pub close_intent: Option<String>,
    /// Wall clock.
    pub updated_at: NaiveDateTime,
    /// Per-leg quotes at the last mark (`pricing::LegQuote` JSON), when known.
    pub leg_marks_json: Option<String>,
    /// Market time of `leg_marks_json`.
    pub marked_at: Option<NaiveDateTime>,
}

/// Open positions (quantity > 0), oldest first.
pub fn open_positions(conn: &mut SqliteConnection) -> Result<Vec<PositionRow>, StoreError> {
    Ok(positions::table
        .filter(positions::quantity.gt(0))
        .order(positions::id.asc())
        .select(PositionRow::as_select())
        .load(conn)?)
}

/// An `account_snapshots` row.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = account_snapshots)]
pub struct AccountSnapshotRow {
    /// Cycle.
    pub cycle_id: Option<i32>,
    /// Market time.
    pub market_ts: NaiveDateTime,
    /// Trading day.
    pub trading_day: NaiveDate,
    /// Cash.
    pub cash: String,
    /// Marked value of positions.
    pub positions_value: String,
    /// Equity.
    pub equity: String,
    /// Equity at the day's first snapshot.
    pub day_start_equity: String,
    /// Equity minus day start equity.
    pub day_pnl: String,
    /// The day's high-water mark of equity.
    pub high_water_mark: String,
    /// Open positions.
    pub open_positions: i32,
    /// Wall clock.
    pub created_at: NaiveDateTime,
}

/// The first and the highest equity recorded on a trading day.
pub fn day_equity_marks(
    conn: &mut SqliteConnection,
    day: NaiveDate,
) -> Result<Option<(Decimal, Decimal)>, StoreError> {
    let rows: Vec<(String, String)> = account_snapshots::table
        .filter(account_snapshots::trading_day.eq(day))
        .order(account_snapshots::id.asc())
        .select((
            account_snapshots::day_start_equity,
            account_snapshots::high_water_mark,
        ))
        .load(conn)?;
    match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => Ok(Some((dec(&first.0)?, dec(&last.1)?))),
        _ => Ok(None),
    }
}

/// The equity of the last account snapshot before `day`: the previous session's close.
pub fn previous_close_equity(
    conn: &mut SqliteConnection,
    day: NaiveDate,
) -> Result<Option<Decimal>, StoreError> {
    let row: Option<String> = account_snapshots::table
        .filter(account_snapshots::trading_day.lt(day))
        .order(account_snapshots::id.desc())
        .select(account_snapshots::equity)
        .first(conn)
        .optional()?;
    row.map(|e| dec(&e)).transpose()
}

/// A `safety_events` row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = safety_events)]
pub struct NewSafetyEvent {
    /// Cycle, when inside one.
    pub cycle_id: Option<i32>,
    /// ORDER_REJECTED, CIRCUIT_BREAKER, WATCHDOG_ALERT, ACTOR_RESTART, TRADING_STATE_CHANGED, KILL_SWITCH, …
    pub event_type: String,
    /// info, warning, critical.
    pub severity: String,
    /// The actor concerned.
    pub actor: Option<String>,
    /// key=value detail.
    pub detail: String,
    /// Wall clock.
    pub created_at: NaiveDateTime,
}

impl NewSafetyEvent {
    /// A new event stamped now.
    pub fn new(
        event_type: &str,
        severity: &str,
        actor: Option<&str>,
        detail: impl Into<String>,
    ) -> Self {
        NewSafetyEvent {
            cycle_id: None,
            event_type: event_type.to_string(),
            severity: severity.to_string(),
            actor: actor.map(str::to_string),
            detail: detail.into(),
            created_at: now(),
        }
    }
}

/// Inserts a safety event.
pub fn insert_safety_event(
    conn: &mut SqliteConnection,
    ev: &NewSafetyEvent,
) -> Result<(), StoreError> {
    diesel::insert_into(safety_events::table)
        .values(ev)
        .execute(conn)?;
    Ok(())
}

/// Reads a runtime_state value.
pub fn get_state(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(runtime_state::table
        .find(key)
        .select(runtime_state::value)
        .first(conn)
        .optional()?)
}

/// Writes a runtime_state value.
pub fn set_state(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<(), StoreError> {
    diesel::replace_into(runtime_state::table)
        .values((
            runtime_state::key.eq(key),
            runtime_state::value.eq(value),
            runtime_state::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// An `llm_calls` row: one per HTTP attempt.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = llm_calls)]
pub struct NewLlmCall {
    /// Cycle.
    pub cycle_id: Option<i32>,
    /// The instance whose prompt it was.
    pub instance_id: Option<String>,
    /// Provider config name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// sha256 of (provider, model, system, prompt).
    pub request_sha256: String,
    /// Attempt latency.
    pub latency_ms: f64,
    /// Prompt tokens.
    pub input_tokens: i32,
    /// Completion tokens.
    pub output_tokens: i32,
    /// Dollar cost.
    pub cost: String,
    /// Outcome.
    pub status: String,
    /// Error text (never contains the API key).
    pub error: Option<String>,
    /// Served from the cache (no HTTP call).
    pub cached: bool,
    /// Wall clock.
    pub created_at: NaiveDateTime,
}

/// A cached answer: text and token counts.
pub fn cached_answer(
    conn: &mut SqliteConnection,
    sha: &str,
) -> Result<Option<(String, i32, i32)>, StoreError> {
    Ok(llm_cache::table
        .find(sha)
        .select((
            llm_cache::response_text,
            llm_cache::input_tokens,
            llm_cache::output_tokens,
        ))
        .first(conn)
        .optional()?)
}

/// Stores an answer under its request hash (first answer wins).
pub fn cache_answer(
    conn: &mut SqliteConnection,
    sha: &str,
    provider: &str,
    model: &str,
    text: &str,
    tokens: (i32, i32),
) -> Result<(), StoreError> {
    diesel::insert_or_ignore_into(llm_cache::table)
        .values((
            llm_cache::request_sha256.eq(sha),
            llm_cache::provider.eq(provider),
            llm_cache::model.eq(model),
            llm_cache::response_text.eq(text),
            llm_cache::input_tokens.eq(tokens.0),
            llm_cache::output_tokens.eq(tokens.1),
            llm_cache::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// `llm_cache` rows older than this many days are pruned at start.
pub const LLM_CACHE_MAX_AGE_DAYS: i64 = 30;

/// Most `llm_cache` rows kept at start (the newest).
pub const LLM_CACHE_MAX_ROWS: i64 = 10_000;

/// Prunes `llm_cache`: rows created before `now - max_age_days`, then all but the newest
/// `max_rows`. Returns the rows deleted.
pub fn prune_llm_cache(
    conn: &mut SqliteConnection,
    now: NaiveDateTime,
    max_age_days: i64,
    max_rows: i64,
) -> Result<usize, StoreError> {
    let cutoff = now - chrono::Duration::days(max_age_days);
    let old =
        diesel::delete(llm_cache::table.filter(llm_cache::created_at.lt(cutoff))).execute(conn)?;
    let keep: Vec<String> = llm_cache::table
        .order((
            llm_cache::created_at.desc(),
            llm_cache::request_sha256.desc(),
        ))
        .limit(max_rows.max(0))
        .select(llm_cache::request_sha256)
        .load(conn)?;
    let extra = diesel::delete(llm_cache::table.filter(llm_cache::request_sha256.ne_all(keep)))
        .execute(conn)?;
    Ok(old + extra)
}

/// Longest answer text kept in `signals.raw` and `llm_cache` (64 KiB); the cycle's snapshot
/// keeps the whole answer (up to the provider's `max_response_bytes`).
pub const MAX_STORED_RAW_BYTES: usize = 64 * 1024;

/// `raw` as stored in `signals.raw`: unchanged up to [`MAX_STORED_RAW_BYTES`], else its
/// first bytes (cut on a character boundary) and a marker with the whole text's length and
/// sha256, so the row stays small and still identifies the answer.
pub fn stored_raw(raw: &str) -> String {
    if raw.len() <= MAX_STORED_RAW_BYTES {
        return raw.to_string();
    }
    let mut cut = MAX_STORED_RAW_BYTES;
    while !raw.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n[truncated: {} bytes in all, sha256 {}]",
        &raw[..cut],
        raw.len(),
        super::snapshots::sha256_hex(raw.as_bytes())
    )
}

/// The sha256 a [`stored_raw`] marker names, when `stored` is a cut copy.
pub fn cut_raw_sha256(stored: &str) -> Option<&str> {
    let (_, marker) = stored.rsplit_once("\n[truncated: ")?;
    let sha = marker.strip_suffix(']')?.rsplit_once(", sha256 ")?.1;
    (sha.len() == 64).then_some(sha)
}

#[cfg(test)]
mod raw_tests {
    use super::*;

    #[test]
    fn item9_the_llm_cache_is_pruned_by_age_and_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::store::Store::open(dir.path()).expect("store");
        let n = store
            .call_blocking(|c| {
                let t0 = now();
                for i in 0..6i64 {
                    diesel::insert_into(llm_cache::table)
                        .values((
                            llm_cache::request_sha256.eq(format!("sha{i}")),
                            llm_cache::provider.eq("p"),
                            llm_cache::model.eq("m"),
                            llm_cache::response_text.eq("{}"),
                            llm_cache::input_tokens.eq(1),
                            llm_cache::output_tokens.eq(1),
                            // sha0 is 40 days old, the others 0..=4 minutes.
                            llm_cache::created_at.eq(if i == 0 {
                                t0 - chrono::Duration::days(40)
                            } else {
                                t0 - chrono::Duration::minutes(i)
                            }),
                        ))
                        .execute(c)?;
                }
                let n = prune_llm_cache(c, t0, 30, 3)?;
                let left: Vec<String> = llm_cache::table
                    .order(llm_cache::request_sha256.asc())
                    .select(llm_cache::request_sha256)
                    .load(c)?;
                assert_eq!(left, ["sha1", "sha2", "sha3"]);
                Ok(n)
            })
            .expect("prune");
        assert_eq!(n, 3);
    }

    #[test]
    fn item9_stored_raw_text_is_capped_with_the_whole_sha256() {
        assert_eq!(stored_raw("{\"a\":1}"), "{\"a\":1}");
        let big = "é".repeat(3 * 1024 * 1024); // 6 MiB
        let kept = stored_raw(&big);
        assert_eq!(
            cut_raw_sha256(&kept),
            Some(crate::store::snapshots::sha256_hex(big.as_bytes()).as_str())
        );
        assert_eq!(cut_raw_sha256("{}"), None);
        assert!(kept.len() < MAX_STORED_RAW_BYTES + 200, "{}", kept.len());
        assert!(kept.starts_with("éé"));
        assert!(kept.ends_with(&format!(
            "[truncated: {} bytes in all, sha256 {}]",
            big.len(),
            crate::store::snapshots::sha256_hex(big.as_bytes())
        )));
    }
}
