//! The replay's picture, laid out like a trader's screen: the underlying's price path
//! over the session on top with the signals marked on it (shape by pattern, colour by
//! direction, v3 filled and v1 hollow), the strike × time heatmap of signed aggressor
//! premium below it, both on one US Central time axis, and a legend on the right.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Timelike;
use ifd_core::calendar::to_central;
use ifd_engine::Engine;
use ifd_patterns::{DetectorVersion, Direction, Pattern, Signal};
use ifd_pressure::parse_option_symbol;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Width of the picture (pixels).
pub const WIDTH: u32 = 1400;
/// Height of the picture (pixels).
pub const HEIGHT: u32 = 1000;
/// Width of the legend strip on the right (pixels).
const LEGEND_W: u32 = 250;
/// Height of the price panel (pixels, below the title).
const PRICE_H: u32 = 330;
/// Width of the y-label areas of both panels, equal so that their x axes line up.
const Y_LABELS_W: u32 = 80;
/// Height of the title strip.
const TITLE_H: u32 = 40;
/// Half the size of a marker (pixels).
const MARKER_R: i32 = 7;

const NS_PER_HOUR: f64 = 3.6e12;
const FIXED: f64 = 1e9;

/// A signal as the picture marks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Strike (dbn fixed point), the heatmap row.
    pub strike: i64,
    /// When the signal was raised (`ts_recv`, ns).
    pub ts: u64,
    /// Its pattern (marker shape).
    pub pattern: Pattern,
    /// Its direction (marker colour).
    pub direction: Direction,
    /// Which detector raised it (v3 filled, v1 hollow).
    pub detector: DetectorVersion,
    /// The underlying at the print (index points), where the signal knows it.
    pub underlying: Option<f64>,
    /// The strikes of a package's legs (dbn fixed point), whose raw symbols parse; empty
    /// for other signals.
    pub leg_strikes: Vec<i64>,
    /// A package's legs whose raw symbol does not parse (not drawn).
    pub legs_unparsed: u32,
}

impl Mark {
    /// The mark of `signal`; `None` when its strike does not fit dbn's fixed point.
    #[must_use]
    pub fn from_signal(signal: &Signal) -> Option<Self> {
        let strike = signal
            .strike
            .checked_mul(Decimal::from(1_000_000_000_i64))?
            .trunc()
            .to_i64()?;
        let mut mark = Self {
            strike,
            ts: signal.ts_recv,
            pattern: signal.pattern,
            direction: signal.direction,
            detector: signal.detector,
            underlying: signal
                .underlying_price
                .and_then(|p| p.to_f64())
                .filter(|p| p.is_finite()),
            leg_strikes: Vec::new(),
            legs_unparsed: 0,
        };
        for leg in signal.legs.iter().flatten() {
            match parse_option_symbol(&leg.raw_symbol) {
                Ok(parsed) => mark.leg_strikes.push(parsed.strike),
                Err(_) => mark.legs_unparsed += 1,
            }
        }
        Some(mark)
    }
}

/// Samples the engine's underlying price once per step of `ts_recv` while a replay
/// runs: the underlying of most options in the chain, as the engine resolves it (the
/// future's mid, else the parity forward, else a caller's price).
#[derive(Debug, Clone)]
pub struct UnderlyingSampler {
    step_ns: u64,
    last_step: Option<u64>,
    chain_len: usize,
    underlying_id: Option<u32>,
    /// `(ts_recv, price)` samples, price in dbn fixed point, in time order.
    pub samples: Vec<(u64, i64)>,
    /// Steps in which the engine had no fresh underlying price (no sample then).
    pub steps_without_price: u64,
}

impl UnderlyingSampler {
    /// A sampler taking at most one sample per `step_ns` (at least 1 ns).
    #[must_use]
    pub fn new(step_ns: u64) -> Self {
        Self {
            step_ns: step_ns.max(1),
            last_step: None,
            chain_len: 0,
            underlying_id: None,
            samples: Vec::new(),
            steps_without_price: 0,
        }
    }

    /// Takes a sample when the engine's clock has entered a new step; cheap otherwise.
    pub fn sample(&mut self, engine: &Engine) {
        let now = engine.market().now();
        if now == 0 {
            return;
        }
        let step = now / self.step_ns;
        if self.last_step == Some(step) {
            return;
        }
        self.last_step = Some(step);
        let chain = engine.chain();
        if chain.len() != self.chain_len || self.underlying_id.is_none() {
            self.chain_len = chain.len();
            let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
            for c in chain.options() {
                *counts.entry(c.underlying_id).or_default() += 1;
            }
            self.underlying_id = counts
                .into_iter()
                .max_by_key(|&(id, n)| (n, std::cmp::Reverse(id)))
                .map(|(id, _)| id);
        }
        match self.underlying_id.and_then(|id| engine.underlying(id)) {
            Some(u) => self.samples.push((now, u.price)),
            None => self.steps_without_price += 1,
        }
    }
}

