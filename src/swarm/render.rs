//! Prompt rendering and the market view shared by prompts, the rules baseline and records.
//!
//! [`market_view`] is the single compact description of market data an agent sees; the rules
//! evaluator reads the same data through [`symbol_views`], so an LLM and the baseline decide on
//! identical numbers. Both show the expiries of the instance's [`DteWindow`].

use super::instance::{DteWindow, Instance};
use super::template::Template;
use super::SwarmError;
use crate::domain::Right;
use crate::market::{ExpirySlice, MarketSnapshot, OptionQuote, UnderlyingSnapshot};
use chrono::NaiveDate;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

pub use super::sample::sample_snapshot;

/// Smallest |delta| of the quotes shown.
pub const VIEW_MIN_ABS_DELTA: f64 = 0.05;
/// Largest |delta| of the quotes shown.
pub const VIEW_MAX_ABS_DELTA: f64 = 0.60;

/// A rendered prompt and the hex SHA-256 of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPrompt {
    /// The prompt text sent to the agent.
    pub text: String,
    /// Hex SHA-256 of `text`.
    pub sha256: String,
}

/// One quote of the view (prices, delta and IV rounded to 4 decimals; strike exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteView {
    /// Strike price, as in the chain.
    pub strike: f64,
    /// Call or put ("C"/"P").
    pub right: Right,
    /// Best bid per share.
    pub bid: f64,
    /// Best ask per share.
    pub ask: f64,
    /// Mid price per share.
    pub mid: f64,
    /// Delta (puts negative).
    pub delta: f64,
    /// Implied volatility.
    pub iv: f64,
}

/// One expiry of the view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpiryView {
    /// Expiry date.
    pub expiry: NaiveDate,
    /// Calendar days to expiry.
    pub dte: i64,
    /// Quotes with |delta| in [`VIEW_MIN_ABS_DELTA`, `VIEW_MAX_ABS_DELTA`], by (strike, right).
    pub quotes: Vec<QuoteView>,
}

/// The compact view of one underlying. Non-finite figures are `None` (JSON `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolView {
    /// Symbol.
    pub symbol: String,
    /// Last price.
    pub spot: Option<f64>,
    /// 30-day ATM implied vol.
    pub atm_iv: Option<f64>,
    /// IV rank 0–100.
    pub iv_rank: Option<f64>,
    /// 20-day simple moving average.
    pub sma20: Option<f64>,
    /// 14-day RSI.
    pub rsi14: Option<f64>,
    /// 20-day realized volatility, annualised.
    pub realized_vol: Option<f64>,
    /// Next earnings date, if known.
    pub earnings_date: Option<NaiveDate>,
    /// Dividend yield.
    pub dividend_yield: Option<f64>,
    /// Expiries inside the [`DteWindow`], or if none the single expiry closest to its target.
    pub chain: Vec<ExpiryView>,
}

/// The typed market view of the pool's symbols, keyed by symbol, with the expiries of
/// `window`. Symbols absent from the snapshot are left out.
pub fn symbol_views(
    snapshot: &MarketSnapshot,
    pool: &[String],
    window: DteWindow,
) -> BTreeMap<String, SymbolView> {
    pool.iter()
        .filter_map(|s| snapshot.underlyings.get(s))
        .map(|u| (u.symbol.clone(), symbol_view(u, window)))
        .collect()
}

/// The market view as JSON: `{ "NVDA": { "symbol", "spot", ..., "chain": [...] }, ... }`.
///
/// This is exactly what prompts see as `market_data` (with the instance's window).
pub fn market_view(snapshot: &MarketSnapshot, pool: &[String], window: DteWindow) -> Value {
    // Serialising plain structs with string keys and finite floats cannot fail.
    serde_json::to_value(symbol_views(snapshot, pool, window)).unwrap_or(Value::Null)
}

