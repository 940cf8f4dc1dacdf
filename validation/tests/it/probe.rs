use validation::balancing::*;
use validation::stats;

/// Pilot: sd of replication means, scaled to a variance constant per
/// server-second of measured time, for every row.
#[test]
#[ignore]
fn pilot_variance() {
    let reps: usize = std::env::var("PILOT_REPS").map_or(8, |s| s.parse().unwrap());
    let scale: f64 = std::env::var("PILOT_SCALE").map_or(0.1, |s| s.parse().unwrap());
    let mut cases = balancing_cases(false);
    for c in &mut cases {
        c.replications = reps;
        c.measured_s = (c.measured_s * scale).ceil();
    }
    let t = std::time::Instant::now();
    let res = run_balancing(&cases, 99, &|l| eprintln!("{l}"));
    for (c, r) in cases.iter().zip(&res) {
        // hw at this confidence; sd = hw / t.
        let tq = stats::t_quantile((reps - 1) as f64, 1.0 - (1.0 - r.confidence) / 2.0);
        let sd = r.half_width / tq * (reps as f64).sqrt();
        let v = (sd / r.mean).powi(2) * c.measured_s * c.instances as f64;
        println!("{:28} mean {:.5} limit {:.5} gap {:+.3}% hw {:.3}% relvar/server-s {:.3e} util {:.4}", c.name, r.mean, r.limit, 100.0*r.gap, 100.0*r.gap_half_width, v, r.utilisation);
    }
    println!("{}", render_balancing_table(&res));
    eprintln!("wall {:.1}", t.elapsed().as_secs_f64());
}

/// Pilot: transient from empty. Queue length per bucket (averaged over
/// replications) relative to the mean of the last half.
#[test]
#[ignore]
fn pilot_transient() {
    use sim_core::SimDuration;
    use sim_models::fleet::{FleetReportContext, build_fleet_report, simulate_fleet};
    use rayon::prelude::*;
    let reps = 16;
    for (p, n, lam, dur) in [
        (Policy::Random, 1000u32, 0.95, 12000u64),
        (Policy::Random, 1000, 0.9, 4000),
        (Policy::TwoChoices, 1000, 0.95, 2000),
        (Policy::TwoChoices, 100, 0.95, 2000),
        (Policy::TwoChoices, 10, 0.95, 4000),
        (Policy::LeastOutstanding, 100, 0.95, 2000),
        (Policy::LeastOutstanding, 10, 0.95, 4000),
        (Policy::LeastOutstanding, 1000, 0.95, 1000),
    ] {
        let mut c = BalancingCase::new(p, n, lam, reps, 0.0, dur as f64).config();
        c.run.warmup = SimDuration::ZERO;
        c.run.series_interval = SimDuration::from_secs(dur / 60);
        let series: Vec<Vec<f64>> = (0..reps).into_par_iter().map(|r| {
            let (m, end, ev) = simulate_fleet(&c, 1000 + r as u64, &mut |_| {});
            let rep = build_fleet_report(&m, end, ev, 1, &FleetReportContext { scenario_hash: String::new(), reproduce: String::new() });
            rep.series.global.iter().map(|p| p.queue_length).collect()
        }).collect();
        let k = series[0].len();
        let avg: Vec<f64> = (0..k).map(|i| series.iter().map(|s| s[i]).sum::<f64>() / reps as f64).collect();
        let tail = avg[k/2..].iter().sum::<f64>() / (k - k/2) as f64;
        let prof: Vec<String> = avg.iter().step_by(3).map(|x| format!("{:.2}", x / tail)).collect();
        println!("{} N={n} λ={lam} bucket {} s, steady Lq {:.2}: {}", p.name(), dur/60, tail, prof.join(" "));
    }
}
