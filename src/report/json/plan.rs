//! A plan for programs: `{ "scenario", "pool", "runs", "answer": n | null, "proved": bool |
//! null, "why_not": text | null, "objectives": [{ "objective", "limit", "value", "met" }] (at
//! the answer), "tried": [{ "workers", "met", "values": { OBJECTIVE: value | null } }] }`.
//! Latencies are in seconds, shares as fractions.

use serde_json::{json, Map, Value};

use crate::plan::{Measure, Plan, Slo};
use crate::scenario::TICKS_PER_SECOND;

fn unit(slo: &Slo, v: f64) -> f64 {
    match slo.measure {
        Measure::Quantile { .. } | Measure::Mean { .. } => v / TICKS_PER_SECOND as f64,
        Measure::Deadlock | Measure::Utilisation { .. } | Measure::PeakRss { .. } => v,
    }
}

/// The plan as pretty-printed JSON, ending with a newline.
pub fn plan(p: &Plan) -> String {
    let at = p
        .answer
        .and_then(|w| p.tried.iter().find(|t| t.workers == w));
    let objectives: Vec<Value> = p
        .slos
        .iter()
        .map(|s| {
            let value = at.and_then(|t| s.value(&t.runs)).map(|v| unit(s, v));
            json!({
                "objective": s.text,
                "limit": unit(s, s.limit),
                "value": value,
                "met": at.is_some_and(|t| s.met(&t.runs)),
            })
        })
        .collect();
    let tried: Vec<Value> = p
        .tried
        .iter()
        .map(|t| {
            let values: Map<String, Value> = p
                .slos
                .iter()
                .map(|s| (s.text.clone(), json!(s.value(&t.runs).map(|v| unit(s, v)))))
                .collect();
            json!({ "workers": t.workers, "met": t.met, "values": values })
        })
        .collect();
    let value = json!({
        "scenario": p.scenario,
        "pool": p.pool,
        "runs": p.runs,
        "answer": p.answer,
        "proved": p.proof.as_ref().map(|e| e.verdict.name() == "deadlock_free"),
        "why_not": p.why_not,
        "objectives": objectives,
        "tried": tried,
    });
    serde_json::to_string_pretty(&value).expect("a plan serialises") + "\n"
}
