//! Fidelity of the memory model against a real Huey consumer (docs/huey-fidelity.md).
//!
//! Each scenario of `tests/huey/scenarios/` is run twice: by qsim (`qsim run --format json`)
//! and by a real Huey consumer with real memory (`tests/huey/fidelity.py run`, which allocates
//! what the scenario says, checks RSS after each task and exits above `max_memory` as the
//! incident's hook did). The two must agree: tasks completed and lost, and restarts by cause,
//! exactly; each worker's peak and end RSS, and the pool's and host's, within a few MB.
//!
//! The comparison is opt-in: it runs only with `QSIM_HUEY=1` (it takes about 15 s, starts
//! Python processes and uses a few hundred MB), and otherwise says that it skipped and passes.
//! It needs `python3` (3.8 or later, or `$QSIM_HUEY_PYTHON`) with pip: the harness installs
//! the pinned Huey into `target/tmp/huey-deps` on first use. The cheap half, that every
//! fidelity scenario is a valid qsim scenario that completes, always runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// How far one process's RSS may be from qsim's figure: the interpreter's own growth over a
/// run (its first task imports and caches ~0.3 MB, each later one a few KB) and the ballast's
/// rounding to pages stay well under it.
const PER_PROCESS_TOLERANCE: u64 = 3_000_000;

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
    assert!(files.len() >= 5, "expected the fidelity scenarios in {}", dir.display());
    files
}

fn name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// `qsim run FILE --format json`.
fn qsim(path: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(["run", "--format", "json"])
        .arg(path)
        .current_dir(root())
        .output()
        .expect("qsim runs");
    assert!(
        out.status.success(),
        "qsim run {} exited with {}:\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("qsim prints JSON")
}

/// `python3 tests/huey/fidelity.py run FILE`: the real consumer's figures, in qsim's shape.
fn huey(python: &str, path: &Path) -> Value {
    let deps = Path::new(env!("CARGO_TARGET_TMPDIR")).join("huey-deps");
    let out = Command::new(python)
        .arg(root().join("tests/huey/fidelity.py"))
        .arg("run")
        .arg(path)
        .env("QSIM_HUEY_DEPS", &deps)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{python} tests/huey/fidelity.py: {e}"));
    assert!(
        out.status.success(),
        "tests/huey/fidelity.py run {} exited with {}:\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the harness prints JSON")
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

/// Compares one scenario's two answers; returns the lines of its table and its problems.
fn compare(scenario: &str, sim: &Value, real: &Value) -> (Vec<String>, Vec<String>) {
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
        let restarts =
            |p: &Value| -> Vec<u64> { causes.iter().map(|c| p["restarts"][c].as_u64().unwrap_or(0)).collect() };
        let (s, r) = (restarts(sp), restarts(rp));
        lines.push(format!("  restarts {causes:?} qsim {s:?}  huey {r:?}"));
        if s != r {
            problems.push(format!("{scenario}: pool {pool} restarts {causes:?}: qsim {s:?}, huey {r:?}"));
        }
        let sw = sp["workers_memory"].as_array().expect("qsim's workers_memory");
        let rw = rp["workers_memory"].as_array().expect("the harness's workers_memory");
        assert_eq!(sw.len(), rw.len(), "{scenario}: one entry per worker on both sides");
        let processes = sw.len() as u64;
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
                    PER_PROCESS_TOLERANCE,
                );
            }
        }
        for key in ["peak_rss_bytes", "end_rss_bytes"] {
            close(
                format!("pool {key}"),
                bytes(&sp[key], key),
                bytes(&rp[key], key),
                PER_PROCESS_TOLERANCE * processes,
            );
        }
        close(
            "host peak_rss_bytes".into(),
            bytes(&sim["host"]["peak_rss_bytes"], "host peak"),
            bytes(&real["host"]["peak_rss_bytes"], "host peak"),
            PER_PROCESS_TOLERANCE * processes,
        );
    }
    (lines, problems)
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
    if std::env::var("QSIM_HUEY").as_deref() != Ok("1") {
        eprintln!(
            "skipped: the Huey fidelity test runs only with QSIM_HUEY=1 (see docs/huey-fidelity.md)"
        );
        return;
    }
    let python = std::env::var("QSIM_HUEY_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut problems = Vec::new();
    for path in scenarios() {
        let scenario = name(&path);
        let sim = qsim(&path);
        let real = huey(&python, &path);
        let (lines, mut found) = compare(&scenario, &sim, &real);
        eprintln!(
            "{scenario}: qsim ends at {}s, huey's tasks span {}s",
            sim["end_time_s"], real["measured"]["makespan_s"]
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
