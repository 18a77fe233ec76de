//! Sweeps split into shards (issue 15 §6): `qsim sweep --shard I/N --out FILE` run as separate
//! processes, by GNU parallel or plainly, then `qsim merge`, print byte for byte what the
//! unsplit sweep prints, in every format, with the same exit status; `--shard auto` reads
//! Slurm's and Kubernetes' variables; merge refuses shards that do not make one sweep.
//!
//! The GNU parallel test needs Debian's `parallel` (`.ci/run` installs it in CI); without it the
//! test says so and passes. The other tests need nothing but qsim.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An open scenario whose points differ in every figure: Poisson parents that fan out and
/// wait, deadlocking sometimes on few workers.
const SCENARIO: &str = r#"
name = "shards"
seed = 7
horizon = "10m"

[[pool]]
workers = 4

[[task]]
name = "main_task"
steps = [{ spawn = "subtask", count = 4 }, { wait = "children" }]

[[task]]
name = "subtask"
steps = [{ work = { dist = "exp", mean = "2s" } }]

[[arrival]]
task = "main_task"
rate = 0.2
"#;

/// The incident: two parents at 0s, 10 subtasks each.
const FANOUT: &str = include_str!("../scenarios/fanout.toml");

/// The sweep every test splits: 4 worker counts × 2 rates, 6 runs each.
const SWEEP: &[&str] = &[
    "sweep",
    "s.toml",
    "--vary",
    "pool.default.workers=2..5",
    "--vary",
    "arrival.0.rate=0.1,0.3",
    "--runs",
    "6",
];

const FORMATS: [&str; 3] = ["table", "json", "csv"];

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        let d = Dir(tempfile::tempdir().expect("a temporary directory"));
        d.write("s.toml", SCENARIO);
        d.write("fanout.toml", FANOUT);
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("writing a test file");
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    /// `qsim ARGS...` in the directory, with no batch scheduler's variables from outside.
    fn qsim(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qsim"));
        cmd.current_dir(self.0.path()).args(args);
        for var in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_STEP",
            "JOB_COMPLETION_INDEX",
            "QSIM_SHARDS",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.qsim(args).output().expect("running qsim")
    }
}

fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    base.iter().chain(more).map(|s| s.to_string()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Merges `shards` in every format and checks each against the unsplit sweep `sweep`: the
/// same stdout, byte for byte, and the same exit status.
fn assert_merge_is_the_unsplit_sweep(d: &Dir, sweep: &[&str], shards: &[&str]) {
    for format in FORMATS {
        let whole = d.run(&strs(&with(sweep, &["--format", format])));
        assert!(
            whole.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&whole.stderr)
        );
        let merged = d.run(&strs(&with(
            &["merge"],
            &with(shards, &["--format", format])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )));
        assert_eq!(
            String::from_utf8_lossy(&merged.stderr),
            "",
            "merge in {format} wrote to stderr"
        );
        assert_eq!(
            String::from_utf8_lossy(&merged.stdout),
            String::from_utf8_lossy(&whole.stdout),
            "merged {format} differs from the unsplit sweep"
        );
        assert_eq!(merged.status.code(), whole.status.code(), "{format}");
    }
}

/// Runs every shard of `n` of `sweep` at once, as separate processes, writing `prefix{i}.json`.
fn run_shards_at_once(d: &Dir, sweep: &[&str], n: usize, prefix: &str) -> Vec<String> {
    let children: Vec<_> = (0..n)
        .map(|i| {
            let shard = format!("{i}/{n}");
            let out = format!("{prefix}{i}.json");
            d.qsim(&strs(&with(sweep, &["--shard", &shard, "--out", &out])))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("starting a shard")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("a shard ends");
        // A shard exits 0 once its file is written, deadlocks or not: the verdict is merge's.
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "a shard prints nothing on stdout");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("note: wrote shard {i}/{n} ("))
        );
    }
    (0..n).map(|i| format!("{prefix}{i}.json")).collect()
}

