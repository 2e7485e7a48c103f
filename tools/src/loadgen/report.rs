//! Results of a run: throughput, rejects by reason, round-trip percentiles; the full percentile
//! distribution in HdrHistogram's text format (`.hgrm`, as wrk2 and `HistogramLogProcessor` print
//! it, readable by the HdrHistogram plotter) and a PNG plot of latency by percentile.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use super::receiver::{reject_name, session_reject_name, RecvStats};
use super::sender::SenderStats;
use super::{LoadgenConfig, Mode};

/// The outcome of [`super::run`].
#[derive(Debug, Clone)]
pub struct Report {
    /// `"open"` or `"closed"`.
    pub mode: &'static str,
    /// Sessions.
    pub sessions: u32,
    /// Offered commands per second (open loop), 0 for closed loop.
    pub offered_rate: f64,
    /// Closed loop: commands in flight per session (0 for open loop).
    pub window: u32,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Warm-up, seconds.
    pub warmup_s: f64,
    /// Commands sent, whole run (orders, cancels, amends).
    pub sent: u64,
    /// Of which new orders / cancels / amends.
    pub new_orders: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Amends sent.
    pub amends: u64,
    /// Commands sent in the measured window.
    pub sent_in_window: u64,
    /// Commands answered (first report received), whole run.
    pub answered: u64,
    /// Commands answered while the window was open.
    pub answered_in_window: u64,
    /// Open loop: commands scheduled in the run but never sent (the sender fell behind).
    pub unsent: u64,
    /// Commands sent (or queued) but never answered before the drain timeout.
    pub missing: u64,
    /// Sequenced reports received in the window.
    pub reports_in_window: u64,
    /// Fills received (maker and taker), whole run.
    pub fills: u64,
    /// Rejects (engine `CommandRejected` and `SessionReject`), whole run.
    pub rejects: u64,
    /// Rejects by reason name.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// First reports that did not match the oldest unanswered command (0 unless something is broken).
    pub unmatched: u64,
    /// Sequence gaps or duplicates (0 unless something is broken).
    pub seq_gaps: u64,
    /// Undecodable frames.
    pub decode_errors: u64,
    /// Sessions the server closed during the run.
    pub disconnects: u64,
    /// Sessions that ended with the server's `Logout` after ours.
    pub clean_logouts: usize,
    /// Round trip to the first report, ns (commands sent in the window).
    pub latency: Histogram<u64>,
    /// New order to its first taker fill, ns.
    pub fill_latency: Histogram<u64>,
}

