//! qsim's errors: what went wrong with the user's input, and where.
//!
//! A deadlock is not an error: it is an [`Outcome`](crate::engine::Outcome) of a run. Errors are
//! for input qsim cannot use (a malformed scenario, a bad `--set`, an unreadable schedule) and
//! for files it cannot read or write. Every scenario error carries a [`Location`] so the CLI can
//! print `file:line:column: message`, the offending line and a caret under the column.

use std::fmt;

/// A place in a text the user wrote: a scenario file, or a `--set` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file's path as the user gave it (or `--set` for an override).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The whole line, for display under the message.
    pub source_line: String,
}

impl Location {
    /// The location of byte `offset` in `text`, which was read from `file`.
    pub fn from_offset(file: &str, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let source_line = text[line_start..]
            .lines()
            .next()
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_string();
        // At most just past the line shown: an offset past a carriage return that ends the
        // text (where toml expects the newline) points at the end of the line.
        let column =
            (before[line_start..].chars().count() + 1).min(source_line.chars().count() + 1);
        Location {
            file: file.to_string(),
            line,
            column,
            source_line,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A scenario that cannot be used, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where the problem is.
    pub location: Location,
    /// What was expected, lower case, no final period.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, &self.location, &self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Something in a valid scenario that is likely a mistake, such as a priority on a queue that
/// ignores priorities. The scenario runs as written; the CLI prints the warning on stderr
/// (`warning: file:line:column: message`, the line and a caret) and nothing else changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where it is.
    pub location: Location,
    /// What is likely wrong, lower case, no final period.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, &self.location, &self.message)
    }
}

/// `file:line:column: message`, then the line with a caret under the column.
fn located(f: &mut fmt::Formatter<'_>, l: &Location, message: &str) -> fmt::Result {
    writeln!(f, "{}:{}:{}: {}", l.file, l.line, l.column, message)?;
    let gutter = l.line.to_string().len();
    writeln!(f, "{:gutter$} |", "")?;
    writeln!(f, "{} | {}", l.line, l.source_line)?;
    let pad: String = l
        .source_line
        .chars()
        .take(l.column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    write!(f, "{:gutter$} | {pad}^", "")
}

/// Everything that can go wrong in qsim's library calls.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is malformed (the scenario, a CSV of recorded arrivals, a shard file);
    /// the message points into it.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// A `--set PATH=VALUE` override does not apply.
    #[error("--set {arg}: {message}")]
    Set {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        message: String,
    },
    /// A schedule file cannot be used with this scenario.
    #[error("schedule {path}: {message}")]
    Schedule {
        /// The schedule file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A shard file of a sweep that cannot be merged (`qsim merge`): of another sweep, given
    /// twice, missing a point...
    #[error("{path}: {message}")]
    Shard {
        /// The shard file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// An output file that qsim will not write: a directory, an input of the command...
    #[error("{path}: {message}")]
    Output {
        /// The file, as given.
        path: String,
        /// Why not.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// Any other bad usage, with a message saying what was expected.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The result type of qsim's library calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_offsets_by_line_and_column() {
        let text = "a = 1\nbb = \"x\"\n";
        let l = Location::from_offset("f.toml", text, 11);
        assert_eq!((l.line, l.column), (2, 6));
        assert_eq!(l.source_line, "bb = \"x\"");
    }

    #[test]
    fn a_column_past_a_final_carriage_return_is_the_end_of_the_line() {
        // Found by the fuzzer: the last newline of a file replaced by a carriage return.
        let text = "a = 1\nbb = 2\r";
        let l = Location::from_offset("f.toml", text, text.len());
        assert_eq!((l.line, l.column), (2, 7));
        assert_eq!(l.source_line, "bb = 2");
        let l = Location::from_offset("f.toml", text, 3);
        assert_eq!((l.line, l.column), (1, 4));
    }

    #[test]
    fn displays_message_line_and_caret() {
        let err = ScenarioError {
            location: Location::from_offset("f.toml", "workers = 0\n", 10),
            message: "a pool needs at least 1 worker".into(),
        };
        let shown = err.to_string();
        assert_eq!(
            shown,
            "f.toml:1:11: a pool needs at least 1 worker\n  |\n1 | workers = 0\n  |           ^"
        );
    }
}
