//! godrv: build Go programs with Nix, one derivation per Go package.

use anyhow::Result;
use clap::Parser;

mod check;
mod cli;
mod gobuild;
mod lockfile;
mod modfiles;
mod path_toolchain;

fn main() -> Result<()> {
    cli::Cli::parse().run()
}
