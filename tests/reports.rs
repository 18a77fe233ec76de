//! `--report`: every kind of report (a run's with and without memory modelled), written by
//! the real binary from the files in `scenarios/`, checked as files (self-contained, whole, never over the scenario) and, when
//! Debian's `chromium` is on PATH, opened in a real headless browser: the figures render (the
//! browser's DOM holds every SVG, each with its shapes), the console stays clean, the page
//! asks the network for nothing (Chromium's own network log says so), and a screenshot is
//! taken. Without `chromium` the browser test says so and passes; `.ci/run` installs it.
//!
//! The reports and screenshots stay in `target/tmp/reports/` for a look.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One report the tests write.
struct Written {
    /// Its file, in the reports folder.
    file: PathBuf,
    /// The `qsim` command's exit code.
    code: i32,
}

/// The folder the reports are written in, with a copy of `scenarios/`.
fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reports")
}

/// Each kind of report: its name, the `qsim` arguments (`REPORT` stands for its file) and the
/// exit code expected.
fn kinds() -> Vec<(&'static str, Vec<&'static str>, i32)> {
    vec![
        (
            "run.html",
            vec![
                "run",
                "scenarios/nested_fanout.toml",
                "--set",
                r#"arrival.0.at=["0s","1s","1.5s"]"#,
                "--report",
                "REPORT",
            ],
            1,
        ),
        (
            "run.md",
            vec![
                "run",
                "scenarios/nested_fanout.toml",
                "--set",
                r#"arrival.0.at=["0s","1s","1.5s"]"#,
                "--report",
                "REPORT",
            ],
            1,
        ),
        (
            "run-completed.html",
            vec![
                "run",
                "scenarios/fix_more_workers.toml",
                "--report",
                "REPORT",
            ],
            0,
        ),
        (
            "run-memory.html",
            vec![
                "run",
                "scenarios/memory_leak_threshold.toml",
                "--report",
                "REPORT",
            ],
            0,
        ),
        (
            "run-memory.md",
            vec!["run", "scenarios/memory_oom.toml", "--report", "REPORT"],
            0,
        ),
        (
            "explore.html",
            vec!["explore", "scenarios/fanout.toml", "--report", "REPORT"],
            1,
        ),
        (
            "explore-random.html",
            vec![
                "explore",
                "scenarios/priority_race.toml",
                "--mode",
                "random",
                "--runs",
                "200",
                "--report",
                "REPORT",
            ],
            1,
        ),
        (
            "explore-min-workers.html",
            vec![
                "explore",
                "scenarios/fanout.toml",
                "--min-workers",
                "default",
                "--report",
                "REPORT",
            ],
            0,
        ),
        (
            "sweep.html",
            vec![
                "sweep",
                "scenarios/fanout.toml",
                "--vary",
                "pool.default.workers=1..5",
                "--runs",
                "20",
                "--report",
                "REPORT",
            ],
            1,
        ),
        (
            "sweep-map.html",
            vec![
                "sweep",
                "scenarios/nested_fanout.toml",
                "--vary",
                "pool.default.workers=3..7",
                "--vary",
                r#"arrival.0.at=["0s","1s"],["0s","1s","1.5s"],["0s","0.2s","0.4s"]"#,
                "--runs",
                "10",
                "--report",
                "REPORT",
            ],
            1,
        ),
        (
            "sweep-verdicts.html",
            vec![
                "sweep",
                "scenarios/fanout.toml",
                "--vary",
                "pool.default.workers=1..4",
                "--vary",
                r#"arrival.0.at=["0s"],["0s","0s"],["0s","0s","0s"]"#,
                "--explore",
                "--report",
                "REPORT",
            ],
            1,
        ),
        (
            "plan.html",
            vec![
                "plan",
                "scenarios/mmc.toml",
                "--pool",
                "default",
                "--slo",
                "p99(job)<=6s",
                "--slo",
                "utilisation(default)<=0.9",
                "--runs",
                "10",
                "--horizon",
                "5m",
                "--report",
                "REPORT",
            ],
            0,
        ),
    ]
}

