//! The peer harness's M/M/c workload run through fleetsim's real model
//! (`sim_models::network::simulate`), printing one JSON line in the format of
//! `../shared/bench/peers` so `report.py` tabulates it next to the peers.
//!
//! usage: fleetsim-peer-bench [--customers N] [--lam L] [--mu M] [--servers C]
//!                            [--stations R] [--seed S]
//!
//! Timing covers `simulate` only (building the model's state, scheduling the
//! first arrivals and the event loop), not argument parsing, building the
//! `NetworkConfig` or reading the results back. Events = arrivals +
//! departures, which is exactly the number of events the engine delivered
//! (there is no warm-up event).

use std::time::Instant;

use benches::{MmcParams, mmc_config, outcome};

/// The value after the last occurrence of `name` (so scripts can append
/// overrides), with `_` digit separators allowed; `default` when absent.
fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().rposition(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("bad value for {name}")),
        None => default,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!(
            "usage: fleetsim-peer-bench [--customers N] [--lam L] [--mu M] [--servers C] \
             [--stations R] [--seed S]"
        );
        return;
    }
    let d = MmcParams::default();
    let p = MmcParams {
        customers: arg(&args, "--customers", d.customers),
        lambda: arg(&args, "--lam", d.lambda),
        mu: arg(&args, "--mu", d.mu),
        servers: arg(&args, "--servers", d.servers),
        stations: arg(&args, "--stations", d.stations),
    };
    let seed: u64 = arg(&args, "--seed", benches::SEED);
    let config = mmc_config(&p);

    let t0 = Instant::now();
    let (net, end, events) = sim_models::network::simulate(&config, seed);
    let wall = t0.elapsed().as_secs_f64();

    let o = outcome(&net, end, events);
    assert_eq!(
        o.events,
        o.arrivals + o.departures,
        "events = arrivals + departures"
    );
    let mut engine = String::from("fleetsim");
    if p.stations > 1 {
        engine.push_str(&format!(" x{} stations", p.stations));
    }
    println!(
        "{{\"engine\": \"{engine}\", \"customers\": {}, \"arrivals\": {}, \"departures\": {}, \
         \"events\": {}, \"wall_s\": {wall:.6}, \"mean_wq\": {:.6}, \"sim_time\": {:.3}, \
         \"params\": {{\"lambda\": {}, \"mu\": {}, \"c\": {}, \"stations\": {}, \"seed\": {seed}, \
         \"n\": {}}}}}",
        o.completed,
        o.arrivals,
        o.departures,
        o.events,
        o.mean_wq,
        o.sim_time,
        p.lambda,
        p.mu,
        p.servers,
        p.stations,
        p.customers,
    );
}