/// The replay's picture: signed premium (buy − sell, USD) per strike and time bin, the
/// underlying's path and the signals.
#[derive(Debug, Clone, Default)]
pub struct Heatmap {
    /// Width of a time bin (ns).
    pub bin_ns: u64,
    /// First time bin start (ns).
    pub start_ns: u64,
    /// Number of time bins.
    pub bins: usize,
    /// Signed premium per strike (dbn fixed point) and time bin.
    pub cells: BTreeMap<i64, Vec<f64>>,
    /// Premium that fell outside the bins or was not finite (not drawn).
    pub cells_dropped: u64,
    /// Signals to mark.
    pub marks: Vec<Mark>,
    /// Signals that could not be marked (strike out of range).
    pub marks_dropped: u64,
    /// The underlying's path: `(ts_recv, price)`, price in dbn fixed point.
    pub underlying: Vec<(u64, i64)>,
}

impl Heatmap {
    /// An empty heatmap over `[start_ns, end_ns)` in bins of `bin_ns`.
    #[must_use]
    pub fn new(start_ns: u64, end_ns: u64, bin_ns: u64) -> Self {
        let bin_ns = bin_ns.max(1);
        let bins = usize::try_from(end_ns.saturating_sub(start_ns).div_ceil(bin_ns))
            .unwrap_or(1)
            .max(1);
        Self {
            bin_ns,
            start_ns,
            bins,
            ..Self::default()
        }
    }

    /// Adds signed premium at a strike and time (counted in `cells_dropped` outside
    /// the range).
    pub fn add(&mut self, strike: i64, ts: u64, signed_premium: f64) {
        let bin = ts
            .checked_sub(self.start_ns)
            .and_then(|d| usize::try_from(d / self.bin_ns).ok())
            .filter(|b| *b < self.bins);
        let (Some(bin), true) = (bin, signed_premium.is_finite()) else {
            self.cells_dropped += 1;
            return;
        };
        let bins = self.bins;
        self.cells.entry(strike).or_insert_with(|| vec![0.0; bins])[bin] += signed_premium;
    }

    /// Marks a signal (counted in `marks_dropped` when its strike is out of range).
    pub fn mark_signal(&mut self, signal: &Signal) {
        match Mark::from_signal(signal) {
            Some(m) => self.marks.push(m),
            None => self.marks_dropped += 1,
        }
    }

    /// Draws the picture as a PNG at `path` ([`WIDTH`] × [`HEIGHT`]). Falls back to a
    /// picture without text when no font can be loaded.
    ///
    /// # Errors
    /// When the PNG cannot be written.
    pub fn draw(&self, path: &Path, title: &str) -> anyhow::Result<()> {
        let draw = |text: Option<&str>| -> anyhow::Result<()> {
            let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
            self.render(&root, text)?;
            root.present().map_err(|e| anyhow::anyhow!("{e}"))
        };
        match draw(Some(title)) {
            Ok(()) => Ok(()),
            Err(_) => draw(None),
        }
    }

    /// Draws the picture into an RGB buffer of [`WIDTH`] × [`HEIGHT`] pixels (3 bytes
    /// each), without text when `title` is `None`.
    ///
    /// # Errors
    /// When the buffer has the wrong size or drawing fails.
    pub fn draw_rgb(&self, buf: &mut [u8], title: Option<&str>) -> anyhow::Result<()> {
        anyhow::ensure!(
            buf.len() == (WIDTH * HEIGHT * 3) as usize,
            "buffer of {} bytes, not {WIDTH}×{HEIGHT}×3",
            buf.len()
        );
        let root = BitMapBackend::with_buffer(buf, (WIDTH, HEIGHT)).into_drawing_area();
        self.render(&root, title)?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The marks, v1 (hollow, larger) before v3 (filled) so that both stay visible.
    fn marks_in_drawing_order(&self) -> impl Iterator<Item = &Mark> + '_ {
        let v1 = self.marks.iter().filter(|m| !filled(m.detector));
        v1.chain(self.marks.iter().filter(|m| filled(m.detector)))
    }

    /// Hours since `start_ns` of a timestamp (the x coordinate of both panels).
    fn x_of(&self, ts: u64) -> f64 {
        (ts as f64 - self.start_ns as f64) / NS_PER_HOUR
    }

    /// The underlying (index points) at `ts`: the newest sample at or before it, else
    /// the first one.
    fn underlying_at(&self, ts: u64) -> Option<f64> {
        let i = self.underlying.partition_point(|(t, _)| *t <= ts);
        let (_, p) = self.underlying.get(i.saturating_sub(1))?;
        Some(*p as f64 / FIXED)
    }

