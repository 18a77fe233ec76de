//! `--report FILE`, shared by `run`, `explore`, `sweep` and `plan`: a page for people
//! ([`qsim::report::page`]), as one self-contained HTML file or as Markdown with its figures
//! beside it.
//!
//! The path is checked before the command does its work, so that a path qsim will not write
//! (a directory, the scenario itself) is refused at once rather than after a long search. Every
//! file is written whole or not at all ([`qsim::output`]); with Markdown the figures are
//! written first, so that the Markdown never names a figure that is missing.

use std::path::{Path, PathBuf};

use clap::Args;
use qsim::report::page::{Origin, Page};
use qsim::report::{html, markdown};
use qsim::Error;

/// The `--report` flag.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Also write a report for people to FILE: FILE.html is one self-contained page (figures
    /// as inline SVG, no script, nothing fetched: it reads offline); FILE.md is Markdown with
    /// each figure as an SVG file beside it (FILE-timeline.svg, ...) and its numbers as CSV.
    /// The page ends with the command and the scenario that reproduce it.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The two kinds of report, told by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Html,
    Markdown,
}

fn kind(path: &Path) -> qsim::Result<Kind> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => Ok(Kind::Html),
        Some("md" | "markdown") => Ok(Kind::Markdown),
        _ => Err(Error::Usage(format!(
            "--report {}: expected a file ending in .html (one self-contained page) or .md \
             (Markdown with its figures beside it)",
            path.display()
        ))),
    }
}

impl ReportArgs {
    /// Refuses, before any work, a report path qsim would not write.
    pub(crate) fn check(&self, inputs: &[&Path]) -> qsim::Result<()> {
        match &self.report {
            Some(path) => {
                kind(path)?;
                qsim::output::check(path, inputs)
            }
            None => Ok(()),
        }
    }

    /// Writes the report, if one was asked for: `page` builds it from the scenario file
    /// `scenario` read by the command (and the command line). Never over one of `inputs`.
    pub(crate) fn write(
        &self,
        scenario: &Path,
        inputs: &[&Path],
        page: impl FnOnce(Origin) -> Page,
    ) -> qsim::Result<()> {
        let Some(path) = &self.report else {
            return Ok(());
        };
        let kind = kind(path)?;
        let shown = scenario.display().to_string();
        let text = std::fs::read_to_string(scenario).map_err(|e| Error::io(&shown, e))?;
        let page = page(Origin {
            command: command_line(),
            path: shown,
            text,
        });
        match kind {
            Kind::Html => super::write_atomically(path, inputs, html::render(&page).as_bytes()),
            Kind::Markdown => {
                let stem = path
                    .file_stem()
                    .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
                let rendered = markdown::render(&page, &stem);
                let dir = path.parent().unwrap_or(Path::new(""));
                for (name, contents) in &rendered.beside {
                    super::write_atomically(&dir.join(name), inputs, contents.as_bytes())?;
                }
                super::write_atomically(path, inputs, rendered.text.as_bytes())
            }
        }
    }
}

/// The command line as typed, `qsim` first, each argument quoted for a POSIX shell when it
/// needs to be.
fn command_line() -> String {
    std::iter::once("qsim".to_string())
        .chain(
            std::env::args_os()
                .skip(1)
                .map(|a| quote(&a.to_string_lossy())),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// `arg` as a shell word: as it is when it is made of safe characters, else in single quotes.
fn quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(
            quote("pool.default.workers=1..5"),
            "pool.default.workers=1..5"
        );
        assert_eq!(quote("p99(job)<=5s"), "'p99(job)<=5s'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn the_kind_is_told_by_the_extension() {
        assert_eq!(kind(Path::new("r.HTML")).unwrap(), Kind::Html);
        assert_eq!(kind(Path::new("out/r.md")).unwrap(), Kind::Markdown);
        let e = kind(Path::new("r.pdf")).unwrap_err().to_string();
        assert!(e.contains("expected a file ending in .html"), "{e}");
    }
}
