//! Command-line interface: each subcommand wires library crates together.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Build Go programs with Nix, one derivation per Go package.
#[derive(Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a `go build -n` script and print its action graph as JSON.
    Parse {
        /// The directory `go` was started in (what `cd .` means in the script).
        #[arg(long)]
        cwd: PathBuf,
        /// The script file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
}

impl Cli {
    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Parse { cwd, file } => {
                let text = read_input(&file)?;
                let graph = godrv_script::parse_script(&text, &cwd)
                    .with_context(|| format!("parsing go build -n script {}", file.display()))?;
                serde_json::to_writer_pretty(std::io::stdout().lock(), &graph)?;
                println!();
                Ok(())
            }
        }
    }
}

fn read_input(file: &PathBuf) -> Result<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
    } else {
        text = std::fs::read_to_string(file)
            .with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(text)
}