/// Writes every report once (the tests share them), in a fresh folder.
fn reports() -> &'static [(String, Written)] {
    static REPORTS: OnceLock<Vec<(String, Written)>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let dir = folder();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("scenarios")).expect("the reports folder");
        let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for entry in std::fs::read_dir(&scenarios).expect("scenarios/") {
            let entry = entry.expect("a scenario");
            std::fs::copy(entry.path(), dir.join("scenarios").join(entry.file_name()))
                .expect("copying a scenario");
        }
        kinds()
            .into_iter()
            .map(|(name, args, expected)| {
                let args: Vec<&str> = args
                    .into_iter()
                    .map(|a| if a == "REPORT" { name } else { a })
                    .collect();
                let out = Command::new(env!("CARGO_BIN_EXE_qsim"))
                    .args(&args)
                    .current_dir(&dir)
                    .output()
                    .expect("qsim runs");
                let code = out.status.code().unwrap_or(-1);
                assert_eq!(
                    code,
                    expected,
                    "qsim {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
                (
                    name.to_string(),
                    Written {
                        file: dir.join(name),
                        code,
                    },
                )
            })
            .collect()
    })
}

fn html_reports() -> impl Iterator<Item = &'static (String, Written)> {
    reports().iter().filter(|(name, _)| name.ends_with(".html"))
}

/// Where `html` refers to something outside itself: a script, a style sheet, an image, a
/// frame, an import, or a link or `url(...)` to http(s).
fn outside_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for needle in [
        "<script",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<img",
        " src=",
        "@import",
        "url(http",
        "url('http",
        "url(\"http",
        "href=\"http",
        "href='http",
        "xlink:href=\"http",
    ] {
        if let Some(at) = lower.find(needle) {
            let end = (at + 60).min(html.len());
            found.push(html[at..end].to_string());
        }
    }
    found
}

/// The `<svg>...</svg>` elements of `html`, in order.
fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let Some(len) = rest[start..].find("</svg>") else {
            break;
        };
        out.push(&rest[start..start + len + 6]);
        rest = &rest[start + len + 6..];
    }
    out
}

/// How many drawn shapes an SVG holds.
fn shapes(svg: &str) -> usize {
    [
        "<rect",
        "<path",
        "<polyline",
        "<polygon",
        "<circle",
        "<line",
    ]
    .iter()
    .map(|s| svg.matches(s).count())
    .sum()
}

#[test]
fn every_kind_of_report_is_one_self_contained_file() {
    for (name, w) in html_reports() {
        let html = std::fs::read_to_string(&w.file).expect("the report is written");
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.ends_with("</html>\n"), "{name}: written whole");
        assert_eq!(outside_references(&html), Vec::<String>::new(), "{name}");
        let figures = html.matches("<figure").count();
        assert!(figures >= 1, "{name} has a figure");
        let svgs = svgs(&html);
        assert_eq!(svgs.len(), figures, "{name}: one SVG per figure");
        for svg in &svgs {
            assert!(shapes(svg) >= 5, "{name}: an SVG with data: {svg}");
        }
        assert!(html.contains("<section id=\"reproduce\">"), "{name}");
        assert!(
            html.contains(&format!("--report {name}")),
            "{name}: the command"
        );
        assert_ne!(w.code, -1);
    }
    let run = std::fs::read_to_string(folder().join("run.html")).unwrap();
    // The Gantt chart: a span per task, named on hover, and the deadlock marked.
    assert!(run.contains("<title>default/2: held by middle#1, which waits for its children"));
    assert!(run.contains("<title>default/1: held for ever by main_task#3"));
    assert!(run.contains("deadlock at 3s"));
    // The wait-for graph, drawn by qsim.
    assert!(run.contains("<title>main_task#3 waits for middle#5</title>"));
    // The exact command, quoted for the shell.
    assert!(run.contains(
        "qsim run scenarios/nested_fanout.toml --set 'arrival.0.at=[&quot;0s&quot;,&quot;1s&quot;"
    ));
    let explore = std::fs::read_to_string(folder().join("explore.html")).unwrap();
    assert!(explore.contains("<li id=\"step-3\">"));
    assert!(explore.contains("<tr id=\"task-main_task-23-1\">"));
    let sweep = std::fs::read_to_string(folder().join("sweep.html")).unwrap();
    assert!(sweep.contains("<polygon"), "a confidence band");
    let map = std::fs::read_to_string(folder().join("sweep-map.html")).unwrap();
    assert!(map.contains("Deadlock probability"), "a heat map");
    let plan = std::fs::read_to_string(folder().join("plan.html")).unwrap();
    assert!(plan.contains("answer: "), "the answer marked");
}

