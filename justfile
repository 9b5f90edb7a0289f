# Common commands (https://github.com/casey/just). Each is a plain shell line too.

# Run every test (installs the emulator venv if needed).
test:
    scripts/test

# What CI runs.
ci:
    .ci/run

# Quick start on the local emulator.
demo:
    scripts/demo

# Start / stop the local AWS emulator.
emulator-start:
    scripts/local-aws start
emulator-stop:
    scripts/local-aws stop

lint:
    cargo fmt --all --check
    cargo clippy --locked --all-targets -- -D warnings

# Benchmarks (release): miner throughput, steady-state derivation, report rendering.
bench:
    cargo bench --bench miner
    cargo bench --bench steady_state
    cargo bench --bench report

# Measure the guard's and Ctrl-C's reaction times on the emulator (minutes; prints figures).
measure-run:
    cargo test --test integration run::measure -- --ignored --nocapture
