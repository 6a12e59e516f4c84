//! `cargo sim …`.
//!
//! Built without `--cfg madsim` (what the `cargo sim` alias builds) this is a launcher: it
//! re-invokes cargo for the simulation build (`--cfg madsim`, profile `sim`, target dir
//! `target/sim`, so the two worlds never rebuild each other) with the same arguments and
//! exits with its exit code. A first argument `--release` picks the optimised profile
//! `sim-release` instead (same seeds, same trace hashes, faster). Built with `--cfg madsim`,
//! this is the simulator's command line.

#[cfg(madsim)]
fn main() -> std::process::ExitCode {
    sim::cli::main()
}

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    launcher::main()
}

#[cfg(not(madsim))]
mod launcher {
    use std::ffi::OsString;
    use std::path::Path;
    use std::process::{Command, ExitCode};

    pub fn main() -> ExitCode {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir.parent().unwrap_or(manifest_dir);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut rustflags = std::env::var_os("RUSTFLAGS").unwrap_or_default();
        rustflags.push(" --cfg madsim");
        let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
        let profile = if args.first().is_some_and(|a| a == "--release") {
            args.remove(0);
            "sim-release"
        } else {
            "sim"
        };
        let status = Command::new(&cargo)
            .current_dir(root)
            .args(["run", "-q", "-p", "sim", "--bin", "sim", "--profile", profile, "--target-dir"])
            .arg(root.join("target").join("sim"))
            .arg("--")
            .args(args)
            .env("RUSTFLAGS", rustflags)
            .status();
        match status {
            Ok(status) => match status.code() {
                Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                None => {
                    eprintln!("cargo sim: the simulation was killed by a signal ({status})");
                    ExitCode::from(1)
                }
            },
            Err(e) => {
                eprintln!("cargo sim: cannot run {}: {e}", cargo.to_string_lossy());
                ExitCode::from(1)
            }
        }
    }
}
