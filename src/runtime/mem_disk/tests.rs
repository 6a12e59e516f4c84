//! MemDisk's fault model, one rule per test.

use super::*;

const DIR: &str = "/data/topic-0";

fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// A disk with `DIR` created and `name` created, holding `synced` durably (entry too).
async fn disk_with_file(disk: &MemDisk, name: &str, synced: &[u8]) -> Arc<dyn DiskFile> {
    disk.create_dir_all(Path::new(DIR)).await.expect("mkdir");
    let file = disk.open(&path(name), OpenMode::Create).await.expect("open");
    file.append(Bytes::copy_from_slice(synced)).await.expect("append");
    file.sync().await.expect("sync");
    disk.sync_dir(Path::new(DIR)).await.expect("sync dir");
    file
}

fn contents(disk: &MemDisk, name: &str) -> Option<Vec<u8>> {
    disk.file_contents(&path(name)).map(|b| b.to_vec())
}

#[tokio::test]
async fn unsynced_append_is_lost_on_crash() {
    let disk = MemDisk::new(1);
    let file = disk_with_file(&disk, "a.log", b"kept").await;
    file.append(Bytes::from_static(b" lost")).await.expect("append");
    assert_eq!(contents(&disk, "a.log").as_deref(), Some(&b"kept lost"[..]));
    disk.crash_losing_all_unsynced();
    assert_eq!(contents(&disk, "a.log").as_deref(), Some(&b"kept"[..]));
}

#[tokio::test]
async fn synced_data_survives_crash() {
    for seed in 0..20 {
        let disk = MemDisk::new(seed);
        let file = disk_with_file(&disk, "a.log", &[7; 10_000]).await;
        file.write_at(100, Bytes::from_static(b"new")).await.expect("write");
        file.sync().await.expect("sync");
        disk.crash();
        let reopened = disk.open(&path("a.log"), OpenMode::Existing).await.expect("open");
        let data = reopened.read_at(0, 20_000).await.expect("read");
        assert_eq!((data.len(), &data[100..103], data[103]), (10_000, &b"new"[..], 7));
    }
}

#[tokio::test]
async fn torn_crash_keeps_block_aligned_prefix_of_written_bytes() {
    let durable = vec![0x11; 5000];
    let mut volatile = durable.clone();
    volatile.extend_from_slice(&[0x22; 10_000]);
    let cuts: Vec<usize> = (0..=volatile.len().div_ceil(BLOCK_BYTES)).map(|b| b * BLOCK_BYTES).collect();
    let (mut lost, mut torn, mut zeroed) = (0, 0, 0);
    for seed in 0..300 {
        let disk = MemDisk::new(seed);
        let file = disk_with_file(&disk, "a.log", &durable).await;
        file.append(Bytes::copy_from_slice(&volatile[durable.len()..])).await.expect("append");
        disk.crash();
        let after = contents(&disk, "a.log").expect("file survives");
        let is_torn = cuts.iter().any(|&c| after == torn_prefix(&volatile, &durable, c));
        let is_zeroed = cuts.iter().any(|&c| after == size_without_data(&volatile, &durable, c));
        assert!(after == durable || is_torn || is_zeroed, "seed {seed}: unexpected content");
        if after == durable {
            lost += 1;
        } else if after.len() < volatile.len() {
            assert_eq!(after.len() % BLOCK_BYTES, 0, "a torn file ends at a block boundary");
            assert_eq!(after[..], volatile[..after.len()]);
            torn += 1;
        } else if after != volatile {
            assert_eq!(after[after.len() - 1], 0, "the unwritten tail reads as zeros");
            zeroed += 1;
        }
    }
    assert!(lost > 0 && torn > 0 && zeroed > 0, "outcomes: {lost} lost, {torn} torn, {zeroed} zeroed");
}

#[tokio::test]
async fn crash_outcomes_depend_only_on_the_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let disk = MemDisk::new(42);
        let file = disk_with_file(&disk, "a.log", &[1; 3000]).await;
        file.append(Bytes::from(vec![2; 20_000])).await.expect("append");
        disk.crash();
        runs.push(contents(&disk, "a.log"));
    }
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test]
async fn new_file_entry_lost_without_sync_dir() {
    let disk = MemDisk::new(2);
    disk_with_file(&disk, "old.log", b"x").await;
    let file = disk.open(&path("new.log"), OpenMode::CreateNew).await.expect("create");
    file.append(Bytes::from_static(b"data")).await.expect("append");
    file.sync().await.expect("file synced, directory not");
    disk.crash();
    assert_eq!(disk.file_names(Path::new(DIR)), vec!["old.log"]);
    assert_eq!(disk.used_bytes(), 1, "the unnamed inode is dropped");
}

