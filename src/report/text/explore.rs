//! The answers of `qsim explore` in words: an exhaustive exploration, a Monte Carlo study, a
//! `--min-workers` table.
//!
//! ```text
//! fanout: deadlock under any timing (14 states, 15 transitions, depth 6, 1.2ms, 17.0 bytes/state)
//!
//! schedule (6 steps, none can be removed, seed 1):
//!    1. main_task#1 arrives
//!    …
//! fanout: smallest deadlock-free worker count of pool "default" under any timing: 3
//!   workers  verdict        states
//!         1  deadlock            6
//! ```
//!
//! The commands a report suggests (`qsim replay FILE --schedule S`, `qsim run FILE --set
//! seed=…`) name the files as the caller passes them.

use std::path::Path;

use crate::explore::random::MonteCarlo;
use crate::explore::{Exploration, Method, MinWorkers, Reductions, Timing, Verdict};
use crate::report::{DeadlockReport, ExplorationReport};
use crate::scenario::format_ticks;

use super::{explain, numbered};

/// An exhaustive exploration: the verdict with what the search did, then for a deadlock the
/// numbered schedule, the explanation and how to replay it. `scenario_file` and
/// `schedule_file` (where the schedule was written, if it was) make up the replay command.
pub fn exploration(
    r: &ExplorationReport,
    scenario_file: &Path,
    schedule_file: Option<&Path>,
) -> String {
    let e = &r.exploration;
    let timing = format!("{} timing", r.timing.name());
    let searched = format!(
        "{} states, {} transitions, depth {}, {:.1?}, {:.1} bytes/state{}",
        e.states,
        e.transitions,
        e.depth,
        e.elapsed,
        e.bytes_per_state,
        reductions_left_out(r.reductions)
    );
    let mut out = String::new();
    match &e.verdict {
        Verdict::Deadlock {
            schedule,
            found_steps,
            deadlock,
        } => {
            let minimised = if *found_steps > schedule.steps.len() {
                format!("minimised from {found_steps}")
            } else {
                "none can be removed".to_string()
            };
            // A hang whose stuck tasks wait for a lost child is named apart (docs/memory.md);
            // the verdict (and its JSON name) stays `deadlock`, any state nothing can leave.
            let hang = if deadlock.is_orphaned() {
                "deadlock (an orphaned wait)"
            } else {
                "deadlock"
            };
            out += &format!(
                "{}: {hang} under {timing} ({searched})\n{}\nschedule ({} steps, {minimised}, seed {}):\n",
                r.scenario,
                how_decided(e),
                schedule.steps.len(),
                schedule.seed
            );
            out += &numbered(&r.story);
            out += "\n";
            out += &explain(&DeadlockReport::new(deadlock));
            out += "\n";
            if r.timing == Timing::Any {
                out += "  (under any timing every duration is zero, so every instant reads 0s)\n";
            }
            out += "\n";
            match schedule_file {
                Some(path) => {
                    out += &format!(
                        "replay: qsim replay {} --schedule {}\n",
                        scenario_file.display(),
                        path.display()
                    )
                }
                None => out +=
                    "write the schedule with --schedule-out FILE to replay it with `qsim replay`\n",
            }
        }
        Verdict::DeadlockFree => match &e.method {
            Method::Counting(proof) => {
                out += &format!(
                    "{}: deadlock-free under every timing: proved by counting, no state visited\n  {}\n",
                    r.scenario,
                    proof.explain()
                );
            }
            Method::BreadthFirst | Method::DepthFirst => {
                out += &format!(
                    "{}: deadlock-free under {timing}: every reachable state visited ({searched})\n  final states: {} completed, {} at the horizon\n{}",
                    r.scenario, e.completed_states, e.horizon_states, how_decided(e)
                );
            }
        },
        Verdict::Inconclusive { reason } => {
            out += &format!(
                "{}: inconclusive under {timing}: {reason}\n  searched so far: {searched}, frontier up to {}\n{}",
                r.scenario, e.max_frontier, how_decided(e)
            );
        }
    }
    out
}