/// Whether `parallel` is GNU parallel (moreutils has another program of that name).
fn gnu_parallel() -> bool {
    Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU parallel"))
}

#[test]
fn gnu_parallel_runs_the_shards_and_merge_prints_the_unsplit_sweep() {
    if !gnu_parallel() {
        eprintln!(
            "skipped: GNU parallel is not installed (Debian's package `parallel`; .ci/run \
             installs it in CI)"
        );
        return;
    }
    let d = Dir::new();
    let mut cmd = Command::new("parallel");
    cmd.current_dir(d.0.path())
        .args([
            "--will-cite",
            "--halt",
            "now,fail=1",
            env!("CARGO_BIN_EXE_qsim"),
        ])
        .args(SWEEP)
        .args([
            "--shard",
            "{}/3",
            "--out",
            "shard{}.json",
            ":::",
            "0",
            "1",
            "2",
        ]);
    let out = cmd.output().expect("running GNU parallel");
    assert!(
        out.status.success(),
        "GNU parallel: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 0..3 {
        assert!(d.path(&format!("shard{i}.json")).exists(), "shard{i}.json");
    }
    assert_merge_is_the_unsplit_sweep(&d, SWEEP, &["shard2.json", "shard0.json", "shard1.json"]);
}

#[test]
fn shards_run_as_separate_processes_merge_to_the_unsplit_sweep() {
    let d = Dir::new();
    let shards = run_shards_at_once(&d, SWEEP, 3, "part");
    let mut given: Vec<&str> = shards.iter().map(String::as_str).collect();
    given.reverse();
    assert_merge_is_the_unsplit_sweep(&d, SWEEP, &given);
    // The split is round robin: shard 1 of 3 holds points 1, 4 and 7.
    let shard: serde_json::Value = serde_json::from_str(&d.read("part1.json")).unwrap();
    let held: Vec<u64> = shard["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].as_u64().unwrap())
        .collect();
    assert_eq!(held, [1, 4, 7]);
    assert_eq!(
        shard["shard"],
        serde_json::json!({ "index": 1, "count": 3 })
    );
}

#[test]
fn exhaustive_sweeps_merge_too_with_more_shards_than_points() {
    let d = Dir::new();
    let sweep = [
        "sweep",
        "fanout.toml",
        "--vary",
        "pool.default.workers=1..3",
        "--explore",
    ];
    // 5 shards for 3 points: shards 3 and 4 hold nothing, and still count.
    let shards = run_shards_at_once(&d, &sweep, 5, "e");
    let given: Vec<&str> = shards.iter().map(String::as_str).collect();
    assert_merge_is_the_unsplit_sweep(&d, &sweep, &given);
    let merged = d.run(&[
        "merge", "e0.json", "e1.json", "e2.json", "e3.json", "e4.json",
    ]);
    // The boundary survives the merge, and so does the exit status (1: some count deadlocks).
    assert_eq!(merged.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&merged.stdout).ends_with(
        "smallest deadlock-free pool.default.workers for each shape:\n  (the scenario): 3\n"
    ));
}

#[test]
fn recorded_arrivals_split_and_merge_with_their_reproduce_command() {
    let d = Dir::new();
    d.write(
        "traffic.csv",
        "time,task\n0,main_task\n0.5,main_task\n1s,main_task\n",
    );
    let sweep = [
        "sweep",
        "fanout.toml",
        "--arrivals-from",
        "traffic.csv",
        "--vary",
        "pool.default.workers=2..4",
        "--runs",
        "2",
    ];
    let shards = run_shards_at_once(&d, &sweep, 2, "r");
    assert_merge_is_the_unsplit_sweep(&d, &sweep, &["r0.json", "r1.json"]);
    let merged = d.run(&["merge", &shards[0], &shards[1]]);
    assert!(String::from_utf8_lossy(&merged.stdout).contains("--arrivals-from 'traffic.csv'"));
}

