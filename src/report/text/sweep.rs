//! A sweep as a table: one row per point, its varied values first.
//!
//! ```text
//! fanout: 4 points × 200 runs (seed 1)
//! pool.default.workers  deadlock              throughput/s  p99 main_task  p99 subtask  default busy/blocked/idle  queue default mean/max
//!                    2  100.0% [98.1–100.0%]          -      -              -            -                          -
//! ```

use crate::sweep::{Outcome, PointResult, Runs, Sweep};

use super::{latency, table};

/// The table of a sweep's points; `runs` (per point) and `seed` (the scenario's) go in the
/// headline, with how to reproduce one run.
pub fn sweep(s: &Sweep, results: &[PointResult], runs: u64, seed: u64, file: &str) -> String {
    let explored = results
        .first()
        .is_some_and(|r| matches!(r.outcome, Outcome::Explored(_)));
    let mut out = if explored {
        format!(
            "{}: {} points, each decided under every timing",
            s.scenario,
            results.len()
        )
    } else {
        format!(
            "{}: {} points × {runs} runs (seed {seed})",
            s.scenario,
            results.len()
        )
    };
    if let Some(csv) = &s.arrivals_from {
        out += &format!(", arrivals replayed from {csv}");
    }
    out.push('\n');
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<String> = s.paths.clone();
    match results.first().map(|r| &r.outcome) {
        Some(Outcome::Explored(_)) | None => {
            head.extend(["verdict", "states", "decided by"].map(String::from));
        }
        Some(Outcome::Runs(first)) => {
            head.extend(["deadlock", "throughput/s"].map(String::from));
            head.extend(first.latency.iter().map(|(t, _)| format!("p99 {t}")));
            head.extend(
                first
                    .utilisation
                    .iter()
                    .map(|(p, _)| format!("{p} busy/blocked/idle")),
            );
            head.extend(
                first
                    .queues
                    .iter()
                    .map(|(q, _)| format!("queue {q} mean/max")),
            );
            head.extend(
                first
                    .peak_rss
                    .iter()
                    .map(|(p, _)| format!("{p} peak rss/restarts")),
            );
        }
    }
    rows.push(head);
    for r in results {
        let mut row: Vec<String> = r.values.iter().map(|(_, v)| v.clone()).collect();
        match &r.outcome {
            Outcome::Explored(e) => {
                row.push(e.verdict.name().into());
                row.push(e.states.to_string());
                row.push(e.method.name().replace('_', "-"));
            }
            Outcome::Runs(x) => row.extend(runs_cells(x)),
        }
        rows.push(row);
    }
    table(&mut out, &rows);
    if explored {
        out += &boundary_text(s, results);
    } else if let Some(first) = results.first() {
        out += &format!(
            "reproduce run 0 of the first point: {}\n",
            first.reproduce(s, file, seed, 0)
        );
    }
    out
}

fn runs_cells(x: &Runs) -> Vec<String> {
    let pct = |f: f64| format!("{:.1}%", f * 100.0);
    let mut cells = vec![
        format!(
            "{} [{}–{}]",
            pct(x.deadlock.value),
            pct(x.deadlock.low),
            pct(x.deadlock.high)
        ),
        x.throughput
            .map_or("-".into(), |t| format!("{:.3}", t.value)),
    ];
    cells.extend(x.latency.iter().map(|(_, l)| {
        l.as_ref().map_or("-".into(), |l| {
            latency((l.p99 * crate::scenario::TICKS_PER_SECOND as f64) as u64)
        })
    }));
    cells.extend(x.utilisation.iter().map(|(_, u)| {
        u.map_or("-".into(), |u| {
            format!(
                "{:.0}/{:.0}/{:.0}%",
                u.busy * 100.0,
                u.blocked * 100.0,
                u.idle * 100.0
            )
        })
    }));
    cells.extend(
        x.queues
            .iter()
            .map(|(_, q)| format!("{:.2}/{}", q.mean, q.max)),
    );
    cells.extend(
        x.peak_rss
            .iter()
            .zip(&x.restarts)
            .map(|((_, peak), (_, n))| format!("{}/{n}", crate::scenario::format_size(*peak))),
    );
    cells
}

/// With one varied worker count, the smallest safe count for every shape (see
/// [`crate::sweep::boundary`]).
fn boundary_text(s: &Sweep, results: &[PointResult]) -> String {
    let Some(b) = crate::sweep::boundary(s, results) else {
        return String::new();
    };
    let mut out = format!("smallest deadlock-free {} for each shape:\n", b.path);
    for (shape, answer) in &b.shapes {
        let shape = if shape.is_empty() {
            "(the scenario)".to_string()
        } else {
            crate::sweep::describe(shape)
        };
        let answer = match answer {
            crate::sweep::Safe::From(n) => n.clone(),
            crate::sweep::Safe::NoneSwept => "none of the counts swept".into(),
            crate::sweep::Safe::Unknown => "unknown (a count was inconclusive)".into(),
        };
        out += &format!("  {shape}: {answer}\n");
    }
    out
}
