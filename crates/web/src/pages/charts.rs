//! Server-rendered inline SVG charts: the equity curve and drawdown of closed trades, and the
//! dashboard's sparklines. A curve never has more than two points per pixel column (the
//! lowest and highest of that column, in order), so 10,000 trades draw as fast as 300 and
//! keep their peaks and troughs.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::display::dollars;

/// Chart size in SVG units (the CSS scales it to the panel's width).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room for the y labels on the left and the x labels below.
const LEFT: f64 = 100.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 30.0;
/// Sparkline size.
const SPARK_WIDTH: f64 = 120.0;
const SPARK_HEIGHT: f64 = 28.0;

/// A line chart of `values` (one per closed trade, in order) with y labels in dollars and
/// `start`/`end` written under the x axis. `area` fills between the line and zero (drawdown).
pub(super) fn line_chart(
    label: &str,
    values: &[Decimal],
    start: &str,
    end: &str,
    area: bool,
) -> String {
    let numbers: Vec<f64> = values.iter().map(|v| v.to_f64().unwrap_or(0.0)).collect();
    let (low, high) = bounds(&numbers);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let y_of = |value: f64| TOP + (high - value) / (high - low) * plot_height;
    let points = downsample(&numbers, plot_width as usize);
    let count = numbers.len().max(2) - 1;
    let mut svg = String::with_capacity(points.len() * 16 + 1024);
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}">"#,
        escape(label)
    );
    // Axes, the zero line and the labels.
    let zero = y_of(0.0);
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/><line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/><line class="zero" x1="{LEFT}" y1="{zero:.1}" x2="{right}" y2="{zero:.1}"/>"#,
        bottom = HEIGHT - BOTTOM,
        right = WIDTH - RIGHT,
    );
    for (value, y) in [(high, TOP + 4.0), (low, HEIGHT - BOTTOM)] {
        let _ = write!(
            svg,
            r#"<text class="label" x="{x}" y="{y:.1}" text-anchor="end">{}</text>"#,
            escape(&dollars(
                Decimal::from_f64_retain(value).unwrap_or_default()
            )),
            x = LEFT - 6.0,
        );
    }
    if zero > TOP + 12.0 && zero < HEIGHT - BOTTOM - 12.0 {
        let _ = write!(
            svg,
            r#"<text class="label" x="{x}" y="{y:.1}" text-anchor="end">0</text>"#,
            x = LEFT - 6.0,
            y = zero + 4.0
        );
    }
    let label_y = HEIGHT - 6.0;
    let _ = write!(
        svg,
        r#"<text class="label" x="{LEFT}" y="{label_y}">{}</text><text class="label" x="{mid}" y="{label_y}" text-anchor="middle">{count} trades</text><text class="label" x="{right}" y="{label_y}" text-anchor="end">{}</text>"#,
        escape(start),
        escape(end),
        mid = LEFT + plot_width / 2.0,
        right = WIDTH - RIGHT,
    );
    let path: String = points
        .iter()
        .map(|&(index, value)| {
            let x = LEFT + index as f64 / count as f64 * plot_width;
            format!("{x:.1},{:.1} ", y_of(value))
        })
        .collect();
    if area {
        let _ = write!(
            svg,
            r#"<polygon class="area" points="{LEFT},{zero:.1} {path}{right},{zero:.1}"/>"#,
            right = LEFT + plot_width,
        );
    }
    let _ = write!(
        svg,
        r#"<polyline class="line" points="{}"/></svg>"#,
        path.trim_end()
    );
    svg
}

/// A small equity line without labels, for the dashboard; empty without trades.
pub(super) fn sparkline(values: &[Decimal]) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let numbers: Vec<f64> = values.iter().map(|v| v.to_f64().unwrap_or(0.0)).collect();
    let (low, high) = bounds(&numbers);
    let count = (numbers.len() - 1) as f64;
    let path: Vec<String> = downsample(&numbers, SPARK_WIDTH as usize)
        .iter()
        .map(|&(index, value)| {
            let x = index as f64 / count * SPARK_WIDTH;
            let y = 2.0 + (high - value) / (high - low) * (SPARK_HEIGHT - 4.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let class = if numbers.last() >= numbers.first() {
        "up"
    } else {
        "down"
    };
    format!(
        r#"<svg class="sparkline {class}" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" aria-label="Equity curve"><polyline points="{}"/></svg>"#,
        path.join(" ")
    )
}

/// The lowest and highest value, zero included (so the zero line is on the chart), never
/// equal (a flat line still has a scale).
fn bounds(values: &[f64]) -> (f64, f64) {
    let (low, high) = values.iter().fold((0.0_f64, 0.0_f64), |(low, high), &v| {
        (low.min(v), high.max(v))
    });
    if (high - low).abs() < f64::EPSILON {
        (low - 1.0, high + 1.0)
    } else {
        (low, high)
    }
}

/// At most two points per column of `columns`: each column's lowest and highest value in the
/// order they occurred, plus the very first and last point. Points are `(index, value)`.
fn downsample(values: &[f64], columns: usize) -> Vec<(usize, f64)> {
    let columns = columns.max(1);
    if values.len() <= columns * 2 {
        return values.iter().copied().enumerate().collect();
    }
    let mut points = Vec::with_capacity(columns * 2 + 2);
    points.push((0, values[0]));
    for column in 0..columns {
        let start = column * values.len() / columns;
        let end = ((column + 1) * values.len() / columns).max(start + 1);
        let slice = &values[start..end];
        let (mut low, mut high) = (start, start);
        for (offset, &value) in slice.iter().enumerate() {
            if value < values[low] {
                low = start + offset;
            }
            if value > values[high] {
                high = start + offset;
            }
        }
        let (first, second) = if low <= high {
            (low, high)
        } else {
            (high, low)
        };
        points.push((first, values[first]));
        if second != first {
            points.push((second, values[second]));
        }
    }
    let last = values.len() - 1;
    points.push((last, values[last]));
    points.dedup_by_key(|(index, _)| *index);
    points
}

/// Escapes text for SVG/HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_curves_keep_two_points_per_column_and_their_extremes() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 97) - 40.0).collect();
        let points = downsample(&values, 100);
        assert!(points.len() <= 202, "{} points", points.len());
        assert_eq!(points.first(), Some(&(0, -40.0)));
        assert_eq!(points.last(), Some(&(9_999, values[9_999])));
        let highest = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let lowest = points.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert_eq!((lowest, highest), (-40.0, 56.0));
        assert!(
            points.windows(2).all(|w| w[0].0 < w[1].0),
            "points stay in order"
        );
    }

    #[test]
    fn short_curves_are_drawn_whole() {
        assert_eq!(downsample(&[1.0, 2.0], 100), vec![(0, 1.0), (1, 2.0)]);
    }

    #[test]
    fn a_chart_of_ten_thousand_trades_stays_small_and_labelled() {
        let values: Vec<Decimal> = (0..10_000).map(|i| Decimal::from(i % 50 - 10)).collect();
        let svg = line_chart("Equity", &values, "2026-01-01", "2026-11-25", false);
        assert!(svg.len() < 40_000, "{} bytes", svg.len());
        assert!(svg.contains(">9999 trades<"), "{svg}");
        assert!(
            svg.contains(">39.00<") && svg.contains(">-10.00<"),
            "y labels: {svg}"
        );
        assert!(svg.contains("2026-11-25"));
    }
}
