//! Throughput benchmark of the template miner (`harness = false`, run with
//! `cargo bench --bench miner`).
//!
//! The corpus is always the same: 1,000,000 lines taken round-robin from the `Content` column
//! of the ten Loghub samples in the test data's `loghub/` (`$GAMEDAY_DATA_DIR`, else
//! `../shared/data`; line 1 of each set, then line 2 of each, ...; 20,000 distinct lines,
//! repeated). Modes:
//! - default: times `TemplateMiner::add` over the corpus in memory on one thread;
//! - `--process`: writes the corpus to a file and runs the whole `gameday mine patterns
//!   --input FILE --emit patterns` process under `/usr/bin/time -v` (one core: the miner is
//!   single-threaded), printing lines/s and peak RSS;
//! - `--process-rss N`: pipes N corpus lines (default 10,000,000) into the same process's stdin
//!   and prints its peak RSS;
//! - `--stream N`: mines N generated lines in this process (see [`stream`]).
//!
//! It reads the samples and prints; it must not assert on timings.

use std::hint::black_box;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use gameday::mine::miner::TemplateMiner;
use gameday::testdata::{self, LOGHUB};

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

/// The `Content` column of one Loghub structured sample.
fn contents(name: &str) -> Vec<String> {
    testdata::loghub_columns(name, ["Content"])
        .into_iter()
        .map(|[content]| content)
        .collect()
}

/// `--stream N`: mine N lines generated one at a time (the four samples in turn, every digit
/// rewritten so values keep changing), never holding more than one line, and print the
/// template count. Run under `/usr/bin/time -v` to read the miner's peak RSS at scale.
fn stream(total: u64) {
    let base: Vec<String> = LOGHUB.iter().flat_map(|n| contents(n)).collect();
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

/// The benchmark corpus: `lines` lines round-robin over the ten samples' `Content` columns.
/// Messages are single lines in the samples; a line break inside one would split it, so it is
/// replaced by a space.
fn corpus(lines: usize) -> Vec<String> {
    let sets: Vec<Vec<String>> = LOGHUB.iter().map(|n| contents(n)).collect();
    let longest = sets.iter().map(Vec::len).max().unwrap_or(0);
    let base: Vec<String> = (0..longest)
        .flat_map(|i| sets.iter().filter_map(move |s| s.get(i)))
        .map(|l| l.replace(['\n', '\r'], " "))
        .collect();
    (0..lines).map(|i| base[i % base.len()].clone()).collect()
}

/// Runs `gameday mine patterns --emit patterns` on `input` (a path, or `-` to feed `stdin_lines`
/// corpus lines through a pipe) under `/usr/bin/time -v`; returns (wall seconds, peak RSS KB).
fn run_process(input: &str, stdin_lines: usize) -> (f64, u64) {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args([
        "-v",
        env!("CARGO_BIN_EXE_gameday"),
        "mine",
        "patterns",
        "--emit",
        "patterns",
    ])
    .args(["--input", input])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .stdin(if input == "-" {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let start = Instant::now();
    let mut child = cmd.spawn().expect("/usr/bin/time runs (install GNU time)");
    if input == "-" {
        let mut stdin = std::io::BufWriter::new(child.stdin.take().expect("piped stdin"));
        let base = corpus(20_000);
        for i in 0..stdin_lines {
            let line = &base[i % base.len()];
            if stdin.write_all(line.as_bytes()).is_err() || stdin.write_all(b"\n").is_err() {
                break;
            }
        }
        drop(stdin);
    }
    let out = child.wait_with_output().expect("process runs");
    let wall = start.elapsed().as_secs_f64();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gameday failed: {report}");
    let rss_kb = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let elapsed = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Elapsed (wall clock) time (h:mm:ss or m:ss): ")
        })
        .map_or(wall, parse_clock);
    (elapsed, rss_kb)
}

/// `m:ss.cc` or `h:mm:ss` to seconds.
fn parse_clock(text: &str) -> f64 {
    text.trim().split(':').fold(0.0, |acc, part| {
        acc * 60.0 + part.parse::<f64>().unwrap_or(0.0)
    })
}

/// `--process`: the whole process over the 1M-line corpus file, best of [`PASSES`].
fn process() {
    let dir = std::env::temp_dir().join(format!("gameday-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("loghub-mixed-1m.txt");
    let mut text = corpus(CORPUS_LINES).join("\n");
    text.push('\n');
    std::fs::write(&path, &text).expect("corpus written");
    let input = path.to_string_lossy().into_owned();
    let mut best = (f64::INFINITY, 0);
    for _ in 0..PASSES {
        let run = run_process(&input, 0);
        if run.0 < best.0 {
            best = run;
        }
    }
    println!(
        "gameday mine patterns --emit patterns: {CORPUS_LINES} lines ({:.1} MB) in {:.3} s = {:.0} lines/s, peak RSS {:.1} MB (best of {PASSES})",
        text.len() as f64 / 1e6,
        best.0,
        CORPUS_LINES as f64 / best.0,
        best.1 as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--process") {
        process();
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--process-rss") {
        let total = args
            .get(pos + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000_000);
        let (wall, rss_kb) = run_process("-", total);
        println!(
            "gameday mine patterns --emit patterns --input -: {total} lines in {wall:.3} s = {:.0} lines/s, peak RSS {:.1} MB",
            total as f64 / wall,
            rss_kb as f64 / 1024.0
        );
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--stream") {
        let total = args
            .get(pos + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000_000);
        stream(total);
        return;
    }
    // The corpus is one contiguous buffer, like a log file read into memory, so the timing
    // measures mining rather than cache misses on scattered strings.
    let mut buffer = String::new();
    let mut ends = Vec::with_capacity(CORPUS_LINES);
    for line in corpus(CORPUS_LINES) {
        buffer.push_str(&line);
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
