use thiserror::Error;

/// Everything that can go wrong while loading, verifying or writing a model file.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The bytes are not a well-formed TFLite flatbuffer. `path` names the field
    /// (for example `subgraphs[0].tensors[3].shape`), `offset` the byte position.
    #[error("malformed model at {path} (byte {offset}): {reason}")]
    Malformed {
        path: String,
        offset: usize,
        reason: String,
    },
    /// The flatbuffer is well formed but its contents contradict each other
    /// (an index out of range, a buffer too small for its tensor, ...).
    #[error("invalid model at {path}: {reason}")]
    Invalid { path: String, reason: String },
    /// A caller-set limit (file size, tensor count, rank, nesting) was exceeded.
    #[error("limit exceeded at {path}: {what} is {actual}, limit is {limit}")]
    LimitExceeded {
        path: String,
        what: &'static str,
        actual: u64,
        limit: u64,
    },
    /// The writer cannot express something in the model.
    #[error("cannot write model: {0}")]
    Write(String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = FormatError> = std::result::Result<T, E>;

impl FormatError {
    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        FormatError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Prefixes the field path of a malformed/invalid error so that nested
    /// decoders can report the full location without threading paths down.
    pub(crate) fn within(self, prefix: &str) -> Self {
        let join = |p: String| {
            if p.is_empty() {
                prefix.to_string()
            } else if p.starts_with('[') {
                format!("{prefix}{p}")
            } else {
                format!("{prefix}.{p}")
            }
        };
        match self {
            FormatError::Malformed {
                path,
                offset,
                reason,
            } => FormatError::Malformed {
                path: join(path),
                offset,
                reason,
            },
            FormatError::Invalid { path, reason } => FormatError::Invalid {
                path: join(path),
                reason,
            },
            FormatError::LimitExceeded {
                path,
                what,
                actual,
                limit,
            } => FormatError::LimitExceeded {
                path: join(path),
                what,
                actual,
                limit,
            },
            other => other,
        }
    }
}
