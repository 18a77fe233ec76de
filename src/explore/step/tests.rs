//! Parsed steps against the labels they come from: the old way of following a schedule,
//! formatting every option's label and comparing strings, is the oracle.

use std::collections::HashSet;
use std::path::Path;

use super::*;
use crate::explore::{label, model_for, settle, Timing};
use crate::rng::SimRng;
use crate::scenario::Scenario;

/// Every scenario of `scenarios/`, and each again with names that contain `#` and `/`.
pub(crate) fn scenarios() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "scenarios/ has the examples");
    let loaded = files
        .iter()
        .map(|f| crate::scenario::load(f, &[]).unwrap_or_else(|e| panic!("{f:?}: {e}")));
    loaded.flat_map(|s| [tricky_names(&s), s]).collect()
}

/// `s` with pools named `a`, `a/1`, `a/1/1`, … (worker 1 of `a/1` is `a/1/1`, as is pool
/// `a/1/1` itself) and task types `t`, `t#1`, `t#1#1`, … (instance 1 of `t#1` is `t#1#1`).
fn tricky_names(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    for (i, pool) in s.pools.iter_mut().enumerate() {
        pool.name = format!("a{}", "/1".repeat(i));
    }
    for (i, task) in s.tasks.iter_mut().enumerate() {
        task.name = format!("t{}", "#1".repeat(i));
    }
    s
}

/// One state of a random walk: its options, their labels, and which one the walk picks.
pub(crate) struct Visit<'m> {
    pub sim: Simulation<'m>,
    pub options: Vec<Choice>,
    pub labels: Vec<String>,
    pub pick: usize,
}

/// Walks `model` from its start, picking options at random (`seed`), for at most `steps`
/// steps or until the run ends or deadlocks; calls `visit` at every state with options.
pub(crate) fn walk(model: &Model, seed: u64, steps: usize, mut visit: impl FnMut(&Visit<'_>)) {
    let mut rng = SimRng::new(seed);
    let mut sim = Simulation::new(model);
    for _ in 0..steps {
        if !settle(&mut sim) {
            return;
        }
        let options = sim.options();
        let labels = options.iter().map(|&c| label(&sim, c)).collect();
        let pick = rng.below(options.len());
        let here = Visit {
            sim,
            options,
            labels,
            pick,
        };
        visit(&here);
        sim = here.sim;
        sim.apply(here.options[pick], &mut ());
        if sim.deadlock().is_some() {
            return;
        }
    }
}

/// The old way: the first option whose label is `text`.
fn by_label(visit: &Visit<'_>, text: &str) -> Option<usize> {
    visit.labels.iter().position(|l| l == text)
}

/// The new way: parse once, match structurally.
fn by_step(visit: &Visit<'_>, text: &str) -> Option<usize> {
    let step = ScheduleStep::parse(visit.sim.model, text);
    position(&visit.sim, &visit.options, step)
}

/// Texts close to `label` that may or may not be labels: other numbers (also written with a
/// leading zero or a sign), other verbs, the other separator, stray characters.
fn near_misses(label: &str) -> Vec<String> {
    let mut texts = vec![
        format!("{label} "),
        format!(" {label}"),
        format!("{label}0"),
        label.to_uppercase(),
        label.replacen(' ', "  ", 1),
        label.replace('#', "/"),
        label.replace('/', "#"),
    ];
    let digits = label.len() - label.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, n) = label.split_at(label.len() - digits);
    // A thread pool's process is named by its pool alone (`restart back`): no number.
    if let Ok(n) = n.parse::<u64>() {
        for other in [n + 1, n.saturating_sub(1), n + 10, u64::from(u32::MAX) + 1] {
            texts.push(format!("{head}{other}"));
        }
    }
    texts.extend([
        format!("{head}0{n}"),
        format!("{head}+{n}"),
        head.to_string(),
    ]);
    let rest = label.split_once(' ').unwrap().1;
    for verb in ["arrival", "take", "run", "done", "timeout", "spawn"] {
        texts.push(format!("{verb} {rest}"));
    }
    texts
}

/// Texts that name nothing in any scenario, or only by accident.
const JUNK: &[&str] = &[
    "",
    " ",
    "take",
    "take ",
    "take /1",
    "run #1",
    "run t#",
    "arrival",
    "arrival ",
    "arrival -1",
    "arrival 4294967296",
    "done",
    "timeout #",
    "take a/",
    "take a//1",
    "run t##1",
];

