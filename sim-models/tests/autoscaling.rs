//! Autoscaling end to end, through scenario files: a 10× flash crowd is
//! absorbed by the Kubernetes HPA within the time its own rules imply.

use sim_models::{FleetReport, Format};

/// One region, one group of 4 instances × 4 workers (40 requests/s each at
/// a mean demand of 100 ms), 64 requests/s (40 % busy), then ×10 from 300 s
/// to 1500 s. The HPA (legacy path: no `behavior`) targets 60 % CPU.
const SCENARIO: &str = r#"
name = "hpa-flash-crowd"
[run]
duration = "2400s"
series_interval = "5s"
slo = { latency = "1s", target = 0.99 }
[[instance_types]]
name = "small"
workers = 4
queue_capacity = 20
[[regions]]
name = "r"
zones = ["a", "b"]
[regions.balancer]
algorithm = "least_outstanding"
health_check = { interval = "5s", timeout = "1s", unhealthy_threshold = 2, healthy_threshold = 2 }
[[regions.groups]]
name = "web"
instance_type = "small"
instances = 4
boot = { type = "constant", value = "60s" }
[regions.groups.autoscaling]
min = 2
max = 60
policy = { type = "hpa", metrics = [{ type = "cpu", target_utilization = 60 }] }
[[populations]]
name = "users"
region = "r"
rate = { profile = "constant", per_second = 64 }
spikes = [{ start = "300s", duration = "1200s", multiplier = 10 }]
demand = { type = "exponential", mean = "100ms" }
[populations.client]
timeout = "5s"
"#;

const SPIKE_START: f64 = 300.0;
const SPIKE_END: f64 = 1500.0;

fn run(text: &str, seed: u64) -> FleetReport {
    let scenario =
        sim_models::load_fleet_scenario(text, Format::Toml, &[], &|_| Err("no files".into()))
            .expect("the test scenario is valid");
    sim_models::run_fleet(&scenario, seed, "test", &mut |_| {})
}

/// The HPA's rules give the bound (policy-semantics.md 1.1, 1.2, 1.4):
/// - a sync sees CPU averaged over `[t − lag − window, t − lag)`, every
///   `sync` seconds, so the first sync that sees only spike traffic comes
///   at most `lag + window + sync` after it starts;
/// - it multiplies the *ready* pods by `utilization / target` (CPU
///   utilization truncated to a whole percent, at most 100 %), capped at
///   `max(2 × current, 4)` per sync on the legacy path; pods still booting
///   are unready and re-enter at 0 %, which holds further scale-ups until
///   they are ready, so capacity grows in *generations*;
/// - a generation takes at most boot + one health-check interval (a new
///   target needs one pass) + the CPU readiness warm-up + lag + window +
///   sync before the next decision can see the new pods.
///
/// Absorbed = enough instances that utilization is within the tolerance of
/// the target, serving, with p99 under the SLO and no errors.
#[test]
fn a_10x_flash_crowd_is_absorbed_within_the_hpa_rules_bound() {
    let (workers, demand, base_rate, multiplier) = (4.0, 0.1, 64.0, 10.0);
    let (target, tolerance, start) = (0.60_f64, 0.1, 4u32);
    let (sync, lag, window, boot, check, warmup) = (15.0, 15.0, 15.0, 60.0, 5.0, 15.0);
    let busy_workers = base_rate * multiplier * demand; // 64
    let needed = (busy_workers / (workers * target * (1.0 + tolerance))).ceil() as u32;
    // Generations of the HPA's arithmetic from 4 instances.
    let mut n = start;
    let mut generations = 0;
    while n < needed {
        let util = (busy_workers / (f64::from(n) * workers)).min(1.0);
        let percent = (util * 100.0).floor();
        let proposal = (f64::from(n) * percent / (target * 100.0)).ceil() as u32;
        n = proposal.min((2 * n).max(4));
        generations += 1;
    }
    assert_eq!((needed, generations), (25, 4), "the scenario's arithmetic");
    let detect = lag + window + sync;
    let generation = boot + check + warmup + lag + window + sync;
    let last_boot = boot + check;
    let slack = 2.0 * 5.0; // two series buckets
    let bound = detect + f64::from(generations - 1) * generation + last_boot + slack;
    // Pods must boot once per generation: nothing can be faster.
    let floor = f64::from(generations) * boot;

    for seed in [1, 2] {
        let r = run(SCENARIO, seed);
        assert!(r.conservation.holds);
        let points = &r.series.global;
        let during: Vec<_> = points
            .iter()
            .filter(|p| p.t_s >= SPIKE_START && p.t_s + 5.0 <= SPIKE_END)
            .collect();
        let absorbed_at = (0..during.len())
            .find(|&i| {
                during[i].instances >= needed
                    && during[i..]
                        .iter()
                        .all(|p| p.errors == 0 && p.p99_s.is_some_and(|q| q < 1.0))
            })
            .map(|i| during[i].t_s - SPIKE_START)
            .unwrap_or_else(|| panic!("seed {seed}: never absorbed"));
        assert!(
            absorbed_at <= bound,
            "seed {seed}: absorbed {absorbed_at} s after the spike, the rules allow {bound} s"
        );
        assert!(
            absorbed_at >= floor,
            "seed {seed}: absorbed after {absorbed_at} s, faster than {generations} boots ({floor} s)"
        );
        // It really scaled in generations, logged with what it saw.
        let outs: Vec<_> = r
            .autoscaling
            .decisions
            .iter()
            .filter(|d| d.action == "scale_out")
            .collect();
        assert!(outs.len() >= generations as usize, "{outs:#?}");
        assert!(
            outs[0].observed.keys().any(|k| k.contains("cpu")),
            "{:?}",
            outs[0]
        );
        // After the spike it scales back in, no faster than the 5-minute
        // stabilization window allows.
        let first_in = r
            .autoscaling
            .decisions
            .iter()
            .find(|d| d.action == "scale_in" && d.time_s > SPIKE_END)
            .expect("scales in after the spike");
        assert!(first_in.time_s >= SPIKE_END + 300.0 - sync, "{first_in:?}");
    }
}

