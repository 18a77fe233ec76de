//! Figures drawn as SVG, with nothing fetched from anywhere: no script, no font file, no
//! image; text is set in the reader's own sans-serif.
//!
//! [`render`] draws any [`Figure`]: curves and heat maps with the `plotters` crate (its SVG
//! backend, without font files: text is measured by estimate and drawn as SVG text), the
//! timeline, the wait-for graph and the memory lines by qsim itself (modules `gantt`,
//! `wait_for` and `memory`), which need shapes plotters does not make — a `<title>` on each
//! bar, node and line, read on hover, and arrows between boxes laid out in columns. No
//! Graphviz is needed.
//!
//! Every id inside an SVG starts with its figure's id, so that several figures can sit inline
//! in one HTML page.

mod gantt;
mod memory;
mod plot;
mod wait_for;

use super::figure::{Drawing, Figure};

/// The figure as an SVG document (an `<svg>` element and what is inside it).
pub fn render(figure: &Figure) -> String {
    match &figure.drawing {
        Drawing::Curves(c) => plot::curves(&figure.title, c),
        Drawing::HeatMap(h) => plot::heat_map(&figure.title, h),
        Drawing::Timeline(t) => gantt::render(&figure.id, t),
        Drawing::WaitFor(w) => wait_for::render(&figure.id, w),
        Drawing::Memory(m) => memory::render(&figure.id, m),
    }
}

/// `text` with `&`, `<`, `>` and `"` escaped, for SVG and HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Up to about `count` round values covering `low..=high` (steps of 1, 2 or 5 times a power
/// of ten), for the ticks of an axis.
fn nice_ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    if high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater)
        || !low.is_finite()
        || !high.is_finite()
    {
        return vec![low];
    }
    let raw = (high - low) / count.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    // Multiples of the step, computed as k / (1 / step) below 1 so that 3 × 0.2 reads 0.6.
    let at = |k: f64| {
        if step < 1.0 {
            k / (1.0 / step).round()
        } else {
            k * step
        }
    };
    let first = (low / step - 1e-9).ceil();
    let mut ticks = Vec::new();
    let mut k = first;
    while at(k) <= high + step * 1e-9 {
        // No -0.
        ticks.push(at(k) + 0.0);
        k += 1.0;
    }
    ticks
}

/// A count with thousands separated: `20,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number in at most 4 significant digits, without trailing zeros.
fn short_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() >= 10_000.0 || x.fract() == 0.0 {
        return format!("{x:.0}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{x:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 36.0, 6), [0.0, 10.0, 20.0, 30.0]);
        assert_eq!(nice_ticks(3.0, 3.0, 5), [3.0]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(0.123456), "0.1235");
        assert_eq!(short_number(36.0), "36");
        assert_eq!(short_number(2.5), "2.5");
        assert_eq!(short_number(123456.7), "123457");
    }

    #[test]
    fn counts_have_their_thousands_separated() {
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("p99(a)<=30s & \"b\""),
            "p99(a)&lt;=30s &amp; &quot;b&quot;"
        );
    }
}
