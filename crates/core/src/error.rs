//! One error type for the core, one variant per kind of failure. Messages are written where the
//! failure is understood and travel unchanged to JavaScript (see the wasm crate's `handles.rs`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bad input: which argument or field, and why.
    Invalid(String),
    /// An LP over a region could not be solved to a certified optimum: a solver failure, which
    /// says nothing about the region (never read it as "empty").
    Lp(String),
    /// The set an LP was asked about (a region, cell or piece) is empty, proven by a verified
    /// Farkas certificate: a combination of its rows that no point of the box satisfies.
    Empty(String),
    /// A region splits into more pieces than the certificate's piece limit allows.
    PieceLimit { limit: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => write!(f, "{}", m),
            Error::Lp(m) | Error::Empty(m) => write!(f, "{}", m),
            Error::PieceLimit { limit } => write!(
                f,
                "certificate: the region splits into more than {} pieces (raise the piece limit, or use fewer or smaller-radius patches)",
                limit
            ),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid<T>(msg: String) -> Result<T> {
    Err(Error::Invalid(msg))
}

/// Prefixes the message of an LP failure or proven emptiness with what the LP was for (other
/// errors pass unchanged).
/// `what` runs only on failure, so hot paths pay nothing for the message.
pub(crate) fn lp_context<F: FnOnce() -> String>(what: F) -> impl FnOnce(Error) -> Error {
    move |e| match e {
        Error::Lp(m) => Error::Lp(format!("{}: {}", what(), m)),
        Error::Empty(m) => Error::Empty(format!("{}: {}", what(), m)),
        other => other,
    }
}
