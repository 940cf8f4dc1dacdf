//! Property tests of fleet scenarios through the whole public path:
//! scenario text → parse → lower → run → report.
//!
//! Random small fleets are written out as TOML text (1–3 regions of 1–3
//! zones, 1–2 groups of 0–6 instances, every balancer algorithm and option
//! where it is valid, outages, injected faults of every kind, open- and closed-loop populations, every
//! demand distribution, timeouts, retries, hedges, breakers, bulkheads) and
//! must load and run cleanly: no panic (the test profile keeps debug
//! assertions, so the model's "time never goes backwards" check is on),
//! requests conserved, outcomes adding up in every scope, shares in [0, 1],
//! time series in time order, the same seed giving byte-identical JSON, and
//! the file's JSON form loading to the same scenario hash. A second property
//! applies odd `--set` overrides to such files: they must either be refused
//! with an error or run cleanly (files that load but would need much work
//! are only loaded, not run; see [`estimated_events`] for two kinds of file
//! that pass the loader's work estimate yet run nearly forever).
//!
//! The generator draws every decision from a vector of numbers, 0 meaning
//! the simplest choice; proptest shrinks that vector, so a failure shrinks
//! towards a small scenario, and the failing scenario's text is printed.
//!
//! ```text
//! cargo test -p sim-models --test fleet_props                    # 128 cases per property
//! PROPTEST_CASES=1000 cargo test -p sim-models --test fleet_props # more
//! FLEET_PROPS_VERBOSE=1 cargo test -p sim-models --test fleet_props mutated -- --nocapture
//!                                     # what each override did (refused / loaded)
//! ```

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::Config;
use sim_models::fleet::config::LoadConfig;
use sim_models::fleet::report::ScopeReport;
use sim_models::{FleetReport, FleetScenario, Format, Override, load_fleet_scenario, run_fleet};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 128;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        // Failures are reported with their scenario text; no regression
        // files are written into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

fn no_files(_: &str) -> Result<String, String> {
    Err("no files in these tests".into())
}

// ----- the generator -----------------------------------------------------

/// Draws decisions from a vector of numbers; past its end every draw is 0.
struct Gen<'a> {
    choices: &'a [u32],
    next: usize,
}

impl Gen<'_> {
    /// A number in `0..n`.
    fn pick(&mut self, n: u64) -> u64 {
        let v = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        u64::from(v) % n.max(1)
    }

    /// A number in `lo..=hi`.
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.pick(hi - lo + 1)
    }

    fn flip(&mut self) -> bool {
        self.pick(2) == 1
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.pick(n) == n - 1
    }

    /// A number in `[lo, hi]` on a grid of `steps` steps.
    fn real(&mut self, lo: f64, hi: f64, steps: u64) -> f64 {
        let k = self.pick(steps + 1) as f64;
        let x = lo + (hi - lo) * k / steps as f64;
        // Keep the file readable: round to 6 significant decimals.
        (x * 1e6).round() / 1e6
    }

    /// A time of `ms` milliseconds, in one of the file's spellings.
    fn time_ms(&mut self, ms: u64) -> String {
        match self.pick(4) {
            0 => format!("\"{ms}ms\""),
            1 => float(ms as f64 / 1000.0),
            2 => format!("\"{}s\"", ms as f64 / 1000.0),
            _ => format!("{}", ms as f64 / 1000.0),
        }
    }

    /// A time of `s` whole seconds.
    fn time_s(&mut self, s: u64) -> String {
        match self.pick(4) {
            0 => format!("\"{s}s\""),
            1 => format!("{s}"),
            2 if s.is_multiple_of(60) => format!("\"{}min\"", s / 60),
            2 => format!("\"{}ms\"", s * 1000),
            _ => float(s as f64),
        }
    }
}

/// A TOML float (always with a decimal point or exponent).
fn float(x: f64) -> String {
    format!("{x:?}")
}

/// A distribution with a positive, finite mean of about `ms` milliseconds.
fn distribution(g: &mut Gen, ms: u64) -> String {
    let ms = ms.max(1);
    let mean = g.time_ms(ms);
    match g.pick(13) {
        0 => format!("{{ type = \"constant\", value = {mean} }}"),
        1 => format!("{{ type = \"exponential\", mean = {mean} }}"),
        2 => format!(
            "{{ type = \"exponential\", rate = {} }}",
            // Six decimals: serde_json (without its `float_roundtrip`
            // feature) may read a 17-digit number one ulp off, which would
            // make the JSON form below hash differently.
            float((1e9 / ms as f64).round() / 1e6)
        ),
        3 => {
            let low = g.pick(ms);
            let high = low + 1 + g.pick(2 * ms);
            format!(
                "{{ type = \"uniform\", low = {}, high = {} }}",
                g.time_ms(low),
                g.time_ms(high)
            )
        }
        4 => {
            let sd = 1 + g.pick(ms);
            let mut s = format!(
                "{{ type = \"normal\", mean = {mean}, std_dev = {}",
                g.time_ms(sd)
            );
            if g.flip() {
                let low = g.pick(ms / 2 + 1);
                let _ = write!(s, ", low = {}", g.time_ms(low));
            }
            if g.flip() {
                let high = ms + 1 + g.pick(ms);
                let _ = write!(s, ", high = {}", g.time_ms(high));
            }
            s + " }"
        }
        5 => format!(
            "{{ type = \"lognormal\", mu = {}, sigma = {} }}",
            float(((ms as f64 / 1000.0).ln() * 1e6).round() / 1e6),
            float(g.real(0.1, 1.5, 14))
        ),
        6 => {
            let p99 = (ms as f64 * g.real(1.1, 14.0, 129) * 1e3).round() / 1e3;
            format!(
                "{{ type = \"lognormal\", mean = {mean}, p99 = \"{}ms\" }}",
                p99
            )
        }
        7 => format!(
            "{{ type = \"erlang\", k = {}, mean = {mean} }}",
            g.int(1, 8)
        ),
        8 => format!(
            "{{ type = \"hyperexponential\", mean = {mean}, scv = {} }}",
            float(g.real(1.0, 10.0, 18))
        ),
        9 => format!(
            "{{ type = \"pareto\", shape = {}, scale = {mean} }}",
            float(g.real(1.1, 4.0, 29))
        ),
        10 => {
            let high = ms * g.int(2, 100);
            format!(
                "{{ type = \"bounded_pareto\", shape = {}, low = {mean}, high = {} }}",
                float(g.real(0.5, 3.0, 25)),
                g.time_ms(high)
            )
        }
        11 => format!(
            "{{ type = \"weibull\", shape = {}, scale = {mean} }}",
            float(g.real(0.5, 3.0, 25))
        ),
        _ => {
            let n = g.int(1, 5);
            if g.flip() {
                let samples: Vec<String> = (0..n)
                    .map(|_| {
                        let v = 1 + g.pick(2 * ms);
                        g.time_ms(v)
                    })
                    .collect();
                format!(
                    "{{ type = \"empirical\", samples = [{}] }}",
                    samples.join(", ")
                )
            } else {
                // Non-decreasing values and probabilities, ending at 1.
                let mut v = g.pick(ms);
                let mut points = Vec::new();
                for i in 0..n {
                    v += 1 + g.pick(ms);
                    let p = if i + 1 == n {
                        1.0
                    } else {
                        (i + 1) as f64 / n as f64
                    };
                    points.push(format!("[{}, {}]", g.time_ms(v), float(p)));
                }
                format!("{{ type = \"empirical\", cdf = [{}] }}", points.join(", "))
            }
        }
    }
}

