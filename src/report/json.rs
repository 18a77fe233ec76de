//! The report for programs: one JSON object with stable keys in a stable order.
//!
//! Keys come in the order declared below, and the per-task, per-pool and per-queue objects list
//! their entries in scenario order (not sorted, not hashed), so the same run gives the same
//! bytes and a reader sees the file's order. Times are in seconds (`*_s`, floating point).
//!
//! ```json
//! {
//!   "scenario": "fanout",
//!   "seed": 1,
//!   "outcome": "completed",
//!   "end_time_s": 36.0,
//!   "events": 80,
//!   "completed": { "main_task": 2, "subtask": 20 },
//!   "failed": { "main_task": 0, "subtask": 0 },
//!   "unfinished": { "main_task": 0, "subtask": 0 },
//!   "deadlock": null,
//!   "tasks": { "main_task": { "arrived": 2, "completed": 2, "failed": 0, "unfinished": 0,
//!                             "latency_s": { "p50": 20.0, "p95": 36.0, "p99": 36.0, "max": 36.0 } } },
//!   "pools": { "default": { "workers": 4, "busy": 0.55, "blocked": 0.38, "idle": 0.05 } },
//!   "queues": { "default": { "max_length": 20, "queued": 0 } }
//! }
//! ```
//! `deadlock`, when there is one, is
//! `{ "time_s", "blocked": [task], "queued": [task], "explanation": text, "cycle": [node] }`.
//!
//! When the scenario models memory (docs/memory.md), the report also has `lost` and `requeued`
//! per task type (after `unfinished`), `lost_tasks` and `requeued_tasks` (the first few
//! names), each pool has `restarting` (a share of worker-time, beside `busy`, `blocked` and
//! `idle`), `kind`, `peak_rss_bytes` (the largest process), `peak_total_bytes` and
//! `end_total_bytes` (its processes together), `restarts` (`max_memory`, `max_tasks`, `oom`),
//! `restarting_s` (worker-seconds) and `workers_memory` (per worker: `worker`,
//! `peak_rss_bytes`, `end_rss_bytes`), and the report ends with `host` (`memory_bytes`,
//! `peak_rss_bytes`) and `findings` (each `kind` and `text`). A run stopped in a restart loop
//! has `restart_loop: { exits_in_a_row, limit }` after `deadlock`.
//!
//! The answers of `qsim explore` have their own objects ([`exploration`], [`monte_carlo`],
//! [`min_workers`]), with the same `deadlock` object.

mod explore;
mod plan;
mod sweep;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::scenario::ticks_to_secs;

use super::{text, DeadlockReport, Report};

pub use explore::{exploration, min_workers, monte_carlo};
pub use plan::plan;
pub use sweep::sweep;

/// The JSON view of a [`Report`], for embedding in a larger document with serde.
#[derive(serde::Serialize, Debug)]
pub struct JsonReport<'a> {
    scenario: &'a str,
    seed: u64,
    outcome: &'a str,
    end_time_s: f64,
    events: u64,
    completed: Ordered<'a, u64>,
    failed: Ordered<'a, u64>,
    unfinished: Ordered<'a, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lost: Option<Ordered<'a, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lost_tasks: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requeued: Option<Ordered<'a, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requeued_tasks: Option<&'a [String]>,
    deadlock: Option<JsonDeadlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_loop: Option<JsonRestartLoop>,
    tasks: Ordered<'a, JsonTask>,
    pools: Ordered<'a, JsonPool<'a>>,
    queues: Ordered<'a, JsonQueue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<JsonHost>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<Vec<JsonFinding<'a>>>,
}

/// Why a run was stopped in a restart loop.
#[derive(serde::Serialize, Debug)]
struct JsonRestartLoop {
    exits_in_a_row: u32,
    limit: u32,
}

#[derive(serde::Serialize, Debug)]
struct JsonHost {
    memory_bytes: Option<u64>,
    peak_rss_bytes: u64,
}

#[derive(serde::Serialize, Debug)]
struct JsonFinding<'a> {
    kind: &'a str,
    text: &'a str,
}

#[derive(serde::Serialize, Debug)]
struct JsonPoolMemory<'a> {
    kind: &'a str,
    peak_rss_bytes: u64,
    peak_total_bytes: u64,
    end_total_bytes: u64,
    restarts: JsonRestarts,
    restarting_s: f64,
    workers_memory: Vec<JsonWorkerMemory<'a>>,
}

#[derive(serde::Serialize, Debug)]
struct JsonRestarts {
    max_memory: u64,
    max_tasks: u64,
    oom: u64,
}

#[derive(serde::Serialize, Debug)]
struct JsonWorkerMemory<'a> {
    worker: &'a str,
    peak_rss_bytes: u64,
    end_rss_bytes: u64,
}

