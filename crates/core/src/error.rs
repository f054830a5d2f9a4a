//! One error type for the core. Messages are written where the failure is understood and travel
//! unchanged to JavaScript (see the wasm crate's `last_error`).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Bad input: which argument or field, and why.
    Invalid(String),
    /// An LP over a region could not be solved to a certified optimum.
    Lp(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => write!(f, "{}", m),
            Error::Lp(m) => write!(f, "{}", m),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid<T>(msg: String) -> Result<T> {
    Err(Error::Invalid(msg))
}
