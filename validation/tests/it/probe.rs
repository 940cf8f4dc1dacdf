use sim_core::SimDuration;
use sim_models::fleet::config::{Algorithm, FleetConfig};
use sim_models::fleet::{FleetReportContext, build_fleet_report, simulate_fleet};

#[test]
#[ignore]
fn probe_speed() {
    for (alg, n, lam, secs) in [
        (Algorithm::Random, 100u32, 0.9, 2000u64),
        (Algorithm::PowerOfChoices { choices: 2 }, 100, 0.9, 2000),
        (Algorithm::LeastOutstanding, 100, 0.9, 2000),
        (Algorithm::LeastOutstanding, 1000, 0.9, 200),
        (Algorithm::PowerOfChoices { choices: 2 }, 1000, 0.9, 200),
    ] {
        let c = FleetConfig::textbook_pool(alg, n, 1, lam * n as f64, 1.0, SimDuration::from_secs(secs), SimDuration::from_secs(secs / 10));
        let t = std::time::Instant::now();
        let (m, end, ev) = simulate_fleet(&c, 1, &mut |_| {});
        let r = build_fleet_report(&m, end, ev, 1, &FleetReportContext { scenario_hash: String::new(), reproduce: String::new() });
        let w = t.elapsed().as_secs_f64();
        println!("{alg:?} n={n} lam={lam}: {} req {ev} events {w:.2}s {:.0} ns/event, {:.0} ns/req; W={:.4} util {:.4} lq {:.4}", r.conservation.created, w*1e9/ev as f64, w*1e9/r.conservation.created as f64, r.global.latency.mean_s, r.regions[0].groups[0].utilization, r.regions[0].groups[0].mean_queue_length);
    }
}