/// A health-check table (every field optional); `default_interval` is the
/// context's default interval in seconds.
fn health_check(g: &mut Gen, default_interval: u64) -> String {
    let mut fields = Vec::new();
    let interval = if g.flip() {
        let i = g.int(1, 30);
        fields.push(format!("interval = {}", g.time_s(i)));
        i * 1000
    } else {
        default_interval * 1000
    };
    if g.flip() {
        let t = g.int(1, interval);
        fields.push(format!("timeout = {}", g.time_ms(t)));
    }
    if g.flip() {
        fields.push(format!("unhealthy_threshold = {}", g.int(1, 5)));
    }
    if g.flip() {
        fields.push(format!("healthy_threshold = {}", g.int(1, 5)));
    }
    format!("{{ {} }}", fields.join(", "))
}

const ALGORITHMS: [&str; 11] = [
    "round_robin",
    "weighted_round_robin",
    "random",
    "least_outstanding",
    "power_of_choices",
    "p2c",
    "least_request",
    "least_latency",
    "ring_hash",
    "maglev",
    "key_hash",
];

const PRIMES: [u64; 11] = [2, 3, 5, 7, 11, 13, 17, 31, 101, 1009, 65_537];

/// An `autoscaling` table for a group of `n` instances: bounds around `n`
/// and one of every policy kind, sometimes with scheduled actions, over the
/// short runs the generator makes (periods of seconds, so they act).
/// Returns the group's `max`.
fn autoscaling(g: &mut Gen, out: &mut String, n: u64) -> u64 {
    let min = g.pick(n + 1);
    let max = n.max(1) + g.int(0, 8);
    let cpu = g.int(20, 90);
    let policy = match g.pick(8) {
        0 => format!(
            "{{ type = \"hpa\", metrics = [{{ type = \"cpu\", target_utilization = {cpu} }}], sync_period = \"5s\", metric_window = \"5s\", metric_lag = \"{}s\" }}",
            g.pick(6)
        ),
        1 => format!(
            "{{ type = \"hpa\", metrics = [{{ type = \"requests_per_replica\", target = {} }}, {{ type = \"queue_per_replica\", target = 2 }}], behavior = {{ scale_up = {{ policies = [{{ type = \"percent\", value = {}, period = \"10s\" }}] }}, scale_down = {{ stabilization_window = \"{}s\" }} }} }}",
            g.int(1, 200),
            g.int(1, 300),
            g.pick(60)
        ),
        2 => format!(
            "{{ type = \"keda\", value = {}, polling_interval = \"5s\", cooldown_period = \"{}s\" }}",
            g.int(1, 20),
            g.pick(30)
        ),
        3 => format!(
            "{{ type = \"target_tracking\", metric = \"cpu\", target = {cpu}, datapoints_to_alarm_low = {} }}",
            g.int(1, 3)
        ),
        4 => format!(
            "{{ type = \"step\", metric = \"cpu\", scale_out = {{ threshold = {cpu}, adjustment_type = \"percent_change_in_capacity\", steps = [{{ lower = 0, upper = 10, adjustment = 20 }}, {{ lower = 10, adjustment = 50 }}] }}, scale_in = {{ threshold = {}, steps = [{{ upper = 0, adjustment = -1 }}] }} }}",
            cpu / 2
        ),
        5 => format!(
            "{{ type = \"simple\", metric = \"cpu\", scale_out = {{ threshold = {cpu}, adjustment = {}, cooldown = \"{}s\" }} }}",
            g.int(1, 4),
            g.pick(60)
        ),
        6 => format!(
            "{{ type = \"rules\", evaluation_period = \"5s\", cooldown = \"{}s\", scale_up = [{{ metric = \"cpu_utilization\", threshold = {cpu}, duration = \"10s\", action = {{ type = \"percent\", value = 50 }} }}], scale_down = [{{ metric = \"queue_per_instance\", threshold = 1, duration = \"20s\", action = {{ type = \"instances\", value = 1 }} }}] }}",
            g.pick(30)
        ),
        _ => format!(
            "{{ type = \"threshold\", metric = \"cpu_utilization\", target = {cpu}, cooldown = \"{}s\", window = \"10s\" }}",
            g.pick(30)
        ),
    };
    let _ = writeln!(
        out,
        "[regions.groups.autoscaling]\nmin = {min}\nmax = {max}\npolicy = {policy}\nvictim = \"{}\"\ndrain_timeout = \"{}s\"",
        ["newest", "oldest", "zone_balanced"][g.pick(3) as usize],
        g.pick(20)
    );
    if g.one_in(3) {
        let _ = writeln!(
            out,
            "scheduled = [{{ at = \"{}s\", desired = {} }}]",
            g.int(1, 60),
            g.int(min, max)
        );
    }
    max
}

fn balancer(g: &mut Gen, out: &mut String, instances: u64) {
    if g.one_in(4) {
        return; // the default balancer
    }
    out.push_str("[regions.balancer]\n");
    let algorithm = match g.pick(12) {
        11 => None, // round robin by default
        a => Some(ALGORITHMS[a as usize]),
    };
    if let Some(a) = algorithm {
        let _ = writeln!(out, "algorithm = \"{a}\"");
    }
    match algorithm {
        Some("power_of_choices" | "p2c" | "least_request") if g.flip() => {
            let _ = writeln!(out, "choices = {}", g.int(2, 5));
        }
        Some("least_latency") if g.flip() => {
            let decay = g.int(1, 30);
            let _ = writeln!(out, "decay = {}", g.time_s(decay));
        }
        Some("ring_hash") => {
            if g.flip() {
                let _ = writeln!(out, "ring_size = {}", instances.max(1) + g.pick(64));
            }
            if g.flip() {
                let _ = writeln!(out, "bounded_load = {}", float(g.real(1.1, 4.0, 29)));
            }
        }
        Some("maglev") if g.flip() => {
            let primes: Vec<u64> = PRIMES.into_iter().filter(|&p| p >= instances).collect();
            let p = primes[g.pick(primes.len() as u64) as usize];
            let _ = writeln!(out, "table_size = {p}");
        }
        _ => {}
    }
    if g.flip() {
        let _ = writeln!(out, "fail_open = {}", g.flip());
    }
    if g.flip() {
        if g.flip() {
            out.push_str("zone_aware = {}\n");
        } else {
            let u = g.real(0.05, 1.0, 19);
            let _ = writeln!(out, "zone_aware = {{ spill_utilization = {} }}", float(u));
        }
    }
    if g.flip() {
        let hc = health_check(g, 30);
        let _ = writeln!(out, "health_check = {hc}");
    }
    if g.flip() {
        let mut fields = Vec::new();
        if g.flip() {
            fields.push(format!("consecutive_errors = {}", g.int(1, 10)));
        }
        if g.flip() {
            let i = g.int(1, 20);
            fields.push(format!("interval = {}", g.time_s(i)));
        }
        let base = if g.flip() {
            let b = g.int(1, 60);
            fields.push(format!("base_ejection = {}", g.time_s(b)));
            b
        } else {
            30
        };
        if g.flip() {
            let m = base + g.pick(300);
            fields.push(format!("max_ejection = {}", g.time_s(m)));
        }
        if g.flip() {
            fields.push(format!(
                "max_ejection_percent = {}",
                float(g.real(0.0, 100.0, 20))
            ));
        }
        let _ = writeln!(out, "outlier = {{ {} }}", fields.join(", "));
    }
    let slow_start_ok = matches!(
        algorithm,
        None | Some(
            "round_robin" | "weighted_round_robin" | "power_of_choices" | "p2c" | "least_request"
        )
    );
    if slow_start_ok && g.flip() {
        let w = g.int(1, 60);
        let mut s = format!("slow_start = {{ window = {}", g.time_s(w));
        if g.flip() {
            let _ = write!(s, ", aggression = {}", float(g.real(0.1, 5.0, 49)));
        }
        if g.flip() {
            let _ = write!(
                s,
                ", min_weight_percent = {}",
                float(g.real(1.0, 100.0, 99))
            );
        }
        let _ = writeln!(out, "{s} }}");
    }
}

