//! A directory for one test's data (SQLite files, seed files), removed when dropped: the
//! `tempfile` crate's, named after the test so a leftover after a crash says whose it is.

pub use tempfile::TempDir;

/// A fresh, empty directory under the system temp dir, named `skein-{tag}-…` (unique).
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("skein-{tag}-")).tempdir().expect("the temp dir is writable")
}
