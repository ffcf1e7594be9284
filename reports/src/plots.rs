//! The report's plots, each drawn twice by plotters: into a PNG (the bitmap backend, encoded with
//! `png`) and into an SVG. Text is laid out and rasterised with DejaVu Sans embedded in the
//! binary (`font/DejaVuSans.ttf`, Bitstream Vera licence in `font/LICENSE-DejaVu.txt`), so no
//! system font or font library is needed.
//!
//! Every chart keeps its legend in a column of its own to the right of the plotting area, so that
//! no legend covers data, and horizontal bars carry their (long) category names on the left.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

use crate::format_seconds;

static DEJAVU_SANS: &[u8] = include_bytes!("font/DejaVuSans.ttf");
/// The family name the embedded font is registered under: plotters' default for labels.
const FAMILY: &str = "sans-serif";
const WIDTH: u32 = 1100;
const TITLE_PT: u32 = 26;
const LABEL_PT: u32 = 18;
const AXIS_PT: u32 = 20;
/// Pixels of one bar (or of one group's bar) in the bar charts.
const BAR_PX: u32 = 30;
/// Where the legend's first entry starts, and the pixels of each entry.
const LEGEND_TOP: u32 = 70;
const LEGEND_LINE: u32 = LABEL_PT + 10;

/// A plot's height: `content` pixels of plotting area plus the title and the value axis, and at
/// least room for a legend of `entries`.
fn height(content: u32, entries: usize) -> u32 {
    (170 + content).max(LEGEND_TOP + LEGEND_LINE * entries as u32 + 20)
}

/// A rendered plot: its file stem and both images.
pub struct Plot {
    pub name: String,
    pub png: Vec<u8>,
    pub svg: String,
}

/// One line of a line plot.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Makes the embedded font the one plotters draws with (once per process).
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded font does not load"))
    }
}

/// The `i`-th colour of a palette that stays apart in print and for colour-blind readers
/// (Okabe and Ito's eight, then Palette99's).
fn colour(i: usize) -> RGBColor {
    const OKABE_ITO: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
        RGBColor(240, 228, 66),
    ];
    OKABE_ITO.get(i).copied().unwrap_or_else(|| {
        let (r, g, b) = Palette99::pick(i).to_rgba().rgb();
        RGBColor(r, g, b)
    })
}

fn font(pt: u32) -> TextStyle<'static> {
    (FAMILY, pt).into_font().color(&BLACK)
}

/// What draws on any backend: each plot's drawing code, run once for the PNG and once for the
/// SVG.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

fn render(name: &str, figure: &impl Figure) -> Result<Plot> {
    register_font()?;
    let (w, h) = figure.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(|e| anyhow!("{name}.svg: {e}"))?;
    }
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(|e| anyhow!("{name}.png: {e}"))?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&rgb))
        .map_err(|e| anyhow!("{name}.png: {e}"))?;
    Ok(Plot {
        name: name.into(),
        png,
        svg,
    })
}

/// Turns a drawing error (which borrows the backend's error type) into an owned one.
fn drawn<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T> {
    r.map_err(|e| anyhow!("drawing a plot: {e}"))
}

/// Paints the canvas white, splits off a legend column on the right, as wide as its longest
/// entry, and draws the entries (the `i`-th name beside a swatch of [`colour`]`(i)`) into it;
/// returns the area left for the chart.
fn canvas<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, legend: &[String]) -> Result<DrawingArea<DB, Shift>> {
    drawn(root.fill(&WHITE))?;
    let style = font(LABEL_PT);
    let (w, _) = root.dim_in_pixel();
    let legend_w = (label_width(root, legend)? + 40).min(w / 2);
    let (chart, area) = root.split_horizontally(w - legend_w);
    for (i, name) in legend.iter().enumerate() {
        let y = (LEGEND_TOP + i as u32 * LEGEND_LINE) as i32;
        drawn(area.draw(&Rectangle::new(
            [(10, y), (32, y + LABEL_PT as i32 - 4)],
            colour(i).filled(),
        )))?;
        drawn(area.draw(&Text::new(name.clone(), (40, y - 2), style.clone())))?;
    }
    Ok(chart)
}

/// A chart with the title on top, room for the value axis below and `label_width` pixels of
/// labels on the left.
fn chart<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    label_width: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, font(TITLE_PT))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(label_width);
    builder
}

