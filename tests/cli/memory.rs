//! Worker memory from the command line (issue 16): the trace of memory changes and restarts,
//! sweeps over memory fields, and plans with a memory objective.

use super::CliTest;

const LEAK: &str = r#"
[[pool]]
workers = 1
kind = "process"
base_memory = "200MB"
max_memory = "1GB"
restart = "5s"

[[task]]
name = "copy"
memory = "400MB"
retain = "300MB"
steps = [{ work = "20s" }]

[[arrival]]
task = "copy"
every = "30s"
count = 4
"#;

#[test]
fn the_trace_carries_every_memory_change_and_restart() {
    let t = CliTest::empty();
    t.write("leak.toml", LEAK);
    let out = t
        .qsim(&["run", "leak.toml", "--trace", "t.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = t
        .read("t.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |event: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["event"] == event).collect()
    };
    let rss: Vec<u64> = of("memory")
        .iter()
        .map(|l| l["rss_bytes"].as_u64().unwrap() / 1_000_000)
        .collect();
    assert_eq!(rss, [600, 500, 900, 800, 1200, 1100, 200, 600, 500]);
    let exited = of("exited");
    assert_eq!(exited.len(), 1);
    assert_eq!(exited[0]["cause"], "max_memory");
    assert_eq!(exited[0]["process"], "default/1");
    assert_eq!(exited[0]["tasks_run"], 3);
    assert_eq!(exited[0]["t"], 80.0);
    let restarted = of("restarted");
    assert_eq!(restarted.len(), 1);
    assert_eq!(restarted[0]["t"], 85.0);
}

#[test]
fn sweeps_vary_memory_fields_and_plans_bound_the_peak() {
    let t = CliTest::empty();
    t.write("leak.toml", LEAK);
    let out = t
        .qsim(&[
            "sweep",
            "leak.toml",
            "--vary",
            "pool.default.max_memory=700MB,1GB,2GB",
            "--runs",
            "2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let peaks: Vec<(u64, u64)> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["peak_rss_bytes"]["default"].as_u64().unwrap() / 1_000_000,
                p["restarts"]["default"].as_u64().unwrap(),
            )
        })
        .collect();
    // Restarts over both runs of 4 copies: 700MB, an exit after every 2 copies (800MB >
    // 700MB), twice a run; 1GB, after the third; 2GB, never.
    assert_eq!(peaks, [(900, 4), (1200, 2), (1500, 0)]);

    let plan = |slo: &str| {
        t.qsim(&[
            "plan",
            "leak.toml",
            "--pool",
            "default",
            "--slo",
            slo,
            "--runs",
            "2",
            "--up-to",
            "4",
        ])
        .output()
        .unwrap()
    };
    let met = plan("peak_rss(default)<=1.2GB");
    assert_eq!(met.status.code(), Some(0), "{met:?}");
    assert!(String::from_utf8_lossy(&met.stdout).contains("peak_rss(default)<=1.2GB"));
    let not_met = plan("peak_rss(default)<=1GB");
    assert_eq!(not_met.status.code(), Some(1), "{not_met:?}");
    let bad = plan("peak_rss(nosuch)<=1GB");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no pool named \"nosuch\""));
}
