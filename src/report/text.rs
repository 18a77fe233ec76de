//! The report for people: a headline, the deadlock's explanation, then aligned tables.
//!
//! ```text
//! fanout: deadlock at 0s (seed 1, 8 events)
//!
//! deadlock at 0s: 2 tasks hold a worker waiting for children that can never run
//!   worker default/1 holds main_task#1 since 0s, ...
//!
//! tasks      arrived  completed  failed  unfinished  p50  p95  p99  max
//! main_task        2          0       0           2    -    -    -    -
//! ```
//!
//! Names are left-aligned, numbers right-aligned, so columns line up whatever the names.
//! Durations use the scenario's short form (`36s`, `1.5s`, `250ms`); latencies carry about
//! 4 significant digits, like the histogram they come from.
//!
//! The other values qsim reports are put in words here too, one module each: a deadlock's
//! explanation ([`explain`]), a schedule's story ([`sentence`], [`numbered`]), and the answers
//! of `qsim explore` ([`exploration`], [`monte_carlo`], [`min_workers`]).

mod deadlock;
mod explore;
mod memory;
mod plan;
mod story;
mod sweep;

use std::fmt::Write as _;

use crate::scenario::{format_ticks, Tick, TICKS_PER_SECOND};

use super::Report;

pub use deadlock::{cycle, explain, label};
pub use explore::{exploration, min_workers, monte_carlo};
pub use memory::pool_rows as memory_pool_rows;
pub use plan::plan;
pub use story::{numbered, replay, sentence, sentences};
pub use sweep::sweep;

/// The whole report as text, ending with a newline.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} at {} (seed {}, {} events)",
        report.scenario,
        headline(report.outcome),
        format_ticks(report.end_time),
        report.seed,
        report.events,
    );
    if let Some(d) = &report.deadlock {
        out.push('\n');
        out.push_str(explain(d).trim_end());
        out.push('\n');
    }
    if let Some((exits, limit)) = report.restart_loop {
        let _ = writeln!(
            out,
            "\nrestart loop: {exits} processes exited or were killed in a row with no task \
             finishing in between (more than 8 x (processes + 1) = {limit}): every replacement \
             dies before it finishes a task, so the run was stopped"
        );
    }

    out.push('\n');
    let mut rows = vec![row([
        "tasks",
        "arrived",
        "completed",
        "failed",
        "unfinished",
        "p50",
        "p95",
        "p99",
        "max",
    ])];
    for t in &report.tasks {
        let l = t.latency;
        let at = |f: fn(&super::Latency) -> Tick| l.as_ref().map_or("-".into(), |l| latency(f(l)));
        rows.push(vec![
            t.name.clone(),
            t.arrived.to_string(),
            t.completed.to_string(),
            t.failed.to_string(),
            t.unfinished.to_string(),
            at(|l| l.p50),
            at(|l| l.p95),
            at(|l| l.p99),
            at(|l| l.max),
        ]);
    }
    table(&mut out, &rows);

    out.push('\n');
    let restarts = report.memory.is_some();
    let mut header = row(["pools", "workers", "busy", "blocked", "idle"]);
    if restarts {
        header.push("restarting".into());
    }
    let mut rows = vec![header];
    for p in &report.pools {
        // Over a run that lasted no time at all, shares of worker-time mean nothing.
        let shares = p.percent.map_or_else(
            || {
                [
                    "-".to_string(),
                    "-".to_string(),
                    "-".to_string(),
                    "-".to_string(),
                ]
            },
            |w| {
                [
                    percent(w.busy, p.busy),
                    percent(w.blocked, p.blocked),
                    percent(w.idle, p.idle),
                    percent(w.restarting, p.restarting),
                ]
            },
        );
        let [busy, blocked, idle, restarting] = shares;
        let mut cells = vec![p.name.clone(), p.workers.to_string(), busy, blocked, idle];
        if restarts {
            cells.push(restarting);
        }
        rows.push(cells);
    }
    table(&mut out, &rows);

    out.push('\n');
    let mut rows = vec![row(["queues", "max length", "queued at end"])];
    for q in &report.queues {
        rows.push(vec![
            q.name.clone(),
            q.max_length.to_string(),
            q.queued.to_string(),
        ]);
    }
    table(&mut out, &rows);
    if let Some(m) = &report.memory {
        memory::render(&mut out, m);
    }
    out
}

