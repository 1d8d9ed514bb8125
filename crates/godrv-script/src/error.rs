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
    /// The lines form a graph with a dependency cycle (never seen from go).
    #[error("dependency cycle among actions {}", .actions.join(", "))]
    Cycle { actions: Vec<String> },
    /// The start directory is not an absolute UTF-8 path.
    #[error("start directory must be an absolute UTF-8 path: {0:?}")]
    StartDir(std::path::PathBuf),
    /// The script parses but builds nothing: go found every output up to
    /// date (for example only `touch TARGET`). Run `go build -n` with an
    /// empty `GOCACHE` to get every action.
    #[error("script has no actions (outputs up to date in go's build cache?): {}", .lines.join("\n"))]
    NoActions { lines: Vec<String> },
    /// `go` itself failed (or printed no actions): its own `go: ` / error
    /// lines, verbatim.
    #[error("go failed: {}", .lines.join("\n"))]
    GoFailed { lines: Vec<String> },
}