/// Which search decided, and the shortcuts the scenario switched off, one line each.
fn how_decided(e: &Exploration) -> String {
    let mut out = match e.method {
        Method::Counting(_) => String::new(),
        Method::BreadthFirst => "  search: breadth-first (a shortest counterexample first)\n".into(),
        Method::DepthFirst => {
            "  search: depth-first, deadlock-prone choices first (--shortest for a shortest counterexample)\n".into()
        }
    };
    for off in &e.switched_off {
        out += &format!("  {} off: {}\n", off.shortcut.name(), off.reason);
    }
    out
}

/// The reductions a search went without, as the end of its summary (empty with all of them).
fn reductions_left_out(r: Reductions) -> &'static str {
    match (r.symmetry, r.partial_order) {
        (true, true) => "",
        (false, false) => ", no reductions",
        (true, false) => ", no partial-order reduction",
        (false, true) => ", no symmetry reduction",
    }
}

/// A Monte Carlo study: the probability of deadlock and its interval, the time to deadlock,
/// the other runs, and how to reproduce a deadlocking run of `scenario_file`.
pub fn monte_carlo(mc: &MonteCarlo, scenario_file: &Path) -> String {
    let mut out = format!(
        "{}: {} random runs (seed {}): deadlock in {} — probability {} (95% CI {} to {})\n",
        mc.scenario,
        mc.runs,
        mc.seed,
        mc.deadlocks,
        percent(mc.probability()),
        percent(mc.interval.0),
        percent(mc.interval.1),
    );
    if let (Some(p50), Some(p95)) = (mc.p50_time_to_deadlock, mc.p95_time_to_deadlock) {
        out += &format!(
            "  time to deadlock: p50 {}, p95 {}\n",
            format_ticks(p50),
            format_ticks(p95)
        );
    }
    out += &format!(
        "  other runs: {} completed, {} reached the horizon, {} hit the event, task or memory limit\n",
        mc.completed, mc.horizon, mc.event_limit
    );
    if mc.is_inconclusive() {
        out += "  inconclusive: every run hit a limit before it could end or deadlock (raise \
                --max-events, --max-tasks or --max-memory, or give a shorter --horizon)\n";
    } else if let Some(s) = mc.example_seed {
        out += &format!(
            "  reproduce a deadlocking run: qsim run {} --set seed={s} --set ties=random{}\n",
            scenario_file.display(),
            mc.horizon_override
                .map(|h| format!(" --set horizon={}", format_ticks(h)))
                .unwrap_or_default()
        );
    } else {
        out += "  no run deadlocked: this is evidence, not a proof";
        // A proof is suggested only where the exhaustive search can take the scenario.
        match mc.exhaustive {
            Some(Timing::Any) => out += " (use --mode exhaustive for one)",
            Some(Timing::Exact) => {
                out += &format!(
                    " (--mode exhaustive --timing exact{} gives one for the mean durations)",
                    mc.horizon_override
                        .map(|h| format!(" --set horizon={}", format_ticks(h)))
                        .unwrap_or_default()
                )
            }
            None => {}
        }
        out += "\n";
    }
    out
}