#[test]
fn a_memory_scenario_has_its_memory_drawn_and_counted() {
    reports();
    let html = std::fs::read_to_string(folder().join("run-memory.html")).unwrap();
    assert!(html.contains("<section id=\"memory\"><h2>Memory</h2>"));
    let figure = &html[html
        .find("<figure id=\"figure-memory\">")
        .expect("the memory figure")..];
    let svg = svgs(figure)[0];
    // The process's line with its three exits, the threshold, each exit marked.
    assert!(svg.contains("<title>default/1 (pool default): peak 1.2GB, 3 exits</title><path d=\"M"));
    assert!(svg.contains("max_memory of default: 1GB</text>"));
    assert!(svg.contains("stroke-dasharray=\"6 4\""));
    assert_eq!(
        svg.matches("exited above max_memory at ").count(),
        3,
        "{svg}"
    );
    assert!(svg.contains("<title>default/1: down (restarting) from 1m20s to 1m25s</title>"));
    // Its numbers, and the table of the memory report.
    assert!(figure.contains("default/1,80,1100000000,1.1GB,exited (max_memory)"));
    assert!(html.contains(
        "<tr><td>default</td><td>process</td><td>1.2GB</td><td>1.2GB</td><td>500MB</td>\
         <td>3</td><td>0</td><td>0</td><td>15s</td></tr>"
    ));
    // The Gantt chart shows the restarts, and says so in its legend.
    let gantt = svgs(&html[html.find("<figure id=\"figure-timeline\">").unwrap()..])[0];
    assert!(gantt.contains(">restarting</text>"));
    assert!(gantt.contains("<title>default/1: restarting, 1m20s to 1m25s (5s)</title>"));

    // Without memory modelled, no memory section.
    let run = std::fs::read_to_string(folder().join("run-completed.html")).unwrap();
    assert!(!run.contains("id=\"memory\""));
    assert!(!run.contains(">restarting</text>"));

    // In Markdown: the figure and its numbers beside, the OOM killer and the host drawn.
    let md = std::fs::read_to_string(folder().join("run-memory.md")).unwrap();
    assert!(md.contains("## Memory\n"), "{md}");
    assert!(md.contains("](run-memory-memory.svg)"), "{md}");
    assert!(md.contains("| big\\_export | 1 | 0 |"), "{md}");
    let svg = std::fs::read_to_string(folder().join("run-memory-memory.svg")).unwrap();
    assert!(svg.contains("host memory: 1GB</text>"));
    assert!(svg.contains("was killed by the OOM killer at "));
    assert!(svg.contains("<title>all processes together: peak "));
    let csv = std::fs::read_to_string(folder().join("run-memory-memory.csv")).unwrap();
    assert!(csv.starts_with("process,at_s,rss_bytes,rss,event\n"));
    assert!(csv.contains(",exited (oom)\n"));
}

#[test]
fn markdown_puts_each_figure_and_its_numbers_beside_it() {
    let (_, w) = reports()
        .iter()
        .find(|(name, _)| name == "run.md")
        .expect("the Markdown report");
    let text = std::fs::read_to_string(&w.file).expect("the Markdown is written");
    assert!(
        text.starts_with("# nested\\_fanout: deadlock at 3s\n"),
        "{text}"
    );
    for figure in ["timeline", "wait-for"] {
        assert!(text.contains(&format!("](run-{figure}.svg)")), "{text}");
        let svg = std::fs::read_to_string(folder().join(format!("run-{figure}.svg")))
            .expect("the figure beside it");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(shapes(&svg) >= 5);
        let csv = std::fs::read_to_string(folder().join(format!("run-{figure}.csv")))
            .expect("its numbers beside it");
        assert!(csv.lines().count() > 1);
    }
}