#[test]
fn merge_refuses_shards_that_do_not_make_one_sweep() {
    let d = Dir::new();
    run_shards_at_once(&d, SWEEP, 3, "p");
    let merge = |files: &[&str]| {
        let out = d.run(
            &with(&["merge"], files)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert_eq!(out.status.code(), Some(2), "{files:?}");
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).unwrap()
    };
    assert_eq!(
        merge(&["p0.json", "p2.json"]),
        "error: missing shard 1/3: a merge needs all 3 shards of the sweep (2 given)\n"
    );
    assert_eq!(
        merge(&["p0.json", "p1.json", "p2.json", "p1.json"]),
        "error: p1.json: is shard 1/3, as p1.json is: give each shard once\n"
    );
    // Another seed is another sweep.
    let other = with(
        SWEEP,
        &["--set", "seed=8", "--shard", "2/3", "--out", "q2.json"],
    );
    assert_eq!(d.run(&strs(&other)).status.code(), Some(0));
    assert_eq!(
        merge(&["p0.json", "p1.json", "q2.json"]),
        "error: q2.json: not a shard of the same sweep as p0.json: --set overrides: [\"seed=8\"] \
         in q2.json, [] in p0.json\n"
    );
    // So is the same command on an edited scenario file.
    d.write("s.toml", &SCENARIO.replace("count = 4", "count = 5"));
    let edited = with(SWEEP, &["--shard", "2/3", "--out", "x2.json"]);
    assert_eq!(d.run(&strs(&edited)).status.code(), Some(0));
    assert!(merge(&["p0.json", "p1.json", "x2.json"]).starts_with(
        "error: x2.json: not a shard of the same sweep as p0.json: scenario fingerprint (the \
         scenario file or the recorded arrivals changed): \"xxh3:"
    ));
    d.write("s.toml", SCENARIO);
    // Split another way.
    let four = with(SWEEP, &["--shard", "2/4", "--out", "f2.json"]);
    assert_eq!(d.run(&strs(&four)).status.code(), Some(0));
    assert_eq!(
        merge(&["p0.json", "p1.json", "f2.json"]),
        "error: f2.json: is shard 2/4, but p0.json is shard 0/3: the shards of a sweep are \
         split the same way\n"
    );
    // A shard file cut short, or with a point edited.
    let mut shard: serde_json::Value = serde_json::from_str(&d.read("p1.json")).unwrap();
    shard["points"].as_array_mut().unwrap().pop();
    d.write("cut.json", &serde_json::to_string(&shard).unwrap());
    assert_eq!(
        merge(&["p0.json", "cut.json", "p2.json"]),
        "error: cut.json: lacks point 7 (pool.default.workers=5, arrival.0.rate=0.3) of shard \
         1/3: the file is cut short or was edited; run the shard again\n"
    );
    let mut shard: serde_json::Value = serde_json::from_str(&d.read("p1.json")).unwrap();
    shard["points"][0]["index"] = 0.into();
    d.write("moved.json", &serde_json::to_string(&shard).unwrap());
    assert_eq!(
        merge(&["p0.json", "moved.json", "p2.json"]),
        "error: moved.json: holds point 0, which is not in shard 1/3\n"
    );
    // Not a shard at all: the sweep's own JSON, or broken JSON.
    let json = d.run(&strs(&with(SWEEP, &["--format", "json"])));
    d.write("sweep.json", &String::from_utf8(json.stdout).unwrap());
    assert_eq!(
        merge(&["sweep.json"]),
        "error: sweep.json: not a shard file of `qsim sweep --shard`: no \"format\": \"qsim \
         sweep shard\"\n"
    );
    d.write(
        "broken.json",
        "{\n  \"format\": \"qsim sweep shard\",\n  \"version\": 1,\n  \"sweep\": {]\n}\n",
    );
    assert_eq!(
        merge(&["p0.json", "broken.json"]),
        format!(
            "error: broken.json:4:13: not JSON: key must be a string\n  |\n4 |   \"sweep\": {{]\n  | {}^\n",
            " ".repeat(12)
        )
    );
    assert!(merge(&["nothing.json"]).starts_with("error: nothing.json: "));
}

