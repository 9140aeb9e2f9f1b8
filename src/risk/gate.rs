//! The risk engine: every check, in a fixed order, on every order. Only this module can
//! construct an [`ApprovedOrder`], and the broker accepts nothing else.

use super::holds::{self, Hold, HoldCause, HoldEvent, Holds};
use super::{DenyReason, TradingState};
use crate::account::AccountView;
use crate::domain::{Leg, Right, Structure};
use crate::market::MarketSnapshot;
use crate::orders::OrderRequest;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use rust_decimal::prelude::*;
use std::collections::{BTreeSet, VecDeque};

/// Limits in exact decimals, built from `[risk]` and the market's symbols.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskLimits {
    /// Max loss of one order, dollars.
    pub max_risk_per_trade: Decimal,
    /// Max capital of one order, dollars.
    pub max_capital_per_trade: Decimal,
    /// Day loss (positive amount) at which opening stops.
    pub daily_loss_limit: Decimal,
    /// Max fraction of `max_total_exposure` at risk in one underlying.
    pub max_concentration: Decimal,
    /// Max total max-risk of open positions, dollars.
    pub max_total_exposure: Decimal,
    /// Max opening trades a day.
    pub max_daily_trades: u32,
    /// Losses in a row that halt trading.
    pub consecutive_loss_limit: u32,
    /// Min per-share price of any leg of an opening order.
    pub min_option_price: Decimal,
    /// Max strike distance within one right.
    pub max_spread_width: Decimal,
    /// Max |limit − marketable price| as a fraction of |marketable price| (at least 0.05).
    pub price_collar_pct: Decimal,
    /// The venue's fill model, which gives the marketable price the collar is measured from.
    pub fill: crate::pricing::FillParams,
    /// Max orders in any 60 s of market time.
    pub max_orders_per_minute: u32,
    /// Max combo quantity of one order.
    pub max_quantity: u32,
    /// Tradable underlyings.
    pub symbols: BTreeSet<String>,
}

use crate::money::to_dec;

impl RiskLimits {
    /// Builds limits from the `[risk]` config, the venue's fill model (`[broker]`) and the
    /// market's symbols.
    pub fn from_config(
        risk: &crate::config::RiskConfig,
        broker: &crate::config::BrokerConfig,
        symbols: &[String],
    ) -> RiskLimits {
        RiskLimits {
            fill: crate::pricing::FillParams::from_config(broker),
            max_risk_per_trade: to_dec(risk.max_risk_per_trade),
            max_capital_per_trade: to_dec(risk.max_capital_per_trade),
            daily_loss_limit: to_dec(risk.daily_loss_limit),
            max_concentration: to_dec(risk.max_concentration),
            max_total_exposure: to_dec(risk.max_total_exposure),
            max_daily_trades: risk.max_daily_trades,
            consecutive_loss_limit: risk.consecutive_loss_limit,
            min_option_price: to_dec(risk.min_option_price),
            max_spread_width: to_dec(risk.max_spread_width),
            price_collar_pct: to_dec(risk.price_collar_pct),
            max_orders_per_minute: risk.max_orders_per_minute,
            max_quantity: 1_000,
            symbols: symbols.iter().cloned().collect(),
        }
    }
}

/// The gate's mutable state; rebuilt from the store on start and restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskState {
    /// The holds; the trading state is the strictest.
    pub holds: Holds,
    /// The trading day the counters belong to.
    pub day: Option<NaiveDate>,
    /// Opening trades approved today.
    pub trades_today: u32,
    /// Closed positions in a row with a loss.
    pub loss_streak: u32,
    /// Market times of recent approvals (rate limit).
    pub recent: VecDeque<NaiveDateTime>,
    /// Client order ids decided in this process (the latest
    /// [`crate::bounded_set::SEEN_IDS_CAPACITY`]; older ones are caught by the store's check).
    pub seen_ids: crate::bounded_set::BoundedSet<String>,
}

impl RiskState {
    /// The trading state: the strictest hold's level.
    pub fn trading_state(&self) -> TradingState {
        self.holds.state()
    }

