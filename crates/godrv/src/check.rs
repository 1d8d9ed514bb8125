//! `godrv check`: run programs and compare what they print (the builder of `testExamples`).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// One program to run and what it must do.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    pub name: String,
    pub program: String,
    #[serde(default)]
    pub stdout: String,
    /// Instead of comparing `stdout` exactly: stdout must contain this (test output has timings).
    #[serde(default)]
    pub stdout_contains: Option<String>,
    /// Do not run the program (it is for another platform): its file must start with these
    /// bytes (the UTF-8 encoding of the string, e.g. "\u007fELF" or "MZ").
    #[serde(default)]
    pub starts_with: Option<String>,
    /// The program must exit non-zero (and still print `stdout`).
    #[serde(default)]
    pub expect_failure: bool,
}

/// Runs every check, writes a report to `out`, fails if any check failed.
pub fn run(checks_json: &str, out: &Path) -> Result<()> {
    let checks: Vec<Check> = serde_json::from_str(checks_json).context("reading godrvChecks")?;
    let mut report = String::new();
    let mut failed = Vec::new();
    for check in &checks {
        if let Some(magic) = &check.starts_with {
            let ok = std::fs::read(&check.program)
                .map(|bytes| bytes.starts_with(magic.as_bytes()))
                .unwrap_or(false);
            report.push_str(&format!(
                "{} {}: {} (starts with {magic:?})\n",
                if ok { "ok" } else { "FAILED" },
                check.name,
                check.program
            ));
            if !ok {
                failed.push(format!(
                    "{}: {} is missing or does not start with {magic:?}",
                    check.name, check.program
                ));
            }
            continue;
        }
        let output = Command::new(&check.program)
            .output()
            .with_context(|| format!("{}: running {}", check.name, check.program))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let status_ok = output.status.success() != check.expect_failure;
        let stdout_ok = match &check.stdout_contains {
            Some(part) => stdout.contains(part.as_str()),
            None => stdout == check.stdout,
        };
        let ok = status_ok && stdout_ok;
        let verdict = if ok { "ok" } else { "FAILED" };
        report.push_str(&format!(
            "{verdict} {}: {} ({})\n",
            check.name, check.program, output.status
        ));
        if !ok {
            failed.push(format!(
                "{}: expected {}{:?}{}, got {:?} ({}); stderr: {}",
                check.name,
                if check.stdout_contains.is_some() {
                    "output containing "
                } else {
                    ""
                },
                check.stdout_contains.as_ref().unwrap_or(&check.stdout),
                if check.expect_failure {
                    " and a failure"
                } else {
                    ""
                },
                stdout,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    report.push_str(&format!(
        "{} passed, {} failed\n",
        checks.len() - failed.len(),
        failed.len()
    ));
    print!("{report}");
    if !failed.is_empty() {
        bail!("{} example(s) failed:\n{}", failed.len(), failed.join("\n"));
    }
    std::fs::write(out, report).with_context(|| format!("writing {}", out.display()))
}
