//! Criterion benchmarks for the hot skills: `greeks` and `implied_vol`.

use std::hint::black_box;

use alphahive::domain::Right;
use alphahive::skills::black_scholes::{greeks, price, BsInput};
use alphahive::skills::implied_vol::implied_vol;
use criterion::{criterion_group, criterion_main, Criterion};

/// A 30-day option on a $100 underlying at 25% vol with strike `strike`.
fn option(strike: f64, right: Right) -> BsInput {
    BsInput {
        spot: 100.0,
        strike,
        rate: 0.05,
        dividend_yield: 0.01,
        vol: 0.25,
        time: 30.0 / 365.0,
        right,
    }
}

fn bench_greeks(c: &mut Criterion) {
    let i = option(105.0, Right::Call);
    c.bench_function("greeks/otm_call_30d", |b| b.iter(|| greeks(black_box(&i))));
}

fn bench_implied_vol(c: &mut Criterion) {
    let cases = [
        ("atm_call", option(100.0, Right::Call)),
        ("otm_put_25d", option(92.0, Right::Put)),
        ("itm_call", option(85.0, Right::Call)),
        ("far_otm_call", option(130.0, Right::Call)),
    ];
    let mut group = c.benchmark_group("implied_vol");
    for (name, i) in cases {
        let p = price(&i);
        group.bench_function(name, |b| {
            b.iter(|| implied_vol(black_box(p), black_box(&i)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_greeks, bench_implied_vol);
criterion_main!(benches);