/// A rate of 1 to 200 requests per second.
fn rate(g: &mut Gen) -> String {
    float(g.real(1.0, 200.0, 398))
}

/// `[time, rate]` points with increasing times and a positive rate.
fn points(g: &mut Gen) -> String {
    let n = g.int(1, 4);
    let mut t = g.pick(10);
    let mut out = Vec::new();
    let mut any_positive = false;
    for i in 0..n {
        let r = if g.one_in(4) {
            0.0
        } else {
            any_positive = true;
            g.real(1.0, 200.0, 398)
        };
        let r = if i + 1 == n && !any_positive { 1.0 } else { r };
        out.push(format!("[{}, {}]", g.time_s(t), float(r)));
        t += g.int(1, 40);
    }
    format!("[{}]", out.join(", "))
}

/// What the generated data tier offers the classes.
#[derive(Clone, Copy)]
struct DataTier {
    database: bool,
    cache: bool,
    replicas: u64,
    shards: u64,
}

/// A random database `db0` and cache `k0` (each maybe absent).
fn data_tier(g: &mut Gen, out: &mut String, regions: usize) -> DataTier {
    let mut tier = DataTier {
        database: g.flip(),
        cache: false,
        replicas: 0,
        shards: 1,
    };
    if !tier.database {
        return tier;
    }
    tier.cache = g.flip();
    if g.one_in(4) {
        // Active-active: a writable node in some regions.
        let mut list: Vec<String> = (0..regions)
            .filter(|_| g.flip())
            .map(|r| format!("\"r{r}\""))
            .collect();
        if list.is_empty() {
            list.push("\"r0\"".into());
        }
        let _ = writeln!(
            out,
            "\n[[databases]]\nname = \"db0\"\ntopology = \"active_active\"\nregions = [{}]\nworkers = {}",
            list.join(", "),
            g.int(1, 64)
        );
        if g.flip() {
            let ms = g.int(1, 500);
            let _ = writeln!(out, "sync_interval = {}", g.time_ms(ms));
        }
        if tier.cache {
            out.push_str("\n[[caches]]\nname = \"k0\"\nhit_ratio = 0.5\n");
        }
        return tier;
    }
    let primary = g.pick(regions as u64);
    let _ = writeln!(
        out,
        "\n[[databases]]\nname = \"db0\"\nprimary = \"r{primary}\""
    );
    tier.replicas = g.pick(4);
    if tier.replicas > 0 {
        if g.flip() {
            let _ = writeln!(out, "replicas = {}", tier.replicas);
        } else {
            let list: Vec<String> = (0..tier.replicas)
                .map(|_| format!("\"r{}\"", g.pick(regions as u64)))
                .collect();
            let _ = writeln!(out, "replicas = [{}]", list.join(", "));
        }
    }
    let _ = writeln!(out, "workers = {}", g.int(1, 64));
    if g.flip() {
        let _ = writeln!(out, "queue = {}", g.pick(100));
    }
    for field in ["read_time", "write_time", "replication_delay", "apply_time"] {
        if g.flip() {
            let ms = g.int(1, 50);
            let d = distribution(g, ms);
            let _ = writeln!(out, "{field} = {d}");
        }
    }
    let mode = ["async", "semi_sync", "sync"][g.pick(3) as usize];
    let _ = writeln!(out, "replication = \"{mode}\"");
    if tier.replicas > 0 {
        let reads = ["primary", "replicas", "read_your_writes"][g.pick(3) as usize];
        let _ = writeln!(out, "reads = \"{reads}\"");
        if g.flip() {
            let (interval, failures, promotion, repoint) =
                (g.int(1, 10), g.int(1, 4), g.pick(20), g.pick(20));
            let (interval, promotion, repoint) =
                (g.time_s(interval), g.time_s(promotion), g.time_s(repoint));
            let _ = writeln!(
                out,
                "failover = {{ check_interval = {interval}, failures = {failures}, promotion = {promotion}, repoint = {repoint} }}"
            );
        }
    }
    if g.flip() {
        tier.shards = g.int(1, 5);
        let strategy = ["hash", "consistent", "range"][g.pick(3) as usize];
        let extra = match strategy {
            "consistent" if g.flip() => format!(", vnodes = {}", g.int(1, 300)),
            "range" if g.flip() => format!(", key_space = {}", g.int(1, 200_000)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "shards = {{ count = {}, strategy = \"{strategy}\"{extra} }}",
            tier.shards
        );
    }
    if tier.cache {
        out.push_str("\n[[caches]]\nname = \"k0\"\n");
        if g.flip() {
            let _ = writeln!(out, "hit_ratio = {}", float(g.real(0.0, 1.0, 10)));
        } else {
            let _ = writeln!(out, "capacity = {}", g.int(1, 5_000));
            if g.flip() {
                let ttl = g.int(1, 30);
                let _ = writeln!(out, "ttl = {}", g.time_s(ttl));
            }
        }
    }
    tier
}

fn population(g: &mut Gen, out: &mut String, p: usize, regions: usize, tier: DataTier) {
    let home = g.pick(regions as u64) as usize;
    let _ = writeln!(
        out,
        "\n[[populations]]\nname = \"p{p}\"\nregion = \"r{home}\""
    );
    match g.pick(3) {
        1 => out.push_str("fallback = []\n"),
        2 => {
            let mut others: Vec<usize> = (0..regions).filter(|&r| r != home).collect();
            let mut chosen = Vec::new();
            while !others.is_empty() {
                let i = g.pick(others.len() as u64 + 1) as usize;
                if i == others.len() {
                    break;
                }
                chosen.push(format!("\"r{}\"", others.remove(i)));
            }
            let _ = writeln!(out, "fallback = [{}]", chosen.join(", "));
        }
        _ => {}
    }
    if g.flip() {
        let a = g.pick(100);
        let _ = writeln!(out, "access_latency = {}", g.time_ms(a));
    }
    let open = match g.pick(5) {
        0 => {
            let _ = writeln!(
                out,
                "rate = {{ profile = \"constant\", per_second = {} }}",
                rate(g)
            );
            true
        }
        1 => {
            let mut s = format!(
                "rate = {{ profile = \"diurnal\", mean = {}, amplitude = {}",
                rate(g),
                float(g.real(0.0, 1.0, 10))
            );
            if g.flip() {
                let period = g.int(10, 300);
                let _ = write!(s, ", period = {}", g.time_s(period));
            }
            if g.flip() {
                let peak = g.pick(300);
                let _ = write!(s, ", peak_at = {}", g.time_s(peak));
            }
            let _ = writeln!(out, "{s} }}");
            true
        }
        2 => {
            let _ = writeln!(
                out,
                "rate = {{ profile = \"piecewise_linear\", points = {} }}",
                points(g)
            );
            true
        }
        3 => {
            let _ = writeln!(
                out,
                "rate = {{ profile = \"trace\", points = {} }}",
                points(g)
            );
            true
        }
        _ => {
            let users = g.int(1, 50);
            let think_ms = g.int(100, 5000);
            let think = distribution(g, think_ms);
            let _ = writeln!(out, "closed_loop = {{ users = {users}, think = {think} }}");
            false
        }
    };
    if open && g.one_in(3) {
        let n = g.int(1, 2);
        let spikes: Vec<String> = (0..n)
            .map(|_| {
                let start = g.pick(120);
                let duration = g.int(1, 30);
                format!(
                    "{{ start = {}, duration = {}, multiplier = {} }}",
                    g.time_s(start),
                    g.time_s(duration),
                    float(g.real(0.0, 10.0, 20))
                )
            })
            .collect();
        let _ = writeln!(out, "spikes = [{}]", spikes.join(", "));
    }
    let demand_ms = |g: &mut Gen| 1 + g.pick(200);
    match g.pick(3) {
        0 => {
            let ms = demand_ms(g);
            let d = distribution(g, ms);
            let _ = writeln!(out, "demand = {d}");
        }
        n => {
            let tenths = g.int(1, 9);
            for k in 0..n {
                let _ = writeln!(out, "[[populations.classes]]\nname = \"c{k}\"");
                if n == 2 {
                    let share = if k == 0 { tenths } else { 10 - tenths };
                    let _ = writeln!(out, "share = {}", float(share as f64 / 10.0));
                } else if g.flip() {
                    out.push_str("share = 1.0\n");
                }
                if g.flip() {
                    let kind = if g.flip() { "write" } else { "read" };
                    let _ = writeln!(out, "kind = \"{kind}\"");
                }
                let ms = demand_ms(g);
                let d = distribution(g, ms);
                let _ = writeln!(out, "demand = {d}");
                match g.pick(3) {
                    1 => {
                        let count = if g.flip() {
                            format!(", count = {}", g.int(1, 100_000))
                        } else {
                            String::new()
                        };
                        let _ = writeln!(out, "keys = {{ popularity = \"uniform\"{count} }}");
                    }
                    2 => {
                        let count = if g.flip() {
                            format!(", count = {}", g.int(1, 100_000))
                        } else {
                            String::new()
                        };
                        let _ = writeln!(
                            out,
                            "keys = {{ popularity = \"zipf\", s = {}{count} }}",
                            float(g.real(0.1, 3.0, 29))
                        );
                    }
                    _ => {}
                }
                if tier.database && g.flip() {
                    out.push_str("database = \"db0\"\n");
                    if g.flip() {
                        let _ = writeln!(out, "queries = {}", g.int(1, 3));
                    }
                    let cached = tier.cache && g.flip();
                    if cached {
                        out.push_str("cache = \"k0\"\n");
                    }
                    let degrade = if cached {
                        ["error", "stale", "default", "stale_then_default"][g.pick(4) as usize]
                    } else {
                        ["error", "default"][g.pick(2) as usize]
                    };
                    if g.flip() {
                        let _ = writeln!(out, "degrade = \"{degrade}\"");
                    }
                }
            }
        }
    }
    if g.one_in(3) {
        return; // default client
    }
    out.push_str("[populations.client]\n");
    let timeout_ms = if g.flip() {
        let t = g.int(50, 5000);
        let _ = writeln!(out, "timeout = {}", g.time_ms(t));
        t
    } else {
        30_000
    };
    if g.flip() {
        let mut fields = Vec::new();
        if g.flip() {
            fields.push(format!("max_attempts = {}", g.int(1, 4)));
        }
        let base = if g.flip() {
            let b = g.int(1, 500);
            fields.push(format!("base = {}", g.time_ms(b)));
            b
        } else {
            100
        };
        if g.flip() {
            let cap = base + g.pick(2000);
            fields.push(format!("cap = {}", g.time_ms(cap)));
        }
        if g.flip() {
            let j = ["none", "full", "equal", "decorrelated"][g.pick(4) as usize];
            fields.push(format!("jitter = \"{j}\""));
        }
        if g.flip() {
            let mut b = Vec::new();
            if g.flip() {
                b.push(format!("ratio = {}", float(g.real(0.0, 2.0, 20))));
            }
            if g.flip() {
                b.push(format!("min_per_second = {}", float(g.real(0.0, 20.0, 40))));
            }
            if g.flip() {
                let w = g.int(1, 30);
                b.push(format!("window = {}", g.time_s(w)));
            }
            fields.push(format!("budget = {{ {} }}", b.join(", ")));
        }
        if g.flip() {
            let kinds = ["timeout", "rejected", "no_healthy_backend"];
            let mut on: Vec<String> = kinds
                .iter()
                .filter(|_| g.flip())
                .map(|k| format!("\"{k}\""))
                .collect();
            if on.is_empty() {
                on.push(format!("\"{}\"", kinds[g.pick(3) as usize]));
            }
            fields.push(format!("on = [{}]", on.join(", ")));
        }
        let _ = writeln!(out, "retry = {{ {} }}", fields.join(", "));
    }
    if g.flip() {
        let delay = g.pick(timeout_ms);
        let mut s = format!("hedge = {{ delay = {}", g.time_ms(delay));
        if g.flip() {
            let _ = write!(s, ", max_extra = {}", g.int(1, 3));
        }
        let _ = writeln!(out, "{s} }}");
    }
    if g.flip() {
        let mut fields = Vec::new();
        if g.flip() {
            fields.push(format!("failure_threshold = {}", g.int(1, 10)));
        }
        if g.flip() {
            fields.push(format!("success_threshold = {}", g.int(1, 10)));
        }
        if g.flip() {
            let t = g.int(1, 60);
            fields.push(format!("open_timeout = {}", g.time_s(t)));
        }
        let _ = writeln!(out, "circuit_breaker = {{ {} }}", fields.join(", "));
    }
    if g.flip() {
        let _ = writeln!(out, "bulkhead = {{ max_concurrent = {} }}", g.int(1, 50));
    }
}

/// A small, valid fleet scenario as TOML text.
fn scenario(choices: &[u32]) -> String {
    let g = &mut Gen { choices, next: 0 };
    let mut out = String::from("name = \"prop\"\n\n[run]\n");
    let duration = g.int(20, 120);
    let _ = writeln!(out, "duration = {}", g.time_s(duration));
    match g.pick(3) {
        1 => out.push_str("warmup = 0\n"),
        2 => {
            let w = g.pick(duration);
            let _ = writeln!(out, "warmup = {}", g.time_s(w));
        }
        _ => {}
    }
    if g.flip() {
        let _ = writeln!(out, "seed = {}", g.pick(1 << 20));
    }
    if g.flip() {
        let interval = g.int(1, 30);
        let _ = writeln!(out, "series_interval = {}", g.time_s(interval));
    }
    if g.flip() {
        let latency = g.int(50, 1000);
        let target = [0.5, 0.9, 0.99, 0.999, 1.0][g.pick(5) as usize];
        let _ = writeln!(
            out,
            "slo = {{ latency = {}, target = {} }}",
            g.time_ms(latency),
            float(target)
        );
    }

    let types = g.int(1, 3);
    for t in 0..types {
        let _ = writeln!(
            out,
            "\n[[instance_types]]\nname = \"t{t}\"\nworkers = {}",
            g.int(1, 4)
        );
        if g.flip() {
            let _ = writeln!(out, "queue_capacity = {}", g.pick(6));
        }
        if g.flip() {
            let _ = writeln!(out, "speed = {}", float(g.real(0.5, 2.0, 15)));
        }
        if g.flip() {
            let _ = writeln!(out, "hourly_price = {}", float(g.real(0.0, 1.0, 100)));
        }
    }

    let regions = g.int(1, 3) as usize;
    let mut topology = Vec::new();
    for r in 0..regions {
        let zones = g.int(1, 3);
        let zone_names: Vec<String> = (0..zones).map(|z| format!("r{r}-z{z}")).collect();
        let mut group_sizes = Vec::new();
        let quoted: Vec<String> = zone_names.iter().map(|z| format!("\"{z}\"")).collect();
        let _ = writeln!(
            out,
            "\n[[regions]]\nname = \"r{r}\"\nzones = [{}]",
            quoted.join(", ")
        );
        let outages = g.pick(3);
        if outages > 0 {
            let mut t = 0;
            let mut windows = Vec::new();
            for _ in 0..outages {
                let start = t + g.pick(40);
                let end = start + g.int(1, 40);
                windows.push(format!(
                    "{{ start = {}, end = {} }}",
                    g.time_s(start),
                    g.time_s(end)
                ));
                t = end;
            }
            let _ = writeln!(out, "outages = [{}]", windows.join(", "));
        }
        // Groups are drawn first: the balancer's parameters depend on the
        // number of instances.
        let mut groups = String::new();
        let mut instances = 0;
        let n_groups = if g.one_in(8) { 0 } else { g.int(1, 2) };
        for k in 0..n_groups {
            let n = g.pick(7);
            instances += n;
            group_sizes.push(n);
            let _ = writeln!(
                groups,
                "[[regions.groups]]\nname = \"g{k}\"\ninstance_type = \"t{}\"\ninstances = {n}",
                g.pick(types)
            );
            if g.one_in(3) {
                let mut chosen: Vec<&String> = zone_names.iter().filter(|_| g.flip()).collect();
                if chosen.is_empty() {
                    chosen.push(&zone_names[g.pick(zones) as usize]);
                }
                let quoted: Vec<String> = chosen.iter().map(|z| format!("\"{z}\"")).collect();
                let _ = writeln!(groups, "zones = [{}]", quoted.join(", "));
            }
            if g.flip() {
                let _ = writeln!(groups, "weight = {}", g.int(1, 10));
            }
            if g.flip() {
                let boot_ms = g.int(1000, 30_000);
                let _ = writeln!(groups, "boot = {}", distribution(g, boot_ms));
            }
            if g.flip() {
                let w = g.pick(30);
                let mut s = format!("warmup = {{ duration = {}", g.time_s(w));
                if g.flip() {
                    let _ = write!(s, ", initial_speed = {}", float(g.real(0.1, 1.0, 9)));
                }
                let _ = writeln!(groups, "{s} }}");
            }
            if g.flip() {
                let _ = writeln!(groups, "start_booting = {}", g.flip());
            }
            if g.one_in(3) {
                // The balancer must fit the most the group may reach.
                instances += autoscaling(g, &mut groups, n) - n;
            }
        }
        balancer(g, &mut out, instances);
        out.push_str(&groups);
        topology.push((zone_names, group_sizes));
    }

    for a in 0..regions {
        for b in a + 1..regions {
            if g.flip() {
                let ms = g.pick(150);
                let _ = writeln!(
                    out,
                    "\n[[latency]]\nbetween = [\"r{a}\", \"r{b}\"]\none_way = {}",
                    g.time_ms(ms)
                );
            } else {
                for (from, to) in [(a, b), (b, a)] {
                    let ms = g.pick(150);
                    let _ = writeln!(
                        out,
                        "\n[[latency]]\nfrom = \"r{from}\"\nto = \"r{to}\"\none_way = {}",
                        g.time_ms(ms)
                    );
                }
            }
        }
    }

    if g.flip() {
        out.push_str("\n[dns]\n");
        if g.flip() {
            let ttl = g.int(1, 60);
            let _ = writeln!(out, "ttl = {}", g.time_s(ttl));
        }
        if g.flip() {
            let hc = health_check(g, 30);
            let _ = writeln!(out, "health_check = {hc}");
        }
    }

    let mut tier_text = String::new();
    let tier = data_tier(g, &mut tier_text, regions);
    let pops = g.int(1, 3) as usize;
    for p in 0..pops {
        population(g, &mut out, p, regions, tier);
    }
    out.push_str(&tier_text);

    // Injected faults of every kind, possibly overlapping each other and
    // the outages.
    for _ in 0..g.pick(4) {
        let r = g.pick(regions as u64) as usize;
        let (zones, groups): &(Vec<String>, Vec<u64>) = &topology[r];
        let at = g.pick(duration);
        let length = g.int(1, 60);
        let mut fault = format!(
            "\n[[faults]]\nregion = \"r{r}\"\nat = {}\nduration = {}\n",
            g.time_s(at),
            g.time_s(length)
        );
        if tier.database && g.one_in(3) {
            // A data-tier fault instead (no region field).
            let shard = g.pick(tier.shards);
            let mut fault = format!(
                "\n[[faults]]\nat = {}\nduration = {}\ndatabase = \"db0\"\nshard = {shard}\n",
                g.time_s(at),
                g.time_s(length)
            );
            if tier.replicas > 0 && g.flip() {
                let k = g.pick(tier.replicas);
                let _ = writeln!(fault, "kind = \"database_replica\"\nreplica = {k}");
            } else {
                fault.push_str("kind = \"database_primary\"\n");
            }
            if g.flip() {
                let t = g.pick(60);
                let _ = writeln!(fault, "rto_target = {}", g.time_s(t));
            }
            if g.flip() {
                let t = g.pick(1000);
                let _ = writeln!(fault, "rpo_target = {}", g.time_ms(t));
            }
            out.push_str(&fault);
            continue;
        }
        if g.one_in(8) {
            let _ = writeln!(
                out,
                "\n[[faults]]\nkind = \"dns\"\nat = {}\nduration = {}",
                g.time_s(at),
                g.time_s(length)
            );
            continue;
        }
        if tier.cache && g.one_in(4) {
            let _ = writeln!(
                out,
                "\n[[faults]]\nkind = \"cache\"\ncache = \"k0\"\nregion = \"r{r}\"\nat = {}\nduration = {}",
                g.time_s(at),
                g.time_s(length)
            );
            continue;
        }
        let kind = g.pick(5);
        match kind {
            0 => fault.push_str("kind = \"region\"\n"),
            1 => fault.push_str("kind = \"balancer\"\n"),
            2 => {
                let z = &zones[g.pick(zones.len() as u64) as usize];
                let _ = writeln!(fault, "kind = \"zone\"\nzone = \"{z}\"");
            }
            _ if groups.is_empty() => fault.push_str("kind = \"region\"\n"),
            3 => {
                let k = g.pick(groups.len() as u64);
                let _ = writeln!(fault, "kind = \"group\"\ngroup = \"g{k}\"");
            }
            _ => {
                let k = g.pick(groups.len() as u64) as usize;
                if groups[k] == 0 {
                    let _ = writeln!(fault, "kind = \"group\"\ngroup = \"g{k}\"");
                } else if g.flip() {
                    let i = g.pick(groups[k]);
                    let _ = writeln!(
                        fault,
                        "kind = \"instance\"\ngroup = \"g{k}\"\ninstance = {i}"
                    );
                } else {
                    let i = g.pick(groups[k]);
                    let slowdown = float(g.real(1.5, 50.0, 9));
                    let _ = writeln!(
                        fault,
                        "kind = \"slow_instance\"\ngroup = \"g{k}\"\ninstance = {i}\nslowdown = {slowdown}"
                    );
                }
            }
        }
        out.push_str(&fault);
    }
    out
}

// ----- the properties ----------------------------------------------------

fn check_scope(name: &str, s: &ScopeReport) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        s.outcomes.total(),
        s.requests,
        "{}: outcomes vs requests",
        name
    );
    prop_assert!(
        (0.0..=1.0).contains(&s.availability),
        "{}: availability {}",
        name,
        s.availability
    );
    prop_assert!(
        (0.0..=1.0).contains(&s.slo_attainment) && s.slo_attainment <= s.availability,
        "{}: slo attainment {} (availability {})",
        name,
        s.slo_attainment,
        s.availability
    );
    prop_assert!(s.minutes_meeting_slo <= s.minutes, "{}: SLO minutes", name);
    prop_assert!(
        s.throughput_per_s.is_finite() && s.throughput_per_s >= 0.0,
        "{}: throughput {}",
        name,
        s.throughput_per_s
    );
    Ok(())
}

