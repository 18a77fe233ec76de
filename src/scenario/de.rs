//! What every part of the scenario's deserialisation shares: errors that carry the span they
//! should be reported at, and floats written as TOML writes them.
//!
//! The file's tables (`file.rs`), durations (`duration.rs`) and sizes (`size.rs`) each raise
//! errors from their own `Deserialize`; they all speak through these, so that every message
//! points at the right key and names a value the way the user wrote it.

use std::fmt;
use std::ops::Range;

use serde::de;

/// Separates a message from the span it should be reported at, inside a serde error message.
const SPAN_MARK: char = '\u{1f}';

/// A serde error whose message carries the span it should be reported at.
///
/// toml only lets a `Deserialize` raise errors without a span, and then reports them at the span
/// of the whole value being deserialised (a step's `{ ... }`, say). To point at one key of a
/// table instead, the span travels in the message and [`split_span`] takes it out again.
pub(crate) fn spanned_error<E: de::Error>(span: Range<usize>, message: impl fmt::Display) -> E {
    E::custom(format!("{message}{SPAN_MARK}{}-{}", span.start, span.end))
}

/// Splits a message made by [`spanned_error`] into the message and its span.
pub(crate) fn split_span(message: &str) -> (&str, Option<Range<usize>>) {
    let Some((message, span)) = message.rsplit_once(SPAN_MARK) else {
        return (message, None);
    };
    let span = span
        .split_once('-')
        .and_then(|(a, b)| Some(a.parse().ok()?..b.parse().ok()?));
    (message, span)
}

/// A float as TOML spells it (`nan`, `inf`, `-inf`, `2.5`), for "found ..." messages.
pub(crate) fn toml_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{v:?}")
    }
}
