//! Capacity planning: the smallest worker count of a pool that meets every objective.
//!
//! # Summary
//! Objectives ([`Slo`]) bound what runs measure: a latency percentile of a task type
//! (`p99(main_task)<=30s`), the share of runs that deadlock (`deadlock<=0.001`), or how busy a
//! pool's workers are (`utilisation(default)<=0.85`, the share of worker time not idle). Each
//! count tried is a point of a sweep ([`crate::sweep`]): `runs` runs with seeds derived from
//! the scenario's, so that every figure can be reproduced.
//!
//! # The search
//! Galloping, then bisection: counts 1, 2, 4, 8, ... until one meets every objective (or
//! `up_to` is passed), then bisection between the last count that failed and the first that
//! met. This assumes that more workers never make an objective worse, which holds for the
//! objectives here in the models qsim simulates (a worker more can only take work sooner); the
//! counts tried around the answer are shown, so that a curve that is not monotone is seen.
//!
//! # What "met" means
//! Objectives are checked on the point estimates of the runs (the pooled percentile, the share
//! of runs that deadlocked, the share of worker time); the 95% intervals are shown beside
//! them, and the margin is the distance from the estimate to the limit. A deadlock objective
//! met by sampling is an estimate: [`Plan::proof`] holds an exhaustive verdict at the answer
//! when one was asked for.

use crate::error::{Error, Result};
use crate::explore::{decide, Budget, Exploration, Order, Reductions, Timing};
use crate::scenario::{duration::parse_duration, Tick, TICKS_PER_SECOND};
use crate::sweep::{Mode, Outcome, Runs, Sweep, Vary};

/// What an objective measures.
#[derive(Clone, Debug, PartialEq)]
pub enum Measure {
    /// A latency quantile (0.5, 0.95, 0.99) of a task type, in ticks.
    Quantile {
        /// The quantile.
        q: f64,
        /// The task type.
        task: String,
    },
    /// The mean latency of a task type, in ticks.
    Mean {
        /// The task type.
        task: String,
    },
    /// The share of runs that deadlock.
    Deadlock,
    /// The share of a pool's worker time that is not idle (busy or blocked in a wait).
    Utilisation {
        /// The pool.
        pool: String,
    },
    /// The largest resident memory of any one process of a pool, in any run, in bytes.
    PeakRss {
        /// The pool.
        pool: String,
    },
}

/// One objective: a measure and its upper bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// The objective as written.
    pub text: String,
    /// What is measured.
    pub measure: Measure,
    /// The most it may be: ticks for latencies, bytes for memory, a fraction for the others.
    pub limit: f64,
}

impl Slo {
    /// Reads `p99(TASK)<=30s`, `p95(TASK)<=2s`, `p50(TASK)<=1s`, `mean(TASK)<=5s`,
    /// `deadlock<=0.001`, `utilisation(POOL)<=0.85` or `peak_rss(POOL)<=1GB`.
    pub fn parse(text: &str) -> std::result::Result<Slo, String> {
        let expected = "expected p99(TASK)<=DURATION, p95(...), p50(...), mean(TASK)<=DURATION, deadlock<=FRACTION, utilisation(POOL)<=FRACTION or peak_rss(POOL)<=SIZE";
        let (lhs, rhs) = text
            .split_once("<=")
            .ok_or_else(|| format!("{expected}, found \"{text}\""))?;
        let (lhs, rhs) = (lhs.trim(), rhs.trim());
        let inside = |name: &str| -> Option<String> {
            let rest = lhs
                .strip_prefix(name)?
                .strip_prefix('(')?
                .strip_suffix(')')?;
            (!rest.trim().is_empty()).then(|| rest.trim().to_string())
        };
        let fraction = || -> std::result::Result<f64, String> {
            match rhs.parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
                _ => Err(format!(
                    "expected a fraction from 0 to 1 after <= in \"{text}\", found \"{rhs}\""
                )),
            }
        };
        let duration = || -> std::result::Result<f64, String> {
            parse_duration(rhs)
                .map(|t| t as f64)
                .map_err(|e| format!("in \"{text}\": {e}"))
        };
        let (measure, limit) = if lhs == "deadlock" {
            (Measure::Deadlock, fraction()?)
        } else if let Some(pool) = inside("utilisation") {
            (Measure::Utilisation { pool }, fraction()?)
        } else if let Some(pool) = inside("peak_rss") {
            let bytes =
                crate::scenario::parse_size(rhs).map_err(|e| format!("in \"{text}\": {e}"))?;
            (Measure::PeakRss { pool }, bytes as f64)
        } else if let Some(task) = inside("mean") {
            (Measure::Mean { task }, duration()?)
        } else if let Some((q, task)) = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)]
            .iter()
            .find_map(|(name, q)| inside(name).map(|t| (*q, t)))
        {
            (Measure::Quantile { q, task }, duration()?)
        } else {
            return Err(format!("{expected}, found \"{text}\""));
        };
        Ok(Slo {
            text: text.trim().to_string(),
            measure,
            limit,
        })
    }

    /// The measured value at a point (ticks or fraction); `None` when the runs measured
    /// nothing (no task of that type finished, no time passed).
    pub fn value(&self, runs: &Runs) -> Option<f64> {
        let ticks = |s: f64| s * TICKS_PER_SECOND as f64;
        let latency = |task: &str| {
            runs.latency
                .iter()
                .find(|(t, _)| t == task)
                .and_then(|(_, l)| l.as_ref())
        };
        match &self.measure {
            Measure::Deadlock => Some(runs.deadlock.value),
            Measure::Utilisation { pool } => runs
                .utilisation
                .iter()
                .find(|(p, _)| p == pool)
                .and_then(|(_, u)| u.map(|u| u.busy + u.blocked)),
            Measure::PeakRss { pool } => runs
                .peak_rss
                .iter()
                .find(|(p, _)| p == pool)
                .map(|(_, bytes)| *bytes as f64),
            Measure::Mean { task } => latency(task).map(|l| ticks(l.mean.value)),
            Measure::Quantile { q, task } => latency(task).map(|l| {
                ticks(match q {
                    x if *x < 0.9 => l.p50,
                    x if *x < 0.98 => l.p95,
                    _ => l.p99,
                })
            }),
        }
    }

    /// Whether the runs meet the objective. Nothing measured (no task of that type finished,
    /// because every run deadlocked, say) is not met.
    pub fn met(&self, runs: &Runs) -> bool {
        self.value(runs).is_some_and(|v| v <= self.limit)
    }

    /// Checks the names the objective uses against the scenario.
    fn check(&self, tasks: &[String], pools: &[String]) -> Result<()> {
        let (kind, name, known) = match &self.measure {
            Measure::Deadlock => return Ok(()),
            Measure::Utilisation { pool } | Measure::PeakRss { pool } => ("pool", pool, pools),
            Measure::Mean { task } | Measure::Quantile { task, .. } => ("task", task, tasks),
        };
        if known.contains(name) {
            Ok(())
        } else {
            Err(Error::Usage(format!(
                "--slo \"{}\": no {kind} named \"{name}\" (known: {})",
                self.text,
                known.join(", ")
            )))
        }
    }
}