fn check_series(
    name: &str,
    points: &[sim_models::fleet::metrics::SeriesPoint],
) -> Result<(), TestCaseError> {
    for w in points.windows(2) {
        prop_assert!(
            w[0].t_s <= w[1].t_s,
            "{}: series time {} then {}",
            name,
            w[0].t_s,
            w[1].t_s
        );
    }
    for p in points {
        prop_assert!(p.t_s.is_finite() && p.t_s >= 0.0, "{}: t_s {}", name, p.t_s);
        prop_assert!(
            p.rate_per_s.is_finite() && p.ok_per_s.is_finite() && p.ok_per_s <= p.rate_per_s,
            "{}: rates {} ok {} at t = {}",
            name,
            p.rate_per_s,
            p.ok_per_s,
            p.t_s
        );
        prop_assert!(
            p.queue_length.is_finite() && p.queue_length >= 0.0,
            "{}: queue length {} at t = {}",
            name,
            p.queue_length,
            p.t_s
        );
        prop_assert!(
            (0.0..=1.0 + 1e-9).contains(&p.utilization),
            "{}: utilization {} at t = {}",
            name,
            p.utilization,
            p.t_s
        );
    }
    Ok(())
}

/// The invariants every report must satisfy.
fn check_report(r: &FleetReport) -> Result<(), TestCaseError> {
    let c = &r.conservation;
    prop_assert!(c.holds, "conservation: {:?}", c);
    prop_assert_eq!(c.created, c.ended + c.in_flight);
    let created: u64 = r.populations.iter().map(|p| p.created).sum();
    prop_assert_eq!(created, c.created, "populations' created vs conservation");

    check_scope("global", &r.global)?;
    for reg in &r.regions {
        check_scope(&reg.name, &reg.scope)?;
        for g in &reg.groups {
            prop_assert!(
                (0.0..=1.0 + 1e-9).contains(&g.utilization),
                "{}.{}: utilization {}",
                reg.name,
                g.name,
                g.utilization
            );
            prop_assert!(g.mean_instances.is_finite() && g.mean_instances >= 0.0);
            prop_assert!(g.mean_queue_length.is_finite() && g.mean_queue_length >= 0.0);
        }
    }
    for p in &r.populations {
        check_scope(&p.name, &p.scope)?;
    }
    // Every ended request is counted once in the fleet, once in a region
    // and once in a population.
    let by = |scopes: &mut dyn Iterator<Item = &ScopeReport>| {
        let mut sum = sim_models::fleet::metrics::OutcomeCounts::default();
        for s in scopes {
            sum.merge(&s.outcomes);
        }
        sum
    };
    let regions = by(&mut r.regions.iter().map(|x| &x.scope));
    let pops = by(&mut r.populations.iter().map(|x| &x.scope));
    prop_assert_eq!(regions, r.global.outcomes, "regions vs global outcomes");
    prop_assert_eq!(pops, r.global.outcomes, "populations vs global outcomes");

    check_series("global series", &r.series.global)?;
    for s in &r.series.regions {
        check_series(&s.name, &s.points)?;
    }
    if let Some(data) = &r.data {
        for db in &data.databases {
            prop_assert!(
                db.stale_reads <= db.reads,
                "{}: stale reads above reads",
                db.name
            );
            prop_assert!(db.read_your_writes_violations <= db.stale_reads);
            let queries: u64 = db.shards.iter().map(|s| s.queries).sum();
            let shares: f64 = db.shards.iter().map(|s| s.share).sum();
            prop_assert!(
                queries == 0 || (shares - 1.0).abs() < 1e-9,
                "shard shares sum to {}",
                shares
            );
            prop_assert!(
                db.lost_writes == 0 || db.failovers > 0 || db.topology == "active_active",
                "writes lost without a failover"
            );
            for shard in &db.shards {
                if db.topology == "active_active" {
                    prop_assert!(shard.nodes.iter().all(|n| n.role == "active"));
                } else {
                    prop_assert_eq!(
                        shard.nodes.iter().filter(|n| n.role == "primary").count(),
                        1
                    );
                }
                for n in &shard.nodes {
                    prop_assert!(
                        (0.0..=1.0 + 1e-9).contains(&n.utilization),
                        "node utilisation {}",
                        n.utilization
                    );
                    prop_assert!(n.lag_mean_s >= 0.0 && n.lag_mean_s <= n.lag_max_s + 1e-12);
                }
            }
        }
        for c in &data.caches {
            prop_assert!((0.0..=1.0).contains(&c.hit_ratio));
        }
    }
    for i in &r.incidents {
        prop_assert!(i.rpo_s >= 0.0 && i.rto_s.is_none_or(|x| x >= 0.0));
        prop_assert!(i.lost_writes == 0 || i.rpo_s >= 0.0);
    }
    Ok(())
}