#[test]
fn parsed_steps_pick_the_option_their_label_picks() {
    let mut compared = 0;
    let mut matched = 0;
    for scenario in scenarios() {
        for timing in [Timing::Any, Timing::Exact] {
            let model = model_for(&scenario, timing);
            // Labels of earlier states too: they name tasks that are gone or not yet there.
            let mut texts: Vec<String> = JUNK.iter().map(|s| s.to_string()).collect();
            let mut labels = HashSet::new();
            for seed in 0..12 {
                walk(&model, seed, 60, |visit| {
                    for l in &visit.labels {
                        if labels.insert(l.clone()) {
                            for text in near_misses(l).into_iter().chain([l.clone()]) {
                                if !texts.contains(&text) {
                                    texts.push(text);
                                }
                            }
                        }
                    }
                    for text in &texts {
                        let want = by_label(visit, text);
                        assert_eq!(
                            by_step(visit, text),
                            want,
                            "{} ({timing:?}), seed {seed}: {text:?} among {:?}",
                            scenario.name,
                            visit.labels
                        );
                        compared += 1;
                        matched += usize::from(want.is_some());
                    }
                });
            }
        }
    }
    // The comparison is not vacuous: many texts, and many of them options.
    assert!(compared > 100_000, "{compared} comparisons");
    assert!(matched > 10_000, "{matched} matches");
}

#[test]
fn numbers_are_read_exactly_as_written() {
    assert_eq!(number("0"), Some(0));
    assert_eq!(number("17"), Some(17));
    assert_eq!(number("4294967295"), Some(u32::MAX));
    for text in [
        "",
        "00",
        "017",
        "+1",
        "-1",
        " 1",
        "1 ",
        "4294967296",
        "1_0",
        "١",
    ] {
        assert_eq!(number(text), None, "{text:?}");
    }
}

#[test]
fn a_step_that_names_nothing_is_explained_with_the_labels() {
    let model = model_for(&crate::engine::tests::fanout(2, 2, 2), Timing::Any);
    let steps = ["arrival 0", "take nosuch/1"].map(String::from);
    let err = crate::explore::replay::observe_steps::<()>(&model, &steps).unwrap_err();
    assert_eq!(
        err,
        "step 2: \"take nosuch/1\" is not possible here (possible: arrival 0, take default/1, \
         take default/2)"
    );
}

#[test]
fn a_step_after_the_end_says_so() {
    let model = model_for(&crate::engine::tests::fanout(2, 1, 1), Timing::Any);
    let steps = [
        "arrival 0",
        "take default/1",
        "run main_task#1",
        "take default/2",
        "run subtask#1",
        "done subtask#1",
        "arrival 0",
    ]
    .map(String::from);
    let err = crate::explore::replay::observe_steps::<()>(&model, &steps).unwrap_err();
    assert_eq!(err, "step 7: \"arrival 0\" comes after the run has ended");
}

#[test]
fn issue_14_huge_steps_and_long_lists_are_cut_in_messages() {
    assert_eq!(quoted("take default/1"), "\"take default/1\"");
    assert_eq!(quoted("it's \"b\"\n"), "\"it's \\\"b\\\"\\n\"");
    let huge = "x".repeat(10_000);
    let shown = quoted(&huge);
    assert_eq!(shown, format!("\"{}…\"", "x".repeat(QUOTED_CHARS)));
    // Cut at a character, not a byte.
    let wide = "é".repeat(100);
    assert_eq!(quoted(&wide), format!("\"{}…\"", "é".repeat(QUOTED_CHARS)));
    assert_eq!(
        quoted(&"é".repeat(QUOTED_CHARS)),
        format!("\"{}\"", "é".repeat(QUOTED_CHARS))
    );

    // A step of 10 kB that does not fit, on a pool of 30 idle workers: the message stays short.
    let model = model_for(&crate::engine::tests::fanout(30, 1, 1), Timing::Any);
    let steps = ["arrival 0".to_string(), format!("take {huge}")];
    let err = crate::explore::replay::observe_steps::<()>(&model, &steps).unwrap_err();
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
    assert!(
        err.starts_with(&format!(
            "step 2: \"take {}…\" is not possible here (possible: take default/1, ",
            "x".repeat(QUOTED_CHARS - 5)
        )),
        "{err}"
    );
    assert!(err.ends_with(", take default/20, and 10 more)"), "{err}");
}
