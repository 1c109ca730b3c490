//! Runtime errors, each with a kind and the place it happened.

use ferrite_kernels::KernelError;

/// The broad class of an error, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    MalformedModel,
    Unsupported,
    InvalidInput,
    State,
    LimitExceeded,
    Io,
}

/// Where in the model an error happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    pub subgraph: Option<usize>,
    pub op_index: Option<usize>,
    pub op: Option<String>,
    pub tensor: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = self.subgraph {
            parts.push(format!("subgraph {s}"));
        }
        if let Some(i) = self.op_index {
            parts.push(format!("op {i}"));
        }
        if let Some(o) = &self.op {
            parts.push(o.clone());
        }
        if let Some(t) = &self.tensor {
            parts.push(format!("tensor '{t}'"));
        }
        f.write_str(&parts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}{message}", if location.to_string().is_empty() { String::new() } else { format!("{location}: ") })]
pub struct RuntimeError {
    pub kind: ErrorKind,
    pub location: Location,
    pub message: String,
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

impl RuntimeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        RuntimeError {
            kind,
            location: Location::default(),
            message: message.into(),
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        // Keep the innermost tensor name when the outer context has none.
        let tensor = location.tensor.clone().or(self.location.tensor.take());
        self.location = Location { tensor, ..location };
        self
    }

    pub fn with_tensor(mut self, name: &str) -> Self {
        self.location.tensor = Some(name.to_string());
        self
    }

    /// Adds context to the message, in parentheses.
    pub fn note(mut self, note: impl std::fmt::Display) -> Self {
        self.message = format!("{} ({note})", self.message);
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("unsupported: {}", message.into()),
        )
    }

    pub fn state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::State, message)
    }
}

impl From<KernelError> for RuntimeError {
    fn from(e: KernelError) -> Self {
        match e {
            KernelError::Unsupported(m) => RuntimeError::unsupported(m),
            KernelError::InvalidInput(m) => RuntimeError::invalid(m),
        }
    }
}
