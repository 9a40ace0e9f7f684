//! One variable's array of a forecast store, opened through zarrs: its chunks encoded and
//! decoded with the array's own codec chain (the caller writes the bytes, atomically).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zarrs::array::{
    Array, ArrayMetadata, ArrayToBytesCodecTraits, CodecOptions, FromArrayBytes, IntoArrayBytes,
};
use zarrs::filesystem::FilesystemStore;

use super::create::{Geometry, CODECS};
use crate::data::sources::zarr::zstd_frames_exceed;
use crate::{Error, Result};

/// A variable's array in the store.
pub(super) struct VariableArray {
    array: Array<FilesystemStore>,
    /// The array's `zarr.json`, for messages.
    meta_path: PathBuf,
}

impl VariableArray {
    /// Opens array `name` of the store at `root` (`storage`), refusing one whose shape, chunk
    /// shape, data type or codecs are not `geometry`'s float32 `bytes` + `zstd` chunks, so that
    /// no later chunk operation meets sizes other than the forecast's.
    pub(super) fn open(
        storage: &Arc<FilesystemStore>,
        root: &Path,
        name: &str,
        geometry: &Geometry,
    ) -> Result<Self> {
        let meta_path = root.join(name).join("zarr.json");
        let bad = |detail: String| Error::format(&meta_path, format!("array `{name}`"), detail);
        let array =
            Array::open(storage.clone(), &format!("/{name}")).map_err(|e| bad(e.to_string()))?;
        let ArrayMetadata::V3(meta) = array.metadata() else {
            return Err(bad("is Zarr v2 metadata; expected Zarr v3".into()));
        };
        let codecs: Vec<&str> = meta.codecs.iter().map(|c| c.name()).collect();
        let grid = serde_json::to_value(&meta.chunk_grid).unwrap_or_default();
        let regular = serde_json::json!({
            "name": "regular",
            "configuration": {"chunk_shape": geometry.chunk},
        });
        if meta.shape != geometry.shape
            || grid != regular
            || meta.data_type.name() != "float32"
            || codecs != CODECS
        {
            return Err(bad(format!(
                "shape {:?}, chunk grid {}, data type `{}`, codecs {codecs:?}; expected shape \
                 {:?} in float32 chunks of {:?} with codecs {CODECS:?}",
                meta.shape,
                grid,
                meta.data_type.name(),
                geometry.shape,
                geometry.chunk,
            )));
        }
        Ok(VariableArray { array, meta_path })
    }

    /// The chunk file of chunk `indices` in the store at `root`.
    pub(super) fn chunk_path(&self, root: &Path, indices: &[u64]) -> PathBuf {
        root.join(self.array.chunk_key(indices).as_str())
    }

    /// An error about chunk `indices`.
    fn error(&self, indices: &[u64], detail: impl std::fmt::Display) -> Error {
        Error::format(
            &self.meta_path,
            format!("chunk {indices:?}"),
            detail.to_string(),
        )
    }

    /// `values` (the whole chunk `indices`) encoded with the array's codecs: the bytes of its
    /// chunk file.
    pub(super) fn encode(&self, indices: &[u64], values: &[f32]) -> Result<Vec<u8>> {
        let a = &self.array;
        let err = |e: &dyn std::fmt::Display| self.error(indices, e);
        let shape = a.chunk_shape(indices).map_err(|e| err(&e))?;
        let bytes = values
            .into_array_bytes(a.data_type())
            .map_err(|e| err(&e))?;
        let encoded = a
            .codecs()
            .encode(
                bytes,
                &shape,
                a.data_type(),
                a.fill_value(),
                &CodecOptions::default(),
            )
            .map_err(|e| err(&e))?;
        Ok(encoded.into_owned())
    }

    /// Chunk `indices` of `len` values decoded from `packed` (the bytes of its chunk file at
    /// `path`). A frame that could decompress to more than the chunk is refused before
    /// anything is allocated for it.
    pub(super) fn decode(
        &self,
        path: &Path,
        indices: &[u64],
        packed: Vec<u8>,
        len: usize,
    ) -> Result<Vec<f32>> {
        let bad = |detail: String| Error::format(path, "chunk", detail);
        let size = 4 * len as u64;
        if let Some(detail) = zstd_frames_exceed(&packed, size) {
            return Err(bad(detail));
        }
        let a = &self.array;
        let shape = a.chunk_shape(indices).map_err(|e| self.error(indices, e))?;
        let decoded = a
            .codecs()
            .decode(
                Cow::Owned(packed),
                &shape,
                a.data_type(),
                a.fill_value(),
                &CodecOptions::default(),
            )
            .map_err(|e| bad(format!("does not decode: {e}")))?;
        let shape: Vec<u64> = shape.iter().map(|s| s.get()).collect();
        let values = Vec::<f32>::from_array_bytes(decoded, &shape, a.data_type())
            .map_err(|e| bad(format!("does not decode: {e}")))?;
        if values.len() != len {
            return Err(bad(format!(
                "{} values decoded, expected {len}",
                values.len()
            )));
        }
        Ok(values)
    }
}
