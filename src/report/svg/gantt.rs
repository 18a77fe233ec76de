//! The timeline of a run as a Gantt chart: one lane per worker, working, blocked and idle
//! spans in three colours (and restarting ones in a fourth, when a process exited or a thread
//! was recycled), the deadlock instant marked, and after it the workers stuck for ever. Each span carries a `<title>` (the worker, what it did, the task, from when to when),
//! which a browser shows on hover; a span wide enough shows its task's name too.

use std::fmt::Write as _;

use crate::report::timeline::{Clock, Doing, Timeline};
use crate::scenario::format_ticks;

use super::{escape, nice_ticks, thousands};

const WIDTH: f64 = 1100.0;
const LABELS: f64 = 120.0;
const RIGHT: f64 = 24.0;
/// The strip after the deadlock line where stuck workers stay blocked.
const FOR_EVER: f64 = 110.0;
const TOP: f64 = 46.0;

/// The colours of working, blocked and idle spans.
pub const WORKING: &str = "#4c78a8";
/// Blocked in a wait.
pub const BLOCKED: &str = "#e45756";
/// Idle.
pub const IDLE: &str = "#dedede";
/// Restarting (its process exited, or the thread was recycled).
pub const RESTARTING: &str = "#f2b134";

fn colour(doing: Doing) -> &'static str {
    match doing {
        Doing::Working => WORKING,
        Doing::Blocked => BLOCKED,
        Doing::Idle => IDLE,
        Doing::Restarting => RESTARTING,
    }
}

/// The ticks of a time (or steps) axis from `from` to `end` along the line at `axis_y`, each
/// with its label: the Gantt's axis, and the memory figure's.
pub(super) fn clock_ticks(
    out: &mut String,
    clock: Clock,
    from: u64,
    end: u64,
    axis_y: f64,
    x_of: impl Fn(u64) -> f64,
) {
    for v in nice_ticks(from as f64, end as f64, 10) {
        // Steps are whole; time ticks are whole ticks.
        let v = v.round().max(0.0) as u64;
        let x = x_of(v);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.2}\" y1=\"{axis_y:.1}\" x2=\"{x:.2}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text x=\"{x:.2}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            axis_y + 5.0,
            axis_y + 18.0,
            escape(&match clock {
                Clock::Time => format_ticks(v),
                Clock::Steps => v.to_string(),
            })
        );
    }
}

/// A position in words: `1.5s`, or `step 7`.
fn at(t: &Timeline, x: u64) -> String {
    match t.clock {
        Clock::Time => format_ticks(x),
        Clock::Steps => format!("step {x}"),
    }
}

/// A span in words: `4s to 8s (4s)`, or `steps 3 to 4` (step k spans k-1..k).
fn span(t: &Timeline, start: u64, end: u64) -> String {
    match t.clock {
        Clock::Time => format!(
            "{} to {} ({})",
            format_ticks(start),
            format_ticks(end),
            format_ticks(end - start)
        ),
        Clock::Steps if end == start + 1 => format!("step {end}"),
        Clock::Steps => format!("steps {} to {end}", start + 1),
    }
}

