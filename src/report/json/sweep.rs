//! A sweep for programs: `{ "scenario", "mode": "runs" | "explore", "runs", "seed",
//! "arrivals_from": csv | null, "paths": [path], "points": [point], "boundary": boundary |
//! null }`. Each point holds
//! `values` (each varied path with its value) beside its results, so that scripts need no
//! knowledge of the table: for runs `deadlock { probability, ci95, runs, deadlocks,
//! time_to_deadlock_s }`, `throughput { per_s, ci95 }`, `latency { TASK: { finished, p50_s,
//! p95_s, p99_s, mean_s, mean_ci95, p99_ci95 } }`, `utilisation { POOL: { busy, blocked, idle }
//! }`, `queues { QUEUE: { mean, max } }`, `limited`, `reproduce`, and when the scenario models
//! memory `peak_rss_bytes { POOL: bytes }` (the largest process of the pool in any run) and
//! `restarts { POOL: n }` (over all runs); for an exhaustive sweep `verdict`, `states`,
//! `method`.

use serde_json::{json, Map, Value};

use crate::sweep::{boundary, Outcome, PointResult, Safe, Sweep};

/// The sweep as pretty-printed JSON, ending with a newline.
pub fn sweep(s: &Sweep, results: &[PointResult], runs: u64, seed: u64, file: &str) -> String {
    let explored = results
        .first()
        .is_some_and(|r| matches!(r.outcome, Outcome::Explored(_)));
    let points: Vec<Value> = results.iter().map(|r| point(r, s, seed, file)).collect();
    let boundary = boundary(s, results).map(|b| {
        json!({
            "path": b.path,
            "shapes": b.shapes.iter().map(|(shape, safe)| json!({
                "values": values(shape),
                "smallest_safe": match safe { Safe::From(n) => json!(n), _ => Value::Null },
                "known": !matches!(safe, Safe::Unknown),
            })).collect::<Vec<_>>(),
        })
    });
    let value = json!({
        "scenario": s.scenario,
        "mode": if explored { "explore" } else { "runs" },
        "runs": if explored { Value::Null } else { json!(runs) },
        "seed": seed,
        "arrivals_from": s.arrivals_from,
        "paths": s.paths,
        "points": points,
        "boundary": boundary,
    });
    serde_json::to_string_pretty(&value).expect("a sweep serialises") + "\n"
}

fn values(point: &[(String, String)]) -> Map<String, Value> {
    point
        .iter()
        .map(|(p, v)| {
            // A value is TOML text: a number stays a number, anything else is a string.
            let parsed = v
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| v.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::from(v.trim_matches('"')));
            (p.clone(), parsed)
        })
        .collect()
}

fn point(r: &PointResult, s: &Sweep, seed: u64, file: &str) -> Value {
    let mut out = Map::new();
    out.insert("values".into(), Value::Object(values(&r.values)));
    match &r.outcome {
        Outcome::Explored(e) => {
            out.insert("verdict".into(), json!(e.verdict.name()));
            out.insert("states".into(), json!(e.states));
            out.insert("method".into(), json!(e.method.name()));
        }
        Outcome::Runs(x) => {
            out.insert(
                "deadlock".into(),
                json!({
                    "probability": x.deadlock.value,
                    "ci95": [x.deadlock.low, x.deadlock.high],
                    "runs": x.runs,
                    "deadlocks": x.deadlocks,
                    "time_to_deadlock_s": x.time_to_deadlock,
                }),
            );
            out.insert(
                "throughput".into(),
                x.throughput.map_or(
                    Value::Null,
                    |t| json!({ "per_s": t.value, "ci95": [t.low, t.high] }),
                ),
            );
            let latency: Map<String, Value> = x
                .latency
                .iter()
                .map(|(t, l)| {
                    let v = l.as_ref().map_or(Value::Null, |l| {
                        json!({
                            "finished": l.finished,
                            "p50_s": l.p50, "p95_s": l.p95, "p99_s": l.p99,
                            "mean_s": l.mean.value, "mean_ci95": [l.mean.low, l.mean.high],
                            "p99_ci95": [l.p99_ci.low, l.p99_ci.high],
                        })
                    });
                    (t.clone(), v)
                })
                .collect();
            out.insert("latency".into(), Value::Object(latency));
            let utilisation: Map<String, Value> = x
                .utilisation
                .iter()
                .map(|(p, u)| (p.clone(), u.map_or(Value::Null, |u| json!(u))))
                .collect();
            out.insert("utilisation".into(), Value::Object(utilisation));
            let queues: Map<String, Value> = x
                .queues
                .iter()
                .map(|(q, l)| (q.clone(), json!(l)))
                .collect();
            out.insert("queues".into(), Value::Object(queues));
            if !x.peak_rss.is_empty() {
                let per_pool = |list: &[(String, u64)]| -> Value {
                    Value::Object(list.iter().map(|(p, n)| (p.clone(), json!(n))).collect())
                };
                out.insert("peak_rss_bytes".into(), per_pool(&x.peak_rss));
                out.insert("restarts".into(), per_pool(&x.restarts));
            }
            out.insert("limited".into(), json!(x.limited));
            out.insert("reproduce".into(), json!(r.reproduce(s, file, seed, 0)));
        }
    }
    Value::Object(out)
}