#[test]
fn shard_auto_reads_slurm_arrays_and_kubernetes_indexed_jobs() {
    let d = Dir::new();
    let sweep = [
        "sweep",
        "fanout.toml",
        "--vary",
        "pool.default.workers=1..4",
        "--runs",
        "1",
    ];
    let given = with(&sweep, &["--shard", "2/4", "--out", "given.json"]);
    assert_eq!(d.run(&strs(&given)).status.code(), Some(0));
    let auto = |out: &str, more: &[&str]| {
        with(
            &sweep,
            &with(&["--shard", "auto", "--out", out], more)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    };

    // sbatch --array=0-3
    let out = d
        .qsim(&strs(&auto("slurm.json", &[])))
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(
        "note: this is shard 2/4 (from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)\n"
    ));
    assert_eq!(d.read("slurm.json"), d.read("given.json"));
    // sbatch --array=1-4: the third task is shard 2 too.
    let out = d
        .qsim(&strs(&auto("slurm1.json", &[])))
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_STEP", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(d.read("slurm1.json"), d.read("given.json"));

    // completionMode: Indexed, completions: 4, and --shards 4 (or QSIM_SHARDS).
    let out = d
        .qsim(&strs(&auto("k8s.json", &["--shards", "4"])))
        .env("JOB_COMPLETION_INDEX", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("note: this is shard 2/4 (from JOB_COMPLETION_INDEX and --shards)\n"));
    assert_eq!(d.read("k8s.json"), d.read("given.json"));
    let out = d
        .qsim(&strs(&auto("k8s-env.json", &[])))
        .env("JOB_COMPLETION_INDEX", "2")
        .env("QSIM_SHARDS", "4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(d.read("k8s-env.json"), d.read("given.json"));

    // What cannot be resolved is said, and nothing is written.
    let refused = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(refused(&mut d.qsim(&strs(&auto("none.json", &[]))))
        .starts_with("error: --shard auto: no batch scheduler's index in the environment"));
    assert!(refused(
        d.qsim(&strs(&auto("none.json", &[])))
            .env("JOB_COMPLETION_INDEX", "1")
    )
    .contains("give --shards N (the Job's completions) or set QSIM_SHARDS"));
    assert!(refused(
        d.qsim(&strs(&auto("none.json", &["--shards", "8"])))
            .env("SLURM_ARRAY_TASK_ID", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "4")
    )
    .starts_with("error: --shards 8 disagrees with the Slurm array's 4 tasks"));
    assert!(!d.path("none.json").exists());
}

#[test]
fn shard_flags_are_checked_before_anything_runs() {
    let d = Dir::new();
    let refused = |args: &[&str], message: &str| {
        let out = d.run(&strs(&with(SWEEP, args)));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };
    refused(
        &["--shard", "3/3", "--out", "x.json"],
        "shard 3 of 3 does not exist: shards count from 0, so the last is 2",
    );
    refused(
        &["--shard", "1", "--out", "x.json"],
        "expected I/N (shard I of N, from 0: 0/4, say) or auto",
    );
    refused(&["--shard", "0/3"], "--out <FILE>");
    refused(&["--out", "x.json"], "--shard <I/N|auto>");
    refused(
        &["--shard", "0/3", "--out", "x.json", "--format", "csv"],
        "cannot be used with",
    );
    refused(
        &["--shard", "0/3", "--shards", "4", "--out", "x.json"],
        "--shards 4 disagrees with --shard 0/3",
    );
    refused(
        &["--shard", "0/3", "--out", "s.toml"],
        "s.toml: is the same file as the input s.toml",
    );
    assert_eq!(d.read("s.toml"), SCENARIO);
    assert!(!Path::new(&d.path("x.json")).exists());
}