/// The width in pixels of the longest of `labels` at the label size, plus room for ticks.
fn label_width<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, labels: &[String]) -> Result<u32> {
    let mut widest = 0;
    for l in labels {
        widest = widest.max(drawn(root.estimate_text_size(l, &font(LABEL_PT)))?.0);
    }
    Ok(widest + 20)
}

/// `x` as an axis label: `1e6` and `1e-3` rather than `1000000` and `0.001`.
fn short_number(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-2) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Draws the value axis (`unit` below it) and writes category `i` of `names` left of the
/// plotting area, at the height of its band `[n - 1 - i, n - i]` (the first category on top),
/// `x_left` being the value axis's left end.
fn category_axes<DB: DrawingBackend, X: Ranged<ValueType = f64> + ValueFormatter<f64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, RangedCoordf64>>,
    x_left: f64,
    names: &[String],
    unit: &str,
) -> Result<()> {
    drawn(
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(unit)
            .axis_desc_style(font(AXIS_PT))
            .label_style(font(LABEL_PT))
            // Short forms of the key points (no float noise such as 0.30000000000000004), and
            // powers of ten as such where a log scale's labels would run into each other.
            .x_label_formatter(&|x| short_number((x * 1e6).round() / 1e6))
            .draw(),
    )?;
    let n = names.len();
    let style = font(LABEL_PT).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, name) in names.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(x_left, (n - i) as f64 - 0.5));
        drawn(root.draw(&Text::new(name.clone(), (x - 10, y), style.clone())))?;
    }
    Ok(())
}

/// The band of category `i` of `n` (the first on top): its top and bottom in chart units.
fn band(i: usize, n: usize) -> (f64, f64) {
    ((n - i) as f64, (n - i - 1) as f64)
}

/// A value axis from zero to a little above `max` (or to 1 where everything is zero).
fn upper(max: f64) -> f64 {
    if max > 0.0 && max.is_finite() { max * 1.08 } else { 1.0 }
}

/// Horizontal stacked bars of seconds: one bar per entry of `bars` (its name on the left, its
/// total on the right), one segment per name of `segments`; `unit` names the axis.
pub fn stacked_bars(
    name: &str,
    title: &str,
    unit: &str,
    segments: &[String],
    bars: &[(String, Vec<f64>)],
) -> Result<Plot> {
    render(
        name,
        &StackedBars {
            title,
            unit,
            segments,
            bars,
        },
    )
}

struct StackedBars<'a> {
    title: &'a str,
    unit: &'a str,
    segments: &'a [String],
    bars: &'a [(String, Vec<f64>)],
}

impl Figure for StackedBars<'_> {
    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            height((BAR_PX + 14) * self.bars.len().max(1) as u32, self.segments.len()),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let chart_area = canvas(root, self.segments)?;
        let n = self.bars.len().max(1);
        let names: Vec<String> = self.bars.iter().map(|(b, _)| b.clone()).collect();
        let max = self.bars.iter().map(|(_, v)| v.iter().sum::<f64>()).fold(0.0, f64::max);
        // Room right of the longest bar for its total.
        let mut chart = drawn(
            chart(&chart_area, self.title, label_width(root, &names)?)
                .build_cartesian_2d(0.0..upper(max) * 1.12, 0.0..n as f64),
        )?;
        category_axes(root, &mut chart, 0.0, &names, self.unit)?;
        for (i, (_, values)) in self.bars.iter().enumerate() {
            let (top, bottom) = band(i, n);
            let mut x = 0.0;
            for (j, v) in values.iter().enumerate() {
                drawn(chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, top - 0.18), (x + v, bottom + 0.18)],
                    colour(j).filled(),
                ))))?;
                x += v;
            }
            let (px, py) = chart.backend_coord(&(x, bottom + 0.5));
            let style = font(LABEL_PT).pos(Pos::new(HPos::Left, VPos::Center));
            drawn(root.draw(&Text::new(format_seconds(x), (px + 6, py), style)))?;
        }
        Ok(())
    }
}

/// Horizontal grouped bars on a logarithmic axis: one group per category (its name on the
/// left), one bar per series where it has a value, in `unit`.
pub fn grouped_bars_log(
    name: &str,
    title: &str,
    unit: &str,
    categories: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> Result<Plot> {
    render(
        name,
        &GroupedBars {
            title,
            unit,
            categories,
            series,
        },
    )
}

struct GroupedBars<'a> {
    title: &'a str,
    unit: &'a str,
    categories: &'a [String],
    series: &'a [(String, Vec<Option<f64>>)],
}

