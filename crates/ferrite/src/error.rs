//! The one public error type.

use ferrite_format::FormatError;
use ferrite_graph::GraphError;
use ferrite_runtime::RuntimeError;
pub use ferrite_runtime::{ErrorKind, Location};

/// Any ferrite failure: a [`kind`](Error::kind) to branch on, where it
/// happened, and a message for people.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    location: Location,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Subgraph, op index, op name and tensor, where known.
    pub fn location(&self) -> &Location {
        &self.location
    }

    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            location: Location::default(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        let kind = match &e {
            FormatError::Malformed { .. } | FormatError::Invalid { .. } => {
                ErrorKind::MalformedModel
            }
            FormatError::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            FormatError::Io { .. } => ErrorKind::Io,
            FormatError::Write(_) => ErrorKind::Unsupported,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<GraphError> for Error {
    fn from(e: GraphError) -> Self {
        Error::new(ErrorKind::MalformedModel, e.to_string())
    }
}

impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        Error {
            kind: e.kind,
            message: e.to_string(),
            location: e.location,
        }
    }
}
