//! The targets of issue 17 (and the store-level ones of issue 8), judged from one run's results:
//! one table in the report, `--check`'s exit status, and `--plot`'s bars.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

/// One target in one place, with the measured value.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// What is compared, e.g. "request mix vs tower-sessions".
    pub(crate) what: String,
    /// Where: backend, payload, concurrency.
    pub(crate) place: String,
    /// The measured ratio (or value, with `at_most`).
    pub(crate) value: f64,
    /// The goal.
    pub(crate) goal: f64,
    /// `true` when the value must not exceed the goal (memory per session); otherwise it must
    /// reach it.
    pub(crate) at_most: bool,
}

impl Target {
    /// A ratio that must reach `goal`.
    pub(crate) fn at_least(
        what: impl Into<String>,
        place: impl Into<String>,
        value: f64,
        goal: f64,
    ) -> Self {
        Target {
            what: what.into(),
            place: place.into(),
            value,
            goal,
            at_most: false,
        }
    }

    pub(crate) fn met(&self) -> bool {
        if self.at_most {
            self.value <= self.goal
        } else {
            self.value >= self.goal
        }
    }
}

/// The Markdown table of every target.
pub(crate) fn table(targets: &[Target]) -> String {
    let mut out = String::new();
    if targets.is_empty() {
        return out;
    }
    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(out, "| target | where | measured | |");
    let _ = writeln!(out, "|---|---|---|---|");
    for t in targets {
        let op = if t.at_most { "≤" } else { "≥" };
        let verdict = if t.met() { "met" } else { "**missed**" };
        let _ = writeln!(
            out,
            "| {} {op} {}× | {} | {:.2}× | {verdict} |",
            t.what, t.goal, t.place, t.value
        );
    }
    let _ = writeln!(out);
    out
}

/// `--check`: the lines naming each missed target (empty when every target was met).
pub(crate) fn missed(targets: &[Target]) -> Vec<String> {
    targets
        .iter()
        .filter(|t| !t.met())
        .map(|t| {
            let op = if t.at_most { "≤" } else { "≥" };
            format!(
                "missed: {} {op} {}× at {}: measured {:.2}×",
                t.what, t.goal, t.place, t.value
            )
        })
        .collect()
}

/// `--plot`: one horizontal bar per target whose name contains `about` (ours / peer), with the
/// goal marked, as an SVG file.
pub(crate) fn plot(targets: &[Target], about: &str, path: &Path) -> Result<(), String> {
    let rows: Vec<&Target> = targets
        .iter()
        .filter(|t| t.what.contains(about) && !t.at_most)
        .collect();
    if rows.is_empty() {
        return Err(format!("no {about:?} results to plot"));
    }
    let height = 60 + 22 * u32::try_from(rows.len()).unwrap_or(u32::MAX / 32);
    let root = SVGBackend::new(path, (820, height)).into_drawing_area();
    let draw = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| draw(&e))?;
    let top = rows.iter().map(|t| t.value).fold(1.5_f64, f64::max) * 1.1;
    let n = rows.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("ours / peer: {about}"), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(260)
        .build_cartesian_2d(0.0..top, (0..n).into_segmented())
        .map_err(|e| draw(&e))?;
    let labels: Vec<String> = rows.iter().map(|t| t.place.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("ratio (1.0 = as fast as the peer)")
        .draw()
        .map_err(|e| draw(&e))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, t)| {
            let color = if t.met() {
                GREEN.mix(0.6)
            } else {
                RED.mix(0.6)
            };
            Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (t.value, SegmentValue::Exact(i + 1)),
                ],
                color.filled(),
            )
        }))
        .map_err(|e| draw(&e))?;
    let goal = rows[0].goal;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(goal, SegmentValue::Exact(0)), (goal, SegmentValue::Last)],
            BLACK.stroke_width(2),
        )))
        .map_err(|e| draw(&e))?;
    root.present().map_err(|e| draw(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(value: f64, goal: f64, at_most: bool) -> Target {
        Target {
            what: "request mix vs tower-sessions".into(),
            place: "redis, 256 B, c=1".into(),
            value,
            goal,
            at_most,
        }
    }

    #[test]
    fn met_and_missed_follow_the_direction_of_the_goal() {
        assert!(t(1.3, 1.3, false).met());
        assert!(!t(1.29, 1.3, false).met());
        assert!(t(0.9, 1.0, true).met());
        assert!(!t(1.1, 1.0, true).met());
        let lines = missed(&[t(1.5, 1.3, false), t(0.7, 1.3, false)]);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("0.70") && lines[0].contains("redis, 256 B, c=1"));
    }

    #[test]
    fn the_plot_is_an_svg_with_one_bar_per_result() {
        let path = std::env::temp_dir().join(format!("targets-{}.svg", std::process::id()));
        plot(
            &[t(1.5, 1.3, false), t(0.7, 1.3, false)],
            "request mix",
            &path,
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains("redis, 256 B, c=1"));
        assert!(plot(&[], "request mix", &path).is_err());
    }
}
