//! Curves with confidence bands, and heat maps, drawn with plotters' SVG backend.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::figure::{Cell, Curves, HeatMap, Point, Scale};

use super::{escape, short_number};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 400;
/// The strip on the right where the legend goes, clear of the curves.
const LEGEND: u32 = 210;

/// Colours of successive series, told apart in print and by most colour-blind readers.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Text of `size` pixels (plotters' SVG backend writes sizes divided by 1.24).
fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", f64::from(size) * 1.24)
        .into_font()
        .color(&BLACK)
}

/// An SVG that says why a figure could not be drawn (plotters failed: a qsim bug).
fn failed(title: &str, error: &dyn std::fmt::Display) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"40\" viewBox=\"0 0 {WIDTH} 40\">\
         <text x=\"10\" y=\"25\" font-family=\"sans-serif\">{}: not drawn ({})</text></svg>\n",
        escape(title),
        escape(&error.to_string())
    )
}

/// The x position of each value: the numbers themselves when every value is a number,
/// else 0, 1, 2, ... (one evenly spaced position per value).
fn positions(x: &[String]) -> (Vec<f64>, bool) {
    let numbers: Option<Vec<f64>> = x.iter().map(|v| v.trim().parse::<f64>().ok()).collect();
    match numbers {
        Some(n) if n.iter().all(|v| v.is_finite()) => (n, true),
        _ => ((0..x.len()).map(|i| i as f64).collect(), false),
    }
}

