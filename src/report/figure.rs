//! The figures of a report, as data: what is drawn, not how.
//!
//! A [`Figure`] is one of five drawings — [`Curves`] against a varied parameter with their
//! confidence bands, a [`HeatMap`] over two varied parameters, a worker [`Timeline`] (Gantt),
//! a deadlock's [`WaitFor`] graph and the processes' memory over a run ([`MemoryTimeline`]) —
//! with a title and a caption. [`svg`](super::svg) draws
//! them; [`Figure::csv`] gives every number a figure shows, so that a report's Markdown form
//! can put the numbers beside the pictures and its HTML form under each of them.

use petgraph::visit::EdgeRef;

use crate::engine::wait_for::{Edge, Node};
use crate::engine::Deadlock;
use crate::scenario::{ticks_to_secs, Tick};

use super::csv::{self, number};
use super::memory_timeline::MemoryTimeline;
use super::timeline::{Clock, Timeline};

/// A figure of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// A name unique within the report, usable in a file name and an HTML id
    /// (`timeline`, `wait-for`, `deadlock-probability`).
    pub id: String,
    /// The title shown above it.
    pub title: String,
    /// What it shows, in a sentence or two.
    pub caption: String,
    /// The drawing.
    pub drawing: Drawing,
}

/// What a figure draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Drawing {
    /// Values against a parameter, with bands.
    Curves(Curves),
    /// Cells over two parameters.
    HeatMap(HeatMap),
    /// One lane per worker: working, blocked, idle.
    Timeline(Timeline),
    /// A deadlock's wait-for graph.
    WaitFor(WaitFor),
    /// One line per process: its resident memory over the run, with the thresholds.
    Memory(MemoryTimeline),
}

/// Curves against one parameter: each [`Series`] is a value per `x`, with an optional band
/// (a 95% interval).
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    /// The parameter's name (the x axis).
    pub x_label: String,
    /// The values' name and unit (the y axis).
    pub y_label: String,
    /// The parameter's values as written; a numeric axis when every one is a number, else one
    /// evenly spaced position per value.
    pub x: Vec<String>,
    /// The curves.
    pub series: Vec<Series>,
    /// A horizontal line: an objective's limit, with its label.
    pub limit: Option<(String, f64)>,
    /// A vertical line at one of the `x` (by index): a plan's answer, with its label.
    pub marked: Option<(String, usize)>,
    /// Whether the y axis is a share from 0 to 1 (drawn from 0 to 1 at most).
    pub share: bool,
}

/// One curve: a value per `x` of its [`Curves`] (`None` where nothing was measured).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// Per `x`: the value and its band's low and high ends, if it has one.
    pub points: Vec<Option<Point>>,
}

/// A value and its band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// The value.
    pub value: f64,
    /// The band's ends, when the value has an interval.
    pub band: Option<(f64, f64)>,
}

/// Cells over two parameters: `x` across, `y` down.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// The parameter across.
    pub x_label: String,
    /// The parameter down.
    pub y_label: String,
    /// Its values across.
    pub x: Vec<String>,
    /// Its values down.
    pub y: Vec<String>,
    /// `cells[j][i]` is the cell at `y[j]`, `x[i]`.
    pub cells: Vec<Vec<Cell>>,
    /// What the cells' numbers are.
    pub scale: Scale,
}

/// One cell of a [`HeatMap`].
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A number on the map's [`Scale`].
    Value(f64),
    /// An exhaustive verdict: `deadlock`, `deadlock_free`, `inconclusive`.
    Verdict(&'static str),
    /// Nothing measured.
    Empty,
}

/// How a heat map's numbers read.
#[derive(Clone, Debug, PartialEq)]
pub enum Scale {
    /// A share from 0 to 1 (a deadlock probability).
    Share,
    /// Seconds, from 0 to the largest (a p99).
    Seconds,
    /// Verdicts, one colour each.
    Verdicts,
}

/// A deadlock's wait-for graph, as plain data: nodes and the edges between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitFor {
    /// The instant the deadlock formed.
    pub time: Tick,
    /// The nodes, in the graph's order.
    pub nodes: Vec<Node>,
    /// The edges: source and target (indexes into `nodes`) and how the source holds the
    /// target back.
    pub edges: Vec<(usize, usize, Edge)>,
    /// One cycle of the graph, first node repeated at the end.
    pub cycle: Vec<Node>,
}

impl WaitFor {
    /// The graph of `deadlock`.
    pub fn of(deadlock: &Deadlock) -> WaitFor {
        let g = &deadlock.graph;
        WaitFor {
            time: deadlock.time,
            nodes: g.node_indices().map(|n| g[n].clone()).collect(),
            edges: g
                .edge_references()
                .map(|e| (e.source().index(), e.target().index(), *e.weight()))
                .collect(),
            cycle: deadlock.cycle(),
        }
    }
}