    /// Why (every hold, strictest first; `no holds` when ACTIVE).
    pub fn state_reason(&self) -> String {
        self.holds.reason()
    }
}

/// An order's risk figures, computed by code from its legs and limit price.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRisk {
    /// Max loss of the whole order at expiry, dollars.
    pub max_loss: Decimal,
    /// Max profit of the whole order at expiry, dollars (may be huge for open-ended payoffs).
    pub max_profit: Decimal,
    /// Capital the order ties up, dollars.
    pub capital: Decimal,
    /// Widest strike distance within one right.
    pub width: Decimal,
}

/// Computes an order's risk from legs, net limit price per share (credit positive) and quantity.
pub fn order_risk(
    legs: &[Leg],
    limit_price: Decimal,
    quantity: u32,
) -> Result<OrderRisk, DenyReason> {
    // No naked short options: per right, the long contracts must cover the short ones.
    for right in [Right::Call, Right::Put] {
        let net: i64 = legs
            .iter()
            .filter(|l| l.contract.right == right)
            .map(|l| l.action.sign() * i64::from(l.quantity))
            .sum();
        if net < 0 {
            return Err(DenyReason::UndefinedRisk {
                detail: format!(
                    "{} short {right:?} contract(s) per unit without a covering long",
                    -net
                ),
            });
        }
    }
    let unpriced: Vec<Leg> = legs
        .iter()
        .map(|l| Leg {
            price: 0.0,
            ..l.clone()
        })
        .collect();
    let profile = crate::skills::spreads::payoff_profile(&unpriced).map_err(|e| {
        DenyReason::UndefinedRisk {
            detail: e.to_string(),
        }
    })?;
    if !profile.max_loss.is_finite() {
        return Err(DenyReason::UndefinedRisk {
            detail: "unbounded loss at expiry".into(),
        });
    }
    let intrinsic_loss = to_dec(profile.max_loss).round_dp(2);
    let intrinsic_profit = if profile.max_profit.is_finite() {
        to_dec(profile.max_profit).round_dp(2)
    } else {
        Decimal::from(1_000_000_000u64)
    };
    let premium = limit_price * Decimal::ONE_HUNDRED;
    let per_unit_loss = (intrinsic_loss - premium).max(Decimal::ZERO);
    let per_unit_profit = (intrinsic_profit + premium).max(Decimal::ZERO);
    let qty = Decimal::from(quantity);
    Ok(OrderRisk {
        max_loss: per_unit_loss * qty,
        max_profit: per_unit_profit * qty,
        capital: intrinsic_loss.max(per_unit_loss) * qty,
        width: spread_width(legs),
    })
}

/// The widest strike distance among legs of the same right.
pub fn spread_width(legs: &[Leg]) -> Decimal {
    [Right::Call, Right::Put]
        .into_iter()
        .map(|r| {
            let strikes: Vec<f64> = legs
                .iter()
                .filter(|l| l.contract.right == r)
                .map(|l| l.contract.strike)
                .collect();
            let hi = strikes.iter().cloned().fold(f64::MIN, f64::max);
            let lo = strikes.iter().cloned().fold(f64::MAX, f64::min);
            if strikes.len() >= 2 {
                to_dec(hi - lo)
            } else {
                Decimal::ZERO
            }
        })
        .max()
        .unwrap_or(Decimal::ZERO)
}

/// Net per-share mark of legs (credit positive), or the first leg without a mark.
pub fn net_mark(legs: &[Leg], market: &MarketSnapshot) -> Result<Decimal, String> {
    let mut net = Decimal::ZERO;
    for leg in legs {
        let mark = market
            .mark(&leg.contract)
            .ok_or_else(|| leg.contract.key())?;
        net -= Decimal::from(leg.action.sign()) * to_dec(mark) * Decimal::from(leg.quantity);
    }
    Ok(net)
}

/// An order the risk gate approved. Only this module can make one.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovedOrder {
    order: OrderRequest,
    risk: OrderRisk,
}