/// Where two JSON trees first differ.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if v != w => return first_difference(v, w, &format!("{path}.{k}")),
                    None => return format!("{path}.{k}: only in the first"),
                    _ => {}
                }
            }
            format!("{path}: keys differ")
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (v, w))| v != w)
            .map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]")))
            .unwrap_or_default(),
        _ => format!("{path}: {a} vs {b}"),
    }
}

fn load(text: &str, overrides: &[Override]) -> Result<FleetScenario, sim_models::ScenarioError> {
    load_fleet_scenario(text, Format::Toml, overrides, &no_files)
}

fn run(s: &FleetScenario, seed: u64) -> FleetReport {
    run_fleet(s, seed, "fleet_props", &mut |_| {})
}

/// Rough work a run needs (the lowering's own estimate, with retries): the
/// mutation property runs only scenarios that stay small.
///
/// Open-loop populations also count their peak rate over the whole run:
/// arrivals are drawn by thinning against a bound that can be the peak of
/// a spike (even before the spike starts), and a spike shorter than a
/// nanosecond re-draws its arrivals at the same instant, so a file that
/// passes the lowering's work estimate with a huge, very short spike can
/// still run (nearly) forever: on `rate = { profile = "constant",
/// per_second = 20 }`, `spikes = [{ start = 5, duration = 1e-6, multiplier
/// = 1e7 }]` thins [0 s, 5 s) at 2e8 draws/s, and `spikes = [{ start = 0,
/// duration = 1e-300, multiplier = 1e300 }]` creates requests at t = 0
/// until memory runs out (sim-core's `ArrivalProcess`; not fixed here).
fn estimated_events(s: &FleetScenario) -> f64 {
    let c = &s.config;
    let secs = c.run.duration.as_secs_f64();
    let mut events = 0.0;
    for p in &c.populations {
        let requests = match &p.load {
            LoadConfig::Open(profile) => {
                events += profile.max_rate_between(0.0, secs) * secs;
                profile.expected_count(0.0, secs)
            }
            LoadConfig::Closed { users, think } => {
                f64::from(*users) * secs / think.mean().max(1e-9)
            }
        };
        let attempts = p.client.retry.map_or(1.0, |r| f64::from(r.max_attempts));
        let copies = 1.0 + p.client.hedge.map_or(0.0, |h| f64::from(h.max_extra));
        events += requests * attempts * copies * 6.0;
    }
    for r in &c.regions {
        let instances: f64 = r.groups.iter().map(|g| f64::from(g.instances)).sum();
        events += 2.0 * instances * secs / r.balancer.health_check.interval.as_secs_f64().max(1e-9);
        if let Some(o) = r.balancer.outlier {
            events += secs / o.interval.as_secs_f64().max(1e-9);
        }
    }
    events +=
        2.0 * c.regions.len() as f64 * secs / c.dns.health_check.interval.as_secs_f64().max(1e-9);
    events + secs / c.run.series_interval.as_secs_f64().max(1e-9)
}

