//! The machine godrv runs on, in Go's names (`GOOS`, `GOARCH`): the one table both the planner
//! (is this a cross build?) and `godrv exec` (which `pkg/tool/<goos>_<goarch>`) use.

/// Go's `GOOS` for the operating system godrv runs on.
pub fn goos() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// Go's `GOARCH` for the architecture godrv runs on (Rust's name when Go's is the same).
pub fn goarch() -> &'static str {
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if little => "ppc64le",
        "mips" if little => "mipsle",
        "mips64" if little => "mips64le",
        "loongarch64" => "loong64",
        // arm, powerpc64 (big-endian), mips, mips64, riscv64, s390x, wasm32 as Go spells them
        // (Go's `wasm` for wasm32 does not run godrv).
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_has_go_names() {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        assert_eq!((goos(), goarch()), ("linux", "amd64"));
        #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
        assert_eq!((goos(), goarch()), ("linux", "arm64"));
        assert!(!goarch().is_empty() && !goos().is_empty());
    }
}
