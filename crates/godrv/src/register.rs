//! Registering a plan: which store to write to, the toolchain the derivations are made from
//! (one constructor for `godrv plan` and `godrv build`), and the registration itself.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use godrv_derivation::{hash_modulo_all, DerivationSet, DrvHash, StoreDir, StorePath};
use godrv_nix::daemon::DaemonStore;
use godrv_nix::register::{self, NixCli, Registration, Store, Toolchain};
use godrv_nix::{DrvPlan, InputRef};

use crate::process;

/// How derivations reach the store: `GODRV_STORE` = `daemon` (the socket `NIX_REMOTE` names, or
/// the system daemon's; an error if it cannot be reached), `cli` (`nix store add`,
/// `nix derivation add`, one process each), or `auto`/unset (the daemon when there is a socket,
/// else the command).
pub fn open_store(nix: &Path) -> Result<Box<dyn Store>> {
    let choice = std::env::var("GODRV_STORE").unwrap_or_default();
    let cli = || -> Box<dyn Store> {
        Box::new(NixCli {
            nix: nix.to_path_buf(),
        })
    };
    if choice == "cli" {
        return Ok(cli());
    }
    let socket = godrv_store::socket_from_env(
        std::env::var("NIX_REMOTE").ok().as_deref(),
        std::env::var("NIX_DAEMON_SOCKET_PATH").ok().as_deref(),
    );
    let timeout =
        godrv_store::timeout_from_env(std::env::var("GODRV_STORE_TIMEOUT").ok().as_deref())
            .map_err(anyhow::Error::msg)?;
    match (choice.as_str(), socket) {
        ("daemon", None) => bail!(
            "GODRV_STORE=daemon, but there is no daemon socket (NIX_REMOTE={:?})",
            std::env::var("NIX_REMOTE").unwrap_or_default()
        ),
        ("daemon", Some(path)) => Ok(Box::new(
            DaemonStore::connect(&path, timeout)
                .with_context(|| format!("connecting to the Nix daemon at {}", path.display()))?,
        )),
        ("" | "auto", None) => Ok(cli()),
        ("" | "auto", Some(path)) => match DaemonStore::connect(&path, timeout) {
            Ok(store) => Ok(Box::new(store)),
            Err(e) => {
                eprintln!("godrv: {e}; using {} instead", nix.display());
                Ok(cli())
            }
        },
        (other, _) => bail!("GODRV_STORE={other:?}: expected daemon, cli or auto"),
    }
}

/// Registers `plan` and says how long it took and how many of its source sets were given.
pub fn register_timed(
    plan: &DrvPlan,
    toolchain: &Toolchain,
    src_root: &Path,
    stage: &Path,
    store: &mut dyn Store,
) -> Result<Registration, register::RegisterError> {
    let t0 = Instant::now();
    let registration = register::register(plan, toolchain, src_root, stage, store)?;
    eprintln!(
        "godrv: registered {} actions in {} ms; source sets: {}, {} of them given (inputs, not added); peak RSS {}",
        plan.actions.len(),
        t0.elapsed().as_millis(),
        registration.source_sets,
        registration.source_sets_given,
        peak_rss().unwrap_or_else(|| "unknown".into())
    );
    Ok(registration)
}

/// This process's peak resident set size (`VmHWM` of /proc/self/status), e.g. `"12345 kB"`.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line["VmHWM:".len()..].trim().to_string())
}

/// The modulo hashes of the derivations that produce `inputs` (those with a `drv`), from
/// `nix derivation show --recursive`: registering a derivation that depends on them needs them.
fn external_input_hashes<'a>(
    nix: &Path,
    inputs: impl Iterator<Item = &'a InputRef>,
) -> Result<BTreeMap<StorePath, DrvHash>> {
    let drvs: Vec<&str> = inputs.filter_map(|i| i.drv.as_deref()).collect();
    if drvs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let output = process::run(
        Command::new(nix)
            .args(["derivation", "show", "--recursive"])
            .args(&drvs),
        &format!("`nix derivation show --recursive {}`", drvs.join(" ")),
        None,
    )?;
    let set: DerivationSet = serde_json::from_slice(&output.stdout)
        .context("reading the output of `nix derivation show --recursive`")?;
    Ok(hash_modulo_all(
        &StoreDir::default(),
        &set.derivations,
        BTreeMap::new(),
    )?)
}

/// Adds the remedy to Nix errors whose cause is the configuration.
pub fn explain_nix_error(message: String) -> String {
    for feature in ["dynamic-derivations", "ca-derivations", "recursive-nix"] {
        if message.contains(&format!("experimental Nix feature '{feature}' is disabled")) {
            return format!(
                "{message}\n\nhelp: enable it: add `experimental-features = nix-command {feature}` (with the others godrv needs: dynamic-derivations ca-derivations recursive-nix) to nix.conf"
            );
        }
    }
    message
}

/// The toolchain of a registration: `toolchain` (as `godrv plan` and `godrv build` know it, its
/// `input_hashes` not yet filled) with the modulo hashes of every input that a derivation
/// produces (none when no input names a `.drv`, as in `godrv build`: then `nix` does not run).
pub fn toolchain(nix: &Path, toolchain: Toolchain) -> Result<Toolchain> {
    let input_hashes = external_input_hashes(
        nix,
        [&toolchain.go, &toolchain.godrv]
            .into_iter()
            .chain(toolchain.cc.as_ref())
            .chain(toolchain.modcache.as_ref())
            .chain(&toolchain.inputs)
            .chain(toolchain.package_inputs.values().flatten())
            .chain(toolchain.modules.values()),
    )?;
    Ok(Toolchain {
        input_hashes,
        ..toolchain
    })
}
