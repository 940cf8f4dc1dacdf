//! Load balancing against the supermarket model: the quick table must pass
//! with master seed 1 (random within its interval of 1/(1−λ), two choices
//! within the threshold of T₂, least outstanding below two choices below
//! random), results must not depend on the thread count, and the full table
//! runs on request.

use validation::analytic;
use validation::balancing::*;

fn failures(results: &[BalancingResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| !r.pass)
        .map(|r| format!("{}: {}", r.case, r.note))
        .collect()
}

#[test]
fn quick_balancing_table_passes_with_master_seed_1() {
    let started = std::time::Instant::now();
    let cases = balancing_cases(true);
    let results = run_balancing(&cases, 1, &|line| eprintln!("{line}"));
    let table = render_balancing_table(&results);
    println!("{table}");
    eprintln!(
        "quick balancing table: {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures(&results).is_empty(),
        "{}\n{table}",
        failures(&results).join("\n")
    );
    assert_eq!(results.len(), 6);
    for lambda in QUICK_BALANCING_LOADS {
        let row = |p: Policy| {
            results
                .iter()
                .find(|r| r.policy == p && r.lambda == lambda)
                .expect("every policy at every quick load")
        };
        let (random, p2c, jsq) = (
            row(Policy::Random),
            row(Policy::TwoChoices),
            row(Policy::LeastOutstanding),
        );
        // Random routing: N independent M/M/1 queues, exactly.
        assert!(
            (random.mean - 1.0 / (1.0 - lambda)).abs() <= random.half_width,
            "{random:?}"
        );
        // Two choices: close to the supermarket limit at N = 100.
        assert_eq!(p2c.limit, analytic::supermarket_time(2, lambda));
        assert!(p2c.gap.abs() <= P2C_GAP_LIMIT, "{p2c:?}");
        // Least outstanding < two choices < random, and no dispatcher beats
        // the central queue.
        assert!(jsq.mean < p2c.mean && p2c.mean < random.mean, "{table}");
        assert!(
            jsq.mean + jsq.half_width >= jsq.central_queue_bound,
            "{jsq:?}"
        );
        // The measured load is the offered one.
        for r in [random, p2c, jsq] {
            assert!((r.utilisation - lambda).abs() < 0.01, "{r:?}");
        }
    }
}

#[test]
fn balancing_cases_are_well_formed() {
    let full = balancing_cases(false);
    let quick = balancing_cases(true);
    assert_eq!(full.len(), balancing_comparisons());
    assert_eq!(full.len(), 36);
    assert_eq!(quick.len(), 6);
    for (i, c) in full.iter().enumerate() {
        assert!(
            full[..i].iter().all(|d| d.name != c.name),
            "duplicate {}",
            c.name
        );
        assert!(c.replications >= 10, "{}", c.name);
        assert!(c.warmup_s >= 30.0 && c.measured_s >= 200.0, "{}", c.name);
        assert!(
            c.limit() >= 1.0 && c.central_queue_bound() >= 1.0,
            "{}",
            c.name
        );
        let config = c.config();
        assert_eq!(config.regions[0].groups[0].instances, c.instances);
        assert_eq!(config.instance_types[0].workers, 1);
        assert_eq!(config.run.warmup.as_secs_f64(), c.warmup_s);
    }
    for q in &quick {
        assert_eq!(q.instances, 100);
        let twin = full
            .iter()
            .find(|c| c.name == q.name)
            .expect("quick rows are full rows");
        assert!(q.replications < twin.replications && q.measured_s < twin.measured_s);
        assert_eq!(q.warmup_s, twin.warmup_s);
    }
    // The budgets the docs promise.
    let requests = |cases: &[BalancingCase]| {
        cases
            .iter()
            .map(BalancingCase::expected_requests)
            .sum::<f64>()
    };
    assert!(
        requests(&full) < 2.6e8,
        "full table: {:.3e} requests",
        requests(&full)
    );
    assert!(
        requests(&quick) < 7e6,
        "quick table: {:.3e} requests",
        requests(&quick)
    );
}

#[test]
fn balancing_results_do_not_depend_on_thread_count() {
    let cases: Vec<BalancingCase> = Policy::ALL
        .iter()
        .map(|&p| BalancingCase::new(p, 10, 0.7, 4, 50.0, 300.0))
        .collect();
    let run_with = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
            .install(|| run_balancing(&cases, 5, &|_| {}))
    };
    let default_pool = run_balancing(&cases, 5, &|_| {});
    assert_eq!(run_with(1), default_pool);
    assert_eq!(run_with(3), default_pool);
    assert_ne!(
        run_balancing(&cases, 6, &|_| {})[0].mean,
        default_pool[0].mean
    );
}

/// The full 36-row table (what `fleetsim validate --balancing` runs). Opt in
/// with `FLEETSIM_FULL_VALIDATION=1`; `FLEETSIM_VALIDATION_SEED` picks the
/// master seed (default 1).
#[test]
fn full_balancing_table() {
    if std::env::var("FLEETSIM_FULL_VALIDATION").as_deref() != Ok("1") {
        eprintln!(
            "note: skipping the full balancing table; run it with \
             FLEETSIM_FULL_VALIDATION=1 cargo test -p validation -- --nocapture full_balancing_table"
        );
        return;
    }
    let seed = std::env::var("FLEETSIM_VALIDATION_SEED")
        .map_or(1, |s| s.parse().expect("FLEETSIM_VALIDATION_SEED is a u64"));
    let started = std::time::Instant::now();
    let results = run_balancing(&balancing_cases(false), seed, &|line| eprintln!("{line}"));
    let table = render_balancing_table(&results);
    println!("master seed {seed}\n{table}");
    eprintln!(
        "full balancing table: {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures(&results).is_empty(),
        "{}\n{table}",
        failures(&results).join("\n")
    );
}