/// Every bundled policy file loads into `compare-policies.toml`, runs with
/// conservation, and reports the policies it names.
#[test]
fn every_bundled_policy_runs_on_the_compare_scenario() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let text = std::fs::read_to_string(format!("{root}/compare-policies.toml")).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(format!("{root}/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let expected = [
        ("hpa-default", "hpa"),
        ("hpa-fast-scale-up", "hpa"),
        ("predictive", "target_tracking+predictive"),
        ("queue-keda", "keda"),
        ("scheduled", "target_tracking+scheduled"),
        ("step-scaling-seed003", "rules"),
        ("target-tracking-cpu70", "target_tracking"),
    ];
    assert_eq!(files.len(), expected.len(), "{files:?}");
    let overrides = [
        sim_models::Override::new("run.duration", "20min"),
        sim_models::Override::new("run.warmup", "1min"),
    ];
    let mut hashes = Vec::new();
    for (path, (name, kinds)) in files.iter().zip(expected) {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let policy = sim_models::PolicyFile::parse(&std::fs::read_to_string(path).unwrap(), stem)
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(policy.name, name);
        assert!(!policy.description.is_empty(), "{name}");
        let scenario = sim_models::load_fleet_scenario_with_policy(
            &text,
            Format::Toml,
            Some(&policy),
            &overrides,
            &|_| Err("no files".into()),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        hashes.push(scenario.hash.clone());
        let r = sim_models::run_fleet(&scenario, 1, "test", &mut |_| {});
        assert!(r.conservation.holds, "{name}");
        let a = r.regions[0].groups[0].autoscaling.as_ref().unwrap();
        assert_eq!(a.policies.join("+"), kinds, "{name}");
    }
    hashes.sort();
    hashes.dedup();
    assert_eq!(
        hashes.len(),
        expected.len(),
        "each policy changes the scenario hash"
    );
}

/// A bad value in a policy file is reported with the group's path and the
/// policy file's name.
#[test]
fn policy_file_problems_name_the_file() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/compare-policies.toml"
    ))
    .unwrap();
    let policy = sim_models::PolicyFile::parse(
        "[autoscaling]\nmin = 2\nmax = 40\npolicy = { type = \"hpa\", sync_period = \"0s\" }\n",
        "broken",
    )
    .unwrap();
    let e = sim_models::load_fleet_scenario_with_policy(
        &text,
        Format::Toml,
        Some(&policy),
        &[],
        &|_| Err("no files".into()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("regions[0].groups[0].autoscaling.policy.sync_period"),
        "{e}"
    );
    assert!(e.contains("(from policy file broken)"), "{e}");
}
