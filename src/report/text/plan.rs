//! A plan in words: the answer, each objective at the answer with its margin, and the curve
//! of the counts tried.

use crate::plan::{Measure, Plan, Slo};
use crate::sweep::Runs;

use super::{latency, table};

/// An objective's value as its unit wants it: a latency or a percentage.
fn shown(slo: &Slo, value: Option<f64>) -> String {
    match (value, &slo.measure) {
        (None, _) => "-".into(),
        (Some(v), Measure::Quantile { .. } | Measure::Mean { .. }) => latency(v as u64),
        (Some(v), Measure::Deadlock | Measure::Utilisation { .. }) => format!("{:.2}%", v * 100.0),
        (Some(v), Measure::PeakRss { .. }) => crate::scenario::format_size(v as u64),
    }
}

fn interval(slo: &Slo, runs: &Runs) -> String {
    let pct = |x: f64| format!("{:.2}%", x * 100.0);
    match &slo.measure {
        Measure::Deadlock => format!("[{}–{}]", pct(runs.deadlock.low), pct(runs.deadlock.high)),
        Measure::Quantile { task, q } if *q > 0.98 => runs
            .latency
            .iter()
            .find(|(t, _)| t == task)
            .and_then(|(_, l)| l.as_ref())
            .map_or(String::new(), |l| {
                let s = crate::scenario::TICKS_PER_SECOND as f64;
                // The pooled p99 and the mean of the runs' own p99s are different estimates;
                // the interval is the latter's, and says so.
                format!(
                    "runs' p99 {}–{}",
                    latency((l.p99_ci.low.max(0.0) * s) as u64),
                    latency((l.p99_ci.high * s) as u64)
                )
            }),
        _ => String::new(),
    }
}

/// The plan as text.
pub fn plan(p: &Plan) -> String {
    let mut out = match p.answer {
        Some(w) => format!(
            "{}: the smallest worker count of pool \"{}\" that meets every objective: {w} ({})\n",
            p.scenario,
            p.pool,
            match &p.proof {
                Some(e) if e.verdict.name() == "deadlock_free" => format!(
                    "estimated from {} runs per count; deadlock freedom proved under every timing",
                    p.runs
                ),
                Some(e) => format!(
                    "estimated from {} runs per count; exhaustive search: {} under any timing",
                    p.runs,
                    e.verdict.name()
                ),
                None => format!("estimated from {} runs per count", p.runs),
            }
        ),
        None => format!(
            "{}: no worker count of pool \"{}\" up to {} meets every objective\n",
            p.scenario,
            p.pool,
            p.tried.last().map_or(0, |t| t.workers)
        ),
    };
    if let Some(at) = p
        .answer
        .and_then(|w| p.tried.iter().find(|t| t.workers == w))
    {
        let mut rows = vec![["objective", "at the answer", "95% interval", "margin"]
            .map(String::from)
            .to_vec()];
        for slo in &p.slos {
            let value = slo.value(&at.runs);
            let margin = value.map_or("-".into(), |v| {
                let left = slo.limit - v;
                match slo.measure {
                    Measure::Quantile { .. } | Measure::Mean { .. } => {
                        format!("{} below", latency(left.max(0.0) as u64))
                    }
                    Measure::Deadlock | Measure::Utilisation { .. } => {
                        format!("{:.2} points below", left * 100.0)
                    }
                    Measure::PeakRss { .. } => {
                        format!(
                            "{} below",
                            crate::scenario::format_size(left.max(0.0) as u64)
                        )
                    }
                }
            });
            rows.push(vec![
                slo.text.clone(),
                shown(slo, value),
                interval(slo, &at.runs),
                margin,
            ]);
        }
        table(&mut out, &rows);
    }
    if let Some(why) = &p.why_not {
        out += &format!("why: {why}\n");
    }
    out += "counts tried:\n";
    let mut head = vec!["workers".to_string()];
    head.extend(p.slos.iter().map(|s| s.text.clone()));
    head.push("met".into());
    let mut rows = vec![head];
    for t in &p.tried {
        let mut row = vec![t.workers.to_string()];
        row.extend(p.slos.iter().map(|s| shown(s, s.value(&t.runs))));
        row.push(if t.met { "yes" } else { "no" }.into());
        rows.push(row);
    }
    table(&mut out, &rows);
    out
}
