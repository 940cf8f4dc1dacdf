//! M/M/4 at ρ = 0.9 (λ = 3.6, μ = 1, seed 42) through the real model,
//! `sim_models::network::simulate`: the peer harness's workload
//! (`../shared/bench/peers`), timed by criterion. Throughput counts events
//! (arrivals + departures; no warm-up, so exactly what `simulate` delivers).
//!
//! - `mmc/M/M/4/1 station`: one station, until 1,000,000 customers have
//!   completed service (~2.0 M events, ~5 pending).
//! - `mmc/M/M/4/10000 stations`: 10,000 independent M/M/4 stations, each
//!   with its own source, on one event list (~46,000 pending), until
//!   3,000,000 customers have completed in all (~6.0 M events). The harness
//!   runs this case to 10,000,000; 3,000,000 keeps one sample at 2-4 s on
//!   this machine, and the rate per event is the same (`fleetsim-peer-bench
//!   --stations 10000 --customers 10000000` measures the harness's length).
//!   Per-station quantile histograms are off (`component_histograms =
//!   false`): 20,000 of them would take gigabytes; exact means are kept.
//!
//! For the side-by-side comparison with the peers see `compare-peers.sh`.

use std::time::Duration;

use benches::{MmcParams, SEED, mmc_config};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

fn mmc(c: &mut Criterion) {
    let mut group = c.benchmark_group("mmc");
    // One run is 0.05-3 s: sample it whole, ten times.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let cases = [
        (
            "1 station",
            MmcParams {
                customers: 1_000_000,
                ..MmcParams::default()
            },
        ),
        (
            "10000 stations",
            MmcParams {
                stations: 10_000,
                customers: 3_000_000,
                ..MmcParams::default()
            },
        ),
    ];
    for (name, params) in cases {
        let config = mmc_config(&params);
        // The event count is a deterministic function of (config, seed).
        let (_, _, events) = sim_models::network::simulate(&config, SEED);
        group.throughput(Throughput::Elements(events));
        if params.stations > 1 {
            group.measurement_time(Duration::from_secs(20));
        } else {
            group.measurement_time(Duration::from_secs(3));
        }
        group.bench_with_input(BenchmarkId::new("M/M/4", name), &config, |b, config| {
            b.iter_with_large_drop(|| sim_models::network::simulate(config, SEED))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = mmc
}
criterion_main!(benches);
