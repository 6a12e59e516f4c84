//! Storage throughput against the raw disk: `cargo bench --bench storage`.
//!
//! Measures, in one run and on the same directory (under `target/bench-storage/`, on the
//! disk the workspace lives on, never /tmp which may be tmpfs):
//!
//! - raw sequential `std::fs` writes of 16 KiB buffers, without fsync and with a
//!   `sync_data` every 1 MiB, and raw sequential reads of 1 MiB buffers (page cache);
//! - `seedlog::storage::Log` appends on `FileDisk` of 16 KiB batches (16 records of about
//!   1 KiB, sized so the batch is exactly 16,384 bytes on disk, like the raw writes),
//!   without fsync and with `flush.messages = 1024` (an fsync every 1 MiB of records);
//! - the whole log read back in 1 MiB fetches, as a consumer's fetch reads it
//!   (`Log::read_for_fetch`, the target) and with every batch's CRC checked (`Log::read`).
//!
//! Each figure is taken `SEEDLOG_BENCH_ROUNDS` times (default 5) over `SEEDLOG_BENCH_MB`
//! MiB (default 256), raw and log rounds interleaved (and alternating which goes first) so
//! machine load hits both alike; the medians are compared: the log should reach 80% of raw.
//! A miss is printed, not failed on.
//!
//! Two diagnostic baselines: raw writes of buffers the size of one log batch, and a raw read
//! of the log's own segment file. On ext4, page-aligned writes and the files they leave
//! behind are much faster than unaligned ones (16,589-byte writes ran at about half the
//! speed of 16 KiB ones here), which is why the log's batches are sized to 16 KiB exactly.

// The project bans ambient file IO and clocks outside src/runtime (clippy.toml) so the
// simulator can replace them. A benchmark's raw `std::fs` baseline and its wall-clock timing
// are the point of the exercise and never run in simulation, so they are allowed here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

/// The simulation build (`--cfg madsim`) has no real runtime to block on; the benchmark only
/// makes sense on the real disk.
#[cfg(madsim)]
fn main() {
    eprintln!("the storage benchmark measures the real disk: build it without --cfg madsim");
}

#[cfg(not(madsim))]
fn main() {
    real::main();
}

#[cfg(not(madsim))]
#[allow(dead_code)] // shared by the benches; each uses part of it
mod support;

#[cfg(not(madsim))]
mod real {
    use std::fs::{File, OpenOptions};
    use std::io::{Read, Write};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Instant;

    use bytes::Bytes;
    use seedlog::broker::partition::SINGLE_BROKER_LEADER_EPOCH;
    use seedlog::runtime::{Disk, FileDisk};
    use seedlog::storage::record_batch::{self, build};
    use seedlog::storage::{segment_file_name, Log, LogConfig, LOG_SUFFIX};

    use crate::support::{env_usize, filesystem_of, mib_per_s, settle, Figure, RemoveOnDrop};

    const WRITE_BUF_BYTES: usize = 16 << 10;
    const READ_BUF_BYTES: usize = 1 << 20;
    const FSYNC_EVERY_BYTES: usize = 1 << 20;
    const RECORD_VALUE_BYTES: usize = 1 << 10;
    const RECORDS_PER_BATCH: usize = 16;
    /// 1024 records of 1 KiB: an fsync every 1 MiB of record values, like the raw baseline.
    const FLUSH_INTERVAL_MESSAGES: u64 = 1024;
    const FETCH_BYTES: usize = 1 << 20;
    const TARGET_RATIO: f64 = 0.80;
    const NOW_MS: i64 = 1_700_000_000_000;

    // ---- raw std::fs baseline ----

    /// Writes `writes` buffers of `buf_bytes` sequentially, with a `sync_data` every
    /// `writes_per_sync` writes if `fsync`. Returns MiB/s.
    fn raw_write(path: &Path, buf_bytes: usize, writes: usize, writes_per_sync: usize, fsync: bool) -> f64 {
        let buf = vec![0xA5u8; buf_bytes];
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(path).expect("create raw file");
        let start = Instant::now();
        for i in 1..=writes {
            file.write_all(&buf).expect("raw write");
            if fsync && (i % writes_per_sync == 0 || i == writes) {
                file.sync_data().expect("raw sync_data");
            }
        }
        let secs = start.elapsed().as_secs_f64();
        mib_per_s((buf_bytes * writes) as u64, secs)
    }

