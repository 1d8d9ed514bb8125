//! What the Rust and Nix halves of godrv must agree on, written once: `nix/contract.json`,
//! which the Nix library reads (`lib.contract` in `nix/default.nix`) and godrv embeds at build
//! time. Changing a value changes both sides together (and the `.drv`s that carry it).

use std::sync::OnceLock;

use serde::Deserialize;

/// `nix/contract.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contract {
    /// Version of the plan JSON (`DrvPlan::version`) that `nix/internal/instantiate.nix` reads.
    pub plan_version: u32,
    /// Name of std's planner and of its plan's top derivation (`nix/internal/stdPlanner.nix`).
    pub std_planner: String,
    /// Name of the dependencies' planner and of its plan's top derivation
    /// (`nix/internal/depsPlanner.nix`).
    pub deps_planner: String,
    /// Prefix of a module's store name (`gomod-example.com-greet-v1.1.0`: [`crate::ModuleDir`],
    /// `nix/internal/fetchModule.nix`).
    pub module_store_prefix: String,
    /// Prefix of a source set's store name (`src-example.com-m-internal-x`: [`crate::source_set_name`],
    /// `nix/internal/sourceSets.nix`, which computes the same sets while evaluating).
    pub source_set_prefix: String,
    /// The unpinned planner's second output (dyn mode, granularity "module"): the third-party
    /// part of its plan ([`crate::module_groups::ModuleGroupsPlan`]), which the module groups'
    /// registrar reads (`nix/internal/planner.nix`); `godrv plan` writes it to the path in the
    /// environment variable of that name, as Nix sets it.
    pub module_groups_output: String,
    /// The fields of a program planner's configuration (`godrvPlanConfig`, godrv's
    /// `PlanConfig`) that shape std's compile commands: all std's planners are given
    /// (`nix/internal/stdConfig.nix`), so every program with the same values shares std's
    /// derivations. Not `goCacheSeed`: go-std and go-index, both needed before a toolchain's first
    /// program planner, build side by side.
    pub std_shaping: Vec<String>,
    /// Variables of the calling environment a fetcher derivation lets in (`impureEnvVars` of
    /// the vendorHash and lockfile fetchers), which `godrv modules`/`godrv fetch-module` pass on
    /// to `go mod download`.
    pub fetcher_impure_env_vars: Vec<String>,
}

const JSON: &str = include_str!("../../../nix/contract.json");

/// The contract (`nix/contract.json`, embedded).
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        serde_json::from_str(JSON)
            .expect("nix/contract.json is a valid contract (test contract_is_read)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_is_read() {
        let c = contract();
        assert!(c.plan_version >= 3);
        assert!(!c.std_planner.is_empty() && c.std_planner != c.deps_planner);
        assert!(c.module_store_prefix.ends_with('-'));
        assert!(c.source_set_prefix.ends_with('-') && c.source_set_prefix != c.module_store_prefix);
        assert!(c.fetcher_impure_env_vars.iter().any(|v| v == "NETRC"));
        assert!(c.std_shaping.iter().any(|f| f == "go"));
        assert!(!c.module_groups_output.is_empty() && c.module_groups_output != "out");
    }
}