#[test]
fn a_report_is_never_the_scenario_and_a_bad_name_is_refused_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    // A scenario whose name ends in .html: the report would replace it.
    let scenario = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fanout.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("s.html"), &scenario).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(["run", "s.html", "--report", "s.html"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is the same file as the input"), "{stderr}");
    assert!(out.stdout.is_empty(), "refused before the run");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s.html")).unwrap(),
        scenario
    );

    let out = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(["explore", "s.html", "--report", "r.pdf"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected a file ending in .html"),
        "{stderr}"
    );

    // A folder that does not exist: an error, and nothing left behind.
    let out = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(["run", "s.html", "--report", "missing/r.md"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["s.html"]);
}

/// A command's output, or `None` when it ran past `limit` (then it was killed).
fn run_for(mut command: Command, limit: Duration) -> Option<(bool, Vec<u8>, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Some((
        status.success(),
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

/// Chromium, headless, with no profile of its own, no background traffic, and any host name
/// mapped to nowhere: a page that asks the network for anything fails to get it, and the
/// network log (`net_log`) names what it asked for.
fn chromium(profile: &Path, net_log: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--log-net-log={}", net_log.display()));
    c
}

/// The URLs the page itself asked for, from Chromium's network log: requests made on behalf
/// of a `file://` page (the browser's own update and account checks are made for no page).
fn page_requests(net_log: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(net_log) else {
        return Vec::new();
    };
    let Ok(log) = serde_json::from_str::<serde_json::Value>(&text) else {
        // Cut short at exit: read what is there.
        return text
            .match_indices("\"network_isolation_key\":\"file://")
            .map(|(at, _)| text[at..(at + 200).min(text.len())].to_string())
            .filter(|s| s.contains("\"url\":\"http"))
            .collect();
    };
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    log["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|e| e["type"].as_u64() == start_job)
                .filter(|e| {
                    e["params"]["network_isolation_key"]
                        .as_str()
                        .is_some_and(|k| k.starts_with("file://"))
                })
                .filter_map(|e| e["params"]["url"].as_str())
                .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn chromium_on_path() -> bool {
    Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn reports_render_in_a_headless_browser() {
    if !chromium_on_path() {
        println!(
            "note: chromium is not on PATH, so the reports were not opened in a browser \
             (apt-get install chromium; .ci/run installs it)"
        );
        eprintln!("note: skipping the browser checks: chromium is not on PATH");
        return;
    }
    let limit = Duration::from_secs(90);
    for (name, w) in html_reports() {
        let html = std::fs::read_to_string(&w.file).unwrap();
        let url = format!("file://{}", w.file.display());
        let stem = name.trim_end_matches(".html");
        let scratch = tempfile::tempdir().unwrap();

        // The DOM as the browser built it: every figure an SVG with its shapes.
        let net_log = scratch.path().join("dom-net.json");
        let mut dump = chromium(&scratch.path().join("dom"), &net_log);
        dump.arg("--dump-dom").arg(&url);
        let (ok, dom, stderr) = run_for(dump, limit).expect("chromium dumps the DOM in time");
        assert!(ok, "{name}: chromium failed: {stderr}");
        let dom = String::from_utf8_lossy(&dom);
        let figures = html.matches("<figure").count();
        let dom_svgs = svgs(&dom);
        assert_eq!(dom_svgs.len(), figures, "{name}: every figure in the DOM");
        for svg in dom_svgs {
            assert!(shapes(svg) >= 5, "{name}: an SVG with data in the DOM");
        }
        let console: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect();
        assert_eq!(console, Vec::<&str>::new(), "{name}: console messages");
        assert_eq!(
            page_requests(&net_log),
            Vec::<String>::new(),
            "{name}: the page asked the network"
        );

        // A screenshot.
        let png = folder().join(format!("{stem}.png"));
        let net_log = scratch.path().join("shot-net.json");
        let mut shot = chromium(&scratch.path().join("shot"), &net_log);
        shot.arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1200,2000")
            .arg("--hide-scrollbars")
            .arg(&url);
        let (ok, _, stderr) = run_for(shot, limit).expect("chromium takes a screenshot in time");
        assert!(ok, "{name}: chromium failed: {stderr}");
        let bytes = std::fs::read(&png).expect("the screenshot is written");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}: a PNG");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((width, height), (1200, 2000), "{name}");
        // A blank page of that size compresses to a few kilobytes.
        assert!(
            bytes.len() > 40_000,
            "{name}: a screenshot of {} bytes",
            bytes.len()
        );
        assert_eq!(page_requests(&net_log), Vec::<String>::new(), "{name}");
    }
    println!("screenshots in {}", folder().display());
}

#[test]
fn the_network_check_would_see_a_page_that_fetches() {
    // The checks above must be able to fail: a page with an outside image and a script.
    let page = "<!DOCTYPE html><html><body><img src=\"http://example.invalid/x.png\">\
                <script>undefined_function()</script></body></html>";
    assert_eq!(outside_references(page).len(), 3);
    if !chromium_on_path() {
        println!("note: chromium is not on PATH; the browser half of this check is skipped");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("bad.html");
    std::fs::write(&file, page).unwrap();
    let net_log = scratch.path().join("net.json");
    let mut dump = chromium(&scratch.path().join("p"), &net_log);
    dump.arg("--dump-dom")
        .arg(format!("file://{}", file.display()));
    let (_, _, stderr) = run_for(dump, Duration::from_secs(90)).expect("chromium in time");
    assert!(stderr.contains("Uncaught ReferenceError"), "{stderr}");
    assert_eq!(page_requests(&net_log), ["http://example.invalid/x.png"]);
}
