//! Sizes of memory and shares of it, as scenario files write them.
//!
//! A size is a string with a unit, `"200MB"`, `"1.5GB"`, `"512KiB"`, `"2GiB"` (KB, MB, GB, TB
//! are powers of 1000; KiB, MiB, GiB, TiB powers of 1024; `B` is bytes; units are read without
//! regard to case), or a plain whole number of bytes. A fraction is a number from 0 to 1.
//! Both deserialise with hand-written visitors, so that a wrong value is named in the error
//! (`expected a size such as "200MB" or "2GiB", found "200 megs"`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::de::toml_float;

/// What a size may be, for error messages.
pub const EXPECTED_SIZE: &str =
    "a size such as \"200MB\", \"1.5GB\", \"512KiB\" or \"2GiB\", or a whole number of bytes";

/// A number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

/// The units, longest spelling first so that `KiB` is not read as `B` after `Ki`.
const UNITS: &[(&str, u64)] = &[
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("b", 1),
];

/// Reads `"200MB"`, `"1.5 GiB"`, `"512"` (bytes) into bytes, rounded to the nearest byte.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let wrong = || format!("expected {EXPECTED_SIZE}, found \"{text}\"");
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let (number, unit) = match UNITS.iter().find(|(u, _)| lower.ends_with(u)) {
        Some(&(u, scale)) => (t[..t.len() - u.len()].trim(), scale),
        None => (t, 1),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(wrong());
    }
    if let Ok(n) = number.parse::<u64>() {
        return n
            .checked_mul(unit)
            .ok_or_else(|| format!("size \"{text}\" is too large (at most 2^64 - 1 bytes)"));
    }
    let x: f64 = number.parse().map_err(|_| wrong())?;
    let bytes = (x * unit as f64).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!(
            "size \"{text}\" is too large (at most 2^64 - 1 bytes)"
        ));
    }
    Ok(bytes as u64)
}

/// Bytes as a short size for people: `0B`, `512B`, `200MB`, `1.5GB`, `2GiB` (the binary
/// units when the number is a whole number of them and not of the decimal ones).
pub fn format_size(bytes: u64) -> String {
    const DECIMAL: &[(&str, u64)] = &[
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("kB", 1_000),
    ];
    const BINARY: &[(&str, u64)] = &[("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)];
    if bytes == 0 {
        return "0B".into();
    }
    for &(unit, scale) in BINARY {
        if bytes >= scale && bytes.is_multiple_of(scale) && !bytes.is_multiple_of(1_000_000) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    for &(unit, scale) in DECIMAL {
        if bytes >= scale {
            // Up to three significant decimals, trailing zeros dropped.
            let whole = bytes / scale;
            let frac = (bytes % scale) as f64 / scale as f64;
            let text = format!("{:.3}", whole as f64 + frac);
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return format!("{text}{unit}");
        }
    }
    format!("{bytes}B")
}

struct SizeVisitor;

impl<'de> Visitor<'de> for SizeVisitor {
    type Value = Size;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_SIZE)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
        parse_size(v).map(Size).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
        u64::try_from(v)
            .map(Size)
            .map_err(|_| E::custom(format!("expected a size of 0 or more, found {v}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
        Ok(Size(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Size, E> {
        Err(E::custom(format!(
            "expected {EXPECTED_SIZE}, found {} (a size with a fraction needs a unit: \"1.5GB\")",
            toml_float(v)
        )))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Size, E> {
        Err(E::custom(format!("expected {EXPECTED_SIZE}, found {v}")))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// A share from 0 to 1 (`collectable = 0.5`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fraction(pub f64);

const EXPECTED_FRACTION: &str = "a number from 0 to 1";

fn fraction<E: de::Error>(v: f64, shown: impl fmt::Display) -> Result<Fraction, E> {
    if (0.0..=1.0).contains(&v) {
        Ok(Fraction(v))
    } else {
        Err(E::custom(format!(
            "expected {EXPECTED_FRACTION}, found {shown}"
        )))
    }
}

struct FractionVisitor;

impl<'de> Visitor<'de> for FractionVisitor {
    type Value = Fraction;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_FRACTION)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fraction, E> {
        fraction(v as f64, v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fraction, E> {
        fraction(v as f64, v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fraction, E> {
        fraction(v, toml_float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Fraction, E> {
        Err(E::custom(format!(
            "expected {EXPECTED_FRACTION}, found \"{v}\""
        )))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Fraction, E> {
        Err(E::custom(format!(
            "expected {EXPECTED_FRACTION}, found {v}"
        )))
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FractionVisitor)
    }
}

/// `retain`: a size (`"100MB"`, or a whole number of bytes), or a fraction of the task's
/// `memory` (a number with a decimal point, `0.1`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RetainDecl {
    /// So many bytes.
    Bytes(u64),
    /// This share of the task's memory.
    Share(f64),
}

const EXPECTED_RETAIN: &str = "a size such as \"100MB\" or a fraction of memory such as 0.1";

struct RetainVisitor;

impl<'de> Visitor<'de> for RetainVisitor {
    type Value = RetainDecl;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_RETAIN)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RetainDecl, E> {
        parse_size(v)
            .map(RetainDecl::Bytes)
            .map_err(|_| E::custom(format!("expected {EXPECTED_RETAIN}, found \"{v}\"")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RetainDecl, E> {
        u64::try_from(v)
            .map(RetainDecl::Bytes)
            .map_err(|_| E::custom(format!("expected {EXPECTED_RETAIN}, found {v}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RetainDecl, E> {
        Ok(RetainDecl::Bytes(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RetainDecl, E> {
        if (0.0..=1.0).contains(&v) {
            Ok(RetainDecl::Share(v))
        } else {
            Err(E::custom(format!(
                "expected {EXPECTED_RETAIN} (a fraction is from 0 to 1), found {}",
                toml_float(v)
            )))
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RetainDecl, E> {
        Err(E::custom(format!("expected {EXPECTED_RETAIN}, found {v}")))
    }
}

impl<'de> Deserialize<'de> for RetainDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RetainVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_decimal_and_binary_units() {
        assert_eq!(parse_size("200MB"), Ok(200_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("2 gib"), Ok(2 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("1kb"), Ok(1000));
        assert_eq!(parse_size("0.5KiB"), Ok(512));
    }

    #[test]
    fn sizes_refuse_what_is_not_one() {
        for bad in ["", "MB", "200 megs", "-5MB", "1e3MB", "1.2.3GB", "GB5"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("expected a size"), "{bad}: {e}");
        }
        assert!(parse_size("20000000000TB")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_size("18446744073709551616").is_err());
    }

    #[test]
    fn sizes_are_shown_short() {
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(512), "512B");
        assert_eq!(format_size(200_000_000), "200MB");
        assert_eq!(format_size(1_500_000_000), "1.5GB");
        assert_eq!(format_size(2 << 30), "2GiB");
        assert_eq!(format_size(900_123_456), "900.123MB");
    }
}
