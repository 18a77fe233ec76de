//! Durations as the user writes them: `"250ms"`, `"1.5s"`, `4`, `{ dist = "exp", mean = "2s" }`.
//!
//! Durations are checked while they are deserialised, not afterwards, so that toml attaches the
//! span of the offending value to the error and the user is pointed at the exact spot. Decimal
//! strings are parsed exactly (as a decimal fraction of the unit, rounded to the nanosecond)
//! rather than through `f64`, so `"0.1s"` is 100 000 000 ticks and not one off.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use toml::Spanned;

use super::de::spanned_error;
use super::{Duration, Tick, TICKS_PER_SECOND};

/// The longest duration, and the latest instant, a scenario may write: 2^62 ns, about 146
/// years.
///
/// The clock counts nanoseconds in 64 bits. Keeping every written value at or below 2^62 leaves
/// room for the sums the engine makes: with a horizon (at most 2^62 too) the run never goes past
/// it, so no event is ever scheduled later than the horizon plus one duration, below 2^63.
/// Without a horizon, validation adds up the longest a run could last
/// ([`MAX_INSTANT`](super::validate::MAX_INSTANT)).
pub const MAX_DURATION: Tick = 1 << 62;

/// How [`MAX_DURATION`] is told to the user.
pub const MAX_DURATION_WORDS: &str = "at most 2^62 ns, about 146 years";

/// What the user is told a duration looks like.
pub const EXPECTED_DURATION: &str =
    "a duration such as \"250ms\", \"4s\", \"2m\", \"1h\" or a number of seconds";

/// The units a duration string may end with, and their length in ticks.
const UNITS: &[(&str, Tick)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", TICKS_PER_SECOND),
    ("m", 60 * TICKS_PER_SECOND),
    ("h", 3600 * TICKS_PER_SECOND),
];

/// Parses a fixed duration string such as `"250ms"`, `"1.5s"`, `"2m"` or `"1h"` into ticks
/// (nanoseconds), rounding to the nearest nanosecond. A string needs a unit: `"30"` is refused
/// (the number `30`, without quotes, is 30 seconds, but that is not a string).
///
/// The error says what was expected, for instance
/// `expected a duration such as "250ms", "4s", "2m", "1h" or a number of seconds, found "4 sec"`.
pub fn parse_duration(text: &str) -> Result<Tick, String> {
    let garbage = || format!("expected {EXPECTED_DURATION}, found \"{text}\"");
    if let Some(rest) = text.strip_prefix('-') {
        if rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(format!(
                "expected a duration of 0s or more, found \"{text}\""
            ));
        }
        return Err(garbage());
    }
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_len);
    if number.is_empty() {
        return Err(garbage());
    }
    let unit_ticks = if unit.is_empty() {
        // A quoted number is most likely a unit forgotten, not a number of seconds.
        if decimal_times(number, 1).is_none() {
            return Err(garbage());
        }
        return Err(format!(
            "duration \"{text}\" has no unit (expected ns, us, ms, s, m or h, as in \"{text}s\"; \
             a number without quotes is seconds)"
        ));
    } else if let Some(&(_, ticks)) = UNITS.iter().find(|(name, _)| *name == unit) {
        ticks
    } else if unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "unknown unit \"{unit}\" in \"{text}\" (expected ns, us, ms, s, m or h)"
        ));
    } else {
        return Err(garbage());
    };
    let ticks = decimal_times(number, unit_ticks).ok_or_else(garbage)?;
    match Tick::try_from(ticks) {
        Ok(t) if t <= MAX_DURATION => Ok(t),
        _ => Err(format!(
            "duration \"{text}\" is too long ({MAX_DURATION_WORDS})"
        )),
    }
}

/// `number` (digits, at most one `.`, `_` between digits) times `unit`, rounded to the nearest
/// integer; `None` if `number` is malformed.
fn decimal_times(number: &str, unit: Tick) -> Option<u128> {
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let digits_ok =
        |s: &str| !s.starts_with('_') && !s.ends_with('_') && !s.contains("__") && !s.contains('.');
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return None;
    }
    if number.ends_with('.') {
        return None;
    }
    let mut whole: u128 = 0;
    for c in int.chars().filter(|&c| c != '_') {
        whole = whole
            .checked_mul(10)?
            .checked_add(c.to_digit(10)? as u128)?;
    }
    let mut ticks = whole.checked_mul(unit as u128)?;
    // The fraction, rounded half up. Units are at most an hour (< 10^13 ticks), so 19 digits of
    // fraction are more than enough and keep `num * unit` below 10^32 < 2^128.
    let frac: String = frac.chars().filter(|&c| c != '_').take(19).collect();
    if !frac.is_empty() {
        let num: u128 = frac.parse().ok()?;
        let den = 10u128.pow(frac.len() as u32);
        ticks = ticks.checked_add((num * unit as u128 + den / 2) / den)?;
    }
    Some(ticks)
}

