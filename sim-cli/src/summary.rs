//! The human-readable summary `fleetsim run` prints: one block of run facts,
//! one table row per station and per source, times in readable units.

use std::fmt::Write;

use sim_models::{LatencyReport, RunReport};

/// Seconds in the most readable unit (`812µs`, `12.3ms`, `1.52s`).
pub(crate) fn secs(s: f64) -> String {
    if s == 0.0 {
        "0".into()
    } else if s < 1e-3 {
        format!("{:.0}µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1}ms", s * 1e3)
    } else if s < 600.0 {
        format!("{s:.3}s")
    } else if s < 7200.0 {
        format!("{:.1}min", s / 60.0)
    } else {
        format!("{:.2}h", s / 3600.0)
    }
}

pub(crate) fn opt_secs(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), secs)
}

fn latency_cells(l: &LatencyReport) -> [String; 4] {
    [
        secs(l.mean_s),
        opt_secs(l.p50_s),
        opt_secs(l.p99_s),
        secs(l.max_s),
    ]
}

/// The measured window, `60.000s .. 10.0min (warm-up before 60.000s
/// discarded)`, shared by the station and fleet summaries.
pub(crate) fn window(from_s: f64, to_s: f64) -> String {
    format!(
        "{} .. {} ({})",
        secs(from_s),
        secs(to_s),
        if from_s > 0.0 {
            format!("warm-up before {} discarded", secs(from_s))
        } else {
            "no warm-up".to_string()
        }
    )
}

/// Rows as an aligned table under a dashed rule under the first row;
/// column `j` is left-aligned where `left(j)`, right-aligned otherwise.
pub(crate) fn aligned_table(rows: &[Vec<String>], left: &dyn Fn(usize) -> bool) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = (row.iter().zip(&widths).enumerate())
            .map(|(j, (cell, &w))| {
                let pad = " ".repeat(w - cell.chars().count());
                if left(j) {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if i == 0 {
            let _ = writeln!(
                out,
                "{}",
                "-".repeat(widths.iter().sum::<usize>() + 2 * (cols.saturating_sub(1)))
            );
        }
    }
    out
}

/// Renders the report as text.
pub(crate) fn render(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario   {} (hash {})", r.scenario, r.scenario_hash);
    let _ = writeln!(
        out,
        "seed       {}    fleetsim {}",
        r.seed, r.fleetsim_version
    );
    let _ = writeln!(
        out,
        "window     {}, {} events ({} in the window)",
        window(r.measured_from_s, r.measured_to_s),
        r.events,
        r.events_measured
    );
    let _ = writeln!(out, "reproduce  {}", r.reproduce);
    let _ = writeln!(out);

    let mut rows = vec![
        [
            "station",
            "c",
            "arrivals",
            "rejected",
            "util",
            "L",
            "Lq",
            "P(wait)",
            "Wq mean",
            "W mean",
            "W p50",
            "W p99",
            "W max",
            "Little gap",
        ]
        .map(String::from),
    ];
    for s in &r.stations {
        let [w_mean, w_p50, w_p99, w_max] = latency_cells(&s.sojourn);
        rows.push([
            s.name.clone(),
            s.servers.to_string(),
            s.arrivals.to_string(),
            format!("{} ({:.2}%)", s.rejected, 100.0 * s.blocking_probability),
            format!("{:.3}", s.utilization),
            format!("{:.3}", s.mean_in_system),
            format!("{:.3}", s.mean_in_queue),
            format!("{:.3}", s.wait_probability),
            secs(s.wait.mean_s),
            w_mean,
            w_p50,
            w_p99,
            w_max,
            format!("{:.3}%", 100.0 * s.littles_law.relative_gap),
        ]);
    }
    table(&mut out, &rows);
    let _ = writeln!(out);

    let mut rows = vec![
        [
            "source",
            "generated",
            "rejected",
            "completed",
            "R mean",
            "R p50",
            "R p99",
            "R max",
        ]
        .map(String::from),
    ];
    for s in &r.sources {
        let [mean, p50, p99, max] = latency_cells(&s.response);
        rows.push([
            s.name.clone(),
            s.generated.to_string(),
            s.rejected.to_string(),
            s.completed.to_string(),
            mean,
            p50,
            p99,
            max,
        ]);
    }
    let e = &r.end_to_end;
    let [mean, p50, p99, max] = latency_cells(e);
    rows.push([
        "(all)".into(),
        "".into(),
        "".into(),
        e.count.to_string(),
        mean,
        p50,
        p99,
        max,
    ]);
    table(&mut out, &rows);
    let _ = writeln!(
        out,
        "\nL, Lq: time-average number in station / waiting; W, Wq: time in station / waiting; R: end-to-end response time.\n\
         Little gap: |L - throughput x W| / max(L, throughput x W), a consistency check that should be near 0."
    );
    out
}

/// Writes rows as an aligned table; the first row is the header.
fn table<const N: usize>(out: &mut String, rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(j, (cell, w))| {
                if j == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (N - 1);
            let _ = writeln!(out, "{}", "-".repeat(total));
        }
    }
}
