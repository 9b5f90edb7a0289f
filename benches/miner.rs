//! Throughput benchmark of the template miner (`harness = false`, run with
//! `cargo bench --bench miner`).
//!
//! Builds a 1,000,000-line corpus by repeating, in a fixed interleaved order, the `Content`
//! column of the four Loghub samples in `shared/data/loghub` (HDFS, Apache, OpenSSH,
//! Zookeeper; 8,000 lines), then times `TemplateMiner::add` over it on one thread and prints
//! lines per second and the number of templates. It reads the samples and prints; it must not
//! assert on timings.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use gameday::mine::miner::TemplateMiner;

/// Lines in the benchmark corpus.
const CORPUS_LINES: usize = 1_000_000;

/// Timed passes over the corpus; the best one is reported.
const PASSES: usize = 3;

/// CPU time of this thread in nanoseconds (Linux `schedstat`), to report throughput that does
/// not depend on how busy the machine is; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn data_dir() -> PathBuf {
    let real = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"));
    if real.is_dir() {
        real
    } else {
        PathBuf::from("/work/shared/data")
    }
}

/// Minimal RFC 4180 reader: quoted fields may hold commas, newlines and doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The `Content` column of one Loghub structured sample.
fn contents(name: &str) -> Vec<String> {
    let path = data_dir().join(format!("loghub/{name}/{name}_2k.log_structured.csv"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let rows = parse_csv(&text);
    let column = rows[0]
        .iter()
        .position(|h| h == "Content")
        .expect("structured samples have a Content column");
    rows[1..].iter().map(|r| r[column].clone()).collect()
}

/// `--stream N`: mine N lines generated one at a time (the four samples in turn, every digit
/// rewritten so values keep changing), never holding more than one line, and print the
/// template count. Run under `/usr/bin/time -v` to read the miner's peak RSS at scale.
fn stream(total: u64) {
    let base: Vec<String> = ["HDFS", "Apache", "OpenSSH", "Zookeeper"]
        .iter()
        .flat_map(|n| contents(n))
        .collect();
    let mut miner = TemplateMiner::new();
    let mut line = String::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..total {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let src = &base[usize::try_from(i).unwrap_or(0).wrapping_mul(7_919) % base.len()];
        line.clear();
        let mut r = x;
        for c in src.chars() {
            if c.is_ascii_digit() {
                line.push(char::from(b'0' + (r % 10) as u8));
                r = r / 10 + (r % 7) * 1_000_000_007;
            } else {
                line.push(c);
            }
        }
        black_box(miner.add(&line));
    }
    println!("miner --stream: {total} lines, {} templates", miner.len());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--stream") {
        let total = args
            .get(pos + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000_000);
        stream(total);
        return;
    }
    let sets: Vec<Vec<String>> = ["HDFS", "Apache", "OpenSSH", "Zookeeper"]
        .iter()
        .map(|n| contents(n))
        .collect();
    let longest = sets.iter().map(Vec::len).max().unwrap_or(0);
    let base: Vec<&str> = (0..longest)
        .flat_map(|i| {
            sets.iter()
                .filter_map(move |s| s.get(i).map(String::as_str))
        })
        .collect();
    // Deterministic repeat: a stride coprime with the base length visits every line once per
    // round in a scrambled order. The corpus is one contiguous buffer, like a log file read
    // into memory, so the timing measures mining rather than cache misses on scattered strings.
    let stride = 7_919;
    let mut buffer = String::new();
    let mut ends = Vec::with_capacity(CORPUS_LINES);
    for i in 0..CORPUS_LINES {
        buffer.push_str(base[(i * stride) % base.len()]);
        ends.push(buffer.len());
    }
    let corpus: Vec<&str> = ends
        .iter()
        .scan(0, |start, &end| {
            let line = &buffer[*start..end];
            *start = end;
            Some(line)
        })
        .collect();
    let bytes = buffer.len();

    let mut best_wall = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    let mut templates = 0;
    for _ in 0..PASSES {
        let mut miner = TemplateMiner::new();
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        for line in &corpus {
            black_box(miner.add(black_box(line)));
        }
        best_wall = best_wall.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            best_cpu = best_cpu.min((b - a) as f64 / 1e9);
        }
        templates = miner.len();
    }
    let lines = corpus.len() as f64;
    println!(
        "miner: {} lines ({:.1} MB), {} templates; best of {PASSES}: wall {:.3} s = {:.0} lines/s",
        corpus.len(),
        bytes as f64 / 1e6,
        templates,
        best_wall,
        lines / best_wall,
    );
    if best_cpu.is_finite() {
        println!(
            "miner: thread cpu time {:.3} s = {:.0} lines/s",
            best_cpu,
            lines / best_cpu
        );
    }
}
