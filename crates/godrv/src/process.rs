//! Running a child process: one helper that runs it, checks its exit status and reports its
//! standard error.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};

/// Runs `cmd` to completion and returns its output if it exited successfully; otherwise an error
/// naming `what` (the command as a user would type it, e.g. "`go list std`"), the directory it ran
/// in (if given) and its exit status, followed by its standard error.
pub fn run(cmd: &mut Command, what: &str, dir: Option<&Path>) -> Result<Output> {
    let output = cmd
        .output()
        .with_context(|| format!("running {}", cmd.get_program().to_string_lossy()))?;
    if !output.status.success() {
        let place = dir
            .map(|d| format!(" in {}", d.display()))
            .unwrap_or_default();
        bail!(
            "{what} failed{place} ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_the_command_and_shows_its_stderr() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo out; echo broken >&2; exit 3"]);
        let err = run(&mut cmd, "`sh -c …`", Some(Path::new("/tmp"))).unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.starts_with("`sh -c …` failed in /tmp (exit status: 3):\n"),
            "{message}"
        );
        assert!(message.ends_with("broken"), "{message}");
    }

    #[test]
    fn a_success_returns_stdout() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo out"]);
        assert_eq!(run(&mut cmd, "sh", None).unwrap().stdout, b"out\n");
    }

    #[test]
    fn a_missing_program_is_named() {
        let mut cmd = Command::new("/nonexistent/go");
        let err = run(&mut cmd, "`go version`", None).unwrap_err();
        assert!(
            format!("{err:#}").contains("running /nonexistent/go"),
            "{err:#}"
        );
    }
}