/// A deadlock: the stuck tasks by name, the explanation and the cycle in words.
#[derive(serde::Serialize, Debug)]
struct JsonDeadlock<'a> {
    time_s: f64,
    blocked: Vec<&'a str>,
    queued: Vec<&'a str>,
    explanation: String,
    cycle: Vec<String>,
    /// `orphaned_wait` when a stuck task waits for a lost child (docs/memory.md); absent for a
    /// starvation deadlock.
    #[serde(skip_serializing_if = "Option::is_none")]
    hang: Option<&'static str>,
}

#[derive(serde::Serialize, Debug)]
struct JsonTask {
    arrived: u64,
    completed: u64,
    failed: u64,
    unfinished: u64,
    latency_s: Option<JsonLatency>,
}

#[derive(serde::Serialize, Debug)]
struct JsonLatency {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

#[derive(serde::Serialize, Debug)]
struct JsonPool<'a> {
    workers: u32,
    busy: f64,
    blocked: f64,
    idle: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    restarting: Option<f64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    memory: Option<JsonPoolMemory<'a>>,
}

#[derive(serde::Serialize, Debug)]
struct JsonQueue {
    max_length: u64,
    queued: u64,
}

/// A JSON object whose keys keep the order of the vector (serde_json's own map sorts them).
#[derive(Debug)]
struct Ordered<'a, T>(Vec<(&'a str, T)>);

impl<T: Serialize> Serialize for Ordered<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'a> JsonReport<'a> {
    /// The JSON view of `report`.
    pub fn new(report: &'a Report) -> JsonReport<'a> {
        let memory = report.memory.as_ref();
        let ordered = |list: &'a [(String, u64)]| {
            Ordered(list.iter().map(|(name, n)| (name.as_str(), *n)).collect())
        };
        let per_task = |f: fn(&super::TaskReport) -> u64| {
            Ordered(
                report
                    .tasks
                    .iter()
                    .map(|t| (t.name.as_str(), f(t)))
                    .collect(),
            )
        };
        JsonReport {
            scenario: &report.scenario,
            seed: report.seed,
            outcome: report.outcome,
            end_time_s: ticks_to_secs(report.end_time),
            events: report.events,
            completed: per_task(|t| t.completed),
            failed: per_task(|t| t.failed),
            unfinished: per_task(|t| t.unfinished),
            lost: memory.map(|m| ordered(&m.lost)),
            lost_tasks: memory.map(|m| m.lost_names.as_slice()),
            requeued: memory.map(|m| ordered(&m.requeued)),
            requeued_tasks: memory.map(|m| m.requeued_names.as_slice()),
            deadlock: report.deadlock.as_ref().map(JsonDeadlock::new),
            restart_loop: report
                .restart_loop
                .map(|(exits_in_a_row, limit)| JsonRestartLoop {
                    exits_in_a_row,
                    limit,
                }),
            tasks: Ordered(
                report
                    .tasks
                    .iter()
                    .map(|t| {
                        (
                            t.name.as_str(),
                            JsonTask {
                                arrived: t.arrived,
                                completed: t.completed,
                                failed: t.failed,
                                unfinished: t.unfinished,
                                latency_s: t.latency.map(|l| JsonLatency {
                                    p50: ticks_to_secs(l.p50),
                                    p95: ticks_to_secs(l.p95),
                                    p99: ticks_to_secs(l.p99),
                                    max: ticks_to_secs(l.max),
                                }),
                            },
                        )
                    })
                    .collect(),
            ),
            pools: Ordered(
                report
                    .pools
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let m = memory.map(|m| &m.pools[i]);
                        (
                            p.name.as_str(),
                            JsonPool {
                                workers: p.workers,
                                busy: p.busy,
                                blocked: p.blocked,
                                idle: p.idle,
                                restarting: m.map(|_| p.restarting),
                                memory: m.map(|m| JsonPoolMemory {
                                    kind: m.kind,
                                    peak_rss_bytes: m.peak_rss,
                                    peak_total_bytes: m.peak_total,
                                    end_total_bytes: m.end_total,
                                    restarts: JsonRestarts {
                                        max_memory: m.restarts[0],
                                        max_tasks: m.restarts[1],
                                        oom: m.restarts[2],
                                    },
                                    restarting_s: m.restarting as f64
                                        / crate::scenario::TICKS_PER_SECOND as f64,
                                    workers_memory: m
                                        .workers
                                        .iter()
                                        .map(|w| JsonWorkerMemory {
                                            worker: &w.name,
                                            peak_rss_bytes: w.peak_rss,
                                            end_rss_bytes: w.end_rss,
                                        })
                                        .collect(),
                                }),
                            },
                        )
                    })
                    .collect(),
            ),
            queues: Ordered(
                report
                    .queues
                    .iter()
                    .map(|q| {
                        (
                            q.name.as_str(),
                            JsonQueue {
                                max_length: q.max_length,
                                queued: q.queued,
                            },
                        )
                    })
                    .collect(),
            ),
            host: memory.map(|m| JsonHost {
                memory_bytes: m.host_memory,
                peak_rss_bytes: m.host_peak,
            }),
            findings: memory.map(|m| {
                m.findings
                    .iter()
                    .map(|f| JsonFinding {
                        kind: f.kind,
                        text: &f.text,
                    })
                    .collect()
            }),
        }
    }
}

