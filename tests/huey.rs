//! Fidelity of the memory model against a real Huey consumer (docs/huey-fidelity.md).
//!
//! Each scenario of `tests/huey/scenarios/` is run twice: by qsim (`qsim run --format json`)
//! and by a real Huey consumer with real memory (`tests/huey/fidelity.py run`, which allocates
//! what the scenario says, checks RSS after each task and exits above `max_memory` as the
//! incident's hook did). The two must agree: tasks completed and lost, and restarts by cause,
//! exactly; each worker's peak and end RSS, and the pool's and host's, within a few MB. The
//! incident's own scenarios (`scenarios/memory_*.toml`, hundreds of MB and tens of seconds) run
//! too, shrunk by the harness's `--memory-scale` and `--time-scale`; there only what does not
//! depend on timing is compared (counts, restarts, each worker's peak and end).
//!
//! The comparisons are opt-in: they run only with `QSIM_HUEY=1` (about 40 s; they start Python
//! processes and use a few hundred MB), and otherwise say that they skipped and pass. They
//! need `python3` (3.8 or later, or `$QSIM_HUEY_PYTHON`) with pip: the harness installs the
//! pinned Huey into `target/tmp/huey-deps` on first use. One real run at a time: they hold a
//! lock, since two consumers at once would disturb each other's timing and memory samples.
//! The cheap check, that every fidelity scenario is a valid qsim scenario that completes,
//! always runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// How far one process's RSS may be from qsim's figure: the interpreter's own growth over a
/// run (its first task imports and caches ~0.3 MB, each later one a few KB) and the ballast's
/// rounding to pages stay well under it.
const PER_PROCESS_TOLERANCE: u64 = 3_000_000;

/// One real consumer at a time.
static REAL_RUNS: Mutex<()> = Mutex::new(());

/// The incident's scenarios, shrunk for the real run: (file, memory scale, time scale). Sizes
/// stay above a bare interpreter's RSS (~18 MB forked, ~25 MB for a thread consumer). Not
/// here: the OOM scenarios (the harness does not reproduce the OOM killer), the one with
/// several queues, and `memory_recycling_thread`, whose recycles depend on which of two
/// threads takes which task once Huey's health check (every 0.1 s at least) is slower than
/// the shrunk restart.
const SHRUNK: &[(&str, f64, f64)] = &[
    ("scenarios/memory_leak.toml", 0.1, 0.01),
    ("scenarios/memory_leak_gc.toml", 0.1, 0.01),
    ("scenarios/memory_leak_threshold.toml", 0.1, 0.01),
    ("scenarios/memory_leak_max_tasks.toml", 0.1, 0.01),
    ("scenarios/memory_restart_loop.toml", 0.1, 0.01),
    ("scenarios/memory_thread_exit.toml", 0.5, 0.01),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fidelity scenarios, in name order.
fn scenarios() -> Vec<PathBuf> {
    let dir = root().join("tests/huey/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the fidelity scenarios in {}",
        dir.display()
    );
    files
}

fn name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// What `command` (`what`, for messages) prints as JSON, once it succeeded.
fn json_of(mut command: Command, what: &str) -> Value {
    let out = command
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} exited with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what} prints JSON: {e}"))
}

/// `qsim run FILE --format json`.
fn qsim(path: &Path) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qsim"));
    command.args(["run", "--format", "json"]).arg(path);
    json_of(command, &format!("qsim run {}", path.display()))
}

/// `python3 tests/huey/fidelity.py run FILE`: the real consumer's figures, in qsim's shape,
/// sizes and durations multiplied by the scales for the run (and its figures divided back).
fn huey(python: &str, path: &Path, memory_scale: f64, time_scale: f64) -> Value {
    let deps = Path::new(env!("CARGO_TARGET_TMPDIR")).join("huey-deps");
    let mut command = Command::new(python);
    command
        .arg(root().join("tests/huey/fidelity.py"))
        .arg("run")
        .arg(path)
        .arg(format!("--memory-scale={memory_scale}"))
        .arg(format!("--time-scale={time_scale}"))
        .env("QSIM_HUEY_DEPS", &deps);
    let what = format!("{python} tests/huey/fidelity.py run {}", path.display());
    json_of(command, &what)
}

/// A `{task type: n}` table without its zeros (qsim lists every task type, the harness only
/// those that happened).
fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, n)| n.as_u64().filter(|&n| n > 0).map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default()
}

fn bytes(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what}: expected a number of bytes, found {v}"))
}

fn mb(b: u64) -> String {
    format!("{:.2}MB", b as f64 / 1e6)
}

