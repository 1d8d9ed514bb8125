//! Placeholders: strings a derivation uses for output paths that are not known when it is written.
//!
//! * [`hash_placeholder`]`("out")` stands for the derivation's *own* output `out` when that
//!   output is content-addressed (floating): `env.out` holds it and the builder's `$out` is
//!   rewritten to the real path at build time. It is `"/" + nix32(sha256("nix-output:<output>"))`,
//!   the same in every derivation.
//! * [`upstream_placeholder`]`(dep.drv, "out")` stands for an output of a content-addressed
//!   *dependency*: `"/" + nix32(sha256("nix-upstream-output:<drv hash part>:<output path name>"))`
//!   where the output path name is `<name>` for `out`, else `<name>-<output>`, and `<name>` is the
//!   dependency's `.drv` name without `.drv`. Nix replaces it by the built output's path when it
//!   resolves the derivation.
//! * [`dynamic_output_placeholder`]`(producer.drv, "out", "out")` stands for output `out` of the
//!   derivation that output `out` of `producer.drv` *is* (dynamic derivations; what
//!   `builtins.outputOf producer.outPath "out"` gives): with `p` the upstream placeholder's 32-byte
//!   hash, `"/" + nix32(sha256("nix-computed-output:<nix32(compress_hash(p, 20))>:<output>"))`.

use sha2::{Digest, Sha256};

use crate::nixbase32;
use crate::store_path::{compress_hash, output_path_name, StorePath};

/// `"/" + nix32(sha256(clear_text))`.
fn render(clear_text: &str) -> String {
    format!("/{}", nixbase32::encode(&sha256_of(clear_text)))
}

fn sha256_of(clear_text: &str) -> [u8; 32] {
    Sha256::digest(clear_text).into()
}

fn upstream_clear_text(drv_path: &StorePath, output: &str) -> String {
    let name = drv_path.name();
    let drv_name = name.strip_suffix(".drv").unwrap_or(name);
    format!(
        "nix-upstream-output:{}:{}",
        drv_path.hash_part(),
        output_path_name(drv_name, output)
    )
}

/// The placeholder for this derivation's own output `output` (Nix's `hashPlaceholder`).
pub fn hash_placeholder(output: &str) -> String {
    render(&format!("nix-output:{output}"))
}

/// The placeholder for output `output` of the content-addressed derivation at `drv_path`
/// (Nix's `DownstreamPlaceholder::unknownCaOutput(...).render()`). A `drv_path` name without
/// `.drv` is used as is.
pub fn upstream_placeholder(drv_path: &StorePath, output: &str) -> String {
    render(&upstream_clear_text(drv_path, output))
}

/// The placeholder for output `output` of the derivation produced as output `drv_output` of the
/// (text-hashed, content-addressed) derivation at `drv_path` (Nix's
/// `DownstreamPlaceholder::unknownDerivation(unknownCaOutput(drv_path, drv_output), output)`).
pub fn dynamic_output_placeholder(drv_path: &StorePath, drv_output: &str, output: &str) -> String {
    let upstream = sha256_of(&upstream_clear_text(drv_path, drv_output));
    let compressed: [u8; 20] = compress_hash(&upstream);
    render(&format!(
        "nix-computed-output:{}:{output}",
        nixbase32::encode(&compressed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_placeholder_out() {
        // env.out of every floating content-addressed derivation in tests/fixtures.
        assert_eq!(
            hash_placeholder("out"),
            "/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"
        );
    }

    #[test]
    fn upstream_placeholder_of_ca_dep() {
        // tests/fixtures/ca-dep: `${a}` with a = 8gv9…-x.drv became this string in args.
        let dep: StorePath = "8gv9s8nq698i15mcg9b3rqlywk99a54x-x.drv".parse().unwrap();
        assert_eq!(
            upstream_placeholder(&dep, "out"),
            "/0fabnkckxwbw132ng27s9isf8hjan5n340ql4342qyj0l26an1lv"
        );
    }

    #[test]
    fn dynamic_output_placeholder_of_output_of() {
        // tests/fixtures/dyn: `builtins.outputOf producer.outPath "out"`.
        let producer: StorePath = "7d6iwkp1x574l44hr4b8w6qpz0wk3y0i-inner.drv.drv"
            .parse()
            .unwrap();
        assert_eq!(
            dynamic_output_placeholder(&producer, "out", "out"),
            "/0gyrsnk4zkgwd1p431kcfm4wds7d0xl5v1whn6xin5hrj21pjrh0"
        );
    }

    #[test]
    fn upstream_placeholder_of_other_output() {
        // tests/fixtures/ca-dep: `${a.lib}` with a = hxpw…-a.drv.
        let dep: StorePath = "hxpw6y9qvw4qklz2wi3ffr76gfffb1sc-a.drv".parse().unwrap();
        assert_eq!(
            upstream_placeholder(&dep, "lib"),
            "/0jrb9x88200jq4qcxn4n5sfhzwpm66g8h76f7mcq5dx7j9blsqfm"
        );
        assert_eq!(
            upstream_placeholder(&dep, "out"),
            "/06qsq1akvw248a1mdfp3bqpmnilfd8y7hxl1dzlw7r7k6gp5gg0s"
        );
    }
}
