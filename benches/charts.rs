//! Chart frame time: 20 series of 1,000,000 points through Steward's decimated charts, against plain
//! egui_plot given one 1,000,000-point series, side by side in one run. CPU only (egui's UI pass plus
//! tessellation, no GPU), 1280x800 logical pixels. Run: `cargo bench --bench charts`.

use std::time::{Duration, Instant};

use egui_plot::{Line, Plot, PlotPoint, PlotPoints};
use steward::serving::series::Series;
use steward::ui::chart::{ChartLine, Unit, time_chart};

const POINTS: usize = 1_000_000;
const SERIES: usize = 20;
const FRAMES: usize = 60;

fn wave(seed: u64) -> Vec<(f64, f64)> {
    let mut x = seed;
    let t0 = 1_790_000_000.0;
    (0..POINTS)
        .map(|i| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = (x >> 33) as f64 / (1u64 << 31) as f64;
            (t0 + i as f64, 50.0 + 20.0 * (i as f64 / 5000.0 + seed as f64).sin() + 5.0 * noise)
        })
        .collect()
}

/// Runs `frames` frames (input: a small horizontal drag, so the view changes every frame) and returns the
/// sorted CPU times of UI pass + tessellation.
fn measure(frames: usize, mut draw: impl FnMut(&mut egui::Ui)) -> Vec<Duration> {
    let ctx = egui::Context::default();
    let rect = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 3 {
        let mut input = egui::RawInput { screen_rect: Some(rect), ..Default::default() };
        // Hover over the first chart so that read-outs (nearest point search) are part of the cost.
        input.events.push(egui::Event::PointerMoved(egui::pos2(400.0 + (i % 50) as f32 * 10.0, 120.0)));
        let t = Instant::now();
        let out = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| draw(ui));
        });
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
        if i >= 3 {
            times.push(t.elapsed()); // the first frames lay out fonts and are not representative
        }
    }
    times.sort();
    times
}

fn pct(t: &[Duration], p: f64) -> f64 {
    t[((t.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

fn main() {
    let t = Instant::now();
    let data: Vec<Vec<(f64, f64)>> = (0..SERIES as u64).map(wave).collect();
    let series: Vec<Series> = data
        .iter()
        .map(|d| {
            let mut s = Series::new();
            for &(t, v) in d {
                s.push(t, v);
            }
            s
        })
        .collect();
    println!("built {SERIES} series x {POINTS} points (with pyramids) in {:.2} s", t.elapsed().as_secs_f64());

    // Steward: 4 linked charts of 5 series each.
    let names: Vec<String> = (0..SERIES).map(|i| format!("series {i}")).collect();
    let link = egui::Id::unique("bench_link");
    let mut scratch = steward::ui::chart::ChartCache::default();
    let mut raw_out = Vec::new();
    let decimated = measure(FRAMES, |ui| {
        for (c, chunk) in series.chunks(5).enumerate() {
            let lines: Vec<ChartLine<'_>> =
                chunk.iter().enumerate().map(|(j, s)| ChartLine { name: &names[c * 5 + j], series: s }).collect();
            time_chart(ui, &format!("chart{c}"), link, &lines, 170.0, Unit::PerSecond, None, &mut scratch);
        }
    });

    // The same frames when every frame shows a new view (panning/zooming, or live data arriving): the
    // decimation cache never hits.
    let panning = measure(FRAMES, |ui| {
        let mut fresh = steward::ui::chart::ChartCache::default();
        for (c, chunk) in series.chunks(5).enumerate() {
            let lines: Vec<ChartLine<'_>> =
                chunk.iter().enumerate().map(|(j, s)| ChartLine { name: &names[c * 5 + j], series: s }).collect();
            time_chart(ui, &format!("chart{c}"), link, &lines, 170.0, Unit::PerSecond, None, &mut fresh);
        }
    });

    // The floor: the same 4 linked charts with empty series (axes, grid, legend, hover).
    let empty = Series::new();
    let floor = measure(FRAMES, |ui| {
        for c in 0..4 {
            let lines: Vec<ChartLine<'_>> = (0..5).map(|j| ChartLine { name: &names[c * 5 + j], series: &empty }).collect();
            time_chart(ui, &format!("chart{c}"), link, &lines, 170.0, Unit::PerSecond, None, &mut scratch);
        }
    });
    println!("4 empty charts (floor): p50 {:.2} ms", pct(&floor, 0.5));

    // Decimation alone (no drawing), for the same 20 series over the full range at 1,250 columns.
    let mut d_times = Vec::new();
    for _ in 0..FRAMES {
        let t = Instant::now();
        for s in &series {
            s.decimate(data[0][0].0, data[0][POINTS - 1].0, 1250, &mut raw_out);
        }
        d_times.push(t.elapsed());
    }
    d_times.sort();
    println!("decimation only, 20 series: p50 {:.3} ms, {} points per series", pct(&d_times, 0.5), raw_out.len());

    // Plain egui_plot: one series of 1M points, borrowed (no copy per frame).
    let plain_points: Vec<PlotPoint> = data[0].iter().map(|&(t, v)| PlotPoint::new(t, v)).collect();
    let plain = measure(FRAMES / 4, |ui| {
        Plot::new("plain").height(170.0).show(ui, |plot| {
            plot.line(Line::new("series 0", PlotPoints::Borrowed(&plain_points)));
        });
    });

    let per_series_plain = pct(&plain, 0.5);
    let frame_dec = pct(&decimated, 0.5);
    println!();
    println!("| chart frame (CPU: UI pass + tessellation, 1280x800) | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|");
    println!(
        "| Steward, {SERIES} series x {POINTS} points (4 linked charts, decimated) | {:.2} | {:.2} | {:.2} |",
        frame_dec,
        pct(&decimated, 0.99),
        pct(&decimated, 1.0)
    );
    println!(
        "| Steward, same, new view every frame (no cache hit: panning, live data) | {:.2} | {:.2} | {:.2} |",
        pct(&panning, 0.5),
        pct(&panning, 0.99),
        pct(&panning, 1.0)
    );
    println!(
        "| plain egui_plot, 1 series x {POINTS} points | {:.2} | {:.2} | {:.2} |",
        per_series_plain,
        pct(&plain, 0.99),
        pct(&plain, 1.0)
    );
    println!();
    println!(
        "ratio: Steward's frame with {SERIES} series / plain egui_plot's frame with 1 series = {:.4} (p50); \
         plain egui_plot would need ~{:.0} ms for {SERIES} series, {:.0}x Steward's frame",
        frame_dec / per_series_plain,
        per_series_plain * SERIES as f64,
        per_series_plain * SERIES as f64 / frame_dec
    );
}
