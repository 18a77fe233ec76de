//! The answers of `qsim explore` for programs.
//!
//! An exhaustive exploration:
//! ```json
//! { "scenario", "mode": "exhaustive", "timing": "any", "reductions": true,
//!   "verdict": "deadlock" | "deadlock_free" | "inconclusive", "reason": text | null,
//!   "states", "transitions", "depth", "completed_states", "horizon_states", "max_frontier",
//!   "elapsed_s", "bytes_per_state", "schedule": schedule | null, "found_steps": n | null,
//!   "story": [sentence], "deadlock": deadlock | null,
//!   "method": "counting" | "depth_first" | "breadth_first",
//!   "proof": { "pools": [{ "pool", "workers", "may_wait" }] } | null,
//!   "switched_off": [{ "shortcut", "reason" }] }
//! ```
//! A Monte Carlo study: `{ "scenario", "mode": "random", "verdict": "deadlock" |
//! "no_deadlock_seen", "runs", "seed", "deadlocks", "probability", "ci95": [lo, hi],
//! "time_to_deadlock_s": [p50, p95] | null, "completed", "horizon", "event_limit",
//! "example_seed" }`. A `--min-workers` table: `{ "scenario", "pool", "timing", "up_to",
//! "min_workers": n | null, "tried": [{ "workers", "verdict", "states", "method" }] }`.

use serde::Serialize;

use crate::explore::bound::Proof;
use crate::explore::random::MonteCarlo;
use crate::explore::{Method, MinWorkers, Reductions, Schedule, SwitchedOff, Verdict};
use crate::report::{text, DeadlockReport, ExplorationReport};
use crate::scenario::ticks_to_secs;

use super::{pretty, JsonDeadlock};

#[derive(Serialize)]
struct JsonExploration<'a> {
    scenario: &'a str,
    mode: &'static str,
    timing: &'static str,
    reductions: bool,
    verdict: &'static str,
    reason: Option<&'a str>,
    states: u64,
    transitions: u64,
    depth: u32,
    completed_states: u64,
    horizon_states: u64,
    max_frontier: usize,
    elapsed_s: f64,
    bytes_per_state: f64,
    schedule: Option<&'a Schedule>,
    found_steps: Option<usize>,
    story: Vec<String>,
    deadlock: Option<JsonDeadlock<'a>>,
    method: &'static str,
    proof: Option<&'a Proof>,
    switched_off: &'a [SwitchedOff],
}

/// An exhaustive exploration as pretty-printed JSON, ending with a newline.
pub fn exploration(r: &ExplorationReport) -> String {
    let e = &r.exploration;
    let words;
    let (schedule, found_steps, deadlock, reason) = match &e.verdict {
        Verdict::Deadlock {
            schedule,
            found_steps,
            deadlock,
        } => {
            words = DeadlockReport::new(deadlock);
            (
                Some(schedule),
                Some(*found_steps),
                Some(JsonDeadlock::new(&words)),
                None,
            )
        }
        Verdict::DeadlockFree => (None, None, None, None),
        Verdict::Inconclusive { reason } => (None, None, None, Some(reason.as_str())),
    };
    pretty(&JsonExploration {
        scenario: &r.scenario,
        mode: "exhaustive",
        timing: r.timing.name(),
        reductions: r.reductions != Reductions::NONE,
        verdict: e.verdict.name(),
        reason,
        states: e.states,
        transitions: e.transitions,
        depth: e.depth,
        completed_states: e.completed_states,
        horizon_states: e.horizon_states,
        max_frontier: e.max_frontier,
        elapsed_s: e.elapsed.as_secs_f64(),
        bytes_per_state: e.bytes_per_state,
        schedule,
        found_steps,
        story: text::sentences(&r.story),
        deadlock,
        method: e.method.name(),
        proof: match &e.method {
            Method::Counting(proof) => Some(proof),
            Method::BreadthFirst | Method::DepthFirst => None,
        },
        switched_off: &e.switched_off,
    })
}

#[derive(Serialize)]
struct JsonMonteCarlo<'a> {
    scenario: &'a str,
    mode: &'static str,
    verdict: &'static str,
    runs: u64,
    seed: u64,
    deadlocks: u64,
    probability: f64,
    ci95: [f64; 2],
    time_to_deadlock_s: Option<[f64; 2]>,
    completed: u64,
    horizon: u64,
    event_limit: u64,
    example_seed: Option<u64>,
}

/// A Monte Carlo study as pretty-printed JSON, ending with a newline.
pub fn monte_carlo(mc: &MonteCarlo) -> String {
    pretty(&JsonMonteCarlo {
        scenario: &mc.scenario,
        mode: "random",
        verdict: mc.verdict(),
        runs: mc.runs,
        seed: mc.seed,
        deadlocks: mc.deadlocks,
        probability: mc.probability(),
        ci95: [mc.interval.0, mc.interval.1],
        time_to_deadlock_s: mc
            .p50_time_to_deadlock
            .zip(mc.p95_time_to_deadlock)
            .map(|(a, b)| [ticks_to_secs(a), ticks_to_secs(b)]),
        completed: mc.completed,
        horizon: mc.horizon,
        event_limit: mc.event_limit,
        example_seed: mc.example_seed,
    })
}

#[derive(Serialize)]
struct JsonMinWorkers<'a> {
    scenario: &'a str,
    pool: &'a str,
    timing: &'static str,
    up_to: u32,
    min_workers: Option<u32>,
    tried: Vec<JsonTrial>,
}

#[derive(Serialize)]
struct JsonTrial {
    workers: u32,
    verdict: &'static str,
    states: u64,
    method: &'static str,
}

/// A `--min-workers` table as pretty-printed JSON, ending with a newline.
pub fn min_workers(m: &MinWorkers) -> String {
    pretty(&JsonMinWorkers {
        scenario: &m.scenario,
        pool: &m.pool,
        timing: m.timing.name(),
        up_to: m.up_to,
        min_workers: m.min_workers,
        tried: m
            .tried
            .iter()
            .map(|t| JsonTrial {
                workers: t.workers,
                verdict: t.exploration.verdict.name(),
                states: t.exploration.states,
                method: t.exploration.method.name(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{fanout_exploration, fanout_min_workers};

    #[test]
    fn an_exploration_keeps_its_keys_in_order_and_tells_its_story() {
        let text = exploration(&fanout_exploration(2));
        let keys = [
            "\"scenario\"",
            "\"mode\": \"exhaustive\"",
            "\"verdict\": \"deadlock\"",
            "\"states\": 14",
            "\"elapsed_s\"",
            "\"schedule\"",
            "\"found_steps\": 6",
            "\"story\": [",
            "\"deadlock\": {",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} in {text}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["story"][2], "worker default/1 takes main_task#1");
        assert_eq!(v["deadlock"]["blocked"][1], "main_task#2");
        assert_eq!(v["deadlock"]["cycle"][0], "worker default/1");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn min_workers_lists_every_count_tried() {
        let m = fanout_min_workers();
        let v: serde_json::Value = serde_json::from_str(&min_workers(&m)).expect("valid JSON");
        assert_eq!(v["min_workers"], 3);
        assert_eq!(v["up_to"], 16);
        assert_eq!(
            v["tried"],
            serde_json::json!([
                { "workers": 1, "verdict": "deadlock", "states": 6, "method": "depth_first" },
                { "workers": 2, "verdict": "deadlock", "states": 9, "method": "depth_first" },
                { "workers": 3, "verdict": "deadlock_free", "states": 0, "method": "counting" },
            ])
        );
    }
}
