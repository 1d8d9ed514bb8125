//! godrv: build Go programs with Nix, one derivation per Go package of your own code.
//!
//! `cli` parses the command line and dispatches; `planner` (`godrv plan`, inside Nix) and `build`
//! (`godrv build`, outside) run the planning sequence of `plan` (which asks go through `script`,
//! `probes` and `go`) and register its result through `register`. `build_cache` is `godrv build`'s plan cache, `std_cache` its
//! cache of std's plan. `helpers` builds the helper
//! derivations (module downloads, Go's index), `lockfile` reads and writes lockfiles, `check`
//! runs `testExamples`. `skeleton` (with `go_header`) copies a source tree with only what
//! `go build -n` reads of it. `request` holds the request types they read.

use anyhow::Result;
use clap::Parser;

mod build;
mod build_cache;
mod check;
mod cli;
mod fs;
mod go;
mod go_header;
mod helpers;
mod lockfile;
mod modfiles;
mod path_toolchain;
mod plan;
mod planner;
mod probes;
mod process;
mod register;
mod request;
mod script;
mod skeleton;
mod std_cache;

fn main() -> Result<()> {
    cli::Cli::parse().run()
}