/// Thinning segments of diurnal profiles: 8 per period, each a step of the
/// arrival sampler, so a period of a nanosecond takes (nearly) forever to
/// run although it passes the lowering's work estimate (`rate = { profile =
/// "diurnal", mean = 1, amplitude = 1, period = 1e-9 }`; sim-core's
/// `ArrivalProcess`, not fixed here).
fn diurnal_segments(file: &sim_models::fleet::spec::FleetScenarioFile, s: &FleetScenario) -> f64 {
    let secs = s.config.run.duration.as_secs_f64();
    file.populations
        .iter()
        .map(|p| match &p.rate {
            Some(sim_models::spec::RateSpec::Diurnal {
                period: Some(period),
                ..
            }) => 8.0 * secs / period.0.max(1e-300),
            _ => 0.0,
        })
        .sum()
}

/// Paths `--set` overrides aim at (most exist in generated files).
const PATHS: &[&str] = &[
    "name",
    "description",
    "run",
    "run.duration",
    "run.warmup",
    "run.seed",
    "run.series_interval",
    "run.slo",
    "run.slo.latency",
    "run.slo.target",
    "instance_types",
    "instance_types[0]",
    "instance_types[0].name",
    "instance_types[0].workers",
    "instance_types[0].speed",
    "instance_types[0].queue_capacity",
    "instance_types[0].hourly_price",
    "regions",
    "regions[0].name",
    "regions[0].zones",
    "regions[0].zones[0]",
    "regions[0].outages",
    "regions[0].groups",
    "regions[0].groups[0].instances",
    "regions[0].groups[0].instance_type",
    "regions[0].groups[0].zones",
    "regions[0].groups[0].weight",
    "regions[0].groups[0].boot",
    "regions[0].groups[0].boot.value",
    "regions[0].groups[0].warmup.duration",
    "regions[0].groups[0].warmup.initial_speed",
    "regions[0].groups[0].start_booting",
    "regions[0].balancer",
    "regions[0].balancer.algorithm",
    "regions[0].balancer.choices",
    "regions[0].balancer.decay",
    "regions[0].balancer.ring_size",
    "regions[0].balancer.bounded_load",
    "regions[0].balancer.table_size",
    "regions[0].balancer.fail_open",
    "regions[0].balancer.zone_aware.spill_utilization",
    "regions[0].balancer.health_check.interval",
    "regions[0].balancer.health_check.timeout",
    "regions[0].balancer.health_check.unhealthy_threshold",
    "regions[0].balancer.outlier.consecutive_errors",
    "regions[0].balancer.outlier.interval",
    "regions[0].balancer.outlier.base_ejection",
    "regions[0].balancer.outlier.max_ejection",
    "regions[0].balancer.outlier.max_ejection_percent",
    "regions[0].balancer.slow_start.window",
    "regions[0].balancer.slow_start.aggression",
    "regions[0].balancer.slow_start.min_weight_percent",
    "regions[1].groups[0].instances",
    "latency",
    "latency[0].one_way",
    "latency[0].between",
    "dns.ttl",
    "dns.health_check.interval",
    "dns.health_check.timeout",
    "populations",
    "populations[0].name",
    "populations[0].region",
    "populations[0].fallback",
    "populations[0].access_latency",
    "populations[0].rate",
    "populations[0].rate.per_second",
    "populations[0].rate.profile",
    "populations[0].rate.mean",
    "populations[0].rate.amplitude",
    "populations[0].rate.period",
    "populations[0].rate.points",
    "populations[0].spikes",
    "populations[0].closed_loop",
    "populations[0].closed_loop.users",
    "populations[0].closed_loop.think",
    "populations[0].demand",
    "populations[0].demand.mean",
    "populations[0].classes",
    "populations[0].classes[0].share",
    "populations[0].classes[0].demand",
    "populations[0].classes[0].demand.mean",
    "populations[0].classes[0].keys",
    "populations[0].classes[0].keys.count",
    "populations[0].classes[0].keys.s",
    "populations[0].client",
    "populations[0].client.timeout",
    "populations[0].client.retry",
    "populations[0].client.retry.max_attempts",
    "populations[0].client.retry.base",
    "populations[0].client.retry.cap",
    "populations[0].client.retry.jitter",
    "populations[0].client.retry.budget.ratio",
    "populations[0].client.retry.budget.window",
    "populations[0].client.hedge",
    "populations[0].client.hedge.delay",
    "populations[0].client.hedge.max_extra",
    "populations[0].client.circuit_breaker.open_timeout",
    "populations[0].client.circuit_breaker.failure_threshold",
    "populations[0].client.bulkhead.max_concurrent",
    "populations[1].client.timeout",
    // Malformed paths.
    "",
    ".",
    "a..b",
    "regions[",
    "regions[]",
    "regions[-1]",
    "regions[99999999999999999999999]",
    "[0]",
    "regions[0]x",
    "populations[0].client.timeout.extra",
];