#[tokio::test]
async fn rename_lost_without_sync_dir() {
    let disk = MemDisk::new(3);
    disk_with_file(&disk, "a.tmp", b"snapshot").await;
    disk.rename(&path("a.tmp"), &path("a.snapshot")).await.expect("rename");
    assert_eq!(disk.file_names(Path::new(DIR)), vec!["a.snapshot"]);
    disk.crash();
    assert_eq!(disk.file_names(Path::new(DIR)), vec!["a.tmp"]);
    assert_eq!(contents(&disk, "a.tmp").as_deref(), Some(&b"snapshot"[..]));
}

#[tokio::test]
async fn rename_survives_with_sync_dir() {
    let disk = MemDisk::new(4);
    disk_with_file(&disk, "a.tmp", b"new").await;
    disk_with_file(&disk, "a.snapshot", b"old").await;
    disk.rename(&path("a.tmp"), &path("a.snapshot")).await.expect("rename over");
    disk.sync_dir(Path::new(DIR)).await.expect("sync dir");
    disk.crash();
    assert_eq!(disk.list_dir(Path::new(DIR)).await.expect("list"), vec!["a.snapshot"]);
    assert_eq!(contents(&disk, "a.snapshot").as_deref(), Some(&b"new"[..]));
    assert_eq!(disk.used_bytes(), 3, "the replaced file is gone");
}

#[tokio::test]
async fn failed_fsync_loses_dirty_data_and_reports_once() {
    let disk = MemDisk::new(5);
    let file = disk_with_file(&disk, "a.log", b"abc").await;
    disk.set_faults(MemDiskFaults { sync_error_rate: 1.0, ..MemDiskFaults::none() });
    file.append(Bytes::from_static(b"def")).await.expect("append");
    let error = file.sync().await.expect_err("injected fsync failure");
    assert!(error.to_string().contains("injected"), "{error}");
    assert_eq!(file.len().await.expect("len"), 3, "dirty data lost at once");
    assert_eq!(&file.read_at(0, 10).await.expect("read")[..], b"abc");
    file.sync().await.expect("nothing left to write: the next sync succeeds");
}

#[tokio::test]
async fn enospc_at_capacity_changes_nothing() {
    let faults = MemDiskFaults { capacity_bytes: Some(100), ..MemDiskFaults::none() };
    let disk = MemDisk::with_faults(6, faults);
    let file = disk_with_file(&disk, "a.log", &[1; 60]).await;
    let full = |r: io::Result<()>| r.expect_err("full").kind() == io::ErrorKind::StorageFull;
    assert!(full(file.append(Bytes::from(vec![2; 41])).await.map(drop)));
    assert!(full(file.write_at(90, Bytes::from(vec![2; 11])).await));
    assert!(full(file.set_len(101).await));
    assert_eq!((file.len().await.expect("len"), disk.used_bytes()), (60, 60));
    let other = disk.open(&path("b.log"), OpenMode::Create).await.expect("open");
    other.append(Bytes::from(vec![3; 40])).await.expect("fits exactly");
    assert!(full(other.append(Bytes::from_static(b"x")).await.map(drop)));
    disk.remove(&path("a.log")).await.expect("remove");
    drop(file);
    other.append(Bytes::from_static(b"x")).await.expect("space freed by removal");
}

#[tokio::test]
async fn read_errors_at_rate() {
    let disk = MemDisk::with_faults(7, MemDiskFaults { read_error_rate: 0.25, ..MemDiskFaults::none() });
    let file = disk_with_file(&disk, "a.log", b"data").await;
    let mut errors = 0;
    for _ in 0..4000 {
        match file.read_at(0, 4).await {
            Ok(data) => assert_eq!(&data[..], b"data"),
            Err(e) => {
                assert!(e.to_string().contains("injected") && e.to_string().contains("EIO"));
                errors += 1;
            }
        }
    }
    assert!((800..1200).contains(&errors), "{errors} errors in 4000 reads");
}

