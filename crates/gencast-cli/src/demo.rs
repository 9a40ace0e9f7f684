//! The bundled demo: a tiny random-weight GenCast in the official file formats, with its example
//! dataset and statistics (1.6 MB), compiled into the binary so the demo runs from any folder.
//! On first use the files are written to a folder under the system's temporary directory named
//! after their content, so every run of one binary sees the same paths (a forecast records its
//! dataset's name) and concurrent runs write identical bytes.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

macro_rules! demo_file {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../gencast/tests/fixtures/tiny-mha/", $name)).as_slice(),
        )
    };
}

/// The demo's checkpoint file name.
pub(crate) const CHECKPOINT: &str = "checkpoint.npz";
/// The demo's example dataset file name.
pub(crate) const DATASET: &str = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc";

/// The demo files: checkpoint, example dataset and the four statistics files.
const FILES: [(&str, &[u8]); 6] = [
    demo_file!("checkpoint.npz"),
    demo_file!("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"),
    demo_file!("mean_by_level.nc"),
    demo_file!("stddev_by_level.nc"),
    demo_file!("diffs_stddev_by_level.nc"),
    demo_file!("min_by_level.nc"),
];

/// The folder holding the demo files, written there first if needed.
pub(crate) fn dir() -> anyhow::Result<PathBuf> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (name, bytes) in FILES {
        (name, bytes).hash(&mut h);
    }
    let dir = std::env::temp_dir().join(format!("gencast-demo-{:016x}", h.finish()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the demo folder {}", dir.display()))?;
    for (name, bytes) in FILES {
        let path = dir.join(name);
        if std::fs::read(&path).is_ok_and(|b| b == bytes) {
            continue;
        }
        // Written under a private name, then renamed: a reader never sees a partial file.
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.with_context(|| format!("writing the demo file {}", path.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_is_written_once_with_its_exact_bytes() {
        let a = dir().unwrap();
        assert_eq!(dir().unwrap(), a);
        for (name, bytes) in FILES {
            assert_eq!(std::fs::read(a.join(name)).unwrap(), bytes, "{name}");
        }
        // A damaged copy is rewritten.
        std::fs::write(a.join(CHECKPOINT), b"x").unwrap();
        dir().unwrap();
        assert_eq!(std::fs::read(a.join(CHECKPOINT)).unwrap(), FILES[0].1);
        assert_eq!(FILES[1].0, DATASET);
    }
}