/// The timeline as SVG; `id` prefixes the ids inside it.
pub fn render(id: &str, t: &Timeline) -> String {
    let lanes = t.workers.len().max(1);
    let lane = (1600.0 / lanes as f64).clamp(3.0, 18.0);
    let gap = if lane >= 10.0 { 4.0 } else { 1.0 };
    let height = TOP + (lane + gap) * lanes as f64 + 62.0;
    let stuck = t.deadlock.is_some();
    let span_ticks = t.end.saturating_sub(t.from);
    let right_edge = WIDTH - RIGHT;
    // Where the run ends on the page; after it, the strip of the workers stuck for ever.
    let end_x = match (stuck, span_ticks) {
        (true, 0) => LABELS,
        (true, _) => right_edge - FOR_EVER,
        (false, _) => right_edge,
    };
    let scale = if span_ticks == 0 {
        0.0
    } else {
        (end_x - LABELS) / span_ticks as f64
    };
    let x_of = |v: u64| LABELS + v.saturating_sub(t.from) as f64 * scale;
    let lane_y = |w: usize| TOP + (lane + gap) * w as f64;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\" \
         role=\"img\" aria-label=\"timeline of each worker\">"
    );
    let _ = writeln!(
        out,
        "<defs><pattern id=\"{id}-stuck\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"{BLOCKED}\" opacity=\"0.45\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"{BLOCKED}\" stroke-width=\"4\"/></pattern></defs>"
    );
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    // The legend.
    let mut lx = LABELS;
    let mut legend = vec![
        (WORKING.to_string(), "working"),
        (BLOCKED.to_string(), "blocked in a wait"),
        (IDLE.to_string(), "idle"),
    ];
    if t.intervals.iter().any(|i| i.doing == Doing::Restarting) {
        legend.push((RESTARTING.to_string(), "restarting"));
    }
    if stuck {
        legend.push((format!("url(#{id}-stuck)"), "stuck for ever (deadlock)"));
    }
    for (fill, name) in legend {
        let _ = writeln!(
            out,
            "<rect x=\"{lx}\" y=\"10\" width=\"14\" height=\"14\" fill=\"{fill}\" stroke=\"#999\"/>\
             <text x=\"{}\" y=\"21\">{name}</text>",
            lx + 19.0
        );
        lx += 28.0 + 7.0 * name.len() as f64;
    }
    // Lanes and their labels.
    for (w, name) in t.workers.iter().enumerate() {
        let y = lane_y(w);
        let _ = writeln!(
            out,
            "<rect x=\"{LABELS}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{lane:.1}\" fill=\"#f7f7f7\"/>",
            right_edge - LABELS
        );
        if lane >= 10.0 {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" dominant-baseline=\"central\">{}</text>",
                LABELS - 8.0,
                y + lane / 2.0,
                escape(name)
            );
        }
    }
    // The spans.
    for i in &t.intervals {
        let start = i.start.max(t.from);
        if i.end <= start {
            continue;
        }
        let (x0, x1) = (x_of(start), x_of(i.end));
        let y = lane_y(i.worker as usize);
        let worker = &t.workers[i.worker as usize];
        let what = match (&i.task, i.doing) {
            (Some(task), Doing::Working) => format!("working on {task}"),
            (Some(task), Doing::Blocked) => format!("held by {task}, which waits for its children"),
            (_, doing) => doing.name().to_string(),
        };
        let title = format!("{worker}: {what}, {}", span(t, i.start, i.end));
        let _ = write!(
            out,
            "<g><title>{}</title><rect x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{lane:.1}\" fill=\"{}\"/>",
            escape(&title),
            x1 - x0,
            colour(i.doing)
        );
        if let (Some(task), true) = (&i.task, lane >= 12.0) {
            if x1 - x0 >= 7.0 * task.len() as f64 + 8.0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.2}\" y=\"{:.1}\" fill=\"white\" font-size=\"11\" dominant-baseline=\"central\">{}</text>",
                    x0 + 4.0,
                    y + lane / 2.0,
                    escape(task)
                );
            }
        }
        out.push_str("</g>\n");
    }
    // The deadlock: a line at its instant, and the stuck workers blocked for ever after it.
    let bottom = lane_y(lanes) - gap;
    if let Some(d) = &t.deadlock {
        for (w, task) in &d.workers {
            let y = lane_y(*w as usize);
            let _ = writeln!(
                out,
                "<g><title>{}: held for ever by {}, which waits for children that can never \
                 run (deadlock at {})</title><rect x=\"{end_x:.2}\" y=\"{y:.1}\" \
                 width=\"{:.2}\" height=\"{lane:.1}\" fill=\"url(#{id}-stuck)\"/></g>",
                escape(&t.workers[*w as usize]),
                escape(task),
                escape(&at(t, d.at)),
                right_edge - end_x
            );
        }
        let _ = writeln!(
            out,
            "<line x1=\"{end_x:.2}\" y1=\"{:.1}\" x2=\"{end_x:.2}\" y2=\"{bottom:.1}\" stroke=\"#7f0000\" \
             stroke-width=\"2\" stroke-dasharray=\"5 3\"/><text x=\"{:.2}\" y=\"{:.1}\" fill=\"#7f0000\" \
             font-weight=\"bold\">deadlock at {}</text>",
            TOP - 8.0,
            end_x + 4.0,
            TOP - 10.0,
            escape(&at(t, d.at))
        );
    }
    // The axis.
    let axis_y = bottom + 6.0;
    let _ = writeln!(
        out,
        "<line x1=\"{LABELS}\" y1=\"{axis_y:.1}\" x2=\"{end_x:.1}\" y2=\"{axis_y:.1}\" stroke=\"#333\"/>"
    );
    if span_ticks > 0 {
        clock_ticks(&mut out, t.clock, t.from, t.end, axis_y, x_of);
    }
    let axis_name = match (t.clock, span_ticks) {
        (_, 0) if stuck => format!(
            "no time passed before the deadlock formed at {}: the hatched lanes are the workers it holds",
            at(t, t.end)
        ),
        (_, 0) => "no time passed".to_string(),
        (Clock::Time, _) => "simulated time".to_string(),
        (Clock::Steps, _) => {
            "step of the run, k spanning k-1 to k (no time passed: every step happened at one instant)"
                .to_string()
        }
    };
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
        (LABELS + right_edge) / 2.0,
        axis_y + 36.0,
        escape(&axis_name)
    );
    if t.dropped > 0 {
        let _ = writeln!(
            out,
            "<text x=\"{LABELS}\" y=\"{:.1}\" fill=\"#7f0000\">only the last {} spans are kept \
             ({} earlier ones left out): the lanes are complete from {} on</text>",
            axis_y + 52.0,
            thousands(t.intervals.len() as u64),
            thousands(t.dropped),
            escape(&at(t, t.from))
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::timeline::{Interval, StuckWorkers};

    fn timeline() -> Timeline {
        Timeline {
            clock: Clock::Time,
            workers: vec!["default/1".into(), "default/2".into()],
            intervals: vec![
                Interval {
                    worker: 1,
                    doing: Doing::Idle,
                    task: None,
                    start: 0,
                    end: 2_000_000_000,
                },
                Interval {
                    worker: 0,
                    doing: Doing::Working,
                    task: Some("main_task#1".into()),
                    start: 0,
                    end: 4_000_000_000,
                },
                Interval {
                    worker: 1,
                    doing: Doing::Blocked,
                    task: Some("main_task#2".into()),
                    start: 2_000_000_000,
                    end: 4_000_000_000,
                },
            ],
            dropped: 0,
            cap: 20_000,
            from: 0,
            end: 4_000_000_000,
            deadlock: Some(StuckWorkers {
                at: 4_000_000_000,
                workers: vec![(1, "main_task#2".into())],
            }),
        }
    }

    #[test]
    fn spans_have_their_colours_and_titles_and_the_deadlock_is_marked() {
        let svg = render("g", &timeline());
        assert!(svg.contains(&format!("fill=\"{WORKING}\"")));
        assert!(svg.contains(&format!("fill=\"{BLOCKED}\"")));
        assert!(svg.contains(&format!("fill=\"{IDLE}\"")));
        assert!(svg.contains("<title>default/1: working on main_task#1, 0s to 4s (4s)</title>"));
        assert!(svg.contains("<title>default/2: held by main_task#2, which waits for its children, 2s to 4s (2s)</title>"));
        assert!(svg.contains("deadlock at 4s"));
        assert!(svg.contains(
            "<title>default/2: held for ever by main_task#2, which waits for children that can \
             never run (deadlock at 4s)</title>"
        ));
        assert!(svg.contains("url(#g-stuck)"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<g>").count(), svg.matches("</g>").count());
    }

    #[test]
    fn restarts_are_drawn_and_in_the_legend_only_when_there_are_some() {
        let svg = render("g", &timeline());
        assert!(!svg.contains(">restarting</text>"));
        let mut t = timeline();
        t.intervals.push(Interval {
            worker: 0,
            doing: Doing::Restarting,
            task: None,
            start: 4_000_000_000,
            end: 5_000_000_000,
        });
        t.end = 5_000_000_000;
        t.deadlock = None;
        let svg = render("g", &t);
        assert!(
            svg.contains(&format!(
                "fill=\"{RESTARTING}\" stroke=\"#999\"/><text x=\"419\" y=\"21\">restarting</text>"
            )),
            "{svg}"
        );
        assert!(svg.contains("<title>default/1: restarting, 4s to 5s (1s)</title>"));
    }

    #[test]
    fn a_capped_timeline_says_so() {
        let mut t = timeline();
        t.dropped = 7;
        t.from = 2_000_000_000;
        let svg = render("g", &t);
        assert!(svg.contains("7 earlier ones left out"), "{svg}");
        assert!(svg.contains("complete from 2s on"));
    }
}
