//! Parse a `go build -n` script and print its action graph as JSON.
//!
//! `cargo run -p godrv-script --example parse -- START_DIR SCRIPT`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [start, file] = args.as_slice() else {
        eprintln!("usage: parse START_DIR SCRIPT");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match godrv_script::parse_script(&text, Path::new(start)) {
        Ok(graph) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&graph).expect("graph serializes")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
