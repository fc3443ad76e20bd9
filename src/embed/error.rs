//! Errors of the embedder layer. Each maps to the engine's [`EmbedFailure`] kind
//! (one place: [`EmbedError::failure`]), which every transport maps to its codes.

use thiserror::Error;

use crate::edge::EdgeError;
use crate::engine::{EmbedFailure, EmbedFailureKind};

#[derive(Debug, Error)]
pub enum EmbedError {
    #[error("cannot load the model at {dir}: {reason}")]
    Model { dir: String, reason: String },
    #[error("bad embedder configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Edge(#[from] EdgeError),
    #[error("{url} answered without usable embeddings: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("{0}")]
    Input(String),
}

impl EmbedError {
    /// The engine's view of this error.
    pub fn failure(&self) -> EmbedFailure {
        let kind = match self {
            EmbedError::Model { .. } | EmbedError::Config(_) => EmbedFailureKind::Unavailable,
            EmbedError::Input(_) => EmbedFailureKind::Input,
            EmbedError::BadAnswer { .. } => EmbedFailureKind::BadUpstream,
            EmbedError::Edge(e) => match e {
                EdgeError::Busy { .. } | EdgeError::Stopped | EdgeError::Start(_) => {
                    EmbedFailureKind::Unavailable
                }
                EdgeError::Timeout { .. } => EmbedFailureKind::Timeout,
                EdgeError::Connect { .. } => EmbedFailureKind::BadUpstream,
                EdgeError::Status { status, .. } if (400..500).contains(status) => {
                    EmbedFailureKind::Rejected
                }
                EdgeError::Status { .. }
                | EdgeError::TooLarge { .. }
                | EdgeError::Decode { .. }
                | EdgeError::Job(_) => EmbedFailureKind::BadUpstream,
            },
        };
        EmbedFailure {
            kind,
            message: self.to_string(),
        }
    }
}