#[tokio::test]
async fn bit_flip_changes_exactly_one_bit_and_not_the_stored_bytes() {
    let disk = MemDisk::with_faults(8, MemDiskFaults { bit_flip_rate: 1.0, ..MemDiskFaults::none() });
    let stored: Vec<u8> = (0..=255).collect();
    let file = disk_with_file(&disk, "a.log", &stored).await;
    for _ in 0..100 {
        let read = file.read_at(0, 256).await.expect("read");
        let flipped: u32 = read.iter().zip(&stored).map(|(a, b)| (a ^ b).count_ones()).sum();
        assert_eq!(flipped, 1);
    }
    assert_eq!(contents(&disk, "a.log"), Some(stored.clone()));
    disk.set_faults(MemDiskFaults::none());
    assert_eq!(&file.read_at(0, 256).await.expect("re-read")[..], &stored[..]);
}

#[tokio::test]
#[allow(clippy::disallowed_methods)] // measures the runtime's (simulated) clock
async fn latency_advances_simulated_time() {
    let latency = Some((Duration::from_millis(2), Duration::from_millis(3)));
    let disk = MemDisk::with_faults(9, MemDiskFaults { latency, ..MemDiskFaults::none() });
    let start = tokio::time::Instant::now();
    disk.create_dir_all(Path::new(DIR)).await.expect("mkdir");
    let file = disk.open(&path("a.log"), OpenMode::Create).await.expect("open");
    file.append(Bytes::from_static(b"x")).await.expect("append");
    file.sync().await.expect("sync");
    file.read_at(0, 1).await.expect("read");
    assert!(start.elapsed() >= Duration::from_millis(10), "{:?}", start.elapsed());
}

#[tokio::test]
async fn stale_handle_fails_after_crash() {
    let disk = MemDisk::new(10);
    let file = disk_with_file(&disk, "a.log", b"abc").await;
    disk.crash();
    assert!(file.append(Bytes::from_static(b"x")).await.is_err());
    assert!(file.read_at(0, 3).await.is_err());
    assert!(file.len().await.is_err());
    assert!(file.sync().await.is_err());
    let reopened = disk.open(&path("a.log"), OpenMode::Existing).await.expect("reopen");
    assert_eq!(&reopened.read_at(0, 3).await.expect("read")[..], b"abc");
}

#[tokio::test]
async fn directories_paths_and_gaps_behave_like_posix() {
    let disk = MemDisk::new(11);
    let missing = disk.open(Path::new("/nowhere/a.log"), OpenMode::Create).await.expect_err("no dir");
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    let file = disk_with_file(&disk, "a.log", b"").await;
    disk.create_dir_all(Path::new("/data/topic-1")).await.expect("mkdir");
    assert_eq!(disk.list_dir(Path::new("/data/")).await.expect("list"), vec!["topic-0", "topic-1"]);
    assert!(disk.exists(Path::new("/data/./topic-0/a.log")).await.expect("exists"));
    file.write_at(3, Bytes::from_static(b"z")).await.expect("write past end");
    assert_eq!(&file.read_at(0, 10).await.expect("read")[..], b"\0\0\0z");
    assert!(file.read_at(10, 5).await.expect("read past end").is_empty());
    disk.rename(Path::new(DIR), Path::new("/data/topic-0.deleted")).await.expect("rename dir");
    assert_eq!(disk.file_names(Path::new("/data/topic-0.deleted")), vec!["a.log"]);
}

#[tokio::test]
async fn a_replaced_disk_is_empty_and_old_handles_are_stale() {
    let disk = MemDisk::new(4);
    let file = disk_with_file(&disk, "a.log", b"synced").await;
    disk.crash();
    disk.replace_with_empty();
    assert_eq!(contents(&disk, "a.log"), None);
    assert!(disk.file_names(Path::new(DIR)).is_empty());
    assert!(disk.list_dir(Path::new("/data")).await.map_or(true, |names| names.is_empty()));
    assert!(file.read_at(0, 6).await.is_err(), "a handle from before the replacement is stale");
    let fresh = disk_with_file(&disk, "a.log", b"new").await;
    assert_eq!(fresh.read_at(0, 3).await.expect("read").as_ref(), b"new");
}
