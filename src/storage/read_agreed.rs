//! Reading metadata that no checksum covers.
//!
//! Kafka's index and checkpoint files carry no checksum, so a bit flipped on the read path
//! would be trusted (a recovery point of 10 read as 11, a time index entry off by 2^60).
//! They are small and read once, at open: seedlog reads them until two reads agree.

use bytes::Bytes;

use crate::runtime::DiskFile;

/// Reads at most this many times before giving up.
const MAX_READS: usize = 8;

/// Reads `len` bytes from the start of `file` until two consecutive reads agree.
pub async fn read_agreed(file: &dyn DiskFile, len: usize) -> std::io::Result<Bytes> {
    let mut previous = file.read_at(0, len).await?;
    for _read in 1..MAX_READS {
        let current = file.read_at(0, len).await?;
        if current == previous {
            return Ok(current);
        }
        previous = current;
    }
    Err(std::io::Error::other(format!("{}: {MAX_READS} reads of {len} bytes disagreed", file.path().display())))
}
