//! The simulator's own files: scenario files read, reports, traces and shrunk or explored
//! scenarios written. Real files on purpose; a simulated node's IO goes through seedlog's
//! runtime seam instead, and this is the one place here that opens real files for text.

use std::io;
use std::path::{Path, PathBuf};

/// The workspace root (the parent of `sim/`), where `reports/` and `scenarios/` live.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Writes `text` to `path`, creating its parent directories.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
pub fn write_file(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// The whole of a text file.
#[allow(clippy::disallowed_methods)]
pub fn read_text(path: &Path) -> io::Result<String> {
    std::fs::read_to_string(path)
}