impl<'a> JsonDeadlock<'a> {
    fn new(d: &'a DeadlockReport) -> JsonDeadlock<'a> {
        JsonDeadlock {
            time_s: ticks_to_secs(d.time),
            blocked: d.holders.iter().map(|h| h.task.as_str()).collect(),
            queued: d.queued.iter().map(|q| q.task.as_str()).collect(),
            explanation: text::explain(d),
            cycle: text::cycle(&d.cycle),
            hang: d
                .holders
                .iter()
                .any(|h| h.lost_children > 0)
                .then_some("orphaned_wait"),
        }
    }
}

/// The whole report as pretty-printed JSON, ending with a newline.
pub fn render(report: &Report) -> String {
    pretty(&JsonReport::new(report))
}

/// `value` as pretty-printed JSON, ending with a newline.
fn pretty(value: &impl Serialize) -> String {
    let mut out = serde_json::to_string_pretty(value)
        .expect("a report always serialises: string keys, finite numbers");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{simulate, Limits, Model};
    use crate::report::{fixtures::fanout, Stats};

    fn json_of(workers: u32) -> serde_json::Value {
        let model = Model::new(fanout(workers));
        let mut stats = Stats::new(&model.scenario);
        let (outcome, sim) = simulate(&model, &mut stats, Limits::default());
        let text = render(&Report::new(&sim, &stats, &outcome));
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn completed_run_has_the_documented_shape() {
        let v = json_of(4);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = [
            "scenario",
            "seed",
            "outcome",
            "end_time_s",
            "events",
            "completed",
            "failed",
            "unfinished",
            "deadlock",
            "tasks",
            "pools",
            "queues",
        ];
        // serde_json::Value sorts keys; the order itself is checked on the text below.
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(v["outcome"], "completed");
        assert_eq!(v["end_time_s"], 36.0);
        assert_eq!(v["seed"], 1);
        assert_eq!(v["completed"]["main_task"], 2);
        assert_eq!(v["completed"]["subtask"], 20);
        assert_eq!(v["unfinished"]["subtask"], 0);
        assert!(v["deadlock"].is_null());
        assert_eq!(v["tasks"]["subtask"]["latency_s"]["p95"], 32.0);
        assert_eq!(v["tasks"]["main_task"]["latency_s"]["max"], 36.0);
        assert_eq!(v["pools"]["default"]["workers"], 4);
        assert_eq!(v["queues"]["default"]["max_length"], 20);
    }

    #[test]
    fn deadlock_is_an_object_and_latency_is_null() {
        let v = json_of(2);
        assert_eq!(v["outcome"], "deadlock");
        let d = &v["deadlock"];
        assert_eq!(d["time_s"], 0.0);
        assert_eq!(
            d["blocked"],
            serde_json::json!(["main_task#1", "main_task#2"])
        );
        assert_eq!(d["queued"].as_array().unwrap().len(), 20);
        assert!(d["explanation"].as_str().unwrap().contains("default/1"));
        assert!(d["cycle"].as_array().unwrap().len() >= 2);
        assert!(v["tasks"]["main_task"]["latency_s"].is_null());
    }

    #[test]
    fn keys_follow_declaration_and_scenario_order() {
        let model = Model::new(fanout(4));
        let mut stats = Stats::new(&model.scenario);
        let (outcome, sim) = simulate(&model, &mut stats, Limits::default());
        let mut report = Report::new(&sim, &stats, &outcome);
        // A name that sorts first must still come in scenario order.
        report.tasks[1].name = "a_subtask".into();
        let text = render(&report);
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {text}"))
        };
        assert!(at("\"scenario\":") < at("\"seed\":"));
        assert!(at("\"events\":") < at("\"completed\": {"));
        assert!(at("\"deadlock\":") < at("\"tasks\":"));
        assert!(at("\"main_task\":") < at("\"a_subtask\":"));
        assert!(text.ends_with("}\n"));
    }
}