fn symbol_view(u: &UnderlyingSnapshot, window: DteWindow) -> SymbolView {
    SymbolView {
        symbol: u.symbol.clone(),
        spot: finite(u.spot),
        atm_iv: finite(u.atm_iv),
        iv_rank: finite(u.iv_rank),
        sma20: finite(u.sma20),
        rsi14: finite(u.rsi14),
        realized_vol: finite(u.realized_vol),
        earnings_date: u.earnings_date,
        dividend_yield: finite(u.dividend_yield),
        chain: view_expiries(&u.chain, window)
            .into_iter()
            .map(expiry_view)
            .collect(),
    }
}

/// The expiries in `window`, or the one closest to its target (earlier on a tie).
fn view_expiries(chain: &[ExpirySlice], window: DteWindow) -> Vec<&ExpirySlice> {
    let in_window: Vec<&ExpirySlice> = chain.iter().filter(|s| window.contains(s.dte)).collect();
    if !in_window.is_empty() {
        return in_window;
    }
    let target = window.target();
    chain
        .iter()
        .min_by_key(|s| ((s.dte - target).abs(), s.dte))
        .into_iter()
        .collect()
}

fn expiry_view(slice: &ExpirySlice) -> ExpiryView {
    ExpiryView {
        expiry: slice.expiry,
        dte: slice.dte,
        quotes: slice.quotes.iter().filter_map(quote_view).collect(),
    }
}

/// The quote's view, or `None` when it is outside the delta band or has a non-finite figure.
fn quote_view(q: &OptionQuote) -> Option<QuoteView> {
    let band = VIEW_MIN_ABS_DELTA..=VIEW_MAX_ABS_DELTA;
    if !q.strike.is_finite() || !band.contains(&q.delta.abs()) {
        return None;
    }
    Some(QuoteView {
        strike: q.strike,
        right: q.right,
        bid: finite(q.bid)?,
        ask: finite(q.ask)?,
        mid: finite(q.mid)?,
        delta: finite(q.delta)?,
        iv: finite(q.iv)?,
    })
}

/// Rounds to 4 decimals; `None` when not finite.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then(|| (x * 1e4).round() / 1e4)
}

/// The template compiled once per (name, body) and shared: rendering is on every
/// agent's path every cycle, compiling is not.
fn compiled(template: &Template) -> Result<Arc<Environment<'static>>, minijinja::Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Environment<'static>>>>> = OnceLock::new();
    // Keyed by the body itself (hashed), not by the loader's sha, so a hand-built template
    // never collides with another of the same name.
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        template.body.hash(&mut h);
        format!("{}:{:016x}", template.name, h.finish())
    };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(env) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(env);
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.add_template_owned(template.name.clone(), template.body.clone())?;
    let env = Arc::new(env);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, Arc::clone(&env));
    }
    Ok(env)
}

/// Renders `template` for `instance` over `snapshot`, with undefined variables as errors.
///
/// Context: every instance parameter at top level, plus `instance_id`, `sector`,
/// `market_data` ([`market_view`] of the instance's pool and [`DteWindow`]) and `as_of` (the
/// snapshot time, `YYYY-MM-DDTHH:MM:SS`). The renderer's variables win over parameters of the
/// same name. An instance with an invalid window is a [`SwarmError::Parameter`].
pub fn render(
    template: &Template,
    instance: &Instance,
    snapshot: &MarketSnapshot,
) -> Result<RenderedPrompt, SwarmError> {
    let view = market_view(snapshot, &instance.symbol_pool(), instance.dte_window()?);
    render_with_view(template, instance, snapshot, view)
}

