//! A deadlock's wait-for graph in Graphviz DOT (`qsim run --dot FILE`; `dot -Tsvg FILE`).
//!
//! Workers are boxes, tasks ellipses, queues `cds` shapes and pools `box3d`; each edge says how
//! its source keeps its target from moving on. Nodes and edges come in the graph's order, so
//! the same deadlock gives the same bytes.

use std::fmt::Write as _;

use petgraph::visit::EdgeRef;

use crate::engine::wait_for::{Edge, Node};
use crate::engine::Deadlock;
use crate::scenario::format_ticks;

use super::text::label;

/// The wait-for graph of `deadlock` in DOT, ending with a newline.
pub fn render(deadlock: &Deadlock) -> String {
    let g = &deadlock.graph;
    let mut out = String::from("digraph deadlock {\n  rankdir=LR;\n");
    let _ = writeln!(
        out,
        "  label=\"deadlock at {}\";\n  labelloc=t;",
        format_ticks(deadlock.time)
    );
    for n in g.node_indices() {
        let shape = match &g[n] {
            Node::Worker(_) => "box",
            Node::Task(_) => "ellipse",
            Node::Queue(_) => "cds",
            Node::Pool(_) => "box3d",
        };
        let _ = writeln!(
            out,
            "  n{} [label={:?}, shape={shape}];",
            n.index(),
            label(&g[n])
        );
    }
    for e in g.edge_references() {
        let _ = writeln!(
            out,
            "  n{} -> n{} [label={:?}];",
            e.source().index(),
            e.target().index(),
            edge_label(*e.weight())
        );
    }
    out.push_str("}\n");
    out
}

/// An edge's label: `holds`, `waits for`, `queued in`, `consumed by`, `all workers held`.
pub fn edge_label(edge: Edge) -> &'static str {
    match edge {
        Edge::Holds => "holds",
        Edge::WaitsFor => "waits for",
        Edge::QueuedIn => "queued in",
        Edge::ConsumedBy => "consumed by",
        Edge::AllWorkersHeld => "all workers held",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{simulate, Limits, Model, Outcome};

    #[test]
    fn draws_every_node_and_edge_of_the_incident() {
        // One parent with one child on one worker: the smallest deadlock.
        let model = Model::new(crate::engine::tests::fanout(1, 1, 1));
        let Outcome::Deadlock(d) = simulate(&model, &mut (), Limits::default()).0 else {
            panic!("one worker and one parent that waits deadlock");
        };
        assert_eq!(
            render(&d),
            "\
digraph deadlock {
  rankdir=LR;
  label=\"deadlock at 0s\";
  labelloc=t;
  n0 [label=\"worker default/1\", shape=box];
  n1 [label=\"main_task#1\", shape=ellipse];
  n2 [label=\"subtask#1\", shape=ellipse];
  n3 [label=\"queue default\", shape=cds];
  n4 [label=\"pool default\", shape=box3d];
  n0 -> n1 [label=\"holds\"];
  n1 -> n2 [label=\"waits for\"];
  n2 -> n3 [label=\"queued in\"];
  n3 -> n4 [label=\"consumed by\"];
  n4 -> n0 [label=\"all workers held\"];
}
"
        );
    }
}
