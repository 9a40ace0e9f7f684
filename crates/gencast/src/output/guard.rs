//! Output safety: an output never replaces one of the run's inputs, its location is checked
//! before any computation, writers take an exclusive lock, and inputs are identified by their
//! content (size and xxHash3) so that a resumed run or a second writer can be checked against
//! the files the first one used, wherever they now live.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::{Error, Result};

mod staged;

pub use staged::{check_replaceable, is_zarr_store, StagedOutput};

/// Whether `a` and `b` name the same existing file or folder (same device and inode, or the
/// same canonical path where inodes are not available).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// Whether `a` and `b` name the same place, existing or not: the same existing file, or the
/// same file name in folders that resolve to the same one.
pub fn same_location(a: &Path, b: &Path) -> bool {
    if same_file(a, b) {
        return true;
    }
    let folder = |p: &Path| {
        let parent = match p.parent() {
            Some(q) if !q.as_os_str().is_empty() => q,
            _ => Path::new("."),
        };
        std::fs::canonicalize(parent).ok()
    };
    a.file_name().is_some()
        && a.file_name() == b.file_name()
        && folder(a).is_some()
        && folder(a) == folder(b)
}

/// Refuses outputs that would replace or write into an input: each of `outputs` (the final
/// name and any temporary or record files a writer creates) is compared with each input
/// (`(role, path)`, e.g. `("--dataset", ds.nc)`) by device and inode, so another spelling of
/// the path, a symbolic or a hard link is caught too; an output inside an input that is a
/// Zarr store (a folder) is refused as well.
pub fn refuse_inputs_as_output(outputs: &[PathBuf], inputs: &[(&str, &Path)]) -> Result<()> {
    for out in outputs {
        for (role, input) in inputs {
            if same_file(out, input) {
                return Err(Error::Invalid(format!(
                    "output {} is the same file as the input {role} {}; writing it would destroy \
                     the input: choose another output name",
                    out.display(),
                    input.display()
                )));
            }
            if is_zarr_store(input) && inside(out, input) {
                return Err(Error::Invalid(format!(
                    "output {} is inside the input {role} {}; writing it would change the \
                     input: choose another output name",
                    out.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// Whether `path` lies below the folder `dir`: one of the folders above `path` (its existing
/// folder resolved, so `..` and links are followed) is `dir`.
fn inside(path: &Path, dir: &Path) -> bool {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(parent) = std::fs::canonicalize(parent) else {
        return false;
    };
    parent.ancestors().any(|a| same_file(a, dir))
}

/// What an output is: one file, or a folder (a Zarr store).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A single file, written under a temporary name and renamed.
    File,
    /// A folder of files (a Zarr store), created when absent.
    Store,
}

/// Checks, before any computation, that `path` can be written as `kind`: it has a file name,
/// its folder exists and accepts new files, and a file output is not an existing folder.
/// Nothing is left behind.
pub fn check_output_location(path: &Path, kind: OutputKind) -> Result<()> {
    let bad = |detail: &str| Error::Invalid(format!("output {}: {detail}", path.display()));
    if path.file_name().is_none() || path.as_os_str().is_empty() {
        return Err(bad("not a file name (it ends in `/`, `.` or `..`)"));
    }
    if kind == OutputKind::File && path.is_dir() {
        return Err(bad("is a folder; give a file name"));
    }
    if kind == OutputKind::Store && path.exists() && !path.is_dir() {
        return Err(bad("exists and is not a folder (a Zarr store is a folder)"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(bad(&format!(
            "its folder {} does not exist",
            parent.display()
        )));
    }
    // The only portable test of "can I create a file here" is to create one.
    let probe = parent.join(format!(
        ".{}.probe-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(bad(&format!(
            "cannot create files in {}: {e}",
            parent.display()
        ))),
    }
}

/// Takes an exclusive lock on `file` (the open temporary or lock file of `output`) without
/// waiting; held until the file is closed. Another holder is reported naming the output.
pub fn lock_exclusive(file: &File, lock_path: &Path, output: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(format!(
            "{}: another process is writing this output (it holds the lock on {}); wait for it \
             to finish or choose another --output",
            output.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(lock_path, e)),
    }
}

/// The content identity of a file: `{"size": bytes, "xxh3": 128-bit hash in hex}`. Reading is
/// streamed, so any file size works. For a directory (a Zarr store) the hash covers each file's
/// relative path and content, in path order, and the size is their total.
pub fn file_identity(path: &Path) -> Result<Value> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut size = 0u64;
    if path.is_dir() {
        let mut files = Vec::new();
        list_files(path, path, &mut files)?;
        files.sort();
        for rel in files {
            hasher.update(rel.as_bytes());
            hasher.update(&[0]);
            size += hash_file(&path.join(&rel), &mut hasher)?;
        }
    } else {
        size = hash_file(path, &mut hasher)?;
    }
    Ok(json!({"size": size, "xxh3": format!("{:032x}", hasher.digest128())}))
}

/// Feeds a file's content to `hasher`; returns its size.
fn hash_file(path: &Path, hasher: &mut xxhash_rust::xxh3::Xxh3) -> Result<u64> {
    let io = |e| Error::io(path, e);
    let mut f = File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(size)
}

/// The files below `dir`, as paths relative to `root` with `/` separators.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let p = entry.path();
        if p.is_dir() {
            list_files(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
    Ok(())
}

/// The first place where two JSON values differ: its dotted path below the top and the two
/// values there (`None` when they are equal). Objects are compared key by key, arrays of equal
/// length element by element, so the message can show the differing field itself.
pub fn first_difference(ours: &Value, theirs: &Value) -> Option<(String, Value, Value)> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let vb = b.get(k).unwrap_or(&Value::Null);
                if let Some((p, x, y)) = first_difference(va, vb) {
                    let path = if p.is_empty() {
                        k.clone()
                    } else if p.starts_with('[') {
                        format!("{k}{p}")
                    } else {
                        format!("{k}.{p}")
                    };
                    return Some((path, x, y));
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| (k.clone(), Value::Null, b[k].clone()))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| {
                first_difference(x, y).map(|(p, x, y)| {
                    let path = if p.is_empty() || p.starts_with('[') {
                        format!("[{i}]{p}")
                    } else {
                        format!("[{i}].{p}")
                    };
                    (path, x, y)
                })
            })
        }
        _ if ours == theirs => None,
        _ => Some((String::new(), ours.clone(), theirs.clone())),
    }
}

/// The subject of a mismatch message for top-level identity field `key`: for `inputs` (an
/// object of file identities by role) the input file whose content differs from the one
/// `earlier` used, otherwise `what`.
pub fn mismatch_subject(
    key: &str,
    ours: &Value,
    theirs: &Value,
    earlier: &str,
    what: &str,
) -> String {
    if key == "inputs" {
        if let Value::Object(files) = ours {
            if let Some(role) = files
                .iter()
                .find(|(role, id)| theirs.get(role.as_str()) != Some(*id))
                .map(|(role, _)| role)
            {
                return format!("input {role}: not the file {earlier} used (its content differs)");
            }
        }
    }
    what.to_string()
}

/// A JSON value shortened for an error message.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_under_another_path_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.nc");
        std::fs::write(&a, b"x").unwrap();
        let dotted = dir.path().join(".").join("a.nc");
        assert!(same_file(&a, &dotted));
        let err = refuse_inputs_as_output(std::slice::from_ref(&dotted), &[("--dataset", &a)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--dataset") && err.contains("destroy"),
            "{err}"
        );
        let b = dir.path().join("b.nc");
        std::fs::hard_link(&a, &b).unwrap();
        assert!(refuse_inputs_as_output(&[b], &[("--dataset", &a)]).is_err());
        let fresh = dir.path().join("new.nc");
        assert!(refuse_inputs_as_output(&[fresh], &[("--dataset", &a)]).is_ok());
    }

    #[test]
    fn locations_are_compared_before_the_files_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let a = dir.path().join("out.nc");
        assert!(same_location(&a, &dir.path().join("sub/../out.nc")));
        assert!(!same_location(&a, &dir.path().join("sub/out.nc")));
        assert!(!same_location(&a, &dir.path().join("out.csv")));
    }

    #[test]
    fn an_output_inside_an_input_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("in.zarr");
        std::fs::create_dir_all(store.join("t2m")).unwrap();
        std::fs::write(store.join(".zgroup"), b"{}").unwrap();
        let inputs = [("--input", store.as_path())];
        for out in [
            store.join("plot.png"),
            store.join("t2m").join("..").join("t2m").join("0.0"),
        ] {
            let err = refuse_inputs_as_output(&[out], &inputs)
                .unwrap_err()
                .to_string();
            assert!(err.contains("inside the input --input"), "{err}");
        }
        // Beside the store, or spelled through it but leading out of it: accepted.
        let beside = store.join("..").join("plot.png");
        assert!(refuse_inputs_as_output(&[beside], &inputs).is_ok());
        assert!(refuse_inputs_as_output(&[dir.path().join("in.zarr.png")], &inputs).is_ok());
        // A plain folder input (e.g. a statistics folder) may hold outputs.
        let stats = dir.path().join("stats");
        std::fs::create_dir(&stats).unwrap();
        assert!(refuse_inputs_as_output(&[stats.join("f.nc")], &[("--stats", &stats)]).is_ok());
    }

    #[test]
    fn identities_follow_content_not_names() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        std::fs::write(&a, b"hello").unwrap();
        std::fs::write(&b, b"hello").unwrap();
        std::fs::write(&c, b"hellp").unwrap();
        let ia = file_identity(&a).unwrap();
        assert_eq!(ia, file_identity(&b).unwrap());
        assert_ne!(ia, file_identity(&c).unwrap());
        assert_eq!(ia["size"], 5);
    }

    #[test]
    fn differences_are_located_to_the_field() {
        let a = json!({"seed": 1, "sampler": {"rho": 7.0, "n": 20}, "l": [1, 2]});
        let b = json!({"seed": 1, "sampler": {"rho": 7.0, "n": 10}, "l": [1, 2]});
        let (p, x, y) = first_difference(&a, &b).unwrap();
        assert_eq!((p.as_str(), x, y), ("sampler.n", json!(20), json!(10)));
        let c = json!({"seed": 1, "sampler": {"rho": 7.0, "n": 20}, "l": [1, 3]});
        assert_eq!(first_difference(&a, &c).unwrap().0, "l[1]");
        assert!(first_difference(&a, &a).is_none());
    }

    #[test]
    fn unusable_output_locations_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_output_location(dir.path(), OutputKind::File)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a folder"), "{err}");
        let err = check_output_location(Path::new("/"), OutputKind::File)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a file name"), "{err}");
        let err = check_output_location(&dir.path().join("no/such/out.nc"), OutputKind::File)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        check_output_location(&dir.path().join("ok.nc"), OutputKind::File).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
