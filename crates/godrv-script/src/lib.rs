//! Parse `go build -n` scripts into a typed action graph.

mod error;
mod graph;

use std::path::Path;

pub use error::ParseError;
pub use graph::{Action, ActionGraph, ActionId, ActionKind, BadActionId, Command, Step};

/// Parse the script `go build -n` printed on stderr; `start_dir` is the
/// directory go was started in (what `cd .` means).
pub fn parse_script(script: &str, start_dir: &Path) -> Result<ActionGraph, ParseError> {
    let _ = (script, start_dir);
    Err(ParseError::Invalid {
        line: 0,
        message: "parser not written yet".into(),
        text: String::new(),
    })
}
