//! A sweep as CSV: one row per point, the varied values first, then every number of the JSON
//! output in flat columns (`deadlock_probability`, `p99_s:TASK`, `busy:POOL`, `queue_mean:QUEUE`
//! ...), for spreadsheets and plotting scripts.

use crate::sweep::{Outcome, PointResult, Sweep};

/// `text` as one CSV field: quoted when it holds a comma, a quote or a line break.
pub(crate) fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A number as a CSV field; nothing for none.
pub(crate) fn number(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x}"))
}

/// The sweep as CSV, with a header row.
pub fn sweep(s: &Sweep, results: &[PointResult]) -> String {
    let mut header: Vec<String> = s.paths.clone();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let mut row: Vec<String> = r.values.iter().map(|(_, v)| v.clone()).collect();
        let mut names = Vec::new();
        match &r.outcome {
            Outcome::Explored(e) => {
                names.extend(["verdict", "states", "method"].map(String::from));
                row.extend([
                    e.verdict.name().to_string(),
                    e.states.to_string(),
                    e.method.name().to_string(),
                ]);
            }
            Outcome::Runs(x) => {
                names.extend(
                    [
                        "runs",
                        "deadlocks",
                        "deadlock_probability",
                        "deadlock_ci_low",
                        "deadlock_ci_high",
                        "time_to_deadlock_s",
                        "throughput_per_s",
                        "throughput_ci_low",
                        "throughput_ci_high",
                    ]
                    .map(String::from),
                );
                row.extend([
                    x.runs.to_string(),
                    x.deadlocks.to_string(),
                    number(Some(x.deadlock.value)),
                    number(Some(x.deadlock.low)),
                    number(Some(x.deadlock.high)),
                    number(x.time_to_deadlock),
                    number(x.throughput.map(|t| t.value)),
                    number(x.throughput.map(|t| t.low)),
                    number(x.throughput.map(|t| t.high)),
                ]);
                for (t, l) in &x.latency {
                    for (name, v) in [
                        ("p50_s", l.as_ref().map(|l| l.p50)),
                        ("p95_s", l.as_ref().map(|l| l.p95)),
                        ("p99_s", l.as_ref().map(|l| l.p99)),
                        ("mean_s", l.as_ref().map(|l| l.mean.value)),
                    ] {
                        names.push(format!("{name}:{t}"));
                        row.push(number(v));
                    }
                }
                for (p, u) in &x.utilisation {
                    for (name, v) in [
                        ("busy", u.map(|u| u.busy)),
                        ("blocked", u.map(|u| u.blocked)),
                        ("idle", u.map(|u| u.idle)),
                    ] {
                        names.push(format!("{name}:{p}"));
                        row.push(number(v));
                    }
                }
                for (q, l) in &x.queues {
                    names.push(format!("queue_mean:{q}"));
                    row.push(number(Some(l.mean)));
                    names.push(format!("queue_max:{q}"));
                    row.push(l.max.to_string());
                }
            }
        }
        if i == 0 {
            header.extend(names);
        }
        rows.push(row);
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = r.iter().map(|c| field(c)).collect();
        out += &line.join(",");
        out.push('\n');
    }
    out
}
