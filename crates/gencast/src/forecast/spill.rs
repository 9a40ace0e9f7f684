//! The spill file of an ensemble summary: each finished (member, step) parked on disk until the
//! last member is done.
//!
//! Its name is derived from the output (`.NAME.gencast-spill` beside `NAME`, see
//! [`spill_path`]), it begins with a marker, and its writer holds an exclusive lock on it while
//! it lives. So a file left by a killed run (`kill -9`, a scheduler's SIGKILL) is recognised and
//! removed by the next run of the same output ([`remove_leftover_spill`]), a file of that name
//! that gencast did not write is never touched, and the file of a run still going is never
//! taken from it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The first bytes of every spill file.
const MARKER: &[u8; 16] = b"gencast-spill-1\n";

/// The spill file of a summary written to `output`: `.NAME.gencast-spill` in the output's
/// folder.
pub fn spill_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "forecast".into());
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.join(format!(".{name}.gencast-spill"))
}

/// Removes the spill file an earlier, killed run of `output` left, and returns its path; `None`
/// when there is none. A file of that name without the spill marker (not ours), or one whose
/// writer still runs (it holds the lock), is an error and is left as it is.
pub fn remove_leftover_spill(output: &Path) -> Result<Option<PathBuf>> {
    let path = spill_path(output);
    Ok(remove_leftover(&path)?.then_some(path))
}

/// [`remove_leftover_spill`] for the spill file `path`: whether one was removed.
pub(crate) fn remove_leftover(path: &Path) -> Result<bool> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    let foreign = || {
        Error::Invalid(format!(
            "{} is in the way of the ensemble summary's spill file and was not written by \
             gencast (it lacks the spill marker); move or remove it",
            path.display()
        ))
    };
    if !meta.is_file() {
        return Err(foreign());
    }
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::Invalid(format!(
                "{}: another process is computing an ensemble summary of this output (it holds \
                 the lock on this spill file); wait for it to finish",
                path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
    }
    let mut head = Vec::with_capacity(MARKER.len());
    (&mut file)
        .take(MARKER.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    if head != MARKER {
        return Err(foreign());
    }
    // Removed while this process holds the lock, so no other run can be using it.
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    Ok(true)
}

/// An open spill file, locked by this process and removed when dropped.
pub(crate) struct Spill {
    path: PathBuf,
    file: File,
}

impl Spill {
    /// Creates `path` (which must not exist), locks it and writes the marker.
    pub(crate) fn create(path: PathBuf) -> Result<Spill> {
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut spill = Spill { path, file };
        let io = |e| Error::io(&spill.path, e);
        match spill.file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Invalid(format!(
                    "{}: another process locked the spill file this run just created",
                    spill.path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        spill.file.write_all(MARKER).map_err(io)?;
        Ok(spill)
    }

    /// Writes `bytes` at record position `pos` (bytes after the marker).
    pub(crate) fn write_at(&mut self, pos: u64, bytes: &[u8]) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        self.file
            .seek(SeekFrom::Start(MARKER.len() as u64 + pos))
            .map_err(io)?;
        self.file.write_all(bytes).map_err(io)
    }

    /// Reads `buf.len()` bytes at record position `pos`.
    pub(crate) fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        self.file
            .seek(SeekFrom::Start(MARKER.len() as u64 + pos))
            .map_err(io)?;
        self.file.read_exact(buf).map_err(io)
    }
}

impl Drop for Spill {
    /// Removes the file while still holding its lock.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spill_name_is_derived_from_the_output() {
        assert_eq!(
            spill_path(Path::new("/a/b/out.nc")),
            Path::new("/a/b/.out.nc.gencast-spill")
        );
        assert_eq!(
            spill_path(Path::new("out.zarr")),
            Path::new("./.out.zarr.gencast-spill")
        );
    }

    #[test]
    fn a_leftover_spill_is_removed_but_a_foreign_or_locked_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("f.nc");
        let path = spill_path(&out);
        assert_eq!(remove_leftover_spill(&out).unwrap(), None);

        // A file of that name without the marker is refused and left untouched.
        std::fs::write(&path, b"user data, not a spill").unwrap();
        let err = remove_leftover_spill(&out).unwrap_err().to_string();
        assert!(err.contains("not written by gencast"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"user data, not a spill");
        std::fs::remove_file(&path).unwrap();

        // A live spill (its writer holds the lock) is refused; once dropped it is gone.
        let mut live = Spill::create(path.clone()).unwrap();
        live.write_at(4, &[1, 2, 3, 4]).unwrap();
        let err = remove_leftover_spill(&out).unwrap_err().to_string();
        assert!(err.contains("holds the lock"), "{err}");
        assert!(path.is_file());
        drop(live);
        assert!(!path.exists());

        // A killed writer's file (marker, no lock) is recognised and removed.
        let mut left = MARKER.to_vec();
        left.extend_from_slice(&[0u8; 64]);
        std::fs::write(&path, &left).unwrap();
        assert_eq!(remove_leftover_spill(&out).unwrap(), Some(path.clone()));
        assert!(!path.exists());
    }
}