/// What kind of TOML value an override value is (or a path holds).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Number,
    Text,
    Bool,
    Array,
    Table,
}

fn kind_of(v: &serde_json::Value) -> Kind {
    use serde_json::Value;
    match v {
        Value::Number(_) | Value::Null => Kind::Number,
        Value::String(_) => Kind::Text,
        Value::Bool(_) => Kind::Bool,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Table,
    }
}

/// Odd values for overrides, by kind. Times may be numbers or strings, so
/// time strings are listed with the numbers too.
fn values() -> Vec<(Kind, String)> {
    use Kind::*;
    let numbers = [
        "0",
        "-1",
        "1",
        "2",
        "3",
        "0.5",
        "0.001",
        "100",
        "65537",
        "1e-9",
        "1e12",
        "-1e12",
        "1e308",
        "1e-300",
        "-0.0",
        "nan",
        "inf",
        "-inf",
        "18446744073709551615",
        "18446744073709551616",
        "4294967296",
        "-9223372036854775808",
        "1000000",
        "\"1ns\"",
        "\"0s\"",
        "\"1ms\"",
        "\"10s\"",
        "\"1e12s\"",
        "\"-5ms\"",
        "\"1e400s\"",
        "\"nan s\"",
        "2min",
        "1h",
    ];
    let texts = [
        "\"\"",
        "",
        "abc",
        "µs",
        "p2c",
        "maglev",
        "ring_hash",
        "least_outstanding",
        "weighted_round_robin",
        "key_hash",
        "decorrelated",
        "write",
        "zipf",
        "r0",
        "r1",
        "r0-z0",
        "t0",
        "t1",
        "p0",
        "\"\\u0000\"",
        "\"a\\nb\"",
        "0",
        "1",
    ];
    let bools = ["true", "false", "0", "\"true\""];
    let arrays = [
        "[]",
        "[[]]",
        "[1, 2]",
        "[\"r0\"]",
        "[\"r0\", \"r0\"]",
        "[\"r0-z0\"]",
        "[\"timeout\"]",
        "[[0, 0]]",
        "[[0, 1e300], [1, 0]]",
        "[{ start = 0, end = 1e300 }]",
        "[{ start = 0, duration = 1e-300, multiplier = 1e300 }]",
        "[{ between = [\"r0\", \"r0\"], one_way = 0 }]",
    ];
    let tables = [
        "{}",
        "{ type = \"constant\", value = 0 }",
        "{ type = \"exponential\", mean = 1e-300 }",
        "{ type = \"pareto\", shape = 1.0000001, scale = 1e-9 }",
        "{ type = \"empirical\", samples = [0] }",
        "{ type = \"empirical\", cdf = [[0, 0], [1e300, 1]] }",
        "{ type = \"erlang\", k = 4294967295, mean = 1 }",
        "{ profile = \"constant\", per_second = 1e12 }",
        "{ profile = \"diurnal\", mean = 1, amplitude = 1, period = 1e-9 }",
        "{ profile = \"piecewise_linear\", points = [[0, 0], [1e9, 1e-9]] }",
        "{ profile = \"trace\", points = [[0, 0.001], [1, 0]] }",
        "{ users = 1, think = { type = \"constant\", value = 1e-9 } }",
        "{ popularity = \"zipf\", s = 10, count = 1000000000 }",
        "{ delay = 0, max_extra = 10 }",
        "{ window = 1e-9, aggression = 100, min_weight_percent = 1e-9 }",
        "{ interval = 1e-9 }",
    ];
    let mut v: Vec<(Kind, String)> = Vec::new();
    for (kind, list) in [
        (Number, &numbers[..]),
        (Text, &texts[..]),
        (Bool, &bools[..]),
        (Array, &arrays[..]),
        (Table, &tables[..]),
    ] {
        v.extend(list.iter().map(|s| (kind, s.to_string())));
    }
    v.push((Text, "x".repeat(1 << 20)));
    v.push((Text, format!("\"{}\"", "y".repeat(200_000))));
    v.push((Array, format!("{}{}", "[".repeat(200), "]".repeat(200))));
    v.push((
        Table,
        format!("{}1{}", "{ a = ".repeat(100), " }".repeat(100)),
    ));
    v
}

