//! Owning the bytes of a model file: memory-mapped or in memory.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use crate::error::{FormatError, Result};

/// The bytes of a model. Mapping avoids reading large weights into memory;
/// constant tensors then borrow straight from the page cache.
pub enum ModelBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl ModelBytes {
    /// Maps the file at `path` read-only.
    pub fn map(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |source| FormatError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.len() == 0 {
            // Zero-length files cannot be mapped on every platform.
            return Ok(ModelBytes::Owned(Vec::new()));
        }
        // SAFETY: the mapping is read-only and private to this process. The
        // one hazard is another process truncating or rewriting the file while
        // it is mapped, which the OS cannot prevent; users who need protection
        // from that load from bytes instead (`ModelBytes::Owned`).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Ok(ModelBytes::Mapped(map))
    }

    /// Reads the whole file into memory.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        std::fs::read(path)
            .map(ModelBytes::Owned)
            .map_err(|source| FormatError::Io {
                path: path.display().to_string(),
                source,
            })
    }
}

impl Deref for ModelBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ModelBytes::Mapped(m) => m,
            ModelBytes::Owned(v) => v,
        }
    }
}

impl From<Vec<u8>> for ModelBytes {
    fn from(v: Vec<u8>) -> Self {
        ModelBytes::Owned(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_bytes_equal_file_contents() {
        let dir = std::env::temp_dir().join(format!("ferrite-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.bin");
        let content: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let mapped = ModelBytes::map(&path).unwrap();
        assert!(matches!(mapped, ModelBytes::Mapped(_)));
        assert_eq!(&mapped[..], &content[..]);
        std::fs::write(dir.join("empty"), b"").unwrap();
        assert!(ModelBytes::map(dir.join("empty")).unwrap().is_empty());
        assert!(matches!(
            ModelBytes::map(dir.join("missing")),
            Err(FormatError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
