//! The memory of a run's processes as step lines: one line per process (a thread pool's one
//! process, or each worker of a process pool), the pools' `max_memory` and the host's memory as
//! dashed lines, each exit marked by a triangle where the line drops, and the time the process
//! is down (restarting) as a band under the axis in the Gantt chart's colour. With the host's
//! memory set and more than one process, a grey line adds them all up: the OOM killer acts
//! where it crosses the host's line. The lines, markers, bands and thresholds carry a `<title>`
//! read on hover.

use std::fmt::Write as _;

use crate::engine::Exit;
use crate::report::memory_timeline::MemoryTimeline;
use crate::report::timeline::Clock;
use crate::scenario::{format_size, format_ticks};

use super::gantt::{clock_ticks, RESTARTING};
use super::{escape, nice_ticks, thousands};

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 80.0;
/// The strip on the right where the legend goes.
const LEGEND: f64 = 230.0;
const TOP: f64 = 20.0;
const PLOT: f64 = 300.0;
/// The band under the plot where down processes are shown.
const DOWN: f64 = 8.0;
/// The most processes named in the legend.
const MOST_NAMED: usize = 14;

/// Colours of successive processes (those of the curves).
const PALETTE: [&str; 6] = [
    "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
];
/// A pool's `max_memory`.
const POOL_LIMIT: &str = "#555555";
/// The host's memory, and the OOM killer.
const HOST_LIMIT: &str = "#b00000";
/// All processes together.
const TOTAL: &str = "#888888";

fn colour(p: usize) -> &'static str {
    PALETTE[p % PALETTE.len()]
}

/// A position in words: `1.5s`, or `step 7`.
fn at(m: &MemoryTimeline, x: u64) -> String {
    match m.clock {
        Clock::Time => format_ticks(x),
        Clock::Steps => format!("step {x}"),
    }
}

fn exit_words(cause: Exit) -> &'static str {
    match cause {
        Exit::MaxMemory => "exited above max_memory",
        Exit::MaxTasks => "was recycled after max_tasks",
        Exit::Oom => "was killed by the OOM killer",
    }
}