/// Every path in a document tree, written as `--set` takes them.
fn doc_paths(v: &serde_json::Value, prefix: &str, out: &mut Vec<(String, serde_json::Value)>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push((p.clone(), x.clone()));
                doc_paths(x, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let p = format!("{prefix}[{i}]");
                out.push((p.clone(), x.clone()));
                doc_paths(x, &p, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(config())]

    /// Valid small fleets load, run and report consistently.
    #[test]
    fn valid_fleets_run_cleanly(choices in prop::collection::vec(any::<u32>(), 0..600)) {
        let text = scenario(&choices);
        let s = match load(&text, &[]) {
            Ok(s) => s,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "generator bug: a generated scenario was refused:\n{e}\n--- scenario ---\n{text}"
                )));
            }
        };
        let seed = u64::from(choices.first().copied().unwrap_or(1));
        let a = run(&s, seed);
        if let Err(e) = check_report(&a) {
            return Err(TestCaseError::fail(format!("{e}\n--- scenario (seed {seed}) ---\n{text}")));
        }
        let b = run(&s, seed);
        let ja = serde_json::to_string(&a).expect("reports serialize");
        let jb = serde_json::to_string(&b).expect("reports serialize");
        prop_assert!(ja == jb, "same seed, different reports\n--- scenario (seed {}) ---\n{}", seed, text);

        // The same scenario as JSON is the same scenario (same hash).
        let tree: serde_json::Value = toml::from_str(&text).expect("generated TOML parses");
        let json = serde_json::to_string(&tree).unwrap();
        let sj = load_fleet_scenario(&json, Format::Json, &[], &no_files);
        prop_assert!(sj.is_ok(), "the JSON form was refused: {:?}\n{}", sj.err(), text);
        if sj.unwrap().hash != s.hash {
            let canonical = |text: &str, format| {
                let parsed = sim_models::fleet::load::parse_fleet(text, format, &[], &no_files).unwrap();
                serde_json::to_value(&parsed.file).unwrap()
            };
            let diff = first_difference(&canonical(&text, Format::Toml), &canonical(&json, Format::Json), "");
            return Err(TestCaseError::fail(format!(
                "TOML and JSON forms hash differently: {diff}\n--- scenario ---\n{text}"
            )));
        }
    }

    /// Odd `--set` overrides of a valid fleet are refused with an error or
    /// run cleanly; they never panic.
    #[test]
    fn mutated_fleets_fail_cleanly_or_run(
        choices in prop::collection::vec(any::<u32>(), 0..600),
        sets in prop::collection::vec(
            (any::<prop::sample::Index>(), 0..4u8, any::<prop::sample::Index>(), 0..3u8),
            1..3,
        ),
    ) {
        let text = scenario(&choices);
        let tree: serde_json::Value = toml::from_str(&text).expect("generated TOML parses");
        let mut paths = Vec::new();
        doc_paths(&tree, "", &mut paths);
        let values = values();
        // A path of the document (or one from the fixed list), and most of
        // the time a value of the kind it holds; a number is sometimes just
        // scaled or shifted, so that more of the files load and run.
        let overrides: Vec<Override> = sets
            .iter()
            .map(|&(path, fixed, value, how)| {
                let (path, original) = if fixed == 3 {
                    (PATHS[path.index(PATHS.len())].to_string(), None)
                } else {
                    let (p, v) = &paths[path.index(paths.len())];
                    (p.clone(), Some(v))
                };
                if how == 1
                    && let Some(x) = original.and_then(serde_json::Value::as_f64)
                {
                    let factors = [0.0, 0.5, 2.0, 10.0, 1000.0, -1.0];
                    let shifted = [x + 1.0, x - 1.0, x * 1e-6];
                    let all: Vec<f64> = factors.iter().map(|f| x * f).chain(shifted).collect();
                    let y = all[value.index(all.len())];
                    let text = if y.fract() == 0.0 && y.abs() < 1e15 {
                        format!("{}", y as i64)
                    } else {
                        format!("{y:?}")
                    };
                    return Override::new(path, text);
                }
                let kind = original.map(kind_of);
                let candidates: Vec<&String> = values
                    .iter()
                    .filter(|(k, _)| how == 0 || kind.is_none_or(|kind| kind == *k))
                    .map(|(_, v)| v)
                    .collect();
                Override::new(path, candidates[value.index(candidates.len())].clone())
            })
            .collect();
        let shown: Vec<String> = overrides
            .iter()
            .map(|o| {
                let mut s = o.to_string();
                if s.len() > 200 {
                    s.truncate(200);
                    s.push_str("...");
                }
                s
            })
            .collect();
        let verbose = std::env::var_os("FLEET_PROPS_VERBOSE").is_some();
        match sim_models::fleet::load::parse_fleet(&text, Format::Toml, &overrides, &no_files) {
            Err(e) => {
                // The message renders (and says something).
                let message = e.to_string();
                prop_assert!(!message.is_empty());
                if verbose {
                    let mut m = message.replace('\n', " ");
                    m.truncate(m.floor_char_boundary(160));
                    eprintln!("refused: {m}");
                }
            }
            Ok(parsed) => {
                let s = FleetScenario { config: parsed.config, hash: parsed.hash };
                let events = estimated_events(&s) + diurnal_segments(&parsed.file, &s);
                if verbose {
                    eprintln!("loaded: ~{events:.1e} events: {}", shown.join(" "));
                }
                if events <= 3e6 {
                    let r = run(&s, 7);
                    if let Err(e) = check_report(&r) {
                        return Err(TestCaseError::fail(format!(
                            "{e}\n--- overrides ---\n{}\n--- scenario ---\n{text}",
                            shown.join("\n")
                        )));
                    }
                }
            }
        }
    }
}

/// The generator's output, for eyeballing or as a fuzzing seed corpus:
/// `cargo test -p sim-models --test fleet_props -- --ignored --nocapture
/// print_examples` (`FLEET_PROPS_EXAMPLES=n` for n of them, default 3).
#[test]
#[ignore]
fn print_examples() {
    let n = std::env::var("FLEET_PROPS_EXAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut runner = proptest::test_runner::TestRunner::default();
    let strategy = prop::collection::vec(any::<u32>(), 0..600);
    for _ in 0..n {
        let choices = strategy.new_tree(&mut runner).unwrap().current();
        println!("{}\n----------------", scenario(&choices));
    }
}

/// Every bundled scenario loads (they are too long to run here).
#[test]
fn bundled_scenarios_load() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let mut n = 0;
    let entries = std::fs::read_dir(root)
        .unwrap()
        .chain(std::fs::read_dir(format!("{root}/data")).unwrap())
        .chain(std::fs::read_dir(format!("{root}/chaos")).unwrap());
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if sim_models::is_fleet_scenario(&text, Format::Toml) {
                load(&text, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                n += 1;
            }
        }
    }
    assert!(n >= 10, "found {n} bundled fleet scenarios");
}
