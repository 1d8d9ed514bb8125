//! Errors of both parsing stages.

/// Why a script could not be turned into an [`ActionGraph`](crate::ActionGraph).
///
/// Line and column numbers are 1-based; columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Stage 1: a line matches no form of the grammar.
    #[error("line {line}, column {column}: {message}: {text:?}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
        /// The whole offending line.
        text: String,
    },
    /// Stage 2: the lines parse but do not make a consistent action graph.
    #[error("line {line}: {message}: {text:?}")]
    Invalid {
        line: usize,
        message: String,
        text: String,
    },
    /// `go` itself failed (or printed no actions): its own `go: ` / error
    /// lines, verbatim.
    #[error("go failed: {}", .lines.join("\n"))]
    GoFailed { lines: Vec<String> },
}
