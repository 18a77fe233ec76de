//! A deadlock's wait-for graph, laid out and drawn by qsim: no Graphviz needed.
//!
//! Nodes sit in five columns by kind — pools, workers, tasks that hold a worker while they
//! wait, tasks stuck in a queue, queues — so that most edges run left to right: a pool's
//! workers are *all held*, a worker *holds* a task, a task *waits for* its children, a child
//! is *queued in* a queue. The edge that closes the cycle, a queue *consumed by* a pool, runs
//! back under the columns. Within a column, each task sits near the tasks that point to it.
//! The edges of one cycle are drawn bold. Every node and edge has a `<title>`, read on hover,
//! and a task links to its entry in the report (`#task-...`).
//!
//! A column holds at most [`SHOWN`] nodes (those of the cycle first): the rest are counted in
//! one last node, and their edges left out, so that a deadlock of 512 queued tasks still fits.

use std::fmt::Write as _;

use crate::engine::wait_for::{Edge, Node};
use crate::report::dot::edge_label;
use crate::report::figure::{task_anchor, WaitFor};
use crate::report::text::label;
use crate::scenario::format_ticks;

use super::escape;

/// The most nodes shown in one column.
pub const SHOWN: usize = 16;

const WIDTH: f64 = 1100.0;
const NODE_W: f64 = 168.0;
const NODE_H: f64 = 26.0;
const ROW: f64 = 36.0;
const TOP: f64 = 92.0;

const COLUMNS: [&str; 5] = [
    "pools",
    "workers",
    "waiting tasks",
    "queued tasks",
    "queues",
];

fn column(w: &WaitFor, n: usize) -> usize {
    match &w.nodes[n] {
        Node::Pool(_) => 0,
        Node::Worker(_) => 1,
        Node::Task(_)
            if w.edges
                .iter()
                .any(|&(a, _, e)| a == n && e == Edge::QueuedIn) =>
        {
            3
        }
        Node::Task(_) => 2,
        Node::Queue(_) => 4,
    }
}

fn fill(column: usize) -> &'static str {
    ["#fde0c5", "#dbe7f3", "#f8d0cf", "#eeeeee", "#e2efd9"][column]
}

fn edge_colour(e: Edge) -> &'static str {
    match e {
        Edge::Holds => "#555555",
        Edge::WaitsFor => "#e45756",
        Edge::QueuedIn => "#8c8c8c",
        Edge::ConsumedBy => "#4c78a8",
        Edge::AllWorkersHeld => "#f58518",
    }
}

const EDGES: [Edge; 5] = [
    Edge::AllWorkersHeld,
    Edge::Holds,
    Edge::WaitsFor,
    Edge::QueuedIn,
    Edge::ConsumedBy,
];

fn edge_index(e: Edge) -> usize {
    EDGES
        .iter()
        .position(|&x| x == e)
        .expect("every edge is listed")
}

/// A label cut to fit a node box (the whole label is in the node's title).
fn fit(text: &str) -> String {
    const MOST: usize = 24;
    if text.chars().count() <= MOST {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MOST - 1).collect();
        format!("{cut}…")
    }
}

