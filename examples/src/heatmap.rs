//! The replay's picture: signed aggressor premium by strike and time, signals marked.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

/// One cell of the heatmap: signed premium (buy − sell, USD) at a strike and time bin.
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
    /// Signals to mark: (strike, time ns, buy?).
    pub marks: Vec<(i64, u64, bool)>,
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
            cells: BTreeMap::new(),
            marks: Vec::new(),
        }
    }

    /// Adds signed premium at a strike and time (ignored outside the range).
    pub fn add(&mut self, strike: i64, ts: u64, signed_premium: f64) {
        if ts < self.start_ns || !signed_premium.is_finite() {
            return;
        }
        let Ok(bin) = usize::try_from((ts - self.start_ns) / self.bin_ns) else {
            return;
        };
        if bin >= self.bins {
            return;
        }
        let bins = self.bins;
        self.cells.entry(strike).or_insert_with(|| vec![0.0; bins])[bin] += signed_premium;
    }

    /// Draws the heatmap as a PNG at `path` (1400 × 900). Falls back to a picture without
    /// text when no font can be loaded.
    ///
    /// # Errors
    /// When the PNG cannot be written.
    pub fn draw(&self, path: &Path, title: &str) -> anyhow::Result<()> {
        match self.draw_inner(path, Some(title)) {
            Ok(()) => Ok(()),
            Err(_) => self.draw_inner(path, None),
        }
    }

    fn draw_inner(&self, path: &Path, title: Option<&str>) -> anyhow::Result<()> {
        let root = BitMapBackend::new(path, (1400, 900)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let strikes: Vec<i64> = self.cells.keys().copied().collect();
        let rows = strikes.len().max(1);
        let max_abs = self
            .cells
            .values()
            .flat_map(|v| v.iter())
            .fold(0.0f64, |m, x| m.max(x.abs()))
            .max(1.0);
        let hours = |b: usize| (b as f64) * self.bin_ns as f64 / 3.6e12;
        let x_max = hours(self.bins);
        let mut builder = ChartBuilder::on(&root);
        builder.margin(20);
        if let Some(t) = title {
            builder
                .caption(t, ("sans-serif", 24))
                .x_label_area_size(40)
                .y_label_area_size(90);
        }
        let mut chart = builder
            .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if title.is_some() {
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("hours since session start")
                .y_desc("strike")
                .y_labels(rows.min(30))
                .y_label_formatter(&|y| {
                    let i = (*y as usize).min(rows - 1);
                    strikes
                        .get(i)
                        .map_or(String::new(), |s| format!("{}", s / 1_000_000_000))
                })
                .draw()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
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
                        [(hours(b), row as f64), (hours(b + 1), row as f64 + 1.0)],
                        color.filled(),
                    )
                })
        });
        chart
            .draw_series(cells)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let marks = self.marks.iter().filter_map(|(strike, ts, buy)| {
            let row = strikes.iter().position(|s| s == strike)?;
            let x = ts.saturating_sub(self.start_ns) as f64 / 3.6e12;
            let color = if *buy { BLUE } else { BLACK };
            Some(Circle::new((x, row as f64 + 0.5), 5, color.stroke_width(2)))
        });
        chart
            .draw_series(marks)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
}
