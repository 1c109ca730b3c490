//! One error type for both protocols; each kind maps to one HTTP status and
//! one gRPC code.

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Malformed or inconsistent request; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The model exists but is not ready (it failed to load).
    #[error("{0}")]
    Unavailable(String),
    /// The model's queue or sequence slots are full.
    #[error("{0}")]
    Overloaded(String),
    #[error("{0}")]
    Deadline(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = ServeError> = std::result::Result<T, E>;

impl ServeError {
    pub fn http_status(&self) -> u16 {
        match self {
            ServeError::BadRequest(_) => 400,
            ServeError::NotFound(_) => 404,
            ServeError::TooLarge(_) => 413,
            ServeError::Overloaded(_) => 429,
            ServeError::Internal(_) => 500,
            ServeError::Unavailable(_) => 503,
            ServeError::Deadline(_) => 504,
        }
    }

    pub fn grpc_status(&self) -> tonic::Status {
        let msg = self.to_string();
        match self {
            ServeError::BadRequest(_) => tonic::Status::invalid_argument(msg),
            ServeError::NotFound(_) => tonic::Status::not_found(msg),
            ServeError::TooLarge(_) | ServeError::Overloaded(_) => {
                tonic::Status::resource_exhausted(msg)
            }
            ServeError::Internal(_) => tonic::Status::internal(msg),
            ServeError::Unavailable(_) => tonic::Status::unavailable(msg),
            ServeError::Deadline(_) => tonic::Status::deadline_exceeded(msg),
        }
    }

    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        ServeError::BadRequest(msg.into())
    }
}

impl From<ferrite::Error> for ServeError {
    fn from(e: ferrite::Error) -> Self {
        use ferrite::ErrorKind::*;
        match e.kind() {
            InvalidInput | LimitExceeded => ServeError::BadRequest(e.to_string()),
            _ => ServeError::Internal(e.to_string()),
        }
    }
}