    /// Tick positions (hours since start) at whole Central hours, a step that leaves at
    /// most 14 of them.
    fn hour_ticks(&self, x_max: f64) -> Vec<f64> {
        let step_h = [1u64, 2, 3, 4, 6, 12]
            .into_iter()
            .find(|s| x_max / *s as f64 <= 14.0)
            .unwrap_or(24);
        let hour = 3_600_000_000_000_u64;
        // Central time is a whole number of hours from UTC: UTC hours are CT hours.
        let first = self.start_ns.div_ceil(hour);
        (0..)
            .map(|k| first + k)
            .filter(|h| to_central(h * hour).is_some_and(|t| u64::from(t.hour()) % step_h == 0))
            .map(|h| self.x_of(h * hour))
            .take_while(|x| *x <= x_max)
            .collect()
    }

    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: Option<&str>,
    ) -> anyhow::Result<()> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e}");
        root.fill(&WHITE).map_err(err)?;
        let text = title.is_some();
        let (head, body) = root.split_vertically(TITLE_H);
        if let Some(t) = title {
            head.draw(&Text::new(
                t,
                (20, 10),
                ("sans-serif", 22).into_font().color(&BLACK),
            ))
            .map_err(err)?;
        }
        let (main, legend) = body.split_horizontally(WIDTH - LEGEND_W);
        let (top, bottom) = main.split_vertically(PRICE_H);

        let x_max = self.bins as f64 * self.bin_ns as f64 / NS_PER_HOUR;
        let ticks = self.hour_ticks(x_max);
        let start_ns = self.start_ns;
        let time_label = move |x: &f64| {
            let ts = start_ns as f64 + x * NS_PER_HOUR;
            to_central(ts.max(0.0) as u64).map_or(String::new(), |t| t.format("%H:%M").to_string())
        };
        let span =
            |ts: u64, f: &str| to_central(ts).map_or(String::new(), |t| t.format(f).to_string());
        let end_ns = self.start_ns + self.bin_ns * self.bins as u64;
        let x_desc = format!(
            "US Central time (CT), {} to {}",
            span(self.start_ns, "%a %Y-%m-%d %H:%M"),
            span(end_ns, "%a %H:%M")
        );

        // Top panel: the underlying's path with the signals on it.
        let mut prices: Vec<f64> = self
            .underlying
            .iter()
            .map(|(_, p)| *p as f64 / FIXED)
            .chain(self.marks.iter().filter_map(|m| m.underlying))
            .filter(|p| p.is_finite())
            .collect();
        prices.sort_by(f64::total_cmp);
        let (lo, hi) = match (prices.first(), prices.last()) {
            (Some(lo), Some(hi)) => (*lo, *hi),
            _ => (0.0, 1.0),
        };
        let pad = ((hi - lo) * 0.08).max(1.0);
        let mut builder = ChartBuilder::on(&top);
        builder.margin_left(10).margin_right(20).margin_top(10);
        if text {
            builder.y_label_area_size(Y_LABELS_W).x_label_area_size(30);
        }
        let mut price_chart = builder
            .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
            .map_err(err)?;
        let mut mesh = price_chart.configure_mesh();
        mesh.light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .y_labels(8)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .disable_x_mesh()
            .x_labels(0);
        if text {
            mesh.y_label_formatter(&|y| format!("{y:.0}"))
                .y_desc("underlying (points)");
        } else {
            mesh.disable_x_axis().disable_y_axis();
        }
        mesh.draw().map_err(err)?;
        let ends = |x: f64| {
            (
                price_chart.backend_coord(&(x, hi + pad)),
                price_chart.backend_coord(&(x, lo - pad)),
            )
        };
        time_grid(root, &ticks, &ends, text.then_some(&time_label)).map_err(err)?;
        price_chart
            .draw_series(LineSeries::new(
                self.underlying
                    .iter()
                    .map(|(t, p)| (self.x_of(*t), *p as f64 / FIXED)),
                RGBColor(40, 40, 40).stroke_width(2),
            ))
            .map_err(err)?;
        let mut unplaced = 0u64;
        for m in self.marks_in_drawing_order() {
            let Some(y) = m.underlying.or_else(|| self.underlying_at(m.ts)) else {
                unplaced += 1;
                continue;
            };
            let at = price_chart.backend_coord(&(self.x_of(m.ts), y));
            draw_marker(root, at, m.pattern, m.direction, m.detector).map_err(err)?;
        }

        // Bottom panel: the strike × time heatmap, the underlying across it.
        let strikes: Vec<i64> = self.cells.keys().copied().collect();
        let rows = strikes.len().max(1);
        let max_abs = self
            .cells
            .values()
            .flat_map(|v| v.iter())
            .fold(0.0f64, |m, x| m.max(x.abs()))
            .max(1.0);
        let mut builder = ChartBuilder::on(&bottom);
        builder.margin_left(10).margin_right(20).margin_bottom(10);
        if text {
            builder.y_label_area_size(Y_LABELS_W).x_label_area_size(45);
        }
        let mut chart = builder
            .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)
            .map_err(err)?;
        let strike_label = |y: &f64| {
            let i = (*y as usize).min(rows - 1);
            strikes
                .get(i)
                .map_or(String::new(), |s| format!("{}", s / 1_000_000_000))
        };
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .disable_y_mesh()
            .disable_x_mesh()
            .x_labels(0);
        if text {
            mesh.x_desc(x_desc.as_str())
                .y_desc("strike")
                .y_labels(rows.min(30))
                .y_label_formatter(&strike_label);
        } else {
            mesh.disable_x_axis().disable_y_axis();
        }
        mesh.draw().map_err(err)?;
        let ends = |x: f64| {
            (
                chart.backend_coord(&(x, rows as f64)),
                chart.backend_coord(&(x, 0.0)),
            )
        };
        time_grid(root, &ticks, &ends, text.then_some(&time_label)).map_err(err)?;
        let bin_h = self.bin_ns as f64 / NS_PER_HOUR;
        let cells = self.cells.iter().enumerate().flat_map(|(row, (_, v))| {
            v.iter()
                .enumerate()
                .filter(|(_, x)| **x != 0.0)
                .map(move |(b, x)| {
                    let t = (x / max_abs).clamp(-1.0, 1.0).abs().sqrt();
                    let shade = (255.0 * (1.0 - t)) as u8;
                    let color = if *x > 0.0 {
                        RGBColor(shade, 255, shade)
                    } else {
                        RGBColor(255, shade, shade)
                    };
                    Rectangle::new(
                        [
                            (b as f64 * bin_h, row as f64),
                            ((b + 1) as f64 * bin_h, row as f64 + 1.0),
                        ],
                        color.filled(),
                    )
                })
        });
        chart.draw_series(cells).map_err(err)?;
        // The underlying as a line across the strike rows (broken outside them).
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for (t, p) in &self.underlying {
            match row_of_price(&strikes, *p) {
                Some(r) => run.push((self.x_of(*t), r)),
                None => runs.push(std::mem::take(&mut run)),
            }
        }
        runs.push(run);
        let underlying_style = RGBColor(60, 60, 60).stroke_width(1);
        chart
            .draw_series(
                runs.into_iter()
                    .filter(|r| r.len() > 1)
                    .map(|r| PathElement::new(r, underlying_style)),
            )
            .map_err(err)?;
        let row_of = |strike: i64| strikes.iter().position(|s| *s == strike);
        // A package's legs joined by a line in its colour, a marker on each leg.
        for m in &self.marks {
            let rows: Vec<usize> = m.leg_strikes.iter().filter_map(|s| row_of(*s)).collect();
            if let (Some(lo), Some(hi)) = (rows.iter().min(), rows.iter().max()) {
                let x = self.x_of(m.ts);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, *lo as f64 + 0.5), (x, *hi as f64 + 0.5)],
                        direction_colour(m.direction).stroke_width(2),
                    )))
                    .map_err(err)?;
            }
        }
        let mut off_heatmap = 0u64;
        let mut legs_unplaced = 0u64;
        for m in self.marks_in_drawing_order() {
            let x = self.x_of(m.ts);
            let mut leg_rows = Vec::new();
            for s in &m.leg_strikes {
                match row_of(*s) {
                    Some(r) => leg_rows.push(r),
                    None => legs_unplaced += 1,
                }
            }
            legs_unplaced += u64::from(m.legs_unparsed);
            match row_of(m.strike) {
                Some(r) if !leg_rows.contains(&r) => leg_rows.push(r),
                Some(_) => {}
                None => off_heatmap += 1,
            }
            for row in leg_rows {
                let at = chart.backend_coord(&(x, row as f64 + 0.5));
                draw_marker(root, at, m.pattern, m.direction, m.detector).map_err(err)?;
            }
        }

        let unshown = Unshown {
            off_price_panel: unplaced,
            off_heatmap,
            legs: legs_unplaced,
            unmarked: self.marks_dropped,
        };
        draw_legend(&legend, text, &unshown).map_err(err)?;
        Ok(())
    }
}

