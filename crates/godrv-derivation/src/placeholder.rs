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

use sha2::{Digest, Sha256};

use crate::nixbase32;
use crate::store_path::{output_path_name, StorePath};

/// `"/" + nix32(sha256(clear_text))`.
fn render(clear_text: &str) -> String {
    format!("/{}", nixbase32::encode(&Sha256::digest(clear_text)))
}

/// The placeholder for this derivation's own output `output` (Nix's `hashPlaceholder`).
pub fn hash_placeholder(output: &str) -> String {
    render(&format!("nix-output:{output}"))
}

/// The placeholder for output `output` of the content-addressed derivation at `drv_path`
/// (Nix's `DownstreamPlaceholder::unknownCaOutput(...).render()`). A `drv_path` name without
/// `.drv` is used as is.
pub fn upstream_placeholder(drv_path: &StorePath, output: &str) -> String {
    let name = drv_path.name();
    let drv_name = name.strip_suffix(".drv").unwrap_or(name);
    render(&format!(
        "nix-upstream-output:{}:{}",
        drv_path.hash_part(),
        output_path_name(drv_name, output)
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
}