/// Like [`render`], with the instance's [`market_view`] already computed (instances that
/// share a pool and a window share one view).
pub fn render_with_view(
    template: &Template,
    instance: &Instance,
    snapshot: &MarketSnapshot,
    view: Value,
) -> Result<RenderedPrompt, SwarmError> {
    let mut ctx = instance.parameters.clone();
    ctx.insert("instance_id".into(), Value::from(instance.id.clone()));
    ctx.insert("sector".into(), Value::from(instance.sector.clone()));
    ctx.insert("market_data".into(), view);
    ctx.insert(
        "as_of".into(),
        Value::from(snapshot.ts.format("%Y-%m-%dT%H:%M:%S").to_string()),
    );

    let error_with = |message: String, undefined: Vec<String>| SwarmError::Render {
        template: template.name.clone(),
        instance: instance.id.clone(),
        message,
        undefined,
    };
    let error = |message: String| error_with(message, Vec::new());
    let env = compiled(template).map_err(|e| error(e.to_string()))?;
    let tmpl = env
        .get_template(&template.name)
        .map_err(|e| error(e.to_string()))?;
    let text = tmpl.render(&ctx).map_err(|e| {
        let mut message = e.to_string();
        let mut missing: Vec<String> = Vec::new();
        if e.kind() == ErrorKind::UndefinedError {
            missing = tmpl
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !ctx.contains_key(v) && !env.globals().any(|(g, _)| g == v))
                .collect();
            missing.sort();
            if !missing.is_empty() {
                message = format!("undefined variable(s) {}: {message}", missing.join(", "));
            }
        }
        let source_line = e
            .line()
            .and_then(|n| template.body.lines().nth(n.saturating_sub(1)));
        if let Some(line) = source_line {
            message = format!("{message}; source: `{}`", line.trim());
        }
        error_with(message, missing)
    })?;
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    Ok(RenderedPrompt { text, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swarm::instance::{load_instances, validate_instances};
    use crate::swarm::template::load_templates;
    use crate::swarm::test_support::{instance, snapshot, underlying};
    use std::path::Path;

    fn template(body: &str) -> Template {
        Template {
            name: "t".into(),
            evaluator: "vol_sniper".into(),
            description: "d".into(),
            structures: vec![],
            params: vec![],
            body: body.into(),
            sha256: String::new(),
        }
    }

    #[test]
    fn view_keeps_window_and_delta_band() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let view = market_view(
            &snap,
            &["NVDA".into(), "MISSING".into()],
            DteWindow::DEFAULT,
        );
        let nvda = &view["NVDA"];
        assert!(view.get("MISSING").is_none());
        assert_eq!(nvda["symbol"], "NVDA");
        let dtes: Vec<_> = nvda["chain"]
            .as_array()
            .expect("chain")
            .iter()
            .map(|e| e["dte"].as_i64().expect("dte"))
            .collect();
        assert_eq!(dtes, [37]);
        for q in nvda["chain"][0]["quotes"].as_array().expect("quotes") {
            let d = q["delta"].as_f64().expect("delta").abs();
            assert!((0.05..=0.60).contains(&d), "{q}");
            assert!(q.get("strike").is_some() && q.get("mid").is_some());
        }
    }

    #[test]
    fn view_falls_back_to_expiry_nearest_37() {
        let mut u = underlying("NVDA", 100.0);
        u.chain.retain(|s| s.dte != 37);
        let views = symbol_views(&snapshot(vec![u]), &["NVDA".into()], DteWindow::DEFAULT);
        let chain = &views["NVDA"].chain;
        assert_eq!(chain.iter().map(|e| e.dte).collect::<Vec<_>>(), [52]);
    }

    #[test]
    fn view_shows_the_instance_window() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let dtes = |min_dte, max_dte| {
            let window = DteWindow { min_dte, max_dte };
            symbol_views(&snap, &["NVDA".into()], window)["NVDA"]
                .chain
                .iter()
                .map(|e| e.dte)
                .collect::<Vec<_>>()
        };
        assert_eq!(dtes(14, 28), [18]);
        assert_eq!(dtes(7, 60), [18, 37, 52]);
        // Nothing inside 20-30 (target 25): the nearest expiry to 25 is shown.
        assert_eq!(dtes(20, 30), [18]);
        // The prompt of a short-dated instance carries its window's expiries.
        let mut inst = instance("i1", &["NVDA"], 80.0, 0.3);
        inst.parameters.insert("min_dte".into(), 14.into());
        inst.parameters.insert("max_dte".into(), 28.into());
        let out = render(&template("{{ market_data|tojson }}"), &inst, &snap).expect("renders");
        let v: Value = serde_json::from_str(&out.text).expect("JSON");
        assert_eq!(v["NVDA"]["chain"][0]["dte"], 18);
        assert_eq!(v["NVDA"]["chain"].as_array().map(Vec::len), Some(1));
        inst.parameters.insert("max_dte".into(), 99.into());
        let err = render(&template("x"), &inst, &snap).expect_err("bad window");
        assert!(err.to_string().contains("max_dte"), "{err}");
    }

    #[test]
    fn default_filter_fills_omitted_window_parameters() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let mut inst = instance("i1", &["NVDA"], 80.0, 0.3);
        let t = template(
            "{% set min_dte = min_dte|default(30) %}{% set max_dte = max_dte|default(45) %}{{ min_dte }}-{{ max_dte }}:{{ (min_dte + max_dte) // 2 }}",
        );
        assert_eq!(render(&t, &inst, &snap).expect("renders").text, "30-45:37");
        inst.parameters.insert("min_dte".into(), 14.into());
        inst.parameters.insert("max_dte".into(), 28.into());
        assert_eq!(render(&t, &inst, &snap).expect("renders").text, "14-28:21");
    }

    #[test]
    fn renders_parameters_and_market_data() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let inst = instance("i1", &["NVDA", "AMD"], 80.0, 0.3);
        let t = template(
            "{{ instance_id }}/{{ sector }}: {{ symbol_pool|join(', ') }} >= {{ min_iv_rank }} @ {{ as_of }}\n{{ market_data|tojson }}",
        );
        let out = render(&t, &inst, &snap).expect("renders");
        assert!(out
            .text
            .starts_with("i1/technology: NVDA, AMD >= 80.0 @ 2026-03-02T10:00:00\n"));
        let json_line = out.text.lines().nth(1).expect("json line");
        let parsed: Value = serde_json::from_str(json_line).expect("tojson is JSON");
        assert_eq!(
            parsed,
            market_view(&snap, &inst.symbol_pool(), DteWindow::DEFAULT)
        );
        assert_eq!(out.sha256, hex::encode(Sha256::digest(out.text.as_bytes())));
    }

    #[test]
    fn undefined_variable_is_named() {
        let snap = snapshot(vec![underlying("NVDA", 100.0)]);
        let inst = instance("i1", &["NVDA"], 80.0, 0.3);
        let err = render(&template("x {{ not_a_param }} y"), &inst, &snap)
            .expect_err("strict undefined")
            .to_string();
        assert!(err.contains("not_a_param"), "{err}");
        assert!(err.contains("\"i1\""), "{err}");
        let err = render(&template("a\n{{ market_data.NVDA.nope }}"), &inst, &snap)
            .expect_err("undefined attribute")
            .to_string();
        assert!(err.contains("`{{ market_data.NVDA.nope }}`"), "{err}");
    }

    #[test]
    fn renders_real_templates_for_real_instances() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("swarm_intelligence");
        let templates = load_templates(&root.join("templates")).expect("templates");
        let instances = load_instances(&root.join("active_instances")).expect("instances");
        validate_instances(&instances, &templates).expect("valid");
        assert_eq!(instances.len(), 4);
        for inst in &instances {
            let snap = sample_snapshot(&inst.symbol_pool());
            let t = &templates[&inst.template];
            let out = render(t, inst, &snap).expect("renders");
            assert!(out.text.contains(&inst.id), "{}", out.text);
            assert!(out.text.contains(&inst.symbol_pool().join(", ")));
            assert!(!out.text.contains("{{"), "unrendered placeholder");
            for sym in inst.symbol_pool() {
                assert!(out.text.contains(&format!("\"symbol\":\"{sym}\"")));
            }
        }
    }
}
