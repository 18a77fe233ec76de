//! A report [`Page`] as one self-contained HTML file (`--report FILE.html`).
//!
//! Everything is in the file: the style sheet in a `<style>` element, every figure as inline
//! SVG, the numbers behind each figure as CSV in a `<details>` under it. There is no script,
//! and nothing refers to anything outside the file (no font, image or style sheet to fetch):
//! the page reads the same offline, in a mail attachment or a CI artifact. Hover works
//! without a script too: SVG `<title>` elements are the browser's own tooltips. Links inside
//! the page join a counterexample's steps and the tasks they moved, both ways, and the
//! wait-for graph's tasks to their entries.

use std::fmt::Write as _;

use super::figure::{task_anchor, Figure};
use super::page::{Block, Page, Section, StepLine, Table, TaskLine};
use super::svg::{self, escape};

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0;
  color: #1d1d1f; background: #fafafa; line-height: 1.45; }
header { background: #22303c; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 6px; font-size: 1.5em; }
header p { margin: 0; opacity: 0.85; }
nav { padding: 8px 32px; background: #eef1f4; border-bottom: 1px solid #d8dde2; }
nav a { margin-right: 18px; color: #22303c; }
main { padding: 8px 32px 32px; max-width: 1180px; }
section { margin-top: 28px; }
h2 { border-bottom: 2px solid #d8dde2; padding-bottom: 4px; font-size: 1.25em; }
pre { background: white; border: 1px solid #d8dde2; padding: 10px 12px; overflow-x: auto;
  font-size: 12.5px; line-height: 1.35; }
code { font-size: 0.95em; }
.note { background: #fff4e0; border-left: 4px solid #f58518; padding: 8px 12px; }
figure { margin: 18px 0; background: white; border: 1px solid #d8dde2; padding: 12px; }
figure svg { width: 100%; max-width: 1100px; height: auto; display: block; }
figcaption { margin-top: 6px; color: #333; }
details { margin-top: 6px; }
details pre { max-height: 320px; }
ol.steps li { margin: 3px 0; }
ol.steps .choice { font-family: monospace; background: #eef1f4; padding: 0 4px; }
ol.steps .moved { color: #555; }
table.tasks { border-collapse: collapse; background: white; }
table.tasks td, table.tasks th { border: 1px solid #d8dde2; padding: 3px 8px; text-align: left;
  vertical-align: top; }
:target { background: #fff2a8; }
footer { padding: 12px 32px; color: #666; font-size: 0.9em; }
";

/// The page as one HTML document.
pub fn render(page: &Page) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>qsim: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(&page.title)
    );
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p>qsim report · <code>{}</code></p></header>",
        escape(&page.title),
        escape(&page.origin.command)
    );
    out.push_str("<nav>");
    for s in &page.sections {
        let _ = write!(
            out,
            "<a href=\"#{}\">{}</a>",
            escape(&s.id),
            escape(&s.heading)
        );
    }
    out.push_str("<a href=\"#reproduce\">Reproduce</a></nav>\n<main>\n");
    for s in &page.sections {
        section(&mut out, s);
    }
    let _ = writeln!(
        out,
        "<section id=\"reproduce\"><h2>Reproduce</h2>\n<p>This report was written by</p>\n\
         <pre>{}</pre>\n<p>from the scenario file <code>{}</code> (any <code>--set</code> \
         above applies on top of it):</p>\n<pre>{}</pre></section>",
        escape(&page.origin.command),
        escape(&page.origin.path),
        escape(&page.origin.text)
    );
    let _ = writeln!(
        out,
        "</main>\n<footer>Written by qsim {}. Self-contained: no script, and nothing is fetched \
         from anywhere.</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn section(out: &mut String, s: &Section) {
    let _ = writeln!(
        out,
        "<section id=\"{}\"><h2>{}</h2>",
        escape(&s.id),
        escape(&s.heading)
    );
    for b in &s.blocks {
        match b {
            Block::Text(t) => {
                let _ = writeln!(out, "<p>{}</p>", inline_code(t));
            }
            Block::Lines(lines) => {
                let _ = writeln!(out, "<pre>{}</pre>", escape(&lines.join("\n")));
            }
            Block::Note(t) => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", inline_code(t));
            }
            Block::Figure(f) => figure(out, f),
            Block::Steps(steps) => steps_list(out, steps),
            Block::Tasks(tasks) => tasks_table(out, tasks),
            Block::Table(t) => numbers_table(out, t),
        }
    }
    out.push_str("</section>\n");
}

/// `text` escaped, with `` `code` `` spans set as code.
fn inline_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

fn figure(out: &mut String, f: &Figure) {
    let _ = writeln!(out, "<figure id=\"figure-{}\">", escape(&f.id));
    out.push_str(&svg::render(f));
    let _ = writeln!(
        out,
        "<figcaption><strong>{}.</strong> {}</figcaption>\n<details><summary>The numbers \
         (CSV)</summary><pre>{}</pre></details>\n</figure>",
        escape(&f.title),
        inline_code(&f.caption),
        escape(&f.csv())
    );
}

fn task_link(task: &str) -> String {
    format!("<a href=\"#{}\">{}</a>", task_anchor(task), escape(task))
}

fn steps_list(out: &mut String, steps: &[StepLine]) {
    out.push_str("<ol class=\"steps\">\n");
    for s in steps {
        let moved: Vec<String> = s.tasks.iter().map(|t| task_link(t)).collect();
        let _ = writeln!(
            out,
            "<li id=\"step-{}\"><span class=\"choice\">{}</span> {}{}</li>",
            s.number,
            escape(&s.choice),
            escape(&s.sentence),
            if moved.is_empty() {
                String::new()
            } else {
                format!(" <span class=\"moved\">— moved {}</span>", moved.join(", "))
            }
        );
    }
    out.push_str("</ol>\n");
}

fn tasks_table(out: &mut String, tasks: &[TaskLine]) {
    // Tasks of a run that no story told have no steps: no column for them.
    let steps = tasks.iter().any(|t| !t.steps.is_empty());
    out.push_str("<table class=\"tasks\">\n<tr><th>task</th>");
    if steps {
        out.push_str("<th>moved at steps</th>");
    }
    out.push_str("<th>what became of it</th></tr>\n");
    for t in tasks {
        let _ = write!(
            out,
            "<tr id=\"{}\"><td>{}</td>",
            task_anchor(&t.task),
            escape(&t.task)
        );
        if steps {
            let links: Vec<String> = t
                .steps
                .iter()
                .map(|n| format!("<a href=\"#step-{n}\">{n}</a>"))
                .collect();
            let _ = write!(
                out,
                "<td>{}</td>",
                if links.is_empty() {
                    "–".to_string()
                } else {
                    links.join(", ")
                }
            );
        }
        let _ = writeln!(out, "<td>{}</td></tr>", escape(&t.fate));
    }
    out.push_str("</table>\n");
}

/// A table of numbers, in the tasks table's style (the style sheet is the same for every page).
fn numbers_table(out: &mut String, t: &Table) {
    out.push_str("<table class=\"tasks numbers\">\n<tr>");
    for h in &t.head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{fanout, fanout_exploration};
    use crate::report::page::{self, Origin};

    fn page() -> Page {
        page::exploration(
            Origin {
                command: "qsim explore scenarios/fanout.toml --report r.html".into(),
                path: "scenarios/fanout.toml".into(),
                text: "name = \"fanout\" # <pool>\n".into(),
            },
            &fanout_exploration(2),
            &fanout(2),
        )
    }

    #[test]
    fn the_page_is_whole_and_fetches_nothing() {
        let html = render(&page());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("@import"));
        assert!(!html.contains("url(http"));
        assert!(!html.contains(" src="));
        for url in html.match_indices("http") {
            let around = &html[url.0.saturating_sub(7)..url.0];
            assert_eq!(around, "xmlns=\"", "only SVG namespaces name a URL");
        }
        assert_eq!(
            html.matches("<svg").count(),
            2,
            "the timeline and the graph"
        );
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
        assert!(html.contains("name = &quot;fanout&quot; # &lt;pool&gt;"));
    }

    #[test]
    fn steps_and_tasks_link_to_each_other() {
        let html = render(&page());
        assert!(html.contains("<li id=\"step-3\">"));
        assert!(html.contains("<a href=\"#task-main_task-23-1\">main_task#1</a>"));
        assert!(html.contains("<tr id=\"task-main_task-23-1\">"));
        assert!(html.contains("<a href=\"#step-3\">3</a>"));
    }
}