/// Consecutive runs of present points, with their x.
fn runs(xs: &[f64], points: &[Option<Point>]) -> Vec<Vec<(f64, Point)>> {
    let mut out: Vec<Vec<(f64, Point)>> = Vec::new();
    let mut current = Vec::new();
    for (x, p) in xs.iter().zip(points) {
        match p {
            Some(p) if p.value.is_finite() => current.push((*x, *p)),
            _ => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Curves against a parameter, each with its 95% band shaded; see [`Curves`].
pub fn curves(title: &str, c: &Curves) -> String {
    let mut svg = String::new();
    match draw_curves(&mut svg, title, c) {
        Ok(()) => svg,
        Err(e) => failed(title, &e),
    }
}

fn draw_curves(
    svg: &mut String,
    title: &str,
    c: &Curves,
) -> Result<(), Box<dyn std::error::Error>> {
    let (xs, numeric) = positions(&c.x);
    let (mut x0, mut x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if numeric {
        let pad = if x1 > x0 { (x1 - x0) * 0.03 } else { 1.0 };
        (x0, x1) = (x0 - pad, x1 + pad);
    } else {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    // Every value drawn, bands and limit included.
    let mut drawn: Vec<f64> = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().flatten())
        .flat_map(|p| {
            let (lo, hi) = p.band.unwrap_or((p.value, p.value));
            [p.value, lo, hi]
        })
        .filter(|v| v.is_finite())
        .collect();
    if let Some((_, limit)) = &c.limit {
        drawn.push(*limit);
    }
    let top = drawn.iter().copied().fold(0.0f64, f64::max);
    let smallest = drawn
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    // Latencies that span decades (6m at 1 worker, 5s at 5) read on a log scale.
    let log = !c.share && smallest.is_finite() && top / smallest > 30.0;
    let (y0, y1, y) = if log {
        let floor = smallest / 2.0;
        let y = move |v: f64| v.max(floor).log10();
        (
            smallest.log10().floor(),
            top.log10().ceil().max(smallest.log10().floor() + 1.0),
            Box::new(y) as Box<dyn Fn(f64) -> f64>,
        )
    } else {
        let top = if c.share {
            (top * 1.1).clamp(0.05, 1.04)
        } else if top > 0.0 {
            top * 1.1
        } else {
            1.0
        };
        (0.0, top, Box::new(|v: f64| v) as Box<dyn Fn(f64) -> f64>)
    };

    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(WIDTH - LEGEND);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, font(16))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let labels = c.x.clone();
    let all_integers = numeric && xs.iter().all(|x| x.fract() == 0.0);
    let x_format = move |v: &f64| -> String {
        if numeric {
            if all_integers && v.fract().abs() > 1e-9 {
                String::new()
            } else {
                short_number(*v)
            }
        } else {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        }
    };
    let y_format = |v: &f64| {
        if log {
            // Decades only.
            if (v - v.round()).abs() < 1e-9 {
                short_number(10f64.powf(v.round()))
            } else {
                String::new()
            }
        } else if c.share {
            format!("{}%", short_number(v * 100.0))
        } else {
            short_number(*v)
        }
    };
    let x_labels = if numeric { 10 } else { c.x.len().min(20) };
    let y_desc = if log {
        format!("{} (log scale)", c.y_label)
    } else {
        c.y_label.clone()
    };
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(y_desc.as_str())
        .x_labels(x_labels)
        .y_labels(if log { (y1 - y0) as usize + 1 } else { 8 })
        .max_light_lines(1)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .light_line_style(RGBColor(0xf6, 0xf6, 0xf6))
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()?;

    let clamp = |v: f64| y(v).clamp(y0, y1);
    let mut any_band = false;
    for (k, s) in c.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        for run in runs(&xs, &s.points) {
            let banded: Vec<&(f64, Point)> = run.iter().filter(|(_, p)| p.band.is_some()).collect();
            any_band |= !banded.is_empty();
            if banded.len() >= 2 && banded.len() == run.len() {
                let mut polygon: Vec<(f64, f64)> = run
                    .iter()
                    .map(|(x, p)| (*x, clamp(p.band.map_or(p.value, |b| b.1))))
                    .collect();
                polygon.extend(
                    run.iter()
                        .rev()
                        .map(|(x, p)| (*x, clamp(p.band.map_or(p.value, |b| b.0)))),
                );
                chart.draw_series(std::iter::once(Polygon::new(polygon, color.mix(0.18))))?;
            } else {
                // A lone interval: an error bar.
                for (x, p) in &banded {
                    let (lo, hi) = p.band.expect("filtered on bands");
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(*x, clamp(lo)), (*x, clamp(hi))],
                        color.mix(0.5).stroke_width(3),
                    )))?;
                }
            }
        }
        for run in runs(&xs, &s.points) {
            chart.draw_series(LineSeries::new(
                run.iter().map(|(x, p)| (*x, clamp(p.value))),
                color.stroke_width(2),
            ))?;
            chart.draw_series(
                run.iter()
                    .map(|(x, p)| Circle::new((*x, clamp(p.value)), 3, color.filled())),
            )?;
        }
    }
    let grey = RGBColor(0x33, 0x33, 0x33);
    let green = RGBColor(0x2c, 0xa0, 0x2c);
    if let Some((_, limit)) = &c.limit {
        chart.draw_series(DashedLineSeries::new(
            vec![(x0, clamp(*limit)), (x1, clamp(*limit))],
            6,
            4,
            grey.stroke_width(1),
        ))?;
    }
    if let Some((label, i)) = &c.marked {
        if let Some(&x) = xs.get(*i) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, y0), (x, y1)],
                green.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                label.clone(),
                (x, y1),
                font(12).pos(Pos::new(HPos::Left, VPos::Top)),
            )))?;
        }
    }

    // The legend, in its own strip.
    let mut row = 0;
    let mut entry = |sample: &dyn Fn(i32) -> Result<(), Box<dyn std::error::Error>>,
                     text: &str|
     -> Result<(), Box<dyn std::error::Error>> {
        let y = 56 + 22 * row;
        sample(y)?;
        legend_area.draw(&Text::new(
            fit(text, 28),
            (34, y),
            font(12).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        row += 1;
        Ok(())
    };
    for (k, s) in c.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        entry(
            &|y| {
                legend_area.draw(&PathElement::new(
                    vec![(4, y), (26, y)],
                    color.stroke_width(3),
                ))?;
                Ok(())
            },
            &s.name,
        )?;
    }
    if any_band {
        entry(
            &|y| {
                legend_area.draw(&Rectangle::new(
                    [(4, y - 6), (26, y + 6)],
                    PALETTE[0].mix(0.18).filled(),
                ))?;
                Ok(())
            },
            "95% interval",
        )?;
    }
    if let Some((label, _)) = &c.limit {
        entry(
            &|y| {
                legend_area.draw(&PathElement::new(vec![(4, y), (12, y)], grey))?;
                legend_area.draw(&PathElement::new(vec![(18, y), (26, y)], grey))?;
                Ok(())
            },
            label,
        )?;
    }
    if let Some((label, _)) = &c.marked {
        entry(
            &|y| {
                legend_area.draw(&PathElement::new(
                    vec![(15, y - 8), (15, y + 8)],
                    green.stroke_width(2),
                ))?;
                Ok(())
            },
            label,
        )?;
    }
    root.present()?;
    drop(chart);
    drop(plot_area);
    drop(legend_area);
    drop(root);
    Ok(())
}