/// The HTML id of a task's entry in a report (`main_task#1` is `task-main_task-23-1`): the
/// name with every character other than a letter, a digit or `_` written as `-hex-`, so that
/// two names never share an id and the id needs no escaping in a link.
pub fn task_anchor(task: &str) -> String {
    let mut out = String::from("task-");
    for c in task.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push_str(&format!("-{:x}-", c as u32));
        }
    }
    out
}

fn csv_line(out: &mut String, fields: &[String]) {
    let fields: Vec<String> = fields.iter().map(|f| csv::field(f)).collect();
    out.push_str(&fields.join(","));
    out.push('\n');
}

impl Figure {
    /// Every number the figure shows, as CSV with a header row.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        match &self.drawing {
            Drawing::Curves(c) => {
                let mut head = vec![c.x_label.clone()];
                for s in &c.series {
                    head.extend([
                        s.name.clone(),
                        format!("{} low", s.name),
                        format!("{} high", s.name),
                    ]);
                }
                csv_line(&mut out, &head);
                for (i, x) in c.x.iter().enumerate() {
                    let mut row = vec![x.clone()];
                    for s in &c.series {
                        let p = s.points.get(i).copied().flatten();
                        row.push(number(p.map(|p| p.value)));
                        row.push(number(p.and_then(|p| p.band).map(|b| b.0)));
                        row.push(number(p.and_then(|p| p.band).map(|b| b.1)));
                    }
                    csv_line(&mut out, &row);
                }
            }
            Drawing::HeatMap(h) => {
                csv_line(
                    &mut out,
                    &[h.y_label.clone(), h.x_label.clone(), "value".into()],
                );
                for (j, y) in h.y.iter().enumerate() {
                    for (i, x) in h.x.iter().enumerate() {
                        let cell = match &h.cells[j][i] {
                            Cell::Value(v) => format!("{v}"),
                            Cell::Verdict(v) => v.to_string(),
                            Cell::Empty => String::new(),
                        };
                        csv_line(&mut out, &[y.clone(), x.clone(), cell]);
                    }
                }
            }
            Drawing::Timeline(t) => {
                let (start, end) = match t.clock {
                    Clock::Time => ("start_s", "end_s"),
                    Clock::Steps => ("first_step", "last_step"),
                };
                let at = |x: u64, first: bool| match t.clock {
                    Clock::Time => format!("{}", ticks_to_secs(x)),
                    // Step k spans k-1..k.
                    Clock::Steps => format!("{}", if first { x + 1 } else { x }),
                };
                csv_line(
                    &mut out,
                    &["worker", "doing", "task", start, end].map(String::from),
                );
                for i in &t.intervals {
                    csv_line(
                        &mut out,
                        &[
                            t.workers[i.worker as usize].clone(),
                            i.doing.name().into(),
                            i.task.clone().unwrap_or_default(),
                            at(i.start, true),
                            at(i.end, false),
                        ],
                    );
                }
            }
            Drawing::Memory(m) => out.push_str(&m.csv()),
            Drawing::WaitFor(w) => {
                csv_line(&mut out, &["from", "edge", "to"].map(String::from));
                for &(a, b, e) in &w.edges {
                    csv_line(
                        &mut out,
                        &[
                            super::text::label(&w.nodes[a]),
                            super::dot::edge_label(e).into(),
                            super::text::label(&w.nodes[b]),
                        ],
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_anchors_are_distinct_and_plain() {
        assert_eq!(task_anchor("main_task#1"), "task-main_task-23-1");
        assert_ne!(task_anchor("a-1"), task_anchor("a#1"));
        assert_ne!(task_anchor("a_2d_1"), task_anchor("a-1"));
    }

    #[test]
    fn curves_give_a_row_per_value_and_three_columns_per_series() {
        let f = Figure {
            id: "p".into(),
            title: "t".into(),
            caption: String::new(),
            drawing: Drawing::Curves(Curves {
                x_label: "pool.default.workers".into(),
                y_label: "share".into(),
                x: vec!["1".into(), "2".into()],
                series: vec![Series {
                    name: "deadlock".into(),
                    points: vec![
                        Some(Point {
                            value: 1.0,
                            band: Some((0.9, 1.0)),
                        }),
                        None,
                    ],
                }],
                limit: None,
                marked: None,
                share: true,
            }),
        };
        assert_eq!(
            f.csv(),
            "pool.default.workers,deadlock,deadlock low,deadlock high\n1,1,0.9,1\n2,,,\n"
        );
    }
}