/// A probability as a percentage with 2 decimals.
fn percent(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// The `--min-workers` answer and the table of the counts tried.
pub fn min_workers(m: &MinWorkers) -> String {
    let mut out = match m.min_workers {
        Some(w) => format!(
            "{}: smallest deadlock-free worker count of pool \"{}\" under {} timing: {w}\n",
            m.scenario,
            m.pool,
            m.timing.name()
        ),
        None => format!(
            "{}: no worker count of pool \"{}\" up to {} is proved deadlock-free under {} timing\n",
            m.scenario,
            m.pool,
            m.up_to,
            m.timing.name()
        ),
    };
    out += "  workers  verdict        states  decided by\n";
    for t in &m.tried {
        out += &format!(
            "  {:>7}  {:<13}  {:>6}  {}\n",
            t.workers,
            t.exploration.verdict.name(),
            t.exploration.states,
            t.exploration.method.name().replace('_', "-")
        );
    }
    if m.any_inconclusive() && m.min_workers.is_some() {
        out += "  (a smaller count was inconclusive: the true minimum may be lower)\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::fanout_min_workers;

    #[test]
    fn min_workers_from_the_library_gives_the_table_the_cli_prints() {
        let m = fanout_min_workers();
        assert_eq!(
            min_workers(&m),
            "\
fanout: smallest deadlock-free worker count of pool \"default\" under any timing: 3
  workers  verdict        states  decided by
        1  deadlock            6  depth-first
        2  deadlock            9  depth-first
        3  deadlock_free       0  counting
"
        );
    }

    #[test]
    fn a_monte_carlo_study_names_the_seed_and_horizon_to_reproduce_it() {
        let mc = MonteCarlo {
            scenario: "fanout".into(),
            runs: 400,
            deadlocks: 100,
            completed: 300,
            horizon: 0,
            event_limit: 0,
            interval: (0.21, 0.29),
            p50_time_to_deadlock: Some(0),
            p95_time_to_deadlock: Some(2_000_000_000),
            example_seed: Some(42),
            seed: 1,
            horizon_override: Some(600_000_000_000),
            exhaustive: Some(Timing::Exact),
        };
        assert_eq!(
            monte_carlo(&mc, Path::new("fanout.toml")),
            "\
fanout: 400 random runs (seed 1): deadlock in 100 — probability 25.00% (95% CI 21.00% to 29.00%)
  time to deadlock: p50 0s, p95 2s
  other runs: 300 completed, 0 reached the horizon, 0 hit the event, task or memory limit
  reproduce a deadlocking run: qsim run fanout.toml --set seed=42 --set ties=random --set horizon=10m00s
"
        );
    }

    /// A study without deadlock suggests the exhaustive search only where it can take the
    /// scenario, and says nothing of deadlock when every run hit a limit (issue 14).
    #[test]
    fn a_study_without_deadlock_suggests_a_proof_only_where_there_can_be_one() {
        let quiet = MonteCarlo {
            scenario: "jobs".into(),
            runs: 10,
            deadlocks: 0,
            completed: 0,
            horizon: 10,
            event_limit: 0,
            interval: (0.0, 0.28),
            p50_time_to_deadlock: None,
            p95_time_to_deadlock: None,
            example_seed: None,
            seed: 1,
            horizon_override: None,
            exhaustive: None,
        };
        let last_line = |mc: &MonteCarlo| {
            let text = monte_carlo(mc, Path::new("jobs.toml"));
            text.lines().last().unwrap().to_string()
        };
        let with = |exhaustive, horizon_override| MonteCarlo {
            exhaustive,
            horizon_override,
            ..quiet.clone()
        };
        assert_eq!(
            last_line(&with(Some(Timing::Any), None)),
            "  no run deadlocked: this is evidence, not a proof (use --mode exhaustive for one)"
        );
        assert_eq!(
            last_line(&with(Some(Timing::Exact), Some(60_000_000_000))),
            "  no run deadlocked: this is evidence, not a proof (--mode exhaustive --timing exact \
             --set horizon=1m00s gives one for the mean durations)"
        );
        assert_eq!(
            last_line(&with(Some(Timing::Exact), None)),
            "  no run deadlocked: this is evidence, not a proof (--mode exhaustive --timing exact \
             gives one for the mean durations)"
        );
        assert_eq!(
            last_line(&quiet),
            "  no run deadlocked: this is evidence, not a proof"
        );
        let stuck = MonteCarlo {
            horizon: 0,
            event_limit: 10,
            exhaustive: Some(Timing::Any),
            ..quiet.clone()
        };
        let text = monte_carlo(&stuck, Path::new("jobs.toml"));
        assert!(!text.contains("no run deadlocked"), "{text}");
        assert!(
            text.ends_with(
                "  other runs: 0 completed, 0 reached the horizon, 10 hit the event, task or memory limit
  inconclusive: every run hit a limit before it could end or deadlock (raise --max-events, \
                 --max-tasks or --max-memory, or give a shorter --horizon)\n"
            ),
            "{text}"
        );
    }
}