/// Vertical grid lines at `ticks` (hours since start) from `ends(x)`'s top to its
/// bottom pixel, labelled below with `label` when given.
fn time_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ticks: &[f64],
    ends: &dyn Fn(f64) -> ((i32, i32), (i32, i32)),
    label: Option<&dyn Fn(&f64) -> String>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for x in ticks {
        let (top, bottom) = ends(*x);
        area.draw(&PathElement::new(
            vec![top, bottom],
            RGBColor(215, 215, 215).stroke_width(1),
        ))?;
        area.draw(&PathElement::new(
            vec![bottom, (bottom.0, bottom.1 + 5)],
            BLACK.stroke_width(1),
        ))?;
        if let Some(label) = label {
            area.draw(&Text::new(label(x), (bottom.0, bottom.1 + 8), font.clone()))?;
        }
    }
    Ok(())
}

/// Fractional heatmap row of an underlying price (rows are centred on `i + 0.5`);
/// `None` outside the strikes.
fn row_of_price(strikes: &[i64], price: i64) -> Option<f64> {
    let i = strikes.partition_point(|s| *s <= price);
    if i == 0 {
        return None;
    }
    let lo = strikes[i - 1];
    if lo == price {
        return Some(i as f64 - 0.5);
    }
    let hi = *strikes.get(i)?;
    Some(i as f64 - 0.5 + (price - lo) as f64 / (hi - lo) as f64)
}