fn us(ns: u64) -> f64 {
    (ns as f64 / 10.0).round() / 100.0
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Report {
    pub(crate) fn new(cfg: &LoadgenConfig, s: &SenderStats, r: RecvStats, clean_logouts: usize) -> Report {
        let mut by = BTreeMap::new();
        for (code, n) in r.rejects.iter().enumerate().filter(|(_, n)| **n > 0) {
            by.insert(reject_name(code), *n);
        }
        for (code, n) in r.session_rejects.iter().enumerate().filter(|(_, n)| **n > 0) {
            by.insert(session_reject_name(code), *n);
        }
        let (mode, offered_rate, window) = match cfg.mode {
            Mode::Open { rate } => ("open", rate, 0),
            Mode::Closed { window } => ("closed", 0.0, window),
        };
        Report {
            mode,
            sessions: cfg.sessions,
            offered_rate,
            window,
            duration_s: cfg.duration.as_secs_f64(),
            warmup_s: cfg.warmup.as_secs_f64(),
            sent: s.sent,
            new_orders: s.new_orders,
            cancels: s.cancels,
            amends: s.amends,
            sent_in_window: s.sent_in_window,
            answered: r.answered,
            answered_in_window: r.answered_in_window,
            unsent: s.unsent,
            missing: r.missing,
            reports_in_window: r.reports_in_window,
            fills: r.fills,
            rejects: r.rejects.iter().sum::<u64>() + r.session_rejects.iter().sum::<u64>(),
            rejects_by_reason: by,
            unmatched: r.unmatched,
            seq_gaps: r.seq_gaps,
            decode_errors: r.decode_errors,
            disconnects: r.disconnects,
            clean_logouts,
            latency: r.latency,
            fill_latency: r.fill_latency,
        }
    }

    /// Commands answered per second in the measured window.
    pub fn achieved_rate(&self) -> f64 {
        self.answered_in_window as f64 / self.duration_s
    }

    /// Commands sent per second in the measured window.
    pub fn send_rate(&self) -> f64 {
        self.sent_in_window as f64 / self.duration_s
    }

    /// Reports received per second in the measured window.
    pub fn reports_rate(&self) -> f64 {
        self.reports_in_window as f64 / self.duration_s
    }

    /// Round-trip percentile in µs (`q` in 0..=1).
    pub fn percentile_us(&self, q: f64) -> f64 {
        us(self.latency.value_at_quantile(q))
    }

    /// Whether the run was clean: every command answered, nothing mismatched, no gaps.
    pub fn is_clean(&self) -> bool {
        self.missing == 0
            && self.unmatched == 0
            && self.seq_gaps == 0
            && self.decode_errors == 0
            && self.disconnects == 0
    }

    /// The summary as a JSON object (the fields of [`Report::json_line`]).
    pub fn json(&self) -> Value {
        let h = &self.latency;
        let f = &self.fill_latency;
        json!({
            "bench": "loadgen",
            "mode": self.mode,
            "sessions": self.sessions,
            "offered_rate": self.offered_rate,
            "achieved_rate": r1(self.achieved_rate()),
            "p50_us": us(h.value_at_quantile(0.50)),
            "p90_us": us(h.value_at_quantile(0.90)),
            "p99_us": us(h.value_at_quantile(0.99)),
            "p999_us": us(h.value_at_quantile(0.999)),
            "p9999_us": us(h.value_at_quantile(0.9999)),
            "max_us": us(h.max()),
            "rejects": self.rejects,
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "window": self.window,
            "send_rate": r1(self.send_rate()),
            "reports_rate": r1(self.reports_rate()),
            "samples": h.len(),
            "sent": self.sent,
            "new_orders": self.new_orders,
            "cancels": self.cancels,
            "amends": self.amends,
            "answered": self.answered,
            "missing": self.missing,
            "unsent": self.unsent,
            "fills": self.fills,
            "fill_samples": f.len(),
            "fill_p50_us": us(f.value_at_quantile(0.50)),
            "fill_p99_us": us(f.value_at_quantile(0.99)),
            "rejects_by_reason": self.rejects_by_reason,
            "unmatched": self.unmatched,
            "seq_gaps": self.seq_gaps,
            "decode_errors": self.decode_errors,
            "disconnects": self.disconnects,
            "clean_logouts": self.clean_logouts,
        })
    }

    /// One JSON line (print it last).
    pub fn json_line(&self) -> String {
        self.json().to_string()
    }

    /// A human-readable summary (several lines).
    pub fn summary(&self) -> String {
        let h = &self.latency;
        let rate = if self.mode == "open" {
            format!("offered {:.0}/s", self.offered_rate)
        } else {
            format!("window {}/session", self.window)
        };
        format!(
            "{} loop, {} sessions, {rate}, {:.1} s measured\n\
             sent {:.0}/s, answered {:.0}/s, reports {:.0}/s; sent {} (new {}, cancel {}, amend {}), \
             answered {}, missing {}, unsent {}\n\
             round trip us: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  p99.99 {:.1}  max {:.1}  ({} samples)\n\
             fills {} (time to first taker fill p50 {:.1} us, p99 {:.1} us); rejects {} {:?}",
            self.mode,
            self.sessions,
            self.duration_s,
            self.send_rate(),
            self.achieved_rate(),
            self.reports_rate(),
            self.sent,
            self.new_orders,
            self.cancels,
            self.amends,
            self.answered,
            self.missing,
            self.unsent,
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.9)),
            us(h.value_at_quantile(0.99)),
            us(h.value_at_quantile(0.999)),
            us(h.value_at_quantile(0.9999)),
            us(h.max()),
            h.len(),
            self.fills,
            us(self.fill_latency.value_at_quantile(0.5)),
            us(self.fill_latency.value_at_quantile(0.99)),
            self.rejects,
            self.rejects_by_reason,
        )
    }
}

/// Writes `h` (nanoseconds) as HdrHistogram's percentile distribution text, values in
/// microseconds, 5 ticks per half distance (as wrk2 and `outputPercentileDistribution`).
pub fn write_hgrm(h: &Histogram<u64>, out: &mut impl Write) -> std::io::Result<()> {
    const SCALE: f64 = 1000.0;
    writeln!(out, "{:>12} {:>14} {:>10} {:>14}\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")?;
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = h.highest_equivalent(v.value_iterated_to()) as f64 / SCALE;
            if q < 1.0 {
                writeln!(out, "{value:12.3} {q:2.12} {total:10} {:14.2}", 1.0 / (1.0 - q))?;
            } else {
                writeln!(out, "{value:12.3} {q:2.12} {total:10}")?;
            }
        }
    }
    let sub_buckets = (2.0 * 10f64.powi(h.sigfig() as i32)).log2().ceil().exp2() as u64;
    writeln!(out, "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]", h.mean() / SCALE, h.stdev() / SCALE)?;
    writeln!(out, "#[Max     = {:12.3}, Total count    = {:12}]", h.max() as f64 / SCALE, h.len())?;
    writeln!(out, "#[Buckets = {:12}, SubBuckets     = {:12}]", h.buckets(), sub_buckets)?;
    Ok(())
}

/// Writes `h` to `path` in the `.hgrm` format ([`write_hgrm`]).
pub fn write_hgrm_file(h: &Histogram<u64>, path: &Path) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    write_hgrm(h, &mut f)?;
    f.flush()
}