/// Compares one scenario's two answers, memory within `tolerance` bytes per process, and the
/// pool's and host's totals too when `totals`; returns the lines of its table and its
/// problems.
fn compare(
    scenario: &str,
    sim: &Value,
    real: &Value,
    tolerance: u64,
    totals: bool,
) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for key in ["completed", "lost"] {
        let (s, r) = (counts(&sim[key]), counts(&real[key]));
        lines.push(format!("  {key:<26} qsim {s:?}  huey {r:?}"));
        if s != r {
            problems.push(format!("{scenario}: {key}: qsim {s:?}, huey {r:?}"));
        }
    }
    let pools = sim["pools"].as_object().expect("qsim's pools");
    for (pool, sp) in pools {
        let rp = &real["pools"][pool];
        let causes = ["max_memory", "max_tasks", "oom"];
        let restarts = |p: &Value| -> Vec<u64> {
            causes
                .iter()
                .map(|c| p["restarts"][c].as_u64().unwrap_or(0))
                .collect()
        };
        let (s, r) = (restarts(sp), restarts(rp));
        lines.push(format!("  restarts {causes:?} qsim {s:?}  huey {r:?}"));
        if s != r {
            problems.push(format!(
                "{scenario}: pool {pool} restarts {causes:?}: qsim {s:?}, huey {r:?}"
            ));
        }
        let sw = sp["workers_memory"]
            .as_array()
            .expect("qsim's workers_memory");
        let rw = rp["workers_memory"]
            .as_array()
            .expect("the harness's workers_memory");
        assert_eq!(
            sw.len(),
            rw.len(),
            "{scenario}: one entry per worker on both sides"
        );
        // A process pool has a process per worker, a thread pool one.
        let processes = if sp["kind"] == "process" {
            sw.len() as u64
        } else {
            1
        };
        let mut close = |what: String, s: u64, r: u64, tolerance: u64| {
            let diff = r as i64 - s as i64;
            lines.push(format!(
                "  {what:<26} qsim {:>9}  huey {:>9}  ({:+.2}MB)",
                mb(s),
                mb(r),
                diff as f64 / 1e6
            ));
            if diff.unsigned_abs() > tolerance {
                problems.push(format!(
                    "{scenario}: {what}: qsim {}, huey {} (tolerance {})",
                    mb(s),
                    mb(r),
                    mb(tolerance)
                ));
            }
        };
        for (i, (s, r)) in sw.iter().zip(rw).enumerate() {
            for key in ["peak_rss_bytes", "end_rss_bytes"] {
                close(
                    format!("worker {} {key}", i + 1),
                    bytes(&s[key], key),
                    bytes(&r[key], key),
                    tolerance,
                );
            }
        }
        // The largest process's peak, then the processes together.
        close(
            "pool peak_rss_bytes".into(),
            bytes(&sp["peak_rss_bytes"], "peak_rss_bytes"),
            bytes(&rp["peak_rss_bytes"], "peak_rss_bytes"),
            tolerance,
        );
        if totals {
            for key in ["peak_total_bytes", "end_total_bytes"] {
                close(
                    format!("pool {key}"),
                    bytes(&sp[key], key),
                    bytes(&rp[key], key),
                    tolerance * processes,
                );
            }
            close(
                "host peak_rss_bytes".into(),
                bytes(&sim["host"]["peak_rss_bytes"], "host peak"),
                bytes(&real["host"]["peak_rss_bytes"], "host peak"),
                tolerance * processes,
            );
        }
    }
    (lines, problems)
}

/// Whether the opt-in comparisons run; says so when they do not.
fn opted_in(test: &str) -> bool {
    let on = std::env::var("QSIM_HUEY").as_deref() == Ok("1");
    if !on {
        eprintln!("skipped: {test} runs only with QSIM_HUEY=1 (see docs/huey-fidelity.md)");
    }
    on
}

/// Runs each (file, memory scale, time scale) through qsim and the real consumer, prints the
/// table and fails on any problem.
fn real_against_qsim(runs: &[(PathBuf, f64, f64)], totals: bool) {
    let _one_at_a_time = REAL_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let python = std::env::var("QSIM_HUEY_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut problems = Vec::new();
    for (path, memory_scale, time_scale) in runs {
        let scenario = name(path);
        let sim = qsim(path);
        let real = huey(&python, path, *memory_scale, *time_scale);
        // What the harness's noise is in the real run becomes 1/scale as much in the
        // scenario's own sizes.
        let tolerance = (PER_PROCESS_TOLERANCE as f64 / memory_scale) as u64;
        let (lines, mut found) = compare(&scenario, &sim, &real, tolerance, totals);
        eprintln!(
            "{scenario} (memory x{memory_scale}, time x{time_scale}): qsim ends at {}s, \
             the real tasks span {}s (unscaled)",
            sim["end_time_s"], real["measured"]["makespan_unscaled_s"]
        );
        for line in lines {
            eprintln!("{line}");
        }
        problems.append(&mut found);
    }
    assert!(
        problems.is_empty(),
        "the real Huey consumer differs from qsim:\n{}",
        problems.join("\n")
    );
}

#[test]
fn fidelity_scenarios_complete_in_qsim() {
    for path in scenarios() {
        let report = qsim(&path);
        assert_eq!(report["outcome"], "completed", "{}", path.display());
    }
}

#[test]
fn real_huey_matches_qsim() {
    if !opted_in("real_huey_matches_qsim") {
        return;
    }
    let runs: Vec<_> = scenarios().into_iter().map(|p| (p, 1.0, 1.0)).collect();
    real_against_qsim(&runs, true);
}

#[test]
fn real_huey_matches_qsim_on_the_incident_scenarios_shrunk() {
    if !opted_in("real_huey_matches_qsim_on_the_incident_scenarios_shrunk") {
        return;
    }
    let runs: Vec<_> = SHRUNK
        .iter()
        .map(|&(file, m, t)| (root().join(file), m, t))
        .collect();
    real_against_qsim(&runs, false);
}