/// Marker shape of each pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A square.
    Square,
    /// A triangle pointing up.
    TriangleUp,
    /// A triangle pointing down.
    TriangleDown,
    /// A diamond.
    Diamond,
    /// A circle.
    Circle,
    /// A plus sign.
    Plus,
    /// A five-pointed star.
    Star,
}

/// The marker shape of a pattern (one shape per pattern).
#[must_use]
pub const fn pattern_shape(pattern: Pattern) -> Shape {
    match pattern {
        Pattern::Block => Shape::Square,
        Pattern::Sweep => Shape::TriangleUp,
        Pattern::CrossStrike => Shape::Diamond,
        Pattern::Iceberg => Shape::TriangleDown,
        Pattern::Accumulation => Shape::Circle,
        Pattern::VolumeSpike => Shape::Plus,
        Pattern::Package => Shape::Star,
    }
}

/// Every direction, in legend order.
pub const DIRECTIONS: [Direction; 3] = [Direction::Bullish, Direction::Bearish, Direction::Neutral];

/// The marker colour of a direction: green bullish, red bearish, blue neutral.
#[must_use]
pub const fn direction_colour(direction: Direction) -> RGBColor {
    match direction {
        Direction::Bullish => RGBColor(0, 150, 40),
        Direction::Bearish => RGBColor(210, 20, 20),
        Direction::Neutral => RGBColor(30, 90, 220),
    }
}

/// The legend's name of a direction.
#[must_use]
pub const fn direction_label(direction: Direction) -> &'static str {
    match direction {
        Direction::Bullish => "bullish",
        Direction::Bearish => "bearish",
        Direction::Neutral => "neutral (package)",
    }
}

/// Whether a detector's markers are filled (v3) or hollow (v1).
#[must_use]
pub const fn filled(detector: DetectorVersion) -> bool {
    match detector {
        DetectorVersion::V3 => true,
        DetectorVersion::V1 => false,
    }
}

/// Vertices of a shape around the origin, `r` its half size (pixels).
#[must_use]
pub fn shape_points(shape: Shape, r: i32) -> Vec<(i32, i32)> {
    let polar = |n: usize, radius: &dyn Fn(usize) -> f64, turn: f64| -> Vec<(i32, i32)> {
        (0..n)
            .map(|k| {
                let a = turn + std::f64::consts::TAU * k as f64 / n as f64;
                let d = radius(k);
                ((d * a.sin()).round() as i32, (-d * a.cos()).round() as i32)
            })
            .collect()
    };
    let rf = f64::from(r);
    match shape {
        Shape::Square => vec![(-r, -r), (r, -r), (r, r), (-r, r)],
        Shape::TriangleUp => vec![(0, -r - 1), (r + 1, r), (-r - 1, r)],
        Shape::TriangleDown => vec![(0, r + 1), (r + 1, -r), (-r - 1, -r)],
        Shape::Diamond => vec![(0, -r - 2), (r + 1, 0), (0, r + 2), (-r - 1, 0)],
        Shape::Circle => polar(16, &|_| rf, 0.0),
        Shape::Plus => {
            let w = (r / 3).max(1);
            vec![
                (-w, -r),
                (w, -r),
                (w, -w),
                (r, -w),
                (r, w),
                (w, w),
                (w, r),
                (-w, r),
                (-w, w),
                (-r, w),
                (-r, -w),
                (-w, -w),
            ]
        }
        Shape::Star => polar(10, &|k| if k % 2 == 0 { rf + 2.0 } else { rf * 0.45 }, 0.0),
    }
}

