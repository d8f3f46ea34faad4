//! Statistics charts, drawn on the server as SVG: legible in Chinese (the
//! CJK fonts a reader's system has), printable (no script, no external
//! resources), and each mark titled with its figure for screen readers and
//! tooltips.

use chrono::NaiveDate;

use crate::web::variant::escape;

const FONT: &str = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif";

/// Colours for series, distinguishable in print and for common colour
/// vision deficiencies (Okabe–Ito, darkened for white paper).
const PALETTE: [&str; 9] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8a7a00", "#7a5195",
    "#999999",
];

/// About how wide `text` is drawn at `size` pixels: CJK characters a
/// full em, others about half.
fn text_width(text: &str, size: usize) -> usize {
    text.chars()
        .map(|c| if c.is_ascii() { size * 6 / 10 } else { size })
        .sum()
}

/// The chart's frame and title; the frame is widened to hold the whole
/// title.
fn open(width: usize, height: usize, title: &str) -> String {
    let width = width.max(text_width(title, 15) + 24);
    let title = escape(title);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{title}\" \
         font-family=\"{FONT}\" font-size=\"13\">\
         <title>{title}</title><rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>\
         <text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{title}</text>"
    )
}

/// A round step for an axis reaching `most`: 1, 2 or 5 times a power of ten,
/// giving at most five ticks.
fn tick_step(most: i64) -> i64 {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if most <= step * factor * 5 {
                return step * factor;
            }
        }
        step *= 10;
    }
}

/// `most` rounded up to a whole number of axis steps.
fn round_up(most: i64) -> i64 {
    let step = tick_step(most);
    (most + step - 1) / step * step
}

/// Horizontal grid lines and their labels for a vertical axis from 0 to
/// `top` drawn `plot` pixels tall with its base at `base`.
fn grid(svg: &mut String, left: usize, right: usize, base: usize, plot: usize, top: i64) {
    let step = tick_step(top);
    let mut value = 0;
    while value <= top {
        let y = base - (value as usize * plot) / top.max(1) as usize;
        svg.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{y}\" x2=\"{right}\" y2=\"{y}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{value}</text>",
            left - 6,
            y + 4
        ));
        value += step;
    }
}