impl ApprovedOrder {
    /// The approved order.
    pub fn order(&self) -> &OrderRequest {
        &self.order
    }

    /// Its risk figures as the gate computed them.
    pub fn risk(&self) -> &OrderRisk {
        &self.risk
    }
}

/// The risk engine: limits, state, and the checks.
#[derive(Debug, Clone)]
pub struct RiskEngine {
    limits: RiskLimits,
    state: RiskState,
    events: Vec<HoldEvent>,
    /// The latest market time the engine saw (a hold placed outside an order starts then).
    market_ts: Option<NaiveDateTime>,
}

impl RiskEngine {
    /// An engine with the given limits and (reloaded) state.
    pub fn new(limits: RiskLimits, state: RiskState) -> RiskEngine {
        RiskEngine {
            limits,
            state,
            events: Vec::new(),
            market_ts: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> &RiskState {
        &self.state
    }

    /// The limits.
    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    /// Hold events applied since the last call, to be recorded (by
    /// `store::holds::record`, which applies them to the stored holds too).
    pub fn take_events(&mut self) -> Vec<HoldEvent> {
        std::mem::take(&mut self.events)
    }

    /// Applies a hold event (the one transition, [`holds::apply`]); queues it for recording
    /// when it changed something.
    pub fn hold_event(&mut self, event: HoldEvent) {
        if holds::apply(&mut self.state.holds, &event).changed() {
            self.events.push(event);
        }
    }

    /// Adopts the holds as stored (after recording, and before each check, so the gate
    /// follows every writer).
    pub fn set_holds(&mut self, holds: Holds) {
        self.state.holds = holds;
    }

    /// Places a hold of `cause` starting at the engine's latest market time.
    pub fn place(&mut self, cause: HoldCause, detail: impl Into<String>) {
        let since = self.market_ts.unwrap_or_else(|| {
            self.state
                .day
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or_default()
        });
        self.hold_event(HoldEvent::Place(Hold::new(cause, detail, since)));
    }

    /// Notes the market time (holds placed from now start then).
    pub fn observe(&mut self, ts: NaiveDateTime) {
        if self.market_ts.is_none_or(|t| ts > t) {
            self.market_ts = Some(ts);
        }
    }

    /// Starts a new trading day: counters reset; a REDUCING caused by an earlier day's loss
    /// ends; a loss streak at its limit holds on.
    pub fn roll_day(&mut self, date: NaiveDate) {
        if self.state.day == Some(date) {
            return;
        }
        self.state.day = Some(date);
        self.state.trades_today = 0;
        self.hold_event(HoldEvent::Session { date });
        // A loss streak at the limit outlives the day.
        let limit = self.limits.consecutive_loss_limit;
        if limit > 0 && self.state.loss_streak >= limit {
            let r = DenyReason::ConsecutiveLosses {
                streak: self.state.loss_streak,
                limit,
            };
            self.place(HoldCause::ConsecutiveLosses, r.context());
        }
    }

    /// Records a closed position's realized P&L. A streak at the limit stops new risk:
    /// REDUCING, which (unlike a daily-loss REDUCING) lasts until `reset-breaker`. Not HALTED,
    /// which would also stop the exits that protect the open positions.
    pub fn record_close(&mut self, realized: Decimal) {
        if realized < Decimal::ZERO {
            self.state.loss_streak += 1;
        } else {
            self.state.loss_streak = 0;
        }
        if self.limits.consecutive_loss_limit > 0
            && self.state.loss_streak >= self.limits.consecutive_loss_limit
        {
            let r = DenyReason::ConsecutiveLosses {
                streak: self.state.loss_streak,
                limit: self.limits.consecutive_loss_limit,
            };
            self.place(HoldCause::ConsecutiveLosses, r.context());
        }
    }

    /// Checks an order. `already_recorded` is true when the store holds its client order id.
    pub fn check(
        &mut self,
        order: &OrderRequest,
        account: &AccountView,
        market: &MarketSnapshot,
        already_recorded: bool,
    ) -> Result<ApprovedOrder, DenyReason> {
        self.observe(order.market_ts);
        self.roll_day(order.market_ts.date());
        let verdict = self.evaluate(order, account, market, already_recorded);
        self.state.seen_ids.insert(order.client_order_id.clone());
        if let Ok(approved) = &verdict {
            if !approved.order.intent.reduces_risk() {
                self.state.trades_today += 1;
            }
            self.state.recent.push_back(order.market_ts);
        }
        verdict
    }

    fn evaluate(
        &mut self,
        order: &OrderRequest,
        account: &AccountView,
        market: &MarketSnapshot,
        already_recorded: bool,
    ) -> Result<ApprovedOrder, DenyReason> {
        let l = &self.limits;
        if self.state.trading_state() == TradingState::Halted {
            return Err(DenyReason::TradingHalted {
                reason: self.state.state_reason(),
            });
        }
        if already_recorded || self.state.seen_ids.contains(&order.client_order_id) {
            return Err(DenyReason::DuplicateClientOrderId {
                client_order_id: order.client_order_id.clone(),
            });
        }
        if order.quantity == 0 || order.quantity > l.max_quantity {
            return Err(DenyReason::InvalidQuantity {
                quantity: order.quantity,
                max: l.max_quantity,
            });
        }
        if order.legs.is_empty() {
            return Err(DenyReason::NoLegs);
        }
        if !l.symbols.contains(&order.underlying) {
            return Err(DenyReason::UnknownSymbol {
                symbol: order.underlying.clone(),
            });
        }
        if let Some(leg) = order
            .legs
            .iter()
            .find(|leg| leg.contract.symbol != order.underlying)
        {
            return Err(DenyReason::UnknownSymbol {
                symbol: leg.contract.symbol.clone(),
            });
        }
        let today = order.market_ts.date();
        let opening = !order.intent.reduces_risk();
        if let Some(leg) = order
            .legs
            .iter()
            .find(|leg| leg.contract.expiry < today || (opening && leg.contract.expiry <= today))
        {
            return Err(DenyReason::ExpiryNotInFuture {
                expiry: leg.contract.expiry,
                today,
            });
        }
        if order.legs.iter().any(|leg| {
            leg.quantity == 0 || !leg.contract.strike.is_finite() || leg.contract.strike <= 0.0
        }) {
            return Err(DenyReason::InvalidQuantity {
                quantity: 0,
                max: l.max_quantity,
            });
        }
        if opening {
            if let Some(leg) = order
                .legs
                .iter()
                .find(|l| market.quote(&l.contract).is_none())
            {
                return Err(DenyReason::NoMarketData {
                    contract: leg.contract.key(),
                });
            }
        }
        // The collar is measured from the price the venue would fill at now, so a marketable
        // limit (an exit, which must fill) is never denied by it.
        let marketable =
            crate::pricing::model_net(&order.legs, market, &l.fill).ok_or_else(|| {
                DenyReason::NoMarketData {
                    contract: net_mark(&order.legs, market).err().unwrap_or_default(),
                }
            })?;
        let collar = (marketable.abs() * l.price_collar_pct).max(Decimal::new(5, 2));
        if (order.limit_price - marketable).abs() > collar {
            return Err(DenyReason::PriceCollar {
                limit_price: order.limit_price,
                marketable,
                max_deviation: collar,
            });
        }
        if !opening {
            return self.check_exit(order, account);
        }
        if self.state.trading_state() == TradingState::Reducing {
            return Err(DenyReason::TradingReducing {
                reason: self.state.state_reason(),
            });
        }
        let actual = crate::domain::classify_structure(&order.legs);
        if actual != Some(order.strategy) || order.strategy == Structure::NoTrade {
            return Err(DenyReason::StructureMismatch {
                declared: order.strategy.to_string(),
                actual: actual
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "UNRECOGNISED".into()),
            });
        }
        let risk = order_risk(&order.legs, order.limit_price, order.quantity)?;
        if risk.width > l.max_spread_width {
            return Err(DenyReason::MaxSpreadWidth {
                width: risk.width,
                limit: l.max_spread_width,
            });
        }
        for leg in &order.legs {
            let price = market
                .mark(&leg.contract)
                .map(to_dec)
                .unwrap_or(Decimal::ZERO);
            if price < l.min_option_price {
                return Err(DenyReason::MinOptionPrice {
                    contract: leg.contract.key(),
                    price,
                    limit: l.min_option_price,
                });
            }
        }
        if risk.max_loss > l.max_risk_per_trade {
            return Err(DenyReason::MaxRiskPerTrade {
                max_risk: risk.max_loss,
                limit: l.max_risk_per_trade,
            });
        }
        if risk.capital > l.max_capital_per_trade {
            return Err(DenyReason::MaxCapitalPerTrade {
                capital: risk.capital,
                limit: l.max_capital_per_trade,
            });
        }
        if account.day_pnl <= -l.daily_loss_limit {
            let r = DenyReason::DailyLossLimit {
                day_pnl: account.day_pnl,
                limit: l.daily_loss_limit,
            };
            self.place(HoldCause::DailyLossLimit, r.context());
            return Err(r);
        }
        if l.consecutive_loss_limit > 0 && self.state.loss_streak >= l.consecutive_loss_limit {
            let r = DenyReason::ConsecutiveLosses {
                streak: self.state.loss_streak,
                limit: l.consecutive_loss_limit,
            };
            self.place(HoldCause::ConsecutiveLosses, r.context());
            return Err(r);
        }
        if self.state.trades_today >= l.max_daily_trades {
            return Err(DenyReason::MaxDailyTrades {
                trades: self.state.trades_today,
                limit: l.max_daily_trades,
            });
        }
        let exposure = account.exposure_in(&order.underlying) + risk.max_loss;
        let cap = l.max_total_exposure * l.max_concentration;
        if account.equity <= Decimal::ZERO || exposure > cap {
            return Err(DenyReason::MaxConcentration {
                underlying: order.underlying.clone(),
                exposure,
                cap,
                limit: l.max_concentration,
            });
        }
        let total = account.total_exposure() + risk.max_loss;
        if total > l.max_total_exposure {
            return Err(DenyReason::MaxTotalExposure {
                exposure: total,
                limit: l.max_total_exposure,
            });
        }
        let window_start = order.market_ts - Duration::seconds(60);
        while self
            .state
            .recent
            .front()
            .is_some_and(|t| *t <= window_start)
        {
            self.state.recent.pop_front();
        }
        let count = self.state.recent.len() as u32;
        if count >= l.max_orders_per_minute {
            return Err(DenyReason::OrderRateLimit {
                count,
                limit: l.max_orders_per_minute,
            });
        }
        Ok(ApprovedOrder {
            order: order.clone(),
            risk,
        })
    }

    fn check_exit(
        &self,
        order: &OrderRequest,
        account: &AccountView,
    ) -> Result<ApprovedOrder, DenyReason> {
        let id = order.position_id.clone().unwrap_or_default();
        let unknown = |detail: &str| DenyReason::UnknownPosition {
            position_id: id.clone(),
            detail: detail.into(),
        };
        let pos = account.position(&id).ok_or_else(|| unknown("not open"))?;
        if order.quantity > pos.quantity {
            return Err(unknown(&format!(
                "closes {} of {}",
                order.quantity, pos.quantity
            )));
        }
        let offsets = order.legs.len() == pos.legs.len()
            && order.legs.iter().zip(&pos.legs).all(|(a, b)| {
                a.contract == b.contract
                    && a.quantity == b.quantity
                    && a.action == b.action.opposite()
            });
        if !offsets {
            return Err(unknown("legs do not offset the position"));
        }
        let risk = OrderRisk {
            max_loss: Decimal::ZERO,
            max_profit: Decimal::ZERO,
            capital: Decimal::ZERO,
            width: spread_width(&order.legs),
        };
        Ok(ApprovedOrder {
            order: order.clone(),
            risk,
        })
    }
}
