//! `meta.properties`: what a log directory belongs to (Kafka's `MetaProperties`, v1):
//! `version=1`, `node.id`, `cluster.id` and `directory.id` (KIP-858). The first start on an
//! empty directory formats it; every later start checks that the directory is this node's
//! and this cluster's, and refuses to start otherwise, naming both ids: serving another
//! node's or another cluster's data would silently mix two histories.

use std::path::Path;

use bytes::Bytes;
use rand::Rng;

use crate::runtime::{Disk, NodeRng, OpenMode};

const FILE_NAME: &str = "meta.properties";
/// Larger files are not ours: read no more than this.
const MAX_BYTES: usize = 4096;

/// A formatted log directory's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaProperties {
    pub node_id: i32,
    pub cluster_id: String,
    pub directory_id: String,
}

/// Why a log directory cannot be used.
#[derive(Debug)]
pub enum MetaPropertiesError {
    Io(std::io::Error),
    /// The directory is formatted, but not for this node or cluster, or unreadably.
    Mismatch(String),
}

impl std::fmt::Display for MetaPropertiesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaPropertiesError::Io(e) => write!(f, "{e}"),
            MetaPropertiesError::Mismatch(m) => f.write_str(m),
        }
    }
}

impl From<std::io::Error> for MetaPropertiesError {
    fn from(e: std::io::Error) -> Self {
        MetaPropertiesError::Io(e)
    }
}

/// Reads the directory's `meta.properties`, checking it names `node_id` and, when the node
/// knows its cluster (`expected_cluster_id`), that cluster; formats the directory when it
/// has none, with `expected_cluster_id` or a new id from `rng` (a standalone broker).
pub async fn load_or_format(
    disk: &dyn Disk,
    log_dir: &Path,
    node_id: i32,
    expected_cluster_id: Option<&str>,
    rng: &mut NodeRng,
) -> Result<MetaProperties, MetaPropertiesError> {
    let path = log_dir.join(FILE_NAME);
    if disk.exists(&path).await? {
        let file = disk.open(&path, OpenMode::Existing).await?;
        let len = usize::try_from(file.len().await?).unwrap_or(usize::MAX).min(MAX_BYTES);
        let text = String::from_utf8_lossy(&file.read_at(0, len).await?).to_string();
        let found = parse(&text).map_err(|m| MetaPropertiesError::Mismatch(format!("{}: {m}", path.display())))?;
        if found.node_id != node_id {
            return Err(MetaPropertiesError::Mismatch(format!(
                "{} belongs to node.id {}, this node is node.id {node_id}",
                path.display(),
                found.node_id
            )));
        }
        if let Some(expected) = expected_cluster_id.filter(|expected| *expected != found.cluster_id) {
            return Err(MetaPropertiesError::Mismatch(format!(
                "{} belongs to cluster {}, this node is configured for cluster {expected}",
                path.display(),
                found.cluster_id
            )));
        }
        return Ok(found);
    }
    let mut new_id = || uuid::Builder::from_random_bytes(rng.random()).into_uuid().simple().to_string();
    let cluster_id = expected_cluster_id.map_or_else(&mut new_id, str::to_string);
    let formatted = MetaProperties { node_id, cluster_id, directory_id: new_id() };
    write(disk, log_dir, &formatted).await?;
    Ok(formatted)
}

fn parse(text: &str) -> Result<MetaProperties, String> {
    let value = |key: &str| {
        text.lines().find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')).map(str::trim))
    };
    let node_id = value("node.id").ok_or("no node.id")?;
    let node_id = node_id.parse().map_err(|_| format!("node.id `{node_id}` is not a number"))?;
    let cluster_id = value("cluster.id").filter(|v| !v.is_empty()).ok_or("no cluster.id")?.to_string();
    // Directories formatted before KIP-858 (and by earlier seedlog) have no directory id.
    let directory_id = value("directory.id").unwrap_or_default().to_string();
    Ok(MetaProperties { node_id, cluster_id, directory_id })
}

/// Writes the file durably: a temporary file, fsync, rename, directory sync.
async fn write(disk: &dyn Disk, log_dir: &Path, meta: &MetaProperties) -> std::io::Result<()> {
    let text = format!(
        "version=1\nnode.id={}\ncluster.id={}\ndirectory.id={}\n",
        meta.node_id, meta.cluster_id, meta.directory_id
    );
    let temp = log_dir.join(format!("{FILE_NAME}.tmp"));
    let file = disk.open(&temp, OpenMode::Create).await?;
    file.set_len(0).await?;
    file.append(Bytes::from(text)).await?;
    file.sync().await?;
    disk.rename(&temp, &log_dir.join(FILE_NAME)).await?;
    disk.sync_dir(log_dir).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{seeded, MemDisk};

    #[tokio::test]
    async fn the_first_start_formats_and_later_starts_check() {
        let disk = MemDisk::new(1);
        let dir = Path::new("/data");
        disk.create_dir_all(dir).await.unwrap();
        let mut rng = seeded(1);
        let formatted = load_or_format(&disk, dir, 2, Some("abc"), &mut rng).await.unwrap();
        assert_eq!((formatted.node_id, formatted.cluster_id.as_str()), (2, "abc"));
        assert_eq!(formatted.directory_id.len(), 32);
        let again = load_or_format(&disk, dir, 2, Some("abc"), &mut rng).await.unwrap();
        assert_eq!(again, formatted, "the directory keeps its identity");

        let other_cluster = load_or_format(&disk, dir, 2, Some("xyz"), &mut rng).await.unwrap_err().to_string();
        assert!(other_cluster.contains("cluster abc") && other_cluster.contains("cluster xyz"), "{other_cluster}");
        let other_node = load_or_format(&disk, dir, 3, Some("abc"), &mut rng).await.unwrap_err().to_string();
        assert!(other_node.contains("node.id 2") && other_node.contains("node.id 3"), "{other_node}");
        let standalone = load_or_format(&disk, dir, 2, None, &mut rng).await.unwrap();
        assert_eq!(standalone.cluster_id, "abc", "a standalone broker keeps whatever cluster it formatted");
    }

    #[tokio::test]
    async fn a_directory_from_before_directory_ids_still_loads() {
        let disk = MemDisk::new(2);
        let dir = Path::new("/data");
        disk.create_dir_all(dir).await.unwrap();
        let file = disk.open(&dir.join(FILE_NAME), OpenMode::Create).await.unwrap();
        file.append(Bytes::from("version=1\nnode.id=1\ncluster.id=c1\n")).await.unwrap();
        let meta = load_or_format(&disk, dir, 1, None, &mut seeded(2)).await.unwrap();
        assert_eq!((meta.cluster_id.as_str(), meta.directory_id.as_str()), ("c1", ""));
        assert!(parse("version=1\nnode.id=x\ncluster.id=c").unwrap_err().contains("not a number"));
        assert!(parse("version=1\nnode.id=1\n").unwrap_err().contains("no cluster.id"));
    }
}