/// A ranking as horizontal bars, largest first (at most 20 bars).
pub fn ranking(items: &[(String, i64)], title: &str) -> String {
    const LABELS: usize = 190;
    const BARS: usize = 400;
    let mut ranked: Vec<&(String, i64)> = items.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(20);
    let most = ranked.iter().map(|item| item.1).max().unwrap_or(0).max(1);
    let height = 50 + ranked.len() * 26;
    let width = LABELS + BARS + 70;
    let mut svg = open(width, height, title);
    for (index, (name, count)) in ranked.iter().enumerate() {
        let y = 40 + index * 26;
        let bar = (*count as usize * BARS) / most as usize;
        let name = escape(name);
        svg.push_str(&format!(
            "<text x=\"{label}\" y=\"{text_y}\" text-anchor=\"end\">{name}</text>\
             <rect class=\"bar\" x=\"{LABELS}\" y=\"{y}\" width=\"{bar}\" height=\"18\" fill=\"#00706b\">\
             <title>{name}：{count}</title></rect>\
             <text x=\"{after}\" y=\"{text_y}\">{count}</text>",
            label = LABELS - 8,
            text_y = y + 14,
            after = LABELS + bar + 6,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Stacked columns: one column per month, one segment per series; the
/// legend lists the series in stacking order, bottom first.
pub fn stacked_months(months: &[NaiveDate], series: &[(String, Vec<i64>)], title: &str) -> String {
    const LEFT: usize = 56;
    const TOP: usize = 44;
    const PLOT: usize = 260;
    const LEGEND: usize = 180;
    let column = if months.len() > 12 { 28 } else { 46 };
    let width = LEFT + months.len().max(1) * column + 20 + LEGEND;
    let height = TOP + PLOT + 40;
    let base = TOP + PLOT;
    let totals: Vec<i64> = (0..months.len())
        .map(|m| series.iter().map(|(_, values)| values[m]).sum())
        .collect();
    let top = totals.iter().copied().max().unwrap_or(0).max(1);
    let top = round_up(top);
    let mut svg = open(width, height, title);
    let right = LEFT + months.len() * column;
    grid(&mut svg, LEFT, right, base, PLOT, top);
    for (m, month) in months.iter().enumerate() {
        let x = LEFT + m * column + 4;
        let label = month.format("%Y-%m").to_string();
        svg.push_str(&format!(
            "<g class=\"month\" data-month=\"{label}\" data-total=\"{}\">",
            totals[m]
        ));
        let mut filled = 0i64;
        for (s, (name, values)) in series.iter().enumerate() {
            let count = values[m];
            if count == 0 {
                continue;
            }
            let y0 = base - (filled as usize * PLOT) / top as usize;
            filled += count;
            let y1 = base - (filled as usize * PLOT) / top as usize;
            svg.push_str(&format!(
                "<rect class=\"segment\" data-series=\"{name}\" data-count=\"{count}\" x=\"{x}\" y=\"{y1}\" \
                 width=\"{w}\" height=\"{h}\" fill=\"{fill}\"><title>{label} {name}：{count}</title></rect>",
                name = escape(name),
                w = column - 8,
                h = y0 - y1,
                fill = PALETTE[s % PALETTE.len()],
            ));
        }
        svg.push_str("</g>");
        let text = if months.len() > 12 {
            month.format("%y.%m").to_string()
        } else {
            month.format("%-m月").to_string()
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{text}</text>",
            x + (column - 8) / 2,
            base + 16
        ));
    }
    for (s, (name, _)) in series.iter().enumerate() {
        let y = TOP + s * 20;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{fill}\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{name}</text>",
            x = right + 20,
            tx = right + 38,
            ty = y + 11,
            fill = PALETTE[s % PALETTE.len()],
            name = escape(name),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A line of a daily figure (the backlog at the end of each day), with a
/// marked, titled point per day, across `span` days from the first (the
/// line stops where the days end, at today).
pub fn daily_line(days: &[(NaiveDate, i64)], span: usize, title: &str) -> String {
    const LEFT: usize = 56;
    const TOP: usize = 44;
    const PLOT: usize = 220;
    const WIDTH: usize = 640;
    let height = TOP + PLOT + 40;
    let base = TOP + PLOT;
    let most = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let top = round_up(most);
    let mut svg = open(LEFT + WIDTH + 20, height, title);
    grid(&mut svg, LEFT, LEFT + WIDTH, base, PLOT, top);
    let span = span.max(days.len());
    let x_of = |index: usize| LEFT + index * WIDTH / span.saturating_sub(1).max(1);
    let y_of = |value: i64| base - (value.max(0) as usize * PLOT) / top as usize;
    let points: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, (_, n))| format!("{},{}", x_of(i), y_of(*n)))
        .collect();
    svg.push_str(&format!(
        "<polyline class=\"line\" points=\"{}\" fill=\"none\" stroke=\"#b03a2e\" stroke-width=\"2\"/>",
        points.join(" ")
    ));
    // Points closer than their size would blot the line into a band.
    let radius = if span > 93 { 1 } else { 2 };
    for (i, (day, n)) in days.iter().enumerate() {
        svg.push_str(&format!(
            "<circle class=\"point\" data-day=\"{day}\" data-count=\"{n}\" cx=\"{}\" cy=\"{}\" r=\"{radius}\" fill=\"#b03a2e\">\
             <title>{day}：{n} 篇</title></circle>",
            x_of(i),
            y_of(*n)
        ));
    }
    // Dates along the whole span, evenly, however few days have passed:
    // labels at the days alone crowd into each other at the left.
    let Some(&(first, _)) = days.first() else {
        svg.push_str("</svg>");
        return svg;
    };
    let labels = span.min(7);
    for k in 0..labels {
        let i = if labels > 1 {
            k * (span - 1) / (labels - 1)
        } else {
            0
        };
        svg.push_str(&format!(
            "<text class=\"day\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
            x_of(i),
            base + 16,
            (first + chrono::Days::new(i as u64)).format("%m-%d")
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_wide_enough_for_its_title() {
        let months = [NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()];
        let series = [("甲公司".to_string(), vec![3])];
        let title = "各单位每月采用稿件（2026-12-01 至 2026-12-31）";
        let svg = stacked_months(&months, &series, title);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let width: usize = doc
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap();
        assert!(width >= text_width(title, 15) + 10, "{width}");
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(24), 5);
        assert_eq!(tick_step(180), 50);
        assert_eq!(tick_step(4_000), 1_000);
    }

    #[test]
    fn charts_are_well_formed_with_one_mark_per_figure() {
        let months = [
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
        ];
        let series = [
            ("甲<公司>".to_string(), vec![3, 0]),
            ("乙公司".to_string(), vec![1, 2]),
        ];
        let svg = stacked_months(&months, &series, "每月采用");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let segments: Vec<(&str, &str)> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("segment"))
            .map(|n| {
                (
                    n.attribute("data-series").unwrap(),
                    n.attribute("data-count").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            segments,
            [("甲<公司>", "3"), ("乙公司", "1"), ("乙公司", "2")]
        );
        let line = daily_line(&[(months[0], 4), (months[1], 0)], 31, "积压");
        let doc = roxmltree::Document::parse(&line).unwrap();
        assert_eq!(
            doc.descendants()
                .filter(|n| n.attribute("class") == Some("point"))
                .count(),
            2
        );
    }

    #[test]
    fn the_dates_of_a_daily_line_span_the_period_however_few_days_have_passed() {
        let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let days: Vec<(NaiveDate, i64)> = (0..3)
            .map(|i| (first + chrono::Days::new(i), i as i64))
            .collect();
        let line = daily_line(&days, 31, "积压");
        let doc = roxmltree::Document::parse(&line).unwrap();
        let labels: Vec<(f64, &str)> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("day"))
            .map(|n| {
                (
                    n.attribute("x").unwrap().parse().unwrap(),
                    n.text().unwrap(),
                )
            })
            .collect();
        assert_eq!(labels.len(), 7);
        assert_eq!(labels[0].1, "12-01");
        assert_eq!(labels[6].1, "12-31");
        for pair in labels.windows(2) {
            assert!(pair[1].0 - pair[0].0 > 80.0, "{labels:?}");
        }
    }
}
