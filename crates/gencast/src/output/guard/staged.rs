//! Outputs written in a private folder beside their final name and moved there only when
//! complete and accepted: a failed or interrupted write never leaves anything under the final
//! name, and the only thing ever removed is the private folder this process created.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::OutputKind;
use crate::{Error, Result};

/// The file inside each private folder that marks it as a staging folder of gencast; it is
/// locked for as long as its writer lives, so a folder whose marker nobody holds was left by a
/// process that died (e.g. killed with SIGKILL).
const MARKER: &str = ".gencast-partial";

/// The prefix of the private folders of output `name`.
fn prefix(name: &str) -> String {
    format!(".{name}.partial-")
}

/// Whether `path` is a Zarr store (v2 or v3): a folder holding `.zgroup`, `.zmetadata`,
/// `.zarray` or `zarr.json`.
pub fn is_zarr_store(path: &Path) -> bool {
    path.is_dir()
        && [".zgroup", ".zmetadata", ".zarray", "zarr.json"]
            .iter()
            .any(|f| path.join(f).is_file())
}

/// An output being written under a temporary name: a folder `.NAME.partial-XXXXXX` created
/// exclusively beside the final path, holding the output under its final file name (so its
/// kind is still told from its extension). [`StagedOutput::commit`] moves it into place;
/// dropped uncommitted, the folder and everything in it are removed.
pub struct StagedOutput {
    dir: tempfile::TempDir,
    /// Held open and locked while this process lives.
    _marker: File,
    staged: PathBuf,
    target: PathBuf,
    kind: OutputKind,
    removed: Vec<PathBuf>,
}

impl StagedOutput {
    /// Creates the private folder for output `target` of `kind`, after removing the folders
    /// earlier writers of `target` left when they died.
    pub fn new(target: &Path, kind: OutputKind) -> Result<Self> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::Invalid(format!("{}: not a file name", target.display())))?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let removed = remove_abandoned(parent, &name);
        let dir = tempfile::Builder::new()
            .prefix(&prefix(&name))
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        // Locked under another name first and only then renamed to the marker's, so that no
        // other process ever sees an unlocked marker of a live writer.
        let fresh = dir.path().join(".gencast-partial-new");
        let marker = File::create(&fresh).map_err(|e| Error::io(&fresh, e))?;
        super::lock_exclusive(&marker, &fresh, target)?;
        let marked = dir.path().join(MARKER);
        std::fs::rename(&fresh, &marked).map_err(|e| Error::io(&marked, e))?;
        let staged = dir.path().join(&name);
        Ok(StagedOutput {
            dir,
            _marker: marker,
            staged,
            target: target.to_path_buf(),
            kind,
            removed,
        })
    }

    /// The folders of earlier writers of this output that died, removed on creation.
    pub fn removed(&self) -> &[PathBuf] {
        &self.removed
    }

    /// Where to write the output (nothing exists there yet).
    pub fn path(&self) -> &Path {
        &self.staged
    }

    /// Moves the written output to its final name and removes the private folder. Without
    /// `overwrite` an existing output is never replaced (for a file the move is a hard link,
    /// which fails atomically when the name is taken); with it, an existing file output, or a
    /// Zarr store for a store output, is replaced, and anything else is refused.
    pub fn commit(self, overwrite: bool) -> Result<()> {
        let target = &self.target;
        if !self.staged.exists() {
            return Err(Error::Invalid(format!(
                "{}: nothing was written",
                target.display()
            )));
        }
        check_replaceable(target, self.kind, overwrite)?;
        let io = |e| Error::io(target, e);
        match (self.kind, target.symlink_metadata().is_ok()) {
            (OutputKind::File, true) => std::fs::rename(&self.staged, target).map_err(io)?,
            (OutputKind::File, false) => match std::fs::hard_link(&self.staged, target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(exists(target));
                }
                // A file system without hard links: the name was free a moment ago.
                Err(_) => std::fs::rename(&self.staged, target).map_err(io)?,
            },
            (OutputKind::Store, true) => {
                // The old store is moved into the private folder (removed with it), and moved
                // back if the new one cannot take its place.
                let old = self.dir.path().join(".replaced");
                std::fs::rename(target, &old).map_err(io)?;
                if let Err(e) = std::fs::rename(&self.staged, target) {
                    let _ = std::fs::rename(&old, target);
                    return Err(io(e));
                }
            }
            (OutputKind::Store, false) => std::fs::rename(&self.staged, target).map_err(io)?,
        }
        Ok(())
    }
}

/// The error for an output that exists when it may not be replaced.
fn exists(target: &Path) -> Error {
    Error::Invalid(format!(
        "{} already exists; give WriteMode::overwrite to replace it",
        target.display()
    ))
}

/// Checks that `target` may be written as `kind`: it is absent, or `overwrite` is given and it
/// is a file (a Zarr store for a store output). A folder that is not a Zarr store is never
/// replaced, with or without `overwrite`.
pub fn check_replaceable(target: &Path, kind: OutputKind, overwrite: bool) -> Result<()> {
    let Ok(meta) = target.symlink_metadata() else {
        return Ok(());
    };
    let refuse = |what: &str| {
        Err(Error::Invalid(format!(
            "{} exists and is {what}; refusing to replace it",
            target.display()
        )))
    };
    match kind {
        OutputKind::File if target.is_dir() => refuse("a folder"),
        OutputKind::Store if !meta.is_dir() => refuse("not a Zarr store (a folder)"),
        OutputKind::Store if !is_zarr_store(target) => refuse("a folder but not a Zarr store"),
        _ if !overwrite => Err(exists(target)),
        _ => Ok(()),
    }
}

