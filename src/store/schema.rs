//! Diesel table definitions, matching `migrations/`.
#![allow(missing_docs)]

diesel::table! {
    cycles (id) {
        id -> Integer,
        run_id -> Text,
        seq -> Integer,
        market_ts -> Timestamp,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        status -> Text,
        trading_state -> Text,
        signals_ok -> Integer,
        abstentions -> Integer,
        orders_proposed -> Integer,
        orders_approved -> Integer,
        orders_denied -> Integer,
        fills -> Integer,
        cash -> Nullable<Text>,
        equity -> Nullable<Text>,
        snapshot_path -> Nullable<Text>,
        snapshot_sha256 -> Nullable<Text>,
        error -> Nullable<Text>,
        config_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    signals (id) {
        id -> Integer,
        cycle_id -> Integer,
        instance_id -> Text,
        template -> Text,
        provider -> Text,
        status -> Text,
        target -> Nullable<Text>,
        signal -> Nullable<Text>,
        confidence -> Nullable<Double>,
        reason -> Nullable<Text>,
        detail -> Nullable<Text>,
        raw -> Nullable<Text>,
        signal_json -> Nullable<Text>,
        prompt_sha256 -> Nullable<Text>,
        latency_ms -> Double,
        created_at -> Timestamp,
    }
}

diesel::table! {
    llm_calls (id) {
        id -> Integer,
        cycle_id -> Nullable<Integer>,
        instance_id -> Nullable<Text>,
        provider -> Text,
        model -> Text,
        request_sha256 -> Text,
        latency_ms -> Double,
        input_tokens -> Integer,
        output_tokens -> Integer,
        cost -> Text,
        status -> Text,
        error -> Nullable<Text>,
        cached -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> Integer,
        client_order_id -> Text,
        cycle_id -> Nullable<Integer>,
        instance_id -> Text,
        underlying -> Text,
        strategy -> Text,
        intent -> Text,
        position_id -> Nullable<Text>,
        legs_json -> Text,
        quantity -> Integer,
        limit_price -> Text,
        max_risk -> Text,
        capital_required -> Text,
        status -> Text,
        deny_code -> Nullable<Text>,
        deny_reason -> Nullable<Text>,
        reasoning -> Nullable<Text>,
        market_ts -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    fills (id) {
        id -> Integer,
        client_order_id -> Text,
        cycle_id -> Nullable<Integer>,
        leg_index -> Integer,
        contract -> Text,
        action -> Text,
        quantity -> Integer,
        price -> Text,
        commission -> Text,
        cash_delta -> Text,
        market_ts -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    positions (id) {
        id -> Integer,
        position_id -> Text,
        instance_id -> Text,
        underlying -> Text,
        strategy -> Text,
        expiry -> Date,
        legs_json -> Text,
        quantity -> Integer,
        entry_price -> Text,
        max_risk -> Text,
        max_profit -> Text,
        mark -> Text,
        unrealized_pnl -> Text,
        realized_pnl -> Text,
        opened_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        close_intent -> Nullable<Text>,
        updated_at -> Timestamp,
        leg_marks_json -> Nullable<Text>,
        marked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_snapshots (id) {
        id -> Integer,
        cycle_id -> Nullable<Integer>,
        market_ts -> Timestamp,
        trading_day -> Date,
        cash -> Text,
        positions_value -> Text,
        equity -> Text,
        day_start_equity -> Text,
        day_pnl -> Text,
        high_water_mark -> Text,
        open_positions -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    safety_events (id) {
        id -> Integer,
        cycle_id -> Nullable<Integer>,
        event_type -> Text,
        severity -> Text,
        actor -> Nullable<Text>,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    paper_account (id) {
        id -> Integer,
        cash -> Text,
        starting_cash -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    runtime_state (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    llm_cache (request_sha256) {
        request_sha256 -> Text,
        provider -> Text,
        model -> Text,
        response_text -> Text,
        input_tokens -> Integer,
        output_tokens -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    holds (cause) {
        cause -> Text,
        level -> Text,
        since -> Timestamp,
        clears_on -> Text,
        detail -> Text,
        placed_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    order_events (id) {
        id -> Integer,
        client_order_id -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        event -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    holds,
    order_events,
    llm_cache,
    cycles,
    signals,
    llm_calls,
    orders,
    fills,
    positions,
    account_snapshots,
    safety_events,
    paper_account,
    runtime_state,
);
