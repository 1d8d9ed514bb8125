//! The ATerm form of a derivation: the contents of a `.drv` file, whose hash gives the `.drv`
//! path.
//!
//! ```text
//! Derive([outputs],[input drvs],[input srcs],"system","builder",[args],[env])
//! outputs    = ("name","path","hashAlgo","hash"),…   sorted by name (see the table in the parent module)
//! input drvs = ("/nix/store/…drv",["out",…]),…        sorted by path
//! input srcs = "/nix/store/…",…                      sorted
//! env        = ("key","value"),…                     sorted by key
//! ```
//!
//! When an input uses dynamic outputs the header is `DrvWithVersion("xp-dyn-drv",` instead of
//! `Derive(` and that input's output list becomes `(["out",…],[("output",<child>),…])`.
//!
//! Strings are quoted with `"` and escape exactly `"` `\` newline, carriage return and tab
//! (`\"` `\\` `\n` `\r` `\t`); every other byte is written as is.
//!
//! [`write_with`] also serves `hashDerivationModulo`: input derivations may be replaced by
//! arbitrary strings (their modulo hashes) and output paths masked to `""`.

use std::collections::BTreeMap;

use super::{Derivation, DerivationError, DrvInput, Output};
use crate::store_path::StoreDir;

/// Append `s` quoted and escaped the way Nix does.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `[a,b,…]` with `item` writing each element.
fn write_list<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, x);
    }
    out.push(']');
}

fn write_strings<'a>(out: &mut String, items: impl IntoIterator<Item = &'a String>) {
    write_list(out, items, |out, s| write_string(out, s));
}

/// The outputs used of one input derivation, with its dynamic outputs if any.
fn write_drv_input(out: &mut String, input: &DrvInput) {
    if input.dynamic_outputs.is_empty() {
        write_strings(out, &input.outputs);
    } else {
        out.push('(');
        write_strings(out, &input.outputs);
        out.push(',');
        write_list(out, &input.dynamic_outputs, |out, (name, child)| {
            out.push('(');
            write_string(out, name);
            out.push(',');
            write_drv_input(out, child);
            out.push(')');
        });
        out.push(')');
    }
}

/// The `.drv` contents of `drv`.
pub fn write(drv: &Derivation, store_dir: &StoreDir) -> Result<String, DerivationError> {
    let inputs: BTreeMap<String, &DrvInput> = drv
        .inputs
        .drvs
        .iter()
        .map(|(path, input)| (store_dir.display_path(path), input))
        .collect();
    write_with(drv, store_dir, false, &inputs)
}

/// The ATerm with input derivations given as strings (absolute `.drv` paths normally, hex modulo
/// hashes for `hashDerivationModulo`), and, if `mask_outputs`, every output path and every env
/// variable named like an output set to `""`.
pub fn write_with(
    drv: &Derivation,
    store_dir: &StoreDir,
    mask_outputs: bool,
    input_drvs: &BTreeMap<String, &DrvInput>,
) -> Result<String, DerivationError> {
    let mut out = String::with_capacity(1024);
    if input_drvs.values().any(|i| !i.dynamic_outputs.is_empty()) {
        out.push_str("DrvWithVersion(\"xp-dyn-drv\",");
    } else {
        out.push_str("Derive(");
    }

    let mut outputs = Vec::with_capacity(drv.outputs.len());
    for (name, output) in &drv.outputs {
        let path = match output.path(store_dir, &drv.name, name)? {
            Some(p) if !mask_outputs => store_dir.display_path(&p),
            _ => String::new(),
        };
        let (algo, hash) = match output {
            Output::InputAddressed { .. } | Output::Deferred => (String::new(), String::new()),
            Output::CaFloating { method, hash_algo } => (
                format!("{}{hash_algo}", method.aterm_prefix()),
                String::new(),
            ),
            Output::CaFixed { method, hash } => (
                format!("{}{}", method.aterm_prefix(), hash.algo()),
                hash.to_hex(),
            ),
            Output::Impure { method, hash_algo } => (
                format!("{}{hash_algo}", method.aterm_prefix()),
                "impure".to_owned(),
            ),
        };
        outputs.push([name.clone(), path, algo, hash]);
    }
    write_list(&mut out, &outputs, |out, fields| {
        out.push('(');
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(out, f);
        }
        out.push(')');
    });
    out.push(',');

    write_list(&mut out, input_drvs, |out, (path, input)| {
        out.push('(');
        write_string(out, path);
        out.push(',');
        write_drv_input(out, input);
        out.push(')');
    });
    out.push(',');

    let srcs: Vec<String> = drv
        .inputs
        .srcs
        .iter()
        .map(|p| store_dir.display_path(p))
        .collect();
    write_strings(&mut out, &srcs);
    out.push(',');
    write_string(&mut out, &drv.system);
    out.push(',');
    write_string(&mut out, &drv.builder);
    out.push(',');
    write_strings(&mut out, &drv.args);
    out.push(',');

    write_list(&mut out, &drv.env, |out, (k, v)| {
        out.push('(');
        write_string(out, k);
        out.push(',');
        let masked = mask_outputs && drv.outputs.contains_key(k);
        write_string(out, if masked { "" } else { v });
        out.push(')');
    });
    out.push(')');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_nix() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\nd\re\tf$g\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\re\\tf$g\u{1}é\"");
    }
}
