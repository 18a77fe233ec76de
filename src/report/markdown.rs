//! A report [`Page`] in Markdown (`--report FILE.md`), with its figures beside it.
//!
//! The text says what the HTML page says; each figure is an SVG file beside the Markdown
//! (`FILE-timeline.svg`, ...), shown with an image link, and the numbers behind it a CSV file
//! beside that (`FILE-timeline.csv`). Steps and tasks link to each other through HTML anchors
//! (`<a id="step-3"></a>`), which GitHub and most renderers keep.

use std::fmt::Write as _;

use super::figure::task_anchor;
use super::page::{Block, Page};
use super::svg;

/// A page rendered as Markdown: the text, and the files to write beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The Markdown.
    pub text: String,
    /// Each file the Markdown links to (its name, in the Markdown file's folder, and its
    /// contents): one SVG and one CSV per figure.
    pub beside: Vec<(String, String)>,
}

/// Text for a Markdown table cell or link text: `|`, `[`, `]`, `<` and `*` escaped.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '[' | ']' | '*' | '_' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A fenced block whose fence is longer than any run of backticks inside it.
fn fenced(out: &mut String, info: &str, text: &str) {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(
        out,
        "{fence}{info}\n{}\n{fence}\n",
        text.trim_end_matches('\n')
    );
}

/// A link target: angle brackets when the name has a space or parentheses.
fn target(name: &str) -> String {
    if name.contains([' ', '(', ')']) {
        format!("<{name}>")
    } else {
        name.to_string()
    }
}

/// The page as Markdown; the figures are named `{stem}-{figure id}.svg` and `.csv`, for a
/// Markdown file named `{stem}.md` beside them.
pub fn render(page: &Page, stem: &str) -> Rendered {
    let mut out = String::new();
    let mut beside = Vec::new();
    let _ = writeln!(out, "# {}\n", cell(&page.title));
    let _ = writeln!(
        out,
        "qsim report, written by qsim {}: the figures are the SVG files beside this one, the \
         numbers behind each the CSV file beside it.\n",
        env!("CARGO_PKG_VERSION")
    );
    fenced(&mut out, "sh", &page.origin.command);
    for s in &page.sections {
        let _ = writeln!(out, "## {}\n", cell(&s.heading));
        for b in &s.blocks {
            match b {
                Block::Text(t) => {
                    let _ = writeln!(out, "{t}\n");
                }
                Block::Lines(lines) => fenced(&mut out, "text", &lines.join("\n")),
                Block::Note(t) => {
                    let _ = writeln!(out, "> **Note:** {t}\n");
                }
                Block::Figure(f) => {
                    let svg_name = format!("{stem}-{}.svg", f.id);
                    let csv_name = format!("{stem}-{}.csv", f.id);
                    let _ = writeln!(
                        out,
                        "![{}]({})\n\n**{}.** {} ([the numbers]({}))\n",
                        cell(&f.title),
                        target(&svg_name),
                        cell(&f.title),
                        f.caption,
                        target(&csv_name)
                    );
                    beside.push((svg_name, svg::render(f)));
                    beside.push((csv_name, f.csv()));
                }
                Block::Steps(steps) => {
                    for step in steps {
                        let moved: Vec<String> = step
                            .tasks
                            .iter()
                            .map(|t| format!("[{}](#{})", cell(t), task_anchor(t)))
                            .collect();
                        let _ = writeln!(
                            out,
                            "{}. <a id=\"step-{}\"></a>`{}` {}{}",
                            step.number,
                            step.number,
                            step.choice,
                            cell(&step.sentence),
                            if moved.is_empty() {
                                String::new()
                            } else {
                                format!(" — moved {}", moved.join(", "))
                            }
                        );
                    }
                    out.push('\n');
                }
                Block::Tasks(tasks) => {
                    let steps = tasks.iter().any(|t| !t.steps.is_empty());
                    out.push_str(if steps {
                        "| task | moved at steps | what became of it |\n|---|---|---|\n"
                    } else {
                        "| task | what became of it |\n|---|---|\n"
                    });
                    for t in tasks {
                        let links: Vec<String> = t
                            .steps
                            .iter()
                            .map(|n| format!("[{n}](#step-{n})"))
                            .collect();
                        let moved = match (steps, links.is_empty()) {
                            (false, _) => String::new(),
                            (true, true) => " – |".to_string(),
                            (true, false) => format!(" {} |", links.join(", ")),
                        };
                        let _ = writeln!(
                            out,
                            "| <a id=\"{}\"></a>{} |{moved} {} |",
                            task_anchor(&t.task),
                            cell(&t.task),
                            cell(&t.fate)
                        );
                    }
                    out.push('\n');
                }
                Block::Table(t) => {
                    let head: Vec<String> = t.head.iter().map(|h| cell(h)).collect();
                    let _ = writeln!(out, "| {} |", head.join(" | "));
                    let _ = writeln!(out, "|{}", "---|".repeat(t.head.len()));
                    for row in &t.rows {
                        let row: Vec<String> = row.iter().map(|c| cell(c)).collect();
                        let _ = writeln!(out, "| {} |", row.join(" | "));
                    }
                    out.push('\n');
                }
            }
        }
    }
    out.push_str("## Reproduce\n\nThis report was written by\n\n");
    fenced(&mut out, "sh", &page.origin.command);
    let _ = writeln!(
        out,
        "from the scenario file `{}` (any `--set` above applies on top of it):\n",
        page.origin.path.replace('`', "'")
    );
    fenced(&mut out, "toml", &page.origin.text);
    Rendered { text: out, beside }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{fanout, fanout_exploration};
    use crate::report::page::{self, Origin};

    #[test]
    fn figures_go_beside_and_steps_link_to_tasks() {
        let page = page::exploration(
            Origin {
                command: "qsim explore fanout.toml --report r.md".into(),
                path: "fanout.toml".into(),
                text: "a = \"```\"\n".into(),
            },
            &fanout_exploration(2),
            &fanout(2),
        );
        let r = render(&page, "r");
        let names: Vec<&str> = r.beside.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "r-timeline.svg",
                "r-timeline.csv",
                "r-wait-for.svg",
                "r-wait-for.csv"
            ]
        );
        assert!(r
            .text
            .contains("![What each worker did, along the counterexample](r-timeline.svg)"));
        assert!(r.text.contains("3. <a id=\"step-3\"></a>`take default/1` worker default/1 takes main\\_task#1 — moved [main\\_task#1](#task-main_task-23-1)"), "{}", r.text);
        assert!(r.text.contains("| <a id=\"task-main_task-23-1\"></a>main\\_task#1 | [1](#step-1), [3](#step-3), [5](#step-5) |"), "{}", r.text);
        assert!(
            r.text.contains("````toml\na = \"```\"\n````"),
            "a longer fence"
        );
        assert!(r.beside[0].1.starts_with("<svg"));
    }
}