/// Converts a non-negative number of seconds to ticks.
fn seconds_to_ticks(secs: f64) -> Result<Tick, String> {
    if secs.is_nan() {
        return Err(format!("expected {EXPECTED_DURATION}, found nan"));
    }
    if secs < 0.0 {
        return Err(format!("expected a duration of 0s or more, found {secs}"));
    }
    let ticks = (secs * TICKS_PER_SECOND as f64).round();
    if !ticks.is_finite() || ticks > MAX_DURATION as f64 {
        return Err(format!(
            "duration {secs} is too long ({MAX_DURATION_WORDS})"
        ));
    }
    Ok(ticks as Tick)
}

/// Describes a deserialised value that is not a duration, for error messages.
fn found(unexp: de::Unexpected<'_>) -> String {
    match unexp {
        de::Unexpected::Bool(b) => b.to_string(),
        de::Unexpected::Seq => "an array".into(),
        de::Unexpected::Map => "a table".into(),
        other => other.to_string(),
    }
}

/// A fixed duration in ticks: a string with a unit or a number of seconds, never a distribution.
///
/// Used where a distribution makes no sense: the horizon, arrival instants and stream starts,
/// and the parameters of a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedDuration(pub Tick);

struct FixedVisitor;

impl<'de> Visitor<'de> for FixedVisitor {
    type Value = Tick;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_DURATION)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tick, E> {
        parse_duration(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tick, E> {
        if v < 0 {
            return Err(E::custom(format!(
                "expected a duration of 0s or more, found {v}"
            )));
        }
        self.visit_u64(v as u64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tick, E> {
        v.checked_mul(TICKS_PER_SECOND)
            .filter(|&t| t <= MAX_DURATION)
            .ok_or_else(|| E::custom(format!("duration {v} is too long ({MAX_DURATION_WORDS})")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tick, E> {
        seconds_to_ticks(v).map_err(E::custom)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tick, E> {
        Err(E::custom(format!(
            "expected {EXPECTED_DURATION}, found {v}"
        )))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Tick, A::Error> {
        Err(de::Error::custom(format!(
            "expected {EXPECTED_DURATION}, found {}",
            found(de::Unexpected::Seq)
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Tick, A::Error> {
        Err(de::Error::custom(format!(
            "expected a fixed duration such as \"4s\" here, found {}",
            found(de::Unexpected::Map)
        )))
    }
}

impl<'de> Deserialize<'de> for FixedDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(FixedVisitor)
            .map(FixedDuration)
    }
}

/// The parameters a distribution table may have, with their spans.
#[derive(Default)]
struct DistKeys {
    dist: Option<Spanned<String>>,
    mean: Option<Spanned<FixedDuration>>,
    min: Option<Spanned<FixedDuration>>,
    max: Option<Spanned<FixedDuration>>,
    sd: Option<Spanned<FixedDuration>>,
    median: Option<Spanned<FixedDuration>>,
    sigma: Option<Spanned<f64>>,
    unknown: Vec<Spanned<String>>,
}

const DISTS: &str = "\"exp\", \"uniform\", \"normal\" or \"lognormal\"";

impl DistKeys {
    /// Every parameter given, by name and span of its key's value.
    fn given(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut given = Vec::new();
        let mut add = |name, span: Option<Range<usize>>| {
            if let Some(span) = span {
                given.push((name, span));
            }
        };
        add("mean", self.mean.as_ref().map(Spanned::span));
        add("min", self.min.as_ref().map(Spanned::span));
        add("max", self.max.as_ref().map(Spanned::span));
        add("sd", self.sd.as_ref().map(Spanned::span));
        add("median", self.median.as_ref().map(Spanned::span));
        add("sigma", self.sigma.as_ref().map(Spanned::span));
        given
    }

    fn build<E: de::Error>(self) -> Result<Duration, E> {
        let Some(dist) = &self.dist else {
            let at = self.unknown.first().map(Spanned::span);
            let msg = format!("a distribution needs dist = {DISTS}");
            return Err(match at {
                Some(span) => spanned_error(span, msg),
                None => E::custom(msg),
            });
        };
        let (kind, params): (&str, &[&str]) = match dist.get_ref().as_str() {
            "exp" => ("an exp", &["mean"]),
            "uniform" => ("a uniform", &["min", "max"]),
            "normal" => ("a normal", &["mean", "sd"]),
            "lognormal" => ("a lognormal", &["median", "sigma"]),
            other => {
                return Err(spanned_error(
                    dist.span(),
                    format!("unknown distribution \"{other}\" (expected {DISTS})"),
                ))
            }
        };
        let expected = params.join(", ");
        if let Some(key) = self.unknown.first() {
            return Err(spanned_error(
                key.span(),
                format!(
                    "unknown key \"{}\" in {kind} distribution (expected {expected})",
                    key.get_ref()
                ),
            ));
        }
        for (name, span) in self.given() {
            if !params.contains(&name) {
                return Err(spanned_error(
                    span,
                    format!("{kind} distribution has no {name} (expected {expected})"),
                ));
            }
        }
        let missing = |name: &str| -> E {
            spanned_error(dist.span(), format!("{kind} distribution needs {name}"))
        };
        let fixed = |d: &Option<Spanned<FixedDuration>>, name| {
            d.as_ref()
                .map(|d| d.get_ref().0)
                .ok_or_else(|| missing(name))
        };
        Ok(match dist.get_ref().as_str() {
            "exp" => Duration::Exp {
                mean: fixed(&self.mean, "mean")?,
            },
            "uniform" => {
                let min = fixed(&self.min, "min")?;
                let max = fixed(&self.max, "max")?;
                if min > max {
                    let span = self.max.as_ref().map(Spanned::span).unwrap_or_default();
                    return Err(spanned_error(
                        span,
                        "a uniform distribution needs min <= max",
                    ));
                }
                Duration::Uniform { min, max }
            }
            "normal" => Duration::Normal {
                mean: fixed(&self.mean, "mean")?,
                sd: fixed(&self.sd, "sd")?,
            },
            _ => {
                let median = fixed(&self.median, "median")?;
                let sigma = self.sigma.as_ref().ok_or_else(|| missing("sigma"))?;
                let s = *sigma.get_ref();
                if !(s.is_finite() && s >= 0.0) {
                    return Err(spanned_error(
                        sigma.span(),
                        format!("expected sigma to be a number of 0 or more, found {s}"),
                    ));
                }
                Duration::LogNormal { median, sigma: s }
            }
        })
    }
}

struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{EXPECTED_DURATION}, or a distribution")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        FixedVisitor.visit_str(v).map(Duration::Fixed)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        FixedVisitor.visit_i64(v).map(Duration::Fixed)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        FixedVisitor.visit_u64(v).map(Duration::Fixed)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        FixedVisitor.visit_f64(v).map(Duration::Fixed)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Duration, E> {
        FixedVisitor.visit_bool(v).map(Duration::Fixed)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Duration, A::Error> {
        FixedVisitor.visit_seq(seq).map(Duration::Fixed)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Duration, A::Error> {
        let mut keys = DistKeys::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.get_ref().as_str() {
                "dist" => keys.dist = Some(map.next_value()?),
                "mean" => keys.mean = Some(map.next_value()?),
                "min" => keys.min = Some(map.next_value()?),
                "max" => keys.max = Some(map.next_value()?),
                "sd" => keys.sd = Some(map.next_value()?),
                "median" => keys.median = Some(map.next_value()?),
                "sigma" => keys.sigma = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    keys.unknown.push(key);
                }
            }
        }
        keys.build()
    }
}

/// A duration that may be a distribution: the serde form of [`Duration`].
impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Tick = TICKS_PER_SECOND;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("7us"), Ok(7_000));
        assert_eq!(parse_duration("7µs"), Ok(7_000));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("4s"), Ok(4 * S));
        assert_eq!(parse_duration("2m"), Ok(120 * S));
        assert_eq!(parse_duration("1h"), Ok(3600 * S));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1_000ms"), Ok(S));
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("0.1s"), Ok(100_000_000));
        assert_eq!(parse_duration(".5s"), Ok(S / 2));
        assert_eq!(parse_duration("1.25m"), Ok(75 * S));
        assert_eq!(parse_duration("0.0000000015s"), Ok(2)); // rounds half up
        assert_eq!(parse_duration("2.5ns"), Ok(3));
        assert_eq!(
            parse_duration("0.333333333333333333333333333333333333h"),
            Ok(1200 * S)
        );
        assert_eq!(parse_duration("1.000000000000000000000001s"), Ok(S));
    }

    #[test]
    fn rejects_garbage_and_negatives() {
        let garbage = "expected a duration such as \"250ms\", \"4s\", \"2m\", \"1h\" or a number of seconds, found \"4 sec\"";
        assert_eq!(parse_duration("4 sec"), Err(garbage.to_string()));
        for bad in [
            "", "s", "1.2.3s", "1.s", "abc", "1e3s", "--1s", "_1s", "1__0s", " 4s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            parse_duration("-1s"),
            Err("expected a duration of 0s or more, found \"-1s\"".to_string())
        );
        assert_eq!(
            parse_duration("4sec"),
            Err("unknown unit \"sec\" in \"4sec\" (expected ns, us, ms, s, m or h)".to_string())
        );
        assert_eq!(
            parse_duration("30"),
            Err(
                "duration \"30\" has no unit (expected ns, us, ms, s, m or h, as in \"30s\"; \
                 a number without quotes is seconds)"
                    .to_string()
            )
        );
        assert!(parse_duration("99999999999999h")
            .unwrap_err()
            .contains("too long"));
    }

    #[derive(serde::Deserialize, Debug)]
    struct Holder {
        d: Duration,
    }

    #[derive(serde::Deserialize, Debug)]
    struct FixedHolder {
        #[allow(dead_code)]
        d: FixedDuration,
    }

    fn dur(text: &str) -> Result<Duration, String> {
        toml::from_str::<Holder>(&format!("d = {text}"))
            .map(|h| h.d)
            .map_err(|e| crate::scenario::de::split_span(e.message()).0.to_string())
    }

    #[test]
    fn numbers_are_seconds() {
        assert_eq!(dur("4"), Ok(Duration::Fixed(4 * S)));
        assert_eq!(dur("0.25"), Ok(Duration::Fixed(S / 4)));
        assert_eq!(dur("\"1.5s\""), Ok(Duration::Fixed(1_500_000_000)));
        assert!(dur("-3").unwrap_err().contains("0s or more"));
        assert!(dur("-0.5").unwrap_err().contains("0s or more"));
        assert!(dur("nan").unwrap_err().contains("found nan"));
        assert!(dur("inf").unwrap_err().contains("too long"));
        assert!(dur("true").unwrap_err().contains("found true"));
        assert!(dur("[1]").unwrap_err().contains("found an array"));
    }

    #[test]
    fn parses_each_distribution() {
        assert_eq!(
            dur("{ dist = \"exp\", mean = \"2s\" }"),
            Ok(Duration::Exp { mean: 2 * S })
        );
        assert_eq!(
            dur("{ dist = \"uniform\", min = \"1s\", max = 3 }"),
            Ok(Duration::Uniform { min: S, max: 3 * S })
        );
        assert_eq!(
            dur("{ dist = \"normal\", mean = \"1s\", sd = \"100ms\" }"),
            Ok(Duration::Normal {
                mean: S,
                sd: S / 10
            })
        );
        assert_eq!(
            dur("{ dist = \"lognormal\", median = \"1s\", sigma = 0.8 }"),
            Ok(Duration::LogNormal {
                median: S,
                sigma: 0.8
            })
        );
        assert_eq!(
            dur("{ dist = \"lognormal\", median = \"1s\", sigma = 1 }"),
            Ok(Duration::LogNormal {
                median: S,
                sigma: 1.0
            })
        );
    }

    #[test]
    fn rejects_bad_distributions() {
        let err = |t: &str| dur(t).unwrap_err();
        assert!(err("{ mean = \"2s\" }").contains("a distribution needs dist ="));
        assert!(err("{ dist = \"poisson\", mean = \"2s\" }").contains("unknown distribution"));
        assert_eq!(err("{ dist = \"exp\" }"), "an exp distribution needs mean");
        assert_eq!(
            err("{ dist = \"uniform\", min = 1 }"),
            "a uniform distribution needs max"
        );
        assert!(err("{ dist = \"exp\", mean = \"2s\", sd = \"1s\" }").contains("has no sd"));
        assert!(err("{ dist = \"exp\", mean = \"2s\", mode = 1 }").contains("unknown key \"mode\""));
        assert!(err("{ dist = \"uniform\", min = \"3s\", max = \"1s\" }").contains("min <= max"));
        assert!(err("{ dist = \"lognormal\", median = \"1s\", sigma = -1.0 }").contains("sigma"));
        assert!(err("{ dist = \"exp\", mean = \"-2s\" }").contains("0s or more"));
        assert!(
            err("{ dist = \"exp\", mean = { dist = \"exp\", mean = 1 } }")
                .contains("fixed duration")
        );
    }

    #[test]
    fn fixed_rejects_distributions() {
        let e = toml::from_str::<FixedHolder>("d = { dist = \"exp\", mean = 1 }").unwrap_err();
        assert!(e.message().contains("expected a fixed duration"));
        assert_eq!(e.span(), Some(4..30));
    }
}
