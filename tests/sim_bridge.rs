//! The bridge from plain `cargo test` to the simulation test suites.
//!
//! Runs `cargo test -p sim` in the simulation build (`--cfg madsim`, profile `sim`, target dir
//! `target/sim` so neither build invalidates the other), shows its output, and fails if it
//! fails or if no simulation test ran at all.

use std::path::Path;
use std::process::Command;

#[test]
fn simulation_test_suites_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut rustflags = std::env::var_os("RUSTFLAGS").unwrap_or_default();
    rustflags.push(" --cfg madsim");
    let output = Command::new(&cargo)
        .current_dir(root)
        .args(["test", "-p", "sim", "--profile", "sim", "--target-dir"])
        .arg(root.join("target").join("sim"))
        .env("RUSTFLAGS", rustflags)
        .output()
        .expect("cannot run cargo for the simulation build");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "the simulation tests failed ({})", output.status);

    let passed: u64 = stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(" passed").next()?.trim().parse::<u64>().ok())
        .sum();
    assert!(passed > 0, "no simulation tests ran");
    println!("sim bridge: {passed} simulation tests passed");
}
