//! What the benchmarks share: figures with medians, environment knobs, the scratch
//! directory, and facts about the machine they ran on.

use std::path::{Path, PathBuf};

pub const MIB: f64 = (1u64 << 20) as f64;

/// A knob from the environment, or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

pub fn mib_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / MIB / secs
}

/// Writes back whatever is dirty on the machine (ours and anyone's), then waits `pause`, so
/// no timed step inherits an earlier step's writeback. The pause is for a device that keeps
/// writing after `sync` returns: on this VM the disk below takes a burst into a cache and
/// drains it at about 300 MiB/s, and a latency step started right after a 10 s produce step
/// had a p99 of 22-25 ms in two of three rounds, 2.4-3.0 ms in all three after 15 s.
pub fn settle(pause: std::time::Duration) {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(pause);
}

/// Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat, from `getconf CLK_TCK`
/// (100 when that cannot be asked).
fn clock_ticks_per_s() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU seconds (user + system, every thread, living or exited) of process `pid` ("self"
/// for this one); NaN when it cannot be read.
pub fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return f64::NAN };
    // Fields after the command name (which may hold spaces) in parentheses.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return f64::NAN };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let tick = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (tick(14) + tick(15)) / clock_ticks_per_s()
}

/// The peak resident set of process `pid` since it started (VmHWM in /proc/<pid>/status),
/// in bytes; NaN when it cannot be read.
pub fn peak_rss_bytes(pid: &str) -> f64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return f64::NAN };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib * 1024.0)
}

/// Removes a directory however the run ends, unless asked to keep it.
pub struct RemoveOnDrop {
    pub path: PathBuf,
    pub keep: bool,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The filesystem type and device holding `path`, from /proc/mounts (longest mount prefix).
pub fn filesystem_of(path: &Path) -> String {
    let Ok(path) = path.canonicalize() else { return "unknown".into() };
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else { return "unknown".into() };
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (device, mount_point, fs_type) = (fields.next()?, fields.next()?, fields.next()?);
            let mount_point = mount_point.replace("\\040", " ");
            path.starts_with(&mount_point)
                .then(|| (mount_point.len(), format!("{fs_type} ({device} on {mount_point})")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".into(), |(_, fs)| fs)
}

/// The samples of one figure, over rounds.
#[derive(Default)]
pub struct Figure {
    pub samples: Vec<f64>,
}

impl Figure {
    fn sorted(&self) -> Vec<f64> {
        let mut s = self.samples.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        s
    }

    pub fn median(&self) -> f64 {
        let s = self.sorted();
        let n = s.len();
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    }

    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    pub fn max(&self) -> f64 {
        *self.sorted().last().expect("samples")
    }
}