/// One worker count tried.
#[derive(Clone, Debug)]
pub struct Tried {
    /// The count.
    pub workers: u32,
    /// Its runs.
    pub runs: Runs,
    /// Whether every objective was met.
    pub met: bool,
}

/// The answer of a plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// The pool planned.
    pub pool: String,
    /// The objectives.
    pub slos: Vec<Slo>,
    /// Runs per count.
    pub runs: u64,
    /// The smallest count meeting every objective, if one was found.
    pub answer: Option<u32>,
    /// Every count tried, by count.
    pub tried: Vec<Tried>,
    /// The exhaustive verdict at the answer, when asked for (`--prove`).
    pub proof: Option<Exploration>,
    /// Why no answer, when there is none, in words.
    pub why_not: Option<String>,
}

/// How to plan.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Runs per count tried.
    pub runs: u64,
    /// A horizon for every run, replacing the scenario's.
    pub horizon: Option<Tick>,
    /// Observations start here.
    pub warmup: Tick,
    /// The largest count to try.
    pub up_to: u32,
    /// Decide the answer exhaustively too, with this budget.
    pub prove: Option<Budget>,
    /// Limits on each run.
    pub limits: crate::engine::Limits,
    /// Recorded arrivals that replace the scenario's at every count (`--arrivals-from`).
    pub arrivals: Option<crate::scenario::Recorded>,
}