    /// Reads the whole file in 1 MiB buffers. Returns MiB/s.
    fn raw_read(path: &Path) -> f64 {
        let mut file = File::open(path).expect("open raw file");
        let mut buf = vec![0u8; READ_BUF_BYTES];
        let start = Instant::now();
        let mut read = 0u64;
        loop {
            let n = file.read(&mut buf).expect("raw read");
            if n == 0 {
                break;
            }
            read += n as u64;
        }
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(&buf);
        mib_per_s(read, secs)
    }

    // ---- seedlog Log on FileDisk ----

    /// 16 records of about 1 KiB whose batch is exactly 16 KiB on disk, so the log writes
    /// what the raw baseline writes: the last record's value absorbs the header overhead.
    fn bench_batch() -> Bytes {
        let build_with = |last_value_bytes: usize| {
            let value = vec![0x5Au8; RECORD_VALUE_BYTES];
            let last = vec![0x5Au8; last_value_bytes];
            let records: Vec<build::Record<'_>> = (0..RECORDS_PER_BATCH)
                .map(|i| {
                    let value = if i + 1 == RECORDS_PER_BATCH { &last } else { &value };
                    build::Record { timestamp_ms: NOW_MS + i as i64, key: None, value: Some(value) }
                })
                .collect();
            build::batch(&records, build::ProducerFields::NONE)
        };
        let overshoot = build_with(RECORD_VALUE_BYTES).len() - WRITE_BUF_BYTES;
        let batch = build_with(RECORD_VALUE_BYTES - overshoot);
        assert_eq!(batch.len(), WRITE_BUF_BYTES, "a bench batch is exactly 16 KiB");
        batch
    }

    fn log_config(fsync: bool) -> LogConfig {
        let mut config = LogConfig::default();
        if fsync {
            config.flush_interval_messages = FLUSH_INTERVAL_MESSAGES;
        }
        config
    }

    /// Appends `batches` copies of `batch` to a new log in `dir`. Returns MiB/s and the log.
    async fn log_append(dir: &Path, batch: &Bytes, batches: usize, fsync: bool) -> (f64, Log) {
        let disk: Arc<dyn Disk> = Arc::new(FileDisk::new());
        let mut log = Log::open(disk, dir.to_path_buf(), log_config(fsync), NOW_MS).await.expect("open log");
        let start = Instant::now();
        for _ in 0..batches {
            log.append(NOW_MS, batch.clone(), SINGLE_BROKER_LEADER_EPOCH).await.expect("append");
        }
        let secs = start.elapsed().as_secs_f64();
        let size = log.size_bytes();
        assert_eq!(size, (batch.len() * batches) as u64, "log holds every batch");
        (mib_per_s(size, secs), log)
    }