/// The memory timeline as SVG; `id` prefixes the ids inside it (it has none).
pub fn render(id: &str, m: &MemoryTimeline) -> String {
    let _ = id;
    let right = WIDTH - LEGEND;
    let host = m.thresholds.iter().find(|t| t.host).map(|t| t.bytes);
    let total_line = host.is_some() && m.processes.len() > 1;

    // One pass over the changes: each process's line, its exits and down spans, and the total.
    let span = m.end.saturating_sub(m.from);
    let scale = if span == 0 {
        0.0
    } else {
        (right - LEFT) / span as f64
    };
    let x_of = |v: u64| LEFT + v.saturating_sub(m.from) as f64 * scale;
    let mut current: Vec<u64> = m.processes.iter().map(|p| p.start).collect();
    let mut total: u64 = current.iter().sum();
    let mut total_peak = total;
    let mut points: Vec<Vec<(u64, u64)>> = current.iter().map(|&r| vec![(m.from, r)]).collect();
    let mut totals = vec![(m.from, total)];
    let mut exits = Vec::new();
    let mut down: Vec<Option<u64>> = vec![None; m.processes.len()];
    let mut downs = Vec::new();
    let mut exit_count = vec![0u64; m.processes.len()];
    for s in &m.samples {
        let p = s.process as usize;
        if let Some(since) = down[p].take() {
            downs.push((p, since, s.at));
        }
        if let Some(e) = s.exited {
            exits.push((p, s.at, e));
            exit_count[p] += 1;
            down[p] = Some(s.at);
        }
        total = total - current[p] + s.rss;
        total_peak = total_peak.max(total);
        current[p] = s.rss;
        points[p].push((s.at, s.rss));
        totals.push((s.at, total));
    }
    for (p, since) in down.iter().enumerate() {
        if let Some(since) = since {
            downs.push((p, *since, m.end));
        }
    }
    let limit_top = m.thresholds.iter().map(|t| t.bytes).max().unwrap_or(0);
    let mut y_max = m.peak().max(limit_top);
    if total_line {
        y_max = y_max.max(total_peak);
    }
    let y_max = (y_max.max(1) as f64) * 1.08;
    let y_of = |b: u64| TOP + PLOT - b as f64 / y_max * PLOT;
    let path = |pts: &[(u64, u64)]| {
        let mut d = String::new();
        for (i, &(x, b)) in pts.iter().enumerate() {
            if i == 0 {
                let _ = write!(d, "M{:.2} {:.2}", x_of(x), y_of(b));
            } else {
                let _ = write!(d, "H{:.2}V{:.2}", x_of(x), y_of(b));
            }
        }
        let _ = write!(d, "H{:.2}", x_of(m.end.max(m.from)));
        d
    };

    let named = m.processes.len().min(MOST_NAMED);
    let legend_rows = named
        + usize::from(m.processes.len() > named)
        + m.thresholds.len()
        + usize::from(total_line)
        + usize::from(!downs.is_empty());
    let bottom = TOP + PLOT + DOWN + 64.0 + if m.dropped > 0 { 18.0 } else { 0.0 };
    let height = bottom.max(TOP + 20.0 * legend_rows as f64 + 20.0);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\" \
         role=\"img\" aria-label=\"resident memory of each process over the run\">"
    );
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        out,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{PLOT}\" fill=\"#fbfbfb\" stroke=\"#ccc\"/>",
        right - LEFT
    );
    // The y axis: sizes.
    for v in nice_ticks(0.0, y_max, 6) {
        let b = v.round().max(0.0) as u64;
        let y = y_of(b);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.2}\" x2=\"{right:.1}\" y2=\"{y:.2}\" stroke=\"#e4e4e4\"/>\
             <text x=\"{:.1}\" y=\"{y:.2}\" text-anchor=\"end\" dominant-baseline=\"central\">{}</text>",
            LEFT - 6.0,
            escape(&format_size(b))
        );
    }
    let _ = writeln!(
        out,
        "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">resident memory</text>",
        TOP + PLOT / 2.0
    );
    // The x axis: time or steps.
    let axis_y = TOP + PLOT + DOWN;
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{axis_y:.1}\" x2=\"{right:.1}\" y2=\"{axis_y:.1}\" stroke=\"#333\"/>"
    );
    if span > 0 {
        clock_ticks(&mut out, m.clock, m.from, m.end, axis_y, x_of);
    }
    let axis_name = match (m.clock, span) {
        (_, 0) => "no time passed",
        (Clock::Time, _) => "simulated time",
        (Clock::Steps, _) => "step of the run (no time passed)",
    };
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{axis_name}</text>",
        (LEFT + right) / 2.0,
        axis_y + 36.0
    );
    if m.dropped > 0 {
        let _ = writeln!(
            out,
            "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#7f0000\">only the last {} changes are kept \
             ({} earlier ones left out): the lines are complete from {} on</text>",
            axis_y + 54.0,
            thousands(m.samples.len() as u64),
            thousands(m.dropped),
            escape(&at(m, m.from))
        );
    }
    // Down spans, in the band between the plot and the axis.
    for &(p, since, until) in &downs {
        let (x0, x1) = (x_of(since), x_of(until));
        let _ = writeln!(
            out,
            "<g><title>{}: down (restarting) from {} to {}</title><rect x=\"{x0:.2}\" y=\"{:.1}\" \
             width=\"{:.2}\" height=\"{:.1}\" fill=\"{RESTARTING}\"/></g>",
            escape(&m.processes[p].name),
            escape(&at(m, since)),
            escape(&at(m, until)),
            TOP + PLOT + 1.0,
            (x1 - x0).max(1.0),
            DOWN - 2.0
        );
    }
    // The thresholds.
    for t in &m.thresholds {
        let y = y_of(t.bytes);
        let stroke = if t.host { HOST_LIMIT } else { POOL_LIMIT };
        let what = if t.host {
            "all processes together above it: the OOM killer takes the largest"
        } else {
            "a process above it after a task exits"
        };
        let _ = writeln!(
            out,
            "<g><title>{}: {} ({what})</title><line x1=\"{LEFT}\" y1=\"{y:.2}\" x2=\"{right:.1}\" \
             y2=\"{y:.2}\" stroke=\"{stroke}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{:.1}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"{stroke}\">{}: {}</text></g>",
            escape(&t.label),
            format_size(t.bytes),
            right - 4.0,
            y - 4.0,
            escape(&t.label),
            format_size(t.bytes)
        );
    }
    // All processes together.
    if total_line {
        let _ = writeln!(
            out,
            "<g><title>all processes together: peak {}</title><path d=\"{}\" fill=\"none\" \
             stroke=\"{TOTAL}\" stroke-width=\"1.5\" stroke-dasharray=\"2 2\"/></g>",
            format_size(total_peak),
            path(&totals)
        );
    }
    // One line per process.
    for (p, line) in m.processes.iter().enumerate() {
        let peak = points[p].iter().map(|&(_, b)| b).max().unwrap_or(0);
        let peak = exits
            .iter()
            .filter(|e| e.0 == p)
            .map(|e| e.2.rss)
            .fold(peak, u64::max);
        let restarts = match exit_count[p] {
            0 => String::new(),
            1 => ", 1 exit".into(),
            n => format!(", {n} exits"),
        };
        let _ = writeln!(
            out,
            "<g><title>{} (pool {}): peak {}{restarts}</title><path d=\"{}\" fill=\"none\" \
             stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"/></g>",
            escape(&line.name),
            escape(&line.pool),
            format_size(peak),
            path(&points[p]),
            colour(p)
        );
    }
    // Each exit: a triangle at the top of the drop.
    for &(p, when, e) in &exits {
        let (x, y) = (x_of(when), y_of(e.rss));
        let _ = writeln!(
            out,
            "<g><title>{} {} at {} holding {}, after {} tasks</title><path d=\"M{:.2} {:.2}L{:.2} \
             {:.2}L{x:.2} {:.2}Z\" fill=\"{}\" stroke=\"#333\"/></g>",
            escape(&m.processes[p].name),
            exit_words(e.cause),
            escape(&at(m, when)),
            format_size(e.rss),
            e.tasks,
            x - 5.0,
            y - 10.0,
            x + 5.0,
            y - 10.0,
            y - 1.0,
            colour(p)
        );
    }
    // The legend.
    let lx = right + 16.0;
    let mut ly = TOP + 6.0;
    for (p, line) in m.processes.iter().enumerate().take(named) {
        let _ = writeln!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{}\" stroke-width=\"2\"/>\
             <text x=\"{:.1}\" y=\"{ly:.1}\" dominant-baseline=\"central\">{}</text>",
            lx + 22.0,
            colour(p),
            lx + 28.0,
            escape(&line.name)
        );
        ly += 20.0;
    }
    if m.processes.len() > named {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{ly:.1}\" dominant-baseline=\"central\" fill=\"#555\">and {} more processes</text>",
            lx + 28.0,
            m.processes.len() - named
        );
        ly += 20.0;
    }
    if total_line {
        let _ = writeln!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{TOTAL}\" \
             stroke-width=\"1.5\" stroke-dasharray=\"2 2\"/><text x=\"{:.1}\" y=\"{ly:.1}\" \
             dominant-baseline=\"central\">all processes</text>",
            lx + 22.0,
            lx + 28.0
        );
        ly += 20.0;
    }
    for t in &m.thresholds {
        let stroke = if t.host { HOST_LIMIT } else { POOL_LIMIT };
        let _ = writeln!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{stroke}\" \
             stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"{:.1}\" y=\"{ly:.1}\" \
             dominant-baseline=\"central\">{}</text>",
            lx + 22.0,
            lx + 28.0,
            escape(&t.label)
        );
        ly += 20.0;
    }
    if !downs.is_empty() {
        let _ = writeln!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"22\" height=\"{:.1}\" fill=\"{RESTARTING}\"/>\
             <text x=\"{:.1}\" y=\"{ly:.1}\" dominant-baseline=\"central\">down (restarting)</text>",
            ly - (DOWN - 2.0) / 2.0,
            DOWN - 2.0,
            lx + 28.0
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::memory_timeline::tests::{leak_threshold, record};
    use crate::report::memory_timeline::Recorder;

    #[test]
    fn the_lines_carry_the_data_and_the_threshold_is_drawn() {
        let m = record(leak_threshold(), Recorder::CAP);
        let svg = render("memory", &m);
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<g>").count(), svg.matches("</g>").count());
        // The process's line: from 200MB at 0s, up to 600MB, down to 500MB at 20s, ...
        let y = |mb: u64| TOP + PLOT - (mb * 1_000_000) as f64 / (1_200e6 * 1.08) * PLOT;
        let x = |s: u64| LEFT + s as f64 * (WIDTH - LEGEND - LEFT) / 290.0;
        let start = format!(
            "M{:.2} {:.2}H{:.2}V{:.2}H{:.2}V{:.2}",
            x(0),
            y(200),
            x(0),
            y(600),
            x(20),
            y(500)
        );
        assert!(svg.contains(&start), "{start} in {svg}");
        assert!(svg.contains("<title>default/1 (pool default): peak 1.2GB, 3 exits</title>"));
        // The drop to 0 at the first exit, and back at 200MB 5s later.
        assert!(svg.contains(&format!(
            "H{:.2}V{:.2}H{:.2}V{:.2}H{:.2}V{:.2}",
            x(80),
            y(1_100),
            x(80),
            y(0),
            x(85),
            y(200)
        )));
        // The threshold: a dashed line at 1GB, named.
        let at = y(1_000);
        assert!(svg.contains(&format!(
            "<line x1=\"{LEFT}\" y1=\"{at:.2}\" x2=\"{:.1}\" y2=\"{at:.2}\" stroke=\"{POOL_LIMIT}\" \
             stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
            WIDTH - LEGEND
        )));
        assert!(svg.contains("max_memory of default: 1GB</text>"));
        // Each exit marked, and the time it was down.
        assert!(svg.contains(
            "<title>default/1 exited above max_memory at 1m20s holding 1.1GB, after 3 tasks</title>"
        ));
        assert!(svg.contains("<title>default/1: down (restarting) from 1m20s to 1m25s</title>"));
        assert!(svg.contains(&format!("fill=\"{RESTARTING}\"")));
        // Sizes and times on the axes.
        assert!(svg.contains(">1GB</text>"), "{svg}");
        assert!(svg.contains(">simulated time</text>"));
    }

    #[test]
    fn a_capped_timeline_says_so() {
        let all = record(leak_threshold(), Recorder::CAP).samples.len();
        let m = record(leak_threshold(), 4);
        let svg = render("memory", &m);
        assert!(
            svg.contains(&format!(
                "only the last 4 changes are kept ({} earlier",
                all - 4
            )),
            "{svg}"
        );
    }
}