/// The graph as SVG; `id` prefixes the ids inside it.
pub fn render(id: &str, w: &WaitFor) -> String {
    // Columns, each in the order drawn; which nodes are shown, and where.
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); 5];
    for n in 0..w.nodes.len() {
        columns[column(w, n)].push(n);
    }
    let in_cycle = |n: usize| w.cycle.contains(&w.nodes[n]);
    let mut row_of: Vec<Option<usize>> = vec![None; w.nodes.len()];
    let mut hidden = [0usize; 5];
    for c in 0..5 {
        // Tasks sit near the nodes pointing to them (their mean row), in graph order otherwise.
        if c >= 2 {
            let mean_row = |n: usize| {
                let rows: Vec<f64> = w
                    .edges
                    .iter()
                    .filter(|&&(a, b, _)| b == n && a != n)
                    .filter_map(|&(a, _, _)| {
                        row_of[a].map(|r| r as f64 + 10_000.0 * column(w, a) as f64)
                    })
                    .collect();
                if rows.is_empty() {
                    f64::INFINITY
                } else {
                    rows.iter().sum::<f64>() / rows.len() as f64
                }
            };
            let keys: Vec<(f64, usize)> = columns[c].iter().map(|&n| (mean_row(n), n)).collect();
            let mut sorted = keys;
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            columns[c] = sorted.into_iter().map(|(_, n)| n).collect();
        }
        // Keep the cycle's nodes, then the first others, up to SHOWN.
        let all = std::mem::take(&mut columns[c]);
        let cycle_nodes = all.iter().filter(|&&n| in_cycle(n)).count();
        let mut others = SHOWN.saturating_sub(cycle_nodes);
        let mut kept = Vec::new();
        for n in all.iter().copied() {
            if in_cycle(n) {
                kept.push(n);
            } else if others > 0 {
                kept.push(n);
                others -= 1;
            } else {
                hidden[c] += 1;
            }
        }
        for (r, &n) in kept.iter().enumerate() {
            row_of[n] = Some(r);
        }
        columns[c] = kept;
    }
    let rows = (0..5)
        .map(|c| columns[c].len() + usize::from(hidden[c] > 0))
        .max()
        .unwrap_or(0)
        .max(1);
    let graph_height = rows as f64 * ROW;
    let height = TOP + graph_height + 70.0;
    let step = (WIDTH - 40.0 - NODE_W) / 4.0;
    let col_x = |c: usize| 20.0 + step * c as f64;
    // Columns are centred vertically.
    let col_top = |c: usize| {
        let n = columns[c].len() + usize::from(hidden[c] > 0);
        TOP + (graph_height - n as f64 * ROW) / 2.0
    };
    let pos = |n: usize| -> Option<(f64, f64)> {
        let c = column(w, n);
        row_of[n].map(|r| (col_x(c), col_top(c) + r as f64 * ROW))
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\" \
         role=\"img\" aria-label=\"wait-for graph of the deadlock\">"
    );
    out.push_str("<defs>");
    for e in EDGES {
        let _ = write!(
            out,
            "<marker id=\"{id}-arrow-{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" \
             markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
            edge_index(e),
            edge_colour(e)
        );
    }
    out.push_str("</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        out,
        "<text x=\"20\" y=\"22\" font-size=\"15\" font-weight=\"bold\">deadlock at {}: who waits for whom</text>",
        escape(&format_ticks(w.time))
    );
    // The legend of the edges.
    let mut lx = 20.0;
    for e in EDGES {
        let name = edge_label(e);
        let _ = writeln!(
            out,
            "<line x1=\"{lx}\" y1=\"44\" x2=\"{}\" y2=\"44\" stroke=\"{}\" stroke-width=\"2\" \
             marker-end=\"url(#{id}-arrow-{})\"/><text x=\"{}\" y=\"48\">{name}</text>",
            lx + 26.0,
            edge_colour(e),
            edge_index(e),
            lx + 32.0
        );
        lx += 48.0 + 7.0 * name.len() as f64;
    }
    let _ = writeln!(
        out,
        "<text x=\"{lx}\" y=\"48\" fill=\"#555\">(bold: one cycle)</text>"
    );
    for (c, name) in COLUMNS.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\" font-weight=\"bold\">{name}</text>",
            col_x(c) + NODE_W / 2.0,
            TOP - 16.0
        );
    }

    // Edges first, under the nodes.
    let cycle_edge = |a: usize, b: usize| {
        w.cycle
            .windows(2)
            .any(|p| p[0] == w.nodes[a] && p[1] == w.nodes[b])
    };
    let bottom = TOP + graph_height + 8.0;
    for &(a, b, e) in &w.edges {
        let (Some((ax, ay)), Some((bx, by))) = (pos(a), pos(b)) else {
            continue;
        };
        let (ca, cb) = (column(w, a), column(w, b));
        let (ay, by) = (ay + NODE_H / 2.0, by + NODE_H / 2.0);
        let d = if ca < cb {
            let (x0, x1) = (ax + NODE_W, bx);
            let mid = (x0 + x1) / 2.0;
            format!("M{x0:.1},{ay:.1} C{mid:.1},{ay:.1} {mid:.1},{by:.1} {x1:.1},{by:.1}")
        } else if ca == cb {
            // Within a column (a waiting task waits for a waiting child): an arc on the right.
            let x = ax + NODE_W;
            let bulge = x + 30.0 + (by - ay).abs() * 0.15;
            format!("M{x:.1},{ay:.1} C{bulge:.1},{ay:.1} {bulge:.1},{by:.1} {x:.1},{by:.1}")
        } else {
            // Back to an earlier column (a queue consumed by a pool): under the columns.
            let (x0, y0) = (ax + NODE_W / 2.0, ay + NODE_H / 2.0);
            let (x1, y1) = (bx + NODE_W / 2.0, by + NODE_H / 2.0);
            let low = bottom + 24.0;
            format!("M{x0:.1},{y0:.1} C{x0:.1},{low:.1} {x1:.1},{low:.1} {x1:.1},{y1:.1}")
        };
        let bold = cycle_edge(a, b);
        let _ = writeln!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" marker-end=\"url(#{id}-arrow-{})\">\
             <title>{} {} {}</title></path>",
            edge_colour(e),
            if bold { 3.0 } else { 1.3 },
            edge_index(e),
            escape(&label(&w.nodes[a])),
            edge_label(e),
            escape(&label(&w.nodes[b]))
        );
    }

    // Nodes.
    for (c, nodes) in columns.iter().enumerate() {
        for &n in nodes {
            let (x, y) = pos(n).expect("shown nodes have a place");
            let name = label(&w.nodes[n]);
            let shape = match &w.nodes[n] {
                Node::Task(_) => format!(
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"13\" \
                     fill=\"{}\" stroke=\"#666\"/>",
                    fill(c)
                ),
                Node::Pool(_) => format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" fill=\"{}\" stroke=\"#999\"/>\
                     <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" fill=\"{}\" stroke=\"#666\"/>",
                    x + 3.0,
                    y + 3.0,
                    fill(c),
                    fill(c)
                ),
                Node::Queue(_) => format!(
                    "<path d=\"M{x:.1},{y:.1} h{:.1} l10,{:.1} l-10,{:.1} h-{:.1} z\" fill=\"{}\" stroke=\"#666\"/>",
                    NODE_W - 10.0,
                    NODE_H / 2.0,
                    NODE_H / 2.0,
                    NODE_W - 10.0,
                    fill(c)
                ),
                Node::Worker(_) => format!(
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"2\" \
                     fill=\"{}\" stroke=\"#666\"/>",
                    fill(c)
                ),
            };
            let text = format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" dominant-baseline=\"central\"{}>{}</text>",
                x + NODE_W / 2.0,
                y + NODE_H / 2.0,
                if in_cycle(n) { " font-weight=\"bold\"" } else { "" },
                escape(&fit(&name))
            );
            let title = format!("<title>{}</title>", escape(&name));
            match &w.nodes[n] {
                Node::Task(task) => {
                    let _ = writeln!(
                        out,
                        "<a href=\"#{}\">{title}{shape}{text}</a>",
                        task_anchor(task)
                    );
                }
                _ => {
                    let _ = writeln!(out, "<g>{title}{shape}{text}</g>");
                }
            }
        }
        if hidden[c] > 0 {
            let x = col_x(c);
            let y = col_top(c) + nodes.len() as f64 * ROW;
            let _ = writeln!(
                out,
                "<g><title>{} more not drawn; the report lists them all</title><text x=\"{:.1}\" y=\"{:.1}\" \
                 text-anchor=\"middle\" dominant-baseline=\"central\" fill=\"#555\">and {} more</text></g>",
                hidden[c],
                x + NODE_W / 2.0,
                y + NODE_H / 2.0,
                hidden[c]
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{simulate, Limits, Model, Outcome};

    fn graph(workers: u32, parents: usize, children: u32) -> WaitFor {
        let model = Model::new(crate::engine::tests::fanout(workers, parents, children));
        let Outcome::Deadlock(d) = simulate(&model, &mut (), Limits::default()).0 else {
            panic!("expected a deadlock");
        };
        WaitFor::of(&d)
    }

    #[test]
    fn every_node_and_edge_of_a_small_deadlock_is_drawn() {
        let w = graph(1, 1, 1);
        let svg = render("wf", &w);
        assert_eq!(w.nodes.len(), 5);
        assert_eq!(
            svg.matches("</path>").count(),
            5,
            "five edges, each with its title"
        );
        for t in [
            "<title>worker default/1 holds main_task#1</title>",
            "<title>main_task#1 waits for subtask#1</title>",
            "<title>subtask#1 queued in queue default</title>",
            "<title>queue default consumed by pool default</title>",
            "<title>pool default all workers held worker default/1</title>",
        ] {
            assert!(svg.contains(t), "{t} in {svg}");
        }
        assert!(svg.contains("<a href=\"#task-main_task-23-1\">"));
        // Every edge is on the cycle: all bold.
        assert_eq!(svg.matches("stroke-width=\"3\"").count(), 5);
    }

    #[test]
    fn a_large_deadlock_shows_a_column_at_most_and_counts_the_rest() {
        // 4 parents of 10 children: 40 queued tasks.
        let w = graph(4, 4, 10);
        let svg = render("wf", &w);
        assert!(svg.contains(&format!("and {} more", 40 - SHOWN)), "{svg}");
        let drawn_tasks = svg.matches("<a href=").count();
        assert_eq!(drawn_tasks, 4 + SHOWN);
    }
}