/// Removes the private folders of output `name` in `parent` whose marker no live process
/// holds, and returns them. Only folders with this output's prefix and the marker are
/// considered; errors leave them in place.
fn remove_abandoned(parent: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = prefix(name);
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return removed;
    };
    for entry in entries.flatten() {
        let mine = entry.file_name().to_string_lossy().starts_with(&prefix)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !mine {
            continue;
        }
        let folder = entry.path();
        let Ok(marker) = File::open(folder.join(MARKER)) else {
            continue;
        };
        if marker.try_lock().is_ok() && std::fs::remove_dir_all(&folder).is_ok() {
            removed.push(folder);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_file_appears_only_on_commit_and_replaces_only_with_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.nc");
        let s = StagedOutput::new(&out, OutputKind::File).unwrap();
        std::fs::write(s.path(), b"one").unwrap();
        assert!(!out.exists());
        s.commit(false).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        assert_eq!(names(dir.path()), ["a.nc"]);

        let s = StagedOutput::new(&out, OutputKind::File).unwrap();
        std::fs::write(s.path(), b"two").unwrap();
        let err = s.commit(false).unwrap_err().to_string();
        assert!(
            err.contains("already exists") && err.contains("WriteMode::overwrite"),
            "{err}"
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        assert_eq!(names(dir.path()), ["a.nc"], "the refused copy is removed");

        let s = StagedOutput::new(&out, OutputKind::File).unwrap();
        std::fs::write(s.path(), b"two").unwrap();
        s.commit(true).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["a.nc"]);
    }

    #[test]
    fn a_store_replaces_only_a_store_and_a_dropped_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s.zarr");
        // A user's folder of that name, and a user's `s.zarr.tmp`: never touched.
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        std::fs::create_dir(dir.path().join("s.zarr.tmp")).unwrap();
        let s = StagedOutput::new(&out, OutputKind::Store).unwrap();
        std::fs::create_dir(s.path()).unwrap();
        std::fs::write(s.path().join(".zgroup"), b"{}").unwrap();
        let err = s.commit(true).unwrap_err().to_string();
        assert!(err.contains("not a Zarr store"), "{err}");
        assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
        assert_eq!(names(dir.path()), ["s.zarr", "s.zarr.tmp"]);

        // An earlier store is replaced with --overwrite only.
        std::fs::remove_dir_all(&out).unwrap();
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join(".zgroup"), b"old").unwrap();
        let s = StagedOutput::new(&out, OutputKind::Store).unwrap();
        std::fs::create_dir(s.path()).unwrap();
        std::fs::write(s.path().join(".zgroup"), b"new").unwrap();
        let s2 = StagedOutput::new(&out, OutputKind::Store).unwrap();
        std::fs::create_dir(s2.path()).unwrap();
        assert!(s
            .commit(false)
            .unwrap_err()
            .to_string()
            .contains("WriteMode::overwrite"));
        assert_eq!(std::fs::read(out.join(".zgroup")).unwrap(), b"old");
        std::fs::write(s2.path().join(".zgroup"), b"new").unwrap();
        s2.commit(true).unwrap();
        assert_eq!(std::fs::read(out.join(".zgroup")).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["s.zarr", "s.zarr.tmp"]);

        // Dropped before commit: its folder goes, nothing else.
        let s = StagedOutput::new(&dir.path().join("t.zarr"), OutputKind::Store).unwrap();
        std::fs::create_dir(s.path()).unwrap();
        drop(s);
        assert_eq!(names(dir.path()), ["s.zarr", "s.zarr.tmp"]);
    }

    #[test]
    fn only_abandoned_folders_of_this_output_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.nc");
        // A live writer's folder (its marker locked) and a dead one's (lock released, folder
        // kept, as after SIGKILL).
        let live = StagedOutput::new(&out, OutputKind::File).unwrap();
        let dead = StagedOutput::new(&out, OutputKind::File).unwrap();
        std::fs::write(dead.path(), b"partial").unwrap();
        let StagedOutput {
            dir: d, _marker, ..
        } = dead;
        drop(_marker);
        let dead_dir = d.keep();
        // Folders that look alike but are not ours: no marker, or another output's prefix.
        let unmarked = dir.path().join(".a.nc.partial-user");
        std::fs::create_dir(&unmarked).unwrap();
        let other = StagedOutput::new(&dir.path().join("b.nc"), OutputKind::File).unwrap();
        let StagedOutput {
            dir: od,
            _marker: om,
            ..
        } = other;
        drop(om);
        let other_dir = od.keep();

        let next = StagedOutput::new(&out, OutputKind::File).unwrap();
        assert!(!dead_dir.exists(), "the abandoned folder is removed");
        assert_eq!(next.removed(), std::slice::from_ref(&dead_dir));
        assert!(
            live.path().parent().unwrap().is_dir(),
            "a live writer's is kept"
        );
        assert!(unmarked.is_dir() && other_dir.is_dir());
        drop(next);
        drop(live);
    }
}
