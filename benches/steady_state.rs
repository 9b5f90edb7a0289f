//! Benchmark: derive hypotheses for 50 metrics × 30 days of 1-minute points (daily
//! seasonality, noise, rare spikes) and print the CPU time. Target: under 2 s of CPU.
//!
//! Run: `cargo bench --bench steady_state`. Prints wall and process CPU time; it asserts nothing
//! about time (machines differ), only that every hypothesis was learned.

use std::time::Instant;

use gameday::steady_state as ss;

const METRICS: u64 = 50;
const DAYS: i64 = 30;
const POINTS_PER_DAY: i64 = 1440;

/// Deterministic noise in [-1, 1) (splitmix64).
fn noise(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn metric(m: u64) -> Vec<ss::Point> {
    let start = 1_700_000_000 - 1_700_000_000 % 86_400;
    let level = 50.0 + 10.0 * m as f64;
    let amplitude = level * (0.1 + 0.02 * (m % 10) as f64);
    (0..DAYS * POINTS_PER_DAY)
        .map(|i| {
            let phase = (i % POINTS_PER_DAY) as f64 / POINTS_PER_DAY as f64 * std::f64::consts::TAU;
            let seed = m * 10_000_000 + i as u64;
            let spike = if noise(seed ^ 0xABCD) > 0.999 {
                3.0 * amplitude
            } else {
                0.0
            };
            ss::Point {
                ts: start + i * 60,
                value: level + amplitude * phase.sin() + 0.1 * level * noise(seed) + spike,
            }
        })
        .collect()
}

/// Process CPU time (user + system) from /proc/self/stat, in seconds; `None` off Linux.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks; USER_HZ is 100 on every mainstream configuration.
    Some((utime + stime) / 100.0)
}

fn main() {
    let series: Vec<Vec<ss::Point>> = (0..METRICS).map(metric).collect();
    let cpu0 = cpu_secs();
    let wall = Instant::now();
    let mut seasonal = 0;
    for (m, points) in series.iter().enumerate() {
        let opts = ss::DeriveOptions {
            metric: format!("m{m}"),
            ..ss::DeriveOptions::default()
        };
        let h = ss::derive(points, &opts).expect("default options are valid");
        assert_eq!(h.status, ss::Status::Ok, "metric {m} not learned");
        if h.profile
            .as_ref()
            .is_some_and(|p| p.seasonality != ss::Seasonality::None)
        {
            seasonal += 1;
        }
    }
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu_secs().zip(cpu0).map(|(b, a)| b - a);
    println!(
        "steady_state derive: {METRICS} metrics x {DAYS} days x {POINTS_PER_DAY}/day points: wall {wall:.3} s, cpu {} ({seasonal} seasonal)",
        cpu.map_or("n/a".to_owned(), |c| format!("{c:.2} s"))
    );
}