/// Draws one marker centred at `at` (pixels of `area`'s backend): filled with the
/// direction's colour and outlined in black for v3, white with a coloured outline for v1.
fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    pattern: Pattern,
    direction: Direction,
    detector: DetectorVersion,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let colour = direction_colour(direction);
    // v1 markers are a size larger: drawn first, a v3 marker at the same place sits
    // inside the v1 outline instead of hiding it.
    let r = if filled(detector) {
        MARKER_R
    } else {
        MARKER_R + 3
    };
    let pts: Vec<(i32, i32)> = shape_points(pattern_shape(pattern), r)
        .into_iter()
        .map(|(x, y)| (at.0 + x, at.1 + y))
        .collect();
    let mut outline = pts.clone();
    outline.extend(pts.first().copied());
    let (fill, line) = if filled(detector) {
        (colour, BLACK.stroke_width(1))
    } else {
        (WHITE, colour.stroke_width(2))
    };
    area.draw(&Polygon::new(pts, fill.filled()))?;
    area.draw(&PathElement::new(outline, line))
}

/// What the panels could not show, counted for the legend.
struct Unshown {
    off_price_panel: u64,
    off_heatmap: u64,
    legs: u64,
    unmarked: u64,
}

/// The legend: one row per pattern (its shape), per direction (its colour), the two
/// detectors (filled, hollow), the heatmap's colours and the underlying's line.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: bool,
    unshown: &Unshown,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = ("sans-serif", 15).into_font().color(&BLACK);
    let head = ("sans-serif", 16)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK);
    let label = |s: &str,
                 at: (i32, i32),
                 f: &TextStyle<'_>|
     -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if text {
            area.draw(&Text::new(s.to_owned(), (at.0 + 20, at.1 - 8), f.clone()))?;
        }
        Ok(())
    };
    let x0 = 18;
    let mut y = 30;
    let step = 24;
    label("pattern (v3, bullish)", (x0 - 20, y), &head)?;
    y += step;
    for p in Pattern::ALL {
        draw_marker(area, (x0, y), p, Direction::Bullish, DetectorVersion::V3)?;
        let name = match p {
            Pattern::Package => "package (legs joined)",
            _ => p.as_str(),
        };
        label(name, (x0, y), &font)?;
        y += step;
    }
    y += step / 2;
    label("direction (colour)", (x0 - 20, y), &head)?;
    y += step;
    for d in DIRECTIONS {
        draw_marker(area, (x0, y), Pattern::Block, d, DetectorVersion::V3)?;
        label(direction_label(d), (x0, y), &font)?;
        y += step;
    }
    y += step / 2;
    label("detector", (x0 - 20, y), &head)?;
    y += step;
    for (d, s) in [
        (DetectorVersion::V3, "v3 (filled)"),
        (DetectorVersion::V1, "v1 (hollow)"),
    ] {
        draw_marker(area, (x0, y), Pattern::Block, Direction::Bullish, d)?;
        label(s, (x0, y), &font)?;
        y += step;
    }
    y += step / 2;
    label("heatmap cell (5 min)", (x0 - 20, y), &head)?;
    y += step;
    for (c, s) in [
        (RGBColor(120, 255, 120), "net bought premium"),
        (RGBColor(255, 120, 120), "net sold premium"),
    ] {
        area.draw(&Rectangle::new(
            [(x0 - MARKER_R, y - MARKER_R), (x0 + MARKER_R, y + MARKER_R)],
            c.filled(),
        ))?;
        label(s, (x0, y), &font)?;
        y += step;
    }
    area.draw(&PathElement::new(
        vec![(x0 - MARKER_R - 2, y), (x0 + MARKER_R + 2, y)],
        RGBColor(40, 40, 40).stroke_width(2),
    ))?;
    label("underlying", (x0, y), &font)?;
    y += step * 3 / 2;
    for (n, what) in [
        (unshown.off_price_panel, "without underlying: not on top"),
        (unshown.off_heatmap, "strike without cells: not below"),
        (unshown.legs, "package legs not drawn"),
        (unshown.unmarked, "signals not marked (strike)"),
    ] {
        if n > 0 {
            label(&format!("{n} {what}"), (x0 - 20, y), &font)?;
            y += step;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(ts: u64, strike: i64, pattern: Pattern, direction: Direction, v3: bool) -> Mark {
        Mark {
            strike,
            ts,
            pattern,
            direction,
            detector: if v3 {
                DetectorVersion::V3
            } else {
                DetectorVersion::V1
            },
            underlying: None,
            leg_strikes: Vec::new(),
            legs_unparsed: 0,
        }
    }

    /// A small session: 6 hours from 08:30 CT on 2026-03-10 (13:30 UTC), three strikes,
    /// an underlying drifting up, one signal of every pattern and direction.
    fn synthetic() -> Heatmap {
        let start = 1_773_149_400_000_000_000_u64; // 2026-03-10 13:30 UTC
        let bin = 300_000_000_000_u64;
        let mut map = Heatmap::new(start, start + 72 * bin, bin);
        let strikes = [21_900_i64, 22_000, 22_100].map(|s| s * 1_000_000_000);
        for b in 0..72u64 {
            for (i, s) in strikes.iter().enumerate() {
                let sign = if (b + i as u64) % 3 == 0 { -1.0 } else { 1.0 };
                map.add(*s, start + b * bin, sign * (1_000.0 + b as f64 * 50.0));
            }
            map.underlying
                .push((start + b * bin, (21_950 + 2 * b as i64) * 1_000_000_000));
        }
        for (k, p) in Pattern::ALL.into_iter().enumerate() {
            for (j, d) in DIRECTIONS.into_iter().enumerate() {
                let ts = start + (k as u64 * 3 + j as u64 + 1) * 3 * bin;
                map.marks.push(mark(ts, strikes[j], p, d, k % 2 == 0));
            }
        }
        map
    }

    #[test]
    fn every_pattern_has_its_own_shape_and_every_direction_its_own_colour() {
        let mut shapes: Vec<Shape> = Pattern::ALL.iter().map(|p| pattern_shape(*p)).collect();
        for s in &shapes {
            assert!(
                shape_points(*s, MARKER_R).len() >= 3,
                "{s:?} is not a polygon"
            );
        }
        shapes.dedup();
        let n = shapes.len();
        shapes.sort_by_key(|s| format!("{s:?}"));
        shapes.dedup();
        assert_eq!(shapes.len(), n);
        assert_eq!(n, Pattern::ALL.len(), "two patterns share a shape");
        let colours: Vec<RGBColor> = DIRECTIONS.iter().map(|d| direction_colour(*d)).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b, "two directions share a colour");
            }
        }
        assert!(filled(DetectorVersion::V3) && !filled(DetectorVersion::V1));
    }

    #[test]
    fn renders_a_png_of_the_expected_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pic.png");
        synthetic().draw(&path, "test picture").expect("draw");
        let bytes = std::fs::read(&path).expect("read png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
        let h = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
        assert_eq!((w, h), (WIDTH, HEIGHT));
    }

    #[test]
    fn markers_of_every_direction_and_the_heatmap_reach_the_pixels() {
        let map = synthetic();
        let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        // Without text so that the test needs no font.
        map.draw_rgb(&mut buf, None).expect("draw");
        let count = |c: RGBColor| {
            buf.chunks_exact(3)
                .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
                .count()
        };
        // Legend markers alone would give some pixels; the panels add one marker per
        // signal on each panel, so far more.
        let mut legend_only = Heatmap::new(map.start_ns, map.start_ns + 1, map.bin_ns);
        legend_only.cells.clear();
        let mut empty = vec![0u8; buf.len()];
        legend_only.draw_rgb(&mut empty, None).expect("draw");
        let count_empty = |c: RGBColor| {
            empty
                .chunks_exact(3)
                .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
                .count()
        };
        for d in DIRECTIONS {
            let c = direction_colour(d);
            assert!(
                count(c) > count_empty(c) + 200,
                "{d:?}: {} pixels, {} in the legend alone",
                count(c),
                count_empty(c)
            );
        }
        // The underlying's line is drawn.
        assert!(count(RGBColor(40, 40, 40)) > count_empty(RGBColor(40, 40, 40)) + 100);
    }

    /// A package signal as the replay writes it (a risk reversal from the noflow
    /// preset), with one leg whose symbol does not parse added.
    const PACKAGE: &str = r#"{"signal_id":1,"revision":0,"ts_recv":1796130329825656808,"ts_event":1796130329825357424,"instrument_id":2010408860,"instruments":[2010408801,2010408860],"raw_symbol":"Q1BZ6 C22150","underlying":"NQZ6","expiration":"2026-12-01","strike":"22150","kind":"C","pattern":"package","side":"buy","direction":"bullish","size":418,"premium":"193325","confidence":0.93,"p_value":null,"q_value":null,"detector":"v3","evidence":{"events":2,"levels":1,"strikes":2,"orders":[],"window_start":1796130329823951772,"window_end":1796130329825656808,"threshold":10.0,"observed":209.0,"one_sidedness":0.5,"mm_likelihood":0.0},"underlying_price":"22093.25","underlying_source":"parity","iv":0.17,"delta":0.31,"delta_notional":"52894858.15","vega_notional":"694.3","aggressiveness":"at_ask","opening":null,"structure":"risk_reversal","legs":[{"instrument_id":2010408860,"raw_symbol":"Q1BZ6 C22150","side":"buy","size":209,"price":"22.25"},{"instrument_id":2010408801,"raw_symbol":"Q1BZ6 P22000","side":"sell","size":209,"price":"24"},{"instrument_id":7,"raw_symbol":"garbage","side":"sell","size":1,"price":"1"}],"net_delta_notional":"52894858.15"}"#;

    #[test]
    fn a_package_signal_marks_every_leg() {
        let sig: Signal = serde_json::from_str(PACKAGE).expect("signal json");
        let m = Mark::from_signal(&sig).expect("mark");
        assert_eq!(m.strike, 22_150_000_000_000);
        assert_eq!(m.ts, 1_796_130_329_825_656_808);
        assert_eq!(m.pattern, Pattern::Package);
        assert_eq!(m.direction, Direction::Bullish);
        assert_eq!(m.detector, DetectorVersion::V3);
        assert_eq!(m.underlying, Some(22_093.25));
        assert_eq!(m.leg_strikes, vec![22_150_000_000_000, 22_000_000_000_000]);
        assert_eq!(m.legs_unparsed, 1);
        let mut map = Heatmap::new(0, 1, 1);
        map.mark_signal(&sig);
        assert_eq!((map.marks.len(), map.marks_dropped), (1, 0));
    }

    #[test]
    fn package_legs_are_joined_on_the_heatmap() {
        let blue = direction_colour(Direction::Neutral);
        let render = |legs: Vec<i64>| {
            let mut map = synthetic();
            map.marks.clear();
            let ts = map.start_ns + 36 * map.bin_ns;
            let mut m = mark(
                ts,
                21_900_000_000_000,
                Pattern::Package,
                Direction::Neutral,
                true,
            );
            m.leg_strikes = legs;
            map.marks.push(m);
            let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
            map.draw_rgb(&mut buf, None).expect("draw");
            buf.chunks_exact(3)
                .filter(|p| p[0] == blue.0 && p[1] == blue.1 && p[2] == blue.2)
                .count()
        };
        let alone = render(Vec::new());
        let joined = render(vec![21_900_000_000_000, 22_100_000_000_000]);
        // Two rows apart on a ~590-pixel panel of three rows: a line of hundreds of
        // pixels and a second star.
        assert!(joined > alone + 300, "{joined} blue pixels vs {alone}");
    }

    #[test]
    fn the_sampler_takes_at_most_one_price_a_minute_and_counts_the_minutes_without() {
        use ifd_mbo_client::file::FileSource;
        use ifd_sim::{Feed, Preset, SimConfig, Simulator};
        let mut cfg = SimConfig::preset(Preset::Quiet, 3);
        cfg.history_days = 0;
        let day = Simulator::new(cfg).flow_day();
        let bytes = ifd_sim::feed_to_dbn_bytes(&day, Feed::Combined, false).expect("dbn");
        let mut engine = Engine::builder().monotonic_clock().build().expect("engine");
        let step = 60_000_000_000_u64;
        let mut sampler = UnderlyingSampler::new(step);
        let mut minutes = std::collections::BTreeSet::new();
        let mut signals = Vec::new();
        let mut src = FileSource::from_bytes(&bytes).expect("source");
        src.for_each_batch(|batch, _| {
            for rec in batch {
                // A record the engine refuses does not move its clock; the sampler only
                // reads the clock, so the count below still holds.
                let _ = engine.on_record(rec, &mut signals);
                sampler.sample(&engine);
                let now = engine.market().now();
                if now > 0 {
                    minutes.insert(now / step);
                }
            }
        })
        .expect("replay");
        assert!(
            sampler.samples.len() > 100,
            "{} samples",
            sampler.samples.len()
        );
        assert_eq!(
            sampler.samples.len() as u64 + sampler.steps_without_price,
            minutes.len() as u64
        );
        for w in sampler.samples.windows(2) {
            assert!(w[0].0 / step < w[1].0 / step, "two samples in one minute");
        }
        // The combined feed carries the future: every sample is a price near the first.
        let first = sampler.samples[0].1 as f64;
        for (_, p) in &sampler.samples {
            assert!((*p as f64 / first - 1.0).abs() < 0.2, "{p} vs {first}");
        }
    }

    #[test]
    fn prices_map_onto_strike_rows() {
        let s = [100, 200, 400];
        assert_eq!(row_of_price(&s, 50), None);
        assert_eq!(row_of_price(&s, 100), Some(0.5));
        assert_eq!(row_of_price(&s, 150), Some(1.0));
        assert_eq!(row_of_price(&s, 300), Some(2.0));
        assert_eq!(row_of_price(&s, 400), Some(2.5));
        assert_eq!(row_of_price(&s, 401), None);
    }

    #[test]
    fn out_of_range_premium_is_counted() {
        let mut map = Heatmap::new(1_000, 2_000, 100);
        map.add(1, 999, 1.0);
        map.add(1, 2_000, 1.0);
        map.add(1, 1_500, f64::NAN);
        map.add(1, 1_500, 2.0);
        assert_eq!(map.cells_dropped, 3);
        assert_eq!(map.cells[&1][5], 2.0);
    }
}
