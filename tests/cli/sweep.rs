//! `qsim sweep` (issue 15): points, seeds that reproduce, thread-count independence, the
//! exhaustive map and its boundary.

use super::CliTest;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("sweep JSON")
}

#[test]
fn every_point_holds_its_values_beside_its_results_on_any_thread_count() {
    let t = CliTest::with_fanout();
    t.write(
        "mmc.toml",
        r#"
        seed = 3
        [[pool]]
        workers = 2
        [[task]]
        name = "job"
        steps = [{ work = { dist = "exp", mean = "1s" } }]
        [[arrival]]
        task = "job"
        rate = 1.5
        count = 300
        "#,
    );
    let args = [
        "sweep",
        "mmc.toml",
        "--vary",
        "pool.default.workers=2..4",
        "--vary",
        "arrival.0.rate=1,1.5",
        "--runs",
        "8",
        "--format",
        "json",
    ];
    let one = t
        .qsim(&args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    let two = t
        .qsim(&args)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(one.stdout, two.stdout, "the same bytes on 1 and 2 threads");
    let v = json(&one);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert_eq!(points[0]["values"]["pool.default.workers"], 2);
    assert_eq!(points[0]["values"]["arrival.0.rate"], 1);
    assert_eq!(points[5]["values"]["pool.default.workers"], 4);
    assert_eq!(points[5]["values"]["arrival.0.rate"], 1.5);
    for p in points {
        assert_eq!(p["deadlock"]["deadlocks"], 0);
        let busy = p["utilisation"]["default"]["busy"].as_f64().unwrap();
        let idle = p["utilisation"]["default"]["idle"].as_f64().unwrap();
        assert!((busy + idle - 1.0).abs() < 1e-9);
        assert!(p["latency"]["job"]["p99_s"].as_f64().unwrap() > 0.0);
    }
    // More workers for the same load: less busy, shorter queues.
    let busy = |i: usize| {
        points[i]["utilisation"]["default"]["busy"]
            .as_f64()
            .unwrap()
    };
    let queue = |i: usize| points[i]["queues"]["default"]["mean"].as_f64().unwrap();
    assert!(busy(1) > busy(3) && busy(3) > busy(5));
    assert!(queue(1) > queue(5));
}

#[test]
fn a_printed_reproduce_command_reruns_that_run() {
    let t = CliTest::with_fanout();
    t.write(
        "race.toml",
        r#"
        seed = 11
        ties = "random"
        [[pool]]
        workers = 2
        [[task]]
        name = "main_task"
        steps = [{ spawn = "subtask", count = 2 }, { wait = "children" }]
        [[task]]
        name = "subtask"
        steps = [{ work = { dist = "exp", mean = "1s" } }]
        [[arrival]]
        task = "main_task"
        at = ["0s", "0.5s"]
        "#,
    );
    let out = t
        .qsim(&[
            "sweep",
            "race.toml",
            "--vary",
            "pool.default.workers=2",
            "--runs",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    let point = &v["points"][0];
    let command = point["reproduce"].as_str().unwrap().to_string();
    assert!(command.starts_with("qsim run race.toml --set 'pool.default.workers=2' --set seed="));
    let seed = command.rsplit('=').next().unwrap();
    let again = t
        .qsim(&[
            "run",
            "race.toml",
            "--set",
            "pool.default.workers=2",
            "--set",
            &format!("seed={seed}"),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let run = json(&again);
    let deadlocked = point["deadlock"]["deadlocks"] == 1;
    assert_eq!(run["outcome"] == "deadlock", deadlocked);
    if !deadlocked {
        let p99 = point["latency"]["main_task"]["p99_s"].as_f64().unwrap();
        let max = run["tasks"]["main_task"]["latency_s"]["p99"]
            .as_f64()
            .unwrap();
        // One run: the sweep's p99 is that run's p99, to the histogram's 3 digits.
        assert!((p99 - max).abs() <= max * 1e-3, "{p99} vs {max}");
    }
}

#[test]
fn explore_maps_the_deadlocks_and_prints_the_boundary_per_shape() {
    let t = CliTest::with_fanout();
    let out = t
        .qsim(&[
            "sweep",
            "fanout.toml",
            "--vary",
            "pool.default.workers=1..5",
            "--vary",
            "arrival.0.at=[\"0s\"],[\"0s\",\"0s\",\"0s\"]",
            "--explore",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "some points deadlock");
    let v = json(&out);
    assert_eq!(v["mode"], "explore");
    let verdicts: Vec<(i64, &str)> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["values"]["pool.default.workers"].as_i64().unwrap(),
                p["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    // One parent needs 2 workers, three parents need 4: P >= W deadlocks.
    assert_eq!(verdicts[0], (1, "deadlock"));
    assert_eq!(verdicts[1], (1, "deadlock"));
    assert_eq!(verdicts[2], (2, "deadlock_free"));
    assert_eq!(verdicts[3], (2, "deadlock"));
    assert_eq!(verdicts[7], (4, "deadlock_free"));
    let shapes = v["boundary"]["shapes"].as_array().unwrap();
    assert_eq!(shapes[0]["smallest_safe"], "2");
    assert_eq!(shapes[1]["smallest_safe"], "4");
    let text = t
        .qsim(&[
            "sweep",
            "fanout.toml",
            "--vary",
            "pool.default.workers=1..5",
            "--vary",
            "arrival.0.at=[\"0s\"],[\"0s\",\"0s\",\"0s\"]",
            "--explore",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("smallest deadlock-free pool.default.workers for each shape:"));
    assert!(
        text.contains("  arrival.0.at=[\"0s\",\"0s\",\"0s\"]: 4\n"),
        "{text}"
    );
}

#[test]
fn a_bad_point_or_vary_is_an_error_naming_it() {
    let t = CliTest::with_fanout();
    t.qsim(&[
        "sweep",
        "fanout.toml",
        "--vary",
        "pool.default.workers=0..2",
    ])
    .assert()
    .code(2)
    .stderr(predicates::str::contains(
        "at the point pool.default.workers=0:",
    ));
    t.qsim(&["sweep", "fanout.toml", "--vary", "pool.default.workers"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("expected PATH=VALUES"));
}

#[test]
fn csv_has_a_header_and_a_row_per_point() {
    let t = CliTest::with_fanout();
    let out = t
        .qsim(&[
            "sweep",
            "fanout.toml",
            "--vary",
            "pool.default.workers=3,4",
            "--runs",
            "2",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("pool.default.workers,runs,deadlocks,deadlock_probability"));
    assert!(lines[0].contains(",p99_s:subtask,"));
    assert!(lines[2].starts_with("4,2,0,0,"));
}