/// `text` cut to `most` characters, with an ellipsis.
fn fit(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        text.to_string()
    } else {
        let cut: String = text.chars().take(most - 1).collect();
        format!("{cut}…")
    }
}

/// The fill of a cell, and whether its text should be white.
fn cell_colour(cell: &Cell, scale: &Scale, largest: f64) -> (RGBColor, bool) {
    let mix = |from: (u8, u8, u8), to: (u8, u8, u8), t: f64| {
        let t = t.clamp(0.0, 1.0);
        let c = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        (
            RGBColor(c(from.0, to.0), c(from.1, to.1), c(from.2, to.2)),
            t > 0.55,
        )
    };
    match (cell, scale) {
        (Cell::Empty, _) => (RGBColor(0xee, 0xee, 0xee), false),
        (Cell::Verdict("deadlock"), _) => (RGBColor(0xd6, 0x27, 0x28), true),
        (Cell::Verdict("deadlock_free"), _) => (RGBColor(0x2c, 0xa0, 0x2c), true),
        (Cell::Verdict(_), _) => (RGBColor(0xbb, 0xbb, 0xbb), false),
        (Cell::Value(v), Scale::Share) => mix((0xff, 0xf5, 0xeb), (0xa5, 0x0f, 0x15), *v),
        (Cell::Value(v), Scale::Seconds | Scale::Verdicts) => mix(
            (0xf7, 0xfb, 0xff),
            (0x08, 0x30, 0x6b),
            if largest > 0.0 { v / largest } else { 0.0 },
        ),
    }
}

/// The text of a cell.
fn cell_text(cell: &Cell, scale: &Scale) -> String {
    match (cell, scale) {
        (Cell::Empty, _) => "–".into(),
        (Cell::Verdict("deadlock"), _) => "deadlock".into(),
        (Cell::Verdict("deadlock_free"), _) => "free".into(),
        (Cell::Verdict(v), _) => v.to_string(),
        (Cell::Value(v), Scale::Share) => format!("{}%", short_number(v * 100.0)),
        (Cell::Value(v), _) => format!("{}s", short_number(*v)),
    }
}

/// A heat map: one cell per pair of values, its colour and (when there is room) its value;
/// see [`HeatMap`].
pub fn heat_map(title: &str, h: &HeatMap) -> String {
    let mut svg = String::new();
    match draw_heat_map(&mut svg, title, h) {
        Ok(()) => svg,
        Err(e) => failed(title, &e),
    }
}