    /// Reads the whole log from offset 0 in 1 MiB fetches, as a consumer's fetch does
    /// (`read_for_fetch`: CRCs left to the consumer) or with every CRC checked (`read`).
    /// Returns MiB/s.
    async fn log_read(log: &Log, verified: bool) -> f64 {
        let log_end_offset = log.log_end_offset();
        let start = Instant::now();
        let mut offset = 0;
        let mut read = 0u64;
        while offset < log_end_offset {
            let fetched = if verified {
                log.read(offset, FETCH_BYTES, log_end_offset, true).await
            } else {
                log.read_for_fetch(offset, FETCH_BYTES, log_end_offset, true).await
            };
            let fetched = fetched.expect("read");
            assert!(!fetched.is_empty(), "read at {offset} below the log end returned nothing");
            let mut position = 0;
            let mut last_offset = offset - 1;
            while position < fetched.len() {
                let header = record_batch::read_header(&fetched[position..]);
                last_offset = header.last_offset();
                position += header.size_bytes;
            }
            offset = last_offset + 1;
            read += fetched.len() as u64;
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(read, log.size_bytes(), "read back the whole log");
        mib_per_s(read, secs)
    }

    // ---- reporting ----

    #[derive(Default)]
    struct Figures {
        raw_write_nosync: Figure,
        raw_write_fsync: Figure,
        raw_read: Figure,
        log_append_nosync: Figure,
        log_append_fsync: Figure,
        log_read_fetch: Figure,
        log_read_verified: Figure,
        raw_read_segment: Figure,
    }

    fn remove_log_files(dir: &Path) {
        std::fs::remove_dir_all(dir).expect("remove log dir");
        std::fs::create_dir_all(dir).expect("recreate log dir");
    }

    pub fn main() {
        let total_mib = env_usize("SEEDLOG_BENCH_MB", 256).max(1);
        let rounds = env_usize("SEEDLOG_BENCH_ROUNDS", 5).max(1);
        let total_bytes = total_mib << 20;
        let batch = bench_batch();
        // 64 batches of 16 records of 1 KiB per MiB of record values.
        let batches = total_mib * (1 << 20) / (RECORDS_PER_BATCH * RECORD_VALUE_BYTES);

        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("bench-storage")
            .join(format!("run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let log_dir = root.join("partition-0");
        std::fs::create_dir_all(&log_dir).expect("create bench dir");
        let _cleanup = RemoveOnDrop { path: root.clone(), keep: false };
        // The raw file lives in the log's own directory; Log::open leaves unknown names alone.
        let raw_path = log_dir.join("raw-baseline.bin");

        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");

        println!("seedlog storage bench: {rounds} rounds x {total_mib} MiB; units MiB/s (2^20 bytes per second)");
        println!("dir: {}", log_dir.display());
        println!("filesystem: {}", filesystem_of(&log_dir));
        println!(
            "log batch: {} records x {} B values = {} B on disk ({} batches per round); raw write buffer {} B",
            RECORDS_PER_BATCH,
            RECORD_VALUE_BYTES,
            batch.len(),
            batches,
            WRITE_BUF_BYTES
        );

        let raw_writes = total_bytes / WRITE_BUF_BYTES;
        let raw_writes_per_sync = FSYNC_EVERY_BYTES / WRITE_BUF_BYTES;
        let segment_path = log_dir.join(segment_file_name(0, LOG_SUFFIX));

        let mut f = Figures::default();
        for round in 0..rounds {
            let raw_first = round % 2 == 0;
            for step in 0..2 {
                if (step == 0) == raw_first {
                    // Raw: no fsync, read it back (page cache), then with fsync.
                    f.raw_write_nosync.samples.push(raw_write(
                        &raw_path,
                        WRITE_BUF_BYTES,
                        raw_writes,
                        raw_writes_per_sync,
                        false,
                    ));
                    f.raw_read.samples.push(raw_read(&raw_path));
                    std::fs::remove_file(&raw_path).expect("remove raw file");
                    settle(std::time::Duration::ZERO);
                    f.raw_write_fsync.samples.push(raw_write(
                        &raw_path,
                        WRITE_BUF_BYTES,
                        raw_writes,
                        raw_writes_per_sync,
                        true,
                    ));
                    std::fs::remove_file(&raw_path).expect("remove raw file");
                } else {
                    let (dir, batch, segment_path) = (log_dir.clone(), batch.clone(), segment_path.clone());
                    let samples = runtime
                        .block_on(runtime.spawn(async move {
                            let (append_nosync, log) = log_append(&dir, &batch, batches, false).await;
                            // Which of the two reads goes first alternates too. The raw read of
                            // the segment file blocks this worker, which is fine in a benchmark.
                            let (read, raw_read_segment) = if round % 2 == 0 {
                                let read = log_read(&log, false).await;
                                (read, raw_read(&segment_path))
                            } else {
                                let raw = raw_read(&segment_path);
                                (log_read(&log, false).await, raw)
                            };
                            let read_verified = log_read(&log, true).await;
                            // Closing the segment starts its writeback (ext4 does so on close of
                            // a file truncated to 0, as a new segment is), and removing it waits
                            // for that: both outside the timed parts.
                            drop(log);
                            remove_log_files(&dir);
                            settle(std::time::Duration::ZERO);
                            let (append_fsync, log) = log_append(&dir, &batch, batches, true).await;
                            drop(log);
                            remove_log_files(&dir);
                            [append_nosync, read, read_verified, append_fsync, raw_read_segment]
                        }))
                        .expect("log bench task");
                    let [append_nosync, read, read_verified, append_fsync, raw_read_segment] = samples;
                    f.log_append_nosync.samples.push(append_nosync);
                    f.log_read_fetch.samples.push(read);
                    f.log_read_verified.samples.push(read_verified);
                    f.log_append_fsync.samples.push(append_fsync);
                    f.raw_read_segment.samples.push(raw_read_segment);
                }
            }
            eprintln!(
                "round {}/{rounds}: raw w {:.0} / w+fsync {:.0} / r {:.0}; log append {:.0} / append+fsync {:.0} / read {:.0}",
                round + 1,
                f.raw_write_nosync.samples[round],
                f.raw_write_fsync.samples[round],
                f.raw_read.samples[round],
                f.log_append_nosync.samples[round],
                f.log_append_fsync.samples[round],
                f.log_read_fetch.samples[round],
            );
        }

        let rows: [(&str, &str, &Figure); 8] = [
            ("raw_write_nosync", "raw write, no fsync (16 KiB writes)", &f.raw_write_nosync),
            ("raw_write_fsync", "raw write, fsync every 1 MiB", &f.raw_write_fsync),
            ("raw_read", "raw read, 1 MiB reads (page cache)", &f.raw_read),
            ("log_append_nosync", "Log::append, no fsync", &f.log_append_nosync),
            ("log_append_fsync", "Log::append, flush every 1024 msgs", &f.log_append_fsync),
            ("log_read_fetch", "Log::read_for_fetch, 1 MiB (page cache)", &f.log_read_fetch),
            ("log_read_verified", "Log::read, CRC-checked, 1 MiB", &f.log_read_verified),
            ("raw_read_segment", "diag: raw read of the log's segment", &f.raw_read_segment),
        ];
        println!();
        println!("{:<40} {:>10} {:>10} {:>10}", "figure (MiB/s)", "median", "min", "max");
        for (_, label, fig) in &rows {
            println!("{label:<40} {:>10.1} {:>10.1} {:>10.1}", fig.median(), fig.min(), fig.max());
        }

        let ratios = [
            ("append_vs_raw_write_nosync", "append / raw write, no fsync", &f.log_append_nosync, &f.raw_write_nosync),
            ("append_vs_raw_write_fsync", "append / raw write, fsync 1 MiB", &f.log_append_fsync, &f.raw_write_fsync),
            ("read_vs_raw_read", "fetch read / raw read", &f.log_read_fetch, &f.raw_read),
        ];
        println!();
        println!("{:<40} {:>10} {:>10} {:>10}", "ratio of medians", "value", "target", "result");
        let mut results = Vec::new();
        for (key, label, log, raw) in ratios {
            let ratio = log.median() / raw.median();
            let verdict = if ratio >= TARGET_RATIO { "PASS" } else { "MISS" };
            println!("{label:<40} {:>9.1}% {:>9.0}% {:>10}", ratio * 100.0, TARGET_RATIO * 100.0, verdict);
            results.push((key, ratio, verdict));
        }
        println!();
        println!("{:<40} {:>10}   (informational)", "diagnostic ratio of medians", "value");
        let diagnostics = [
            ("verified_read_vs_raw_read", "CRC-checked read / raw read", &f.log_read_verified, &f.raw_read),
            (
                "read_vs_raw_read_segment",
                "fetch read / raw read of segment file",
                &f.log_read_fetch,
                &f.raw_read_segment,
            ),
        ];
        let mut diagnostic_results = Vec::new();
        for (key, label, log, raw) in diagnostics {
            let ratio = log.median() / raw.median();
            println!("{label:<40} {:>9.1}%", ratio * 100.0);
            diagnostic_results.push((key, ratio));
        }
        println!();
        for (key, _, fig) in &rows {
            println!(
                "BENCH storage {key} median_mib_s={:.1} min_mib_s={:.1} max_mib_s={:.1} rounds={rounds} mib={total_mib}",
                fig.median(),
                fig.min(),
                fig.max()
            );
        }
        for (key, ratio, verdict) in results {
            println!("BENCH storage {key} ratio={ratio:.3} target={TARGET_RATIO:.2} result={verdict}");
        }
        for (key, ratio) in diagnostic_results {
            println!("BENCH storage {key} ratio={ratio:.3} diagnostic=true");
        }
    }
}