impl Figure for GroupedBars<'_> {
    fn size(&self) -> (u32, u32) {
        let per_group = (BAR_PX * 2 / 3) * self.series.len().max(1) as u32 + 12;
        (
            WIDTH,
            height(per_group * self.categories.len().max(1) as u32, self.series.len()),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let legend: Vec<String> = self.series.iter().map(|(s, _)| s.clone()).collect();
        let chart_area = canvas(root, &legend)?;
        let values = || self.series.iter().flat_map(|(_, v)| v.iter().flatten().copied());
        let lo = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
        let hi = values().fold(0.0, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > 0.0 {
            (lo / 2.0, hi * 2.0)
        } else {
            (0.001, 1.0)
        };
        // Decades from below the smallest value to above the largest, so that every bar shows.
        let (lo, hi) = (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil()));
        let n = self.categories.len().max(1);
        let mut chart = drawn(
            chart(&chart_area, self.title, label_width(root, self.categories)?)
                .build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64),
        )?;
        category_axes(root, &mut chart, lo, self.categories, self.unit)?;
        let k = self.series.len().max(1) as f64;
        let bar = 0.8 / k;
        for (j, (_, values)) in self.series.iter().enumerate() {
            for (i, v) in values.iter().enumerate() {
                let Some(v) = v.filter(|v| *v > 0.0) else { continue };
                let top = band(i, n).0 - 0.1 - j as f64 * bar;
                drawn(chart.draw_series(std::iter::once(Rectangle::new(
                    [(lo, top), (v, top - bar * 0.9)],
                    colour(j).filled(),
                ))))?;
            }
        }
        Ok(())
    }
}

/// Lines with a marker at every point, one per series, over integer `x` (epochs).
pub fn lines(name: &str, title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> Result<Plot> {
    render(
        name,
        &Lines {
            title,
            x_desc,
            y_desc,
            series,
        },
    )
}

struct Lines<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    series: &'a [Series],
}

impl Figure for Lines<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, height(430, self.series.len()))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let legend: Vec<String> = self.series.iter().map(|s| s.name.clone()).collect();
        let chart_area = canvas(root, &legend)?;
        let points = || self.series.iter().flat_map(|s| s.points.iter().copied());
        let x_max = points().map(|p| p.0).fold(1.0, f64::max);
        let y_max = points().map(|p| p.1).fold(0.0, f64::max);
        let mut chart =
            drawn(chart(&chart_area, self.title, 80).build_cartesian_2d(0.5..x_max + 0.5, 0.0..upper(y_max)))?;
        drawn(
            chart
                .configure_mesh()
                .x_desc(self.x_desc)
                .y_desc(self.y_desc)
                .axis_desc_style(font(AXIS_PT))
                .label_style(font(LABEL_PT))
                // Epochs are whole numbers: no tick between them.
                .x_label_formatter(&|x| {
                    if x.fract() == 0.0 {
                        format!("{x}")
                    } else {
                        String::new()
                    }
                })
                .draw(),
        )?;
        for (i, s) in self.series.iter().enumerate() {
            let c = colour(i);
            drawn(chart.draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(3))))?;
            drawn(chart.draw_series(s.points.iter().map(|p| Circle::new(*p, 5, c.filled()))))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_stay_short() {
        let labels: Vec<String> = [1e9, 1e5, 1000.0, 0.3, 0.01, 0.001, 0.0].map(short_number).into();
        assert_eq!(labels, ["1e9", "1e5", "1000", "0.3", "0.01", "1e-3", "0"]);
    }

    #[test]
    fn plots_render_to_png_and_svg() {
        let p = lines(
            "loss",
            "validation loss",
            "epoch",
            "loss",
            &[Series {
                name: "a".into(),
                points: vec![(1.0, 0.5), (2.0, 0.3)],
            }],
        )
        .unwrap();
        assert_eq!(&p.png[1..4], b"PNG");
        assert!(p.svg.starts_with("<svg") && p.svg.contains("validation loss"));
        let p = stacked_bars("phases", "t", "s", &["x".into()], &[]).unwrap();
        assert!(p.svg.contains("<svg"));
        let p = grouped_bars_log("ops", "t", "ms", &["add".into()], &[("native".into(), vec![None])]).unwrap();
        assert!(p.svg.contains("<svg"));
    }
}