/// Parses the `(value, percentile, total_count)` rows of a `.hgrm` text (for checks and tools).
pub fn parse_hgrm(text: &str) -> Vec<(f64, f64, u64)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let v = it.next()?.parse().ok()?;
            let q = it.next()?.parse().ok()?;
            let c = it.next()?.parse().ok()?;
            Some((v, q, c))
        })
        .collect()
}

/// Fonts tried for the plot's labels (plotters draws text with `ab_glyph`, no system libraries).
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers a sans-serif font once; false when none is found (the plot then has no text).
fn font_available() -> bool {
    static FONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FONT.get_or_init(|| {
        let path = std::env::var("LOADGEN_FONT").ok();
        for p in path.iter().map(String::as_str).chain(FONT_PATHS.iter().copied()) {
            if let Ok(bytes) = std::fs::read(p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// x coordinate of percentile `q` on the plot: `log10(1 / (1 - q))` (0 = 0%, 1 = 90%, 2 = 99% ...).
fn x_of(q: f64, x_max: f64) -> f64 {
    if q >= 1.0 {
        x_max
    } else {
        (1.0 / (1.0 - q)).log10().min(x_max)
    }
}

/// Plots latency (µs) by percentile (log scale of `1/(1-p)`, like the HdrHistogram plotter and
/// wrk2's graphs) for one or more histograms (nanoseconds) into a PNG file. The latency axis is
/// linear, or logarithmic when the series span more than two orders of magnitude. Labels need a
/// TrueType font (DejaVu Sans or `$LOADGEN_FONT`); without one the plot is drawn without text.
pub fn plot_png(path: &Path, title: &str, series: &[(String, &Histogram<u64>)]) -> Result<(), String> {
    use plotters::prelude::*;
    let text = font_available();
    let mut x_max: f64 = 2.0;
    let (mut y_lo, mut y_hi) = (f64::MAX, 1.0f64);
    for (_, h) in series.iter().filter(|(_, h)| !h.is_empty()) {
        x_max = x_max.max((h.len() as f64).log10().ceil());
        y_lo = y_lo.min(h.value_at_quantile(0.5).max(1) as f64 / 1000.0);
        y_hi = y_hi.max(h.max() as f64 / 1000.0);
    }
    let x_max = x_max.min(7.0);
    let log_y = y_lo < f64::MAX && y_hi / y_lo > 100.0;
    let ty = move |us: f64| if log_y { us.max(0.01).log10() } else { us };
    let (y0, y1) = if log_y {
        let lo = series.iter().filter(|(_, h)| !h.is_empty()).map(|(_, h)| h.min().max(1) as f64 / 1000.0);
        (ty(lo.fold(f64::MAX, f64::min)).floor(), ty(y_hi).ceil())
    } else {
        (0.0, y_hi * 1.05)
    };
    let root = BitMapBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20).margin_right(60);
    if text {
        builder.caption(title, ("sans-serif", 22)).x_label_area_size(45).y_label_area_size(90);
    } else {
        builder.x_label_area_size(5).y_label_area_size(5);
    }
    let mut chart = builder.build_cartesian_2d(0f64..x_max, y0..y1).map_err(|e| e.to_string())?;
    let x_fmt = |x: &f64| {
        let decimals = (x.round() as i32 - 2).max(0) as usize;
        format!("{:.*}%", decimals, 100.0 * (1.0 - 10f64.powf(-x)))
    };
    let y_fmt = move |y: &f64| if log_y { format!("{}", 10f64.powf(*y)) } else { format!("{y:.0}") };
    if text {
        let y_desc = if log_y { "round trip (µs, log scale)" } else { "round trip (µs)" };
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(x_max as usize + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc("percentile")
            .y_desc(y_desc)
            .label_style(("sans-serif", 15));
        if log_y {
            mesh.y_labels((y1 - y0) as usize + 1);
        }
        mesh.draw().map_err(|e| e.to_string())?;
    } else {
        chart
            .configure_mesh()
            .x_labels(x_max as usize + 1)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|_| String::new())
            .draw()
            .map_err(|e| e.to_string())?;
    }
    for (i, (label, h)) in series.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = h
            .iter_quantiles(10)
            .map(|v| (x_of(v.quantile_iterated_to(), x_max), ty(v.value_iterated_to() as f64 / 1000.0)))
            .collect();
        let s = chart.draw_series(LineSeries::new(pts, color.stroke_width(2))).map_err(|e| e.to_string())?;
        if text {
            s.label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
    }
    if text && !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_roundtrip() {
        let mut h = super::super::latency_histogram();
        for v in 1..=10_000u64 {
            h.record(v * 1000).unwrap();
        }
        let mut out = Vec::new();
        write_hgrm(&h, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows = parse_hgrm(&text);
        assert!(rows.len() > 20, "{text}");
        assert_eq!(rows.last().unwrap().2, 10_000);
        assert!((rows.last().unwrap().1 - 1.0).abs() < 1e-12);
        let median = rows.iter().find(|r| r.1 >= 0.5).unwrap().0;
        assert!((median - 5000.0).abs() < 10.0, "median {median}");
        assert!(text.contains("#[Max     ="));
    }
}