/// How the headline names an outcome.
fn headline(outcome: &str) -> &str {
    match outcome {
        "completed" => "completed",
        "horizon" => "horizon reached",
        "deadlock" => "deadlock",
        "event_limit" => "event limit reached",
        "task_limit" => "task limit reached",
        "memory_limit" => "memory limit reached",
        "orphaned_wait" => "orphaned wait",
        "restart_loop" => "stopped in a restart loop",
        "stopped" => "stopped",
        other => other,
    }
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Appends `rows` as a table: first column left-aligned, the others right-aligned, two spaces
/// between columns, no trailing spaces.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// A share shown as its whole percentage `whole` (rounded so that a pool's shares add up to
/// 100); a share that is not zero never shows as `0%`, nor one below 1 as `100%`.
fn percent(whole: u8, share: f64) -> String {
    if whole == 0 && share > 0.0 {
        "<1%".into()
    } else if whole == 100 && share < 1.0 {
        ">99%".into()
    } else {
        format!("{whole}%")
    }
}

/// A latency: the scenario's short form from a second up (`36s`, `2m30s`, `1.5s`), and below
/// a second the largest unit that keeps it at least 1 (`250ms`, `1.235ms`, `12us`).
fn latency(t: Tick) -> String {
    if t >= TICKS_PER_SECOND || t == 0 {
        return format_ticks(t);
    }
    let (unit, name) = if t >= 1_000_000 {
        (1_000_000, "ms")
    } else if t >= 1_000 {
        (1_000, "us")
    } else {
        return format!("{t}ns");
    };
    let text = format!("{:.3}", t as f64 / unit as f64);
    format!("{}{name}", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Percent, PoolReport, QueueReport, TaskReport};

    fn sample() -> Report {
        Report {
            scenario: "fanout".into(),
            seed: 1,
            outcome: "completed",
            end_time: 36 * TICKS_PER_SECOND,
            events: 80,
            tasks: vec![
                TaskReport {
                    name: "main_task".into(),
                    arrived: 2,
                    completed: 2,
                    failed: 0,
                    unfinished: 0,
                    lost: 0,
                    latency: Some(crate::report::Latency {
                        p50: 20 * TICKS_PER_SECOND,
                        p95: 36 * TICKS_PER_SECOND,
                        p99: 36 * TICKS_PER_SECOND,
                        max: 36 * TICKS_PER_SECOND,
                    }),
                },
                TaskReport {
                    name: "a_rather_long_task_name".into(),
                    arrived: 0,
                    completed: 0,
                    failed: 0,
                    unfinished: 0,
                    lost: 0,
                    latency: None,
                },
            ],
            pools: vec![PoolReport {
                name: "default".into(),
                workers: 4,
                busy: 80.0 / 144.0,
                blocked: 56.0 / 144.0,
                idle: 8.0 / 144.0,
                restarting: 0.0,
                percent: Percent::of(80, 56, 8, 0),
            }],
            queues: vec![QueueReport {
                name: "default".into(),
                max_length: 20,
                queued: 0,
            }],
            deadlock: None,
            memory: None,
            restart_loop: None,
        }
    }

    #[test]
    fn renders_aligned_tables() {
        let text = render(&sample());
        assert_eq!(
            text,
            "\
fanout: completed at 36s (seed 1, 80 events)

tasks                    arrived  completed  failed  unfinished  p50  p95  p99  max
main_task                      2          2       0           0  20s  36s  36s  36s
a_rather_long_task_name        0          0       0           0    -    -    -    -

pools    workers  busy  blocked  idle
default        4   56%      39%    5%

queues   max length  queued at end
default          20              0
"
        );
    }

    #[test]
    fn formats_latencies_and_shares() {
        assert_eq!(latency(1_235_000), "1.235ms");
        assert_eq!(latency(250_000_000), "250ms");
        assert_eq!(latency(12_000), "12us");
        assert_eq!(latency(17), "17ns");
        assert_eq!(latency(1_500_000_000), "1.5s");
        assert_eq!(percent(0, 0.0), "0%");
        assert_eq!(percent(0, 0.001), "<1%");
        assert_eq!(percent(100, 0.999), ">99%");
        assert_eq!(percent(100, 1.0), "100%");
        assert_eq!(percent(39, 56.0 / 144.0), "39%");
    }
}