/// Finds the smallest worker count of `pool` meeting every objective; see the module docs.
pub fn plan(
    file: &str,
    text: &str,
    sets: &[String],
    pool: &str,
    slos: &[Slo],
    settings: &Settings,
) -> Result<Plan> {
    let mut base = crate::scenario::parse(file, text, sets)?;
    if let Some(recorded) = &settings.arrivals {
        base = recorded.apply(&base)?;
    }
    let pools: Vec<String> = base.pools.iter().map(|p| p.name.clone()).collect();
    if !pools.iter().any(|p| p == pool) {
        return Err(Error::Usage(format!(
            "--pool: no pool named \"{pool}\" (known: {})",
            pools.join(", ")
        )));
    }
    let tasks: Vec<String> = base.tasks.iter().map(|t| t.name.clone()).collect();
    for slo in slos {
        slo.check(&tasks, &pools)?;
    }
    let path = format!("pool.{pool}.workers");
    let mode = Mode::Runs {
        runs: settings.runs,
        horizon: settings.horizon,
        warmup: settings.warmup,
        limits: settings.limits,
    };
    let mut tried: Vec<Tried> = Vec::new();
    let mut evaluate = |workers: u32| -> Result<bool> {
        if let Some(t) = tried.iter().find(|t| t.workers == workers) {
            return Ok(t.met);
        }
        let vary = Vary {
            path: path.clone(),
            values: vec![workers.to_string()],
        };
        let mut sweep = Sweep::new(file, text, sets, &[vary])?;
        if let Some(recorded) = &settings.arrivals {
            sweep = sweep.with_arrivals(recorded)?;
        }
        let result = sweep.run(&mode, &|_| {}).remove(0);
        let Outcome::Runs(runs) = result.outcome else {
            unreachable!("a Monte Carlo sweep gives runs");
        };
        let met = slos.iter().all(|s| s.met(&runs));
        tried.push(Tried { workers, runs, met });
        Ok(met)
    };
    // Gallop up to the first count that meets, then bisect below it.
    let up_to = settings.up_to.max(1);
    let mut last_failed = 0u32;
    let mut first_met = None;
    let mut w = 1u32;
    loop {
        if evaluate(w)? {
            first_met = Some(w);
            break;
        }
        last_failed = w;
        if w >= up_to {
            break;
        }
        w = w.saturating_mul(2).min(up_to);
    }
    let answer = match first_met {
        None => None,
        Some(mut hi) => {
            let mut lo = last_failed;
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if evaluate(mid)? {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            // The counts beside the answer, for the curve around it.
            for w in [hi.saturating_sub(1).max(1), hi + 1] {
                if w <= up_to.max(hi + 1) {
                    evaluate(w)?;
                }
            }
            Some(hi)
        }
    };
    tried.sort_by_key(|t| t.workers);
    let proof = match (&settings.prove, answer) {
        (Some(budget), Some(w)) => {
            let mut all = sets.to_vec();
            all.push(format!("{path}={w}"));
            let mut scenario = crate::scenario::parse(file, text, &all)?;
            if let Some(recorded) = &settings.arrivals {
                scenario = recorded.apply(&scenario)?;
            }
            Some(decide(
                &scenario,
                Timing::Any,
                Reductions::ALL,
                Order::DeadlockFirst,
                budget,
                &mut |_| {},
            ))
        }
        _ => None,
    };
    let why_not = answer.is_none().then(|| {
        why_not(
            &base,
            pool,
            slos,
            tried.last().expect("a count was tried"),
            up_to,
        )
    });
    Ok(Plan {
        scenario: base.name,
        pool: pool.to_string(),
        slos: slos.to_vec(),
        runs: settings.runs,
        answer,
        tried,
        proof,
        why_not,
    })
}

/// Why even the largest count tried fails, in words a team can act on.
fn why_not(
    scenario: &crate::scenario::Scenario,
    pool: &str,
    slos: &[Slo],
    largest: &Tried,
    up_to: u32,
) -> String {
    let failing: Vec<&Slo> = slos.iter().filter(|s| !s.met(&largest.runs)).collect();
    let mut reasons = Vec::new();
    for slo in failing {
        let reason = match &slo.measure {
            Measure::Deadlock
                if !scenario.arrivals_are_finite()
                    && scenario.tasks.iter().any(|t| t.waits_for_ever()) =>
            {
                format!(
                    "{}: parents that wait without a timeout keep arriving, so over a long enough \
                     run enough of them arrive together to hold any number of workers; give the \
                     waits a timeout, send the children to another pool, or shorten the horizon",
                    slo.text
                )
            }
            _ if largest
                .runs
                .utilisation
                .iter()
                .find(|(p, _)| p == pool)
                .and_then(|(_, u)| *u)
                .is_some_and(|u| u.idle < 0.02) =>
            {
                format!(
                    "{}: even {} workers are busy {:.0}% of the time: the load is more than \
                     the pool serves, and the queue grows without bound",
                    slo.text,
                    largest.workers,
                    100.0
                        * largest
                            .runs
                            .utilisation
                            .iter()
                            .find(|(p, _)| p == pool)
                            .and_then(|(_, u)| *u)
                            .map_or(1.0, |u| 1.0 - u.idle)
                )
            }
            _ => format!(
                "{}: not met with {} workers, the most tried (--up-to {up_to})",
                slo.text, largest.workers
            ),
        };
        reasons.push(reason);
    }
    reasons.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_read_as_written() {
        let s = Slo::parse("p99(main_task)<=30s").unwrap();
        assert_eq!(
            s.measure,
            Measure::Quantile {
                q: 0.99,
                task: "main_task".into()
            }
        );
        assert_eq!(s.limit, 30.0 * TICKS_PER_SECOND as f64);
        assert_eq!(Slo::parse("deadlock<=0.001").unwrap().limit, 0.001);
        assert_eq!(
            Slo::parse("utilisation(default) <= 0.85").unwrap().measure,
            Measure::Utilisation {
                pool: "default".into()
            }
        );
        assert!(Slo::parse("deadlock<=2")
            .unwrap_err()
            .contains("fraction from 0 to 1"));
        assert!(Slo::parse("p42(x)<=1s")
            .unwrap_err()
            .contains("expected p99(TASK)"));
        assert!(Slo::parse("p99()<=1s").unwrap_err().contains("expected"));
        let rss = Slo::parse("peak_rss(default)<=1.5GB").unwrap();
        assert_eq!(
            rss.measure,
            Measure::PeakRss {
                pool: "default".into()
            }
        );
        assert_eq!(rss.limit, 1.5e9);
        assert!(Slo::parse("peak_rss(default)<=lots")
            .unwrap_err()
            .contains("expected a size"));
    }
}