fn draw_heat_map(
    svg: &mut String,
    title: &str,
    h: &HeatMap,
) -> Result<(), Box<dyn std::error::Error>> {
    let (nx, ny) = (h.x.len().max(1), h.y.len().max(1));
    let height = (130 + 36 * ny as u32).clamp(220, 760);
    let root = SVGBackend::with_string(svg, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(WIDTH - LEGEND);
    let y_labels = h.y.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    // Cell i spans i-0.5..i+0.5, so that the axes' whole numbers are the cells' centres.
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, font(16))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size((40 + 7 * y_labels.min(28)) as u32)
        .build_cartesian_2d(-0.5..nx as f64 - 0.5, -0.5..ny as f64 - 0.5)?;
    let name = |values: &[String], v: f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            values.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let x_format = |v: &f64| name(&h.x, *v);
    let y_format = |v: &f64| name(&h.y, *v);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(h.x_label.as_str())
        .y_desc(h.y_label.as_str())
        .x_labels(nx.min(30))
        .y_labels(ny.min(30))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()?;
    let largest = h
        .cells
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Cell::Value(v) if v.is_finite() => Some(*v),
            _ => None,
        })
        .fold(0.0f64, f64::max);
    let room = (WIDTH - LEGEND - 200) as usize / nx >= 48 && ny <= 40;
    for (j, row) in h.cells.iter().enumerate() {
        for (i, cell) in row.iter().enumerate() {
            let (x, y) = (i as f64, j as f64);
            let (fill, white) = cell_colour(cell, &h.scale, largest);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                fill.filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                WHITE.stroke_width(1),
            )))?;
            if room {
                let colour = if white { WHITE } else { BLACK };
                chart.draw_series(std::iter::once(Text::new(
                    cell_text(cell, &h.scale),
                    (x, y),
                    font(12)
                        .color(&colour)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))?;
            }
        }
    }
    // The legend: the scale's colours with what they mean.
    let entries: Vec<(Cell, String)> = match h.scale {
        Scale::Verdicts => vec![
            (Cell::Verdict("deadlock"), "deadlock".into()),
            (Cell::Verdict("deadlock_free"), "deadlock-free".into()),
            (Cell::Verdict("inconclusive"), "inconclusive".into()),
        ],
        Scale::Share => [0.0, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|v| (Cell::Value(*v), format!("{}%", v * 100.0)))
            .collect(),
        Scale::Seconds => [0.0, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|v| {
                (
                    Cell::Value(v * largest),
                    format!("{}s", short_number(v * largest)),
                )
            })
            .collect(),
    };
    let entries = entries
        .into_iter()
        .chain(std::iter::once((Cell::Empty, "nothing measured".into())));
    for (k, (cell, label)) in entries.enumerate() {
        let y = 50 + 24 * k as i32;
        let (fill, _) = cell_colour(&cell, &h.scale, largest);
        legend_area.draw(&Rectangle::new([(4, y), (20, y + 16)], fill.filled()))?;
        legend_area.draw(&Rectangle::new(
            [(4, y), (20, y + 16)],
            RGBColor(0x99, 0x99, 0x99).stroke_width(1),
        ))?;
        legend_area.draw(&Text::new(
            label,
            (26, y + 8),
            font(12).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    root.present()?;
    drop(chart);
    drop(legend_area);
    drop(plot_area);
    drop(root);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figure::Series;

    fn point(value: f64, band: Option<(f64, f64)>) -> Option<Point> {
        Some(Point { value, band })
    }

    #[test]
    fn curves_have_a_band_a_line_points_and_labels() {
        let c = Curves {
            x_label: "pool.default.workers".into(),
            y_label: "deadlock probability".into(),
            x: vec!["1".into(), "2".into(), "3".into()],
            series: vec![Series {
                name: "deadlock".into(),
                points: vec![
                    point(1.0, Some((0.96, 1.0))),
                    point(0.5, Some((0.4, 0.6))),
                    point(0.0, Some((0.0, 0.04))),
                ],
            }],
            limit: Some(("deadlock<=0.001".into(), 0.001)),
            marked: Some(("answer: 3".into(), 2)),
            share: true,
        };
        let svg = curves("Deadlock probability", &c);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<polygon"), "the band");
        assert!(svg.contains("<polyline"), "the line");
        assert!(svg.contains("<circle"), "the points");
        assert!(svg.contains("deadlock&lt;=0.001"), "the limit, escaped");
        assert!(svg.contains("pool.default.workers"));
        assert!(!svg.contains("http://www.w3.org/1999/xlink"));
    }

    #[test]
    fn a_heat_map_has_a_cell_per_pair_and_a_legend() {
        let h = HeatMap {
            x_label: "a".into(),
            y_label: "b".into(),
            x: vec!["1".into(), "2".into()],
            y: vec!["x".into(), "y".into(), "z".into()],
            cells: vec![
                vec![Cell::Value(0.0), Cell::Value(1.0)],
                vec![Cell::Value(0.5), Cell::Empty],
                vec![Cell::Value(0.25), Cell::Value(0.125)],
            ],
            scale: Scale::Share,
        };
        let svg = heat_map("Deadlock probability", &h);
        assert!(svg.matches("<rect").count() >= 6 + 6, "{svg}");
        assert!(svg.contains("\n50%\n"), "{svg}");
        assert!(svg.contains("nothing measured"));
    }
}
