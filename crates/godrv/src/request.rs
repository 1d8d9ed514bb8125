//! The requests godrv's commands read: what to build (`BuildRequest`, the fields the Nix
//! functions and `godrv build --request` share), the planner derivation's configuration
//! (`PlanConfig`), the helper derivations' requests (`ModulesRequest`, `FetchRequest`).

use std::collections::BTreeMap;

use godrv_nix::{Addressing, InputRef};
use serde::{Deserialize, Serialize};

use crate::lockfile::LockedInput;

/// What to build, with buildGoModule's argument names (see `nix/README.md`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildRequest {
    /// Directory of `go.mod` relative to the source root (`modRoot`).
    #[serde(default)]
    pub mod_root: String,
    /// Packages to build, relative to `modRoot` (default: `./...`, the main packages of the module).
    #[serde(default)]
    pub sub_packages: Vec<String>,
    /// Linker flags, joined into one `-ldflags` argument.
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// Build tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Extra `go build` flags.
    #[serde(default)]
    pub go_flags: Vec<String>,
    /// Environment for `go` (`CGO_ENABLED`, `GOOS`, `GOARCH`, `GOFLAGS`, …).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Packages left out of `./...` (buildGoModule's `excludedPackages`): a package whose import
    /// path or directory (relative to modRoot, `./x/y`) contains one of these strings is not built.
    /// Ignored when `subPackages` is given.
    #[serde(default)]
    pub excluded_packages: Vec<String>,
    /// Directories put on `PATH` after Go's and the C compiler's (the `bin` directories of
    /// `nativeBuildInputs` and `buildInputs`, e.g. `pkg-config`).
    #[serde(default)]
    pub path: Vec<String>,
    /// `PKG_CONFIG_PATH` entries (`lib/pkgconfig`, `share/pkgconfig` of the inputs). `go build -n`
    /// prints its `pkg-config` queries instead of running them: the planner runs them
    /// (`probes::pkg_config`) and puts the flags into the commands (`godrv_plan::pkgconfig`).
    #[serde(default)]
    pub pkg_config_path: Vec<String>,
    /// buildGoModule's `allowGoReference`: `false` (the default) builds with `-trimpath` and makes
    /// every link fail if its output names GOROOT; `true` builds without `-trimpath` and allows it.
    #[serde(default)]
    pub allow_go_reference: bool,
    /// Go tests (`doCheck`, `checkFlags`; see `godrv_plan::gotest`).
    #[serde(default)]
    pub check: CheckRequest,
    /// `module` (the default, as in the Nix functions): the standard library and each
    /// third-party module one derivation; `package`: one derivation per package (see
    /// `godrv_plan::group`).
    #[serde(default)]
    pub granularity: godrv_plan::group::Granularity,
}

/// What to do with the packages' tests.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRequest {
    /// `run` (`doCheck = true`), `binaries` (build the test binaries only), or null: no tests.
    #[serde(default)]
    pub mode: Option<godrv_plan::gotest::CheckMode>,
    /// `checkFlags`: flags for the test binaries, as given to `go test` (`-run X`, `-v`).
    #[serde(default)]
    pub flags: Vec<String>,
    /// `checkData`: what test runs see besides their package directory, for tests that read
    /// files outside it: import path (or `*`, every package) → paths relative to `modRoot`
    /// (`godrv_plan::gotest::CheckData`).
    #[serde(default)]
    pub data: BTreeMap<String, Vec<String>>,
}

/// Variables of `env` that go passes to its tools without printing them in `go build -n`.
const TOOL_ENV: &[&str] = &[
    "GOOS",
    "GOARCH",
    "GOEXPERIMENT",
    "GO386",
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
    "GOWASM",
];

impl BuildRequest {
    /// The request std's planners get: the fields of this one that the contract names
    /// std-shaping (`stdShaping` of nix/contract.json: `tags`, `goFlags`, `env`,
    /// `allowGoReference`), every other at its default, as nix/internal/stdConfig.nix gives
    /// them (`builtins.intersectAttrs`). So `go build -n std` is planned from exactly what its
    /// key ([`crate::std_cache::StdPlanKey`]) hashes, in every front end.
    pub fn std_shaping(&self) -> anyhow::Result<BuildRequest> {
        use anyhow::Context;
        let serde_json::Value::Object(mut fields) =
            serde_json::to_value(self).context("serializing the request")?
        else {
            anyhow::bail!("the request did not serialize to an object");
        };
        let shaping = &godrv_nix::contract().std_shaping;
        fields.retain(|name, _| shaping.contains(name));
        serde_json::from_value(serde_json::Value::Object(fields))
            .context("reading the request's std-shaping fields back")
    }

    /// The variables of `env` that `compile`, `asm` and `link` read (`GOOS`, `GOARCH`, …).
    pub fn tool_env(&self) -> Vec<(String, String)> {
        TOOL_ENV
            .iter()
            .filter_map(|name| Some((name.to_string(), self.env.get(*name)?.clone())))
            .collect()
    }

    /// `<goos>_<goarch>` when `GOOS`/`GOARCH` in `env` differ from the machine godrv runs on (a
    /// cross build): binaries then go to `$out/bin/<goos>_<goarch>/`, as with buildGoModule.
    pub fn cross_bin_subdir(&self) -> Option<String> {
        let (host_os, host_arch) = (godrv_plan::host::goos(), godrv_plan::host::goarch());
        let goos = self.env.get("GOOS").map_or(host_os, String::as_str);
        let goarch = self.env.get("GOARCH").map_or(host_arch, String::as_str);
        (goos != host_os || goarch != host_arch).then(|| format!("{goos}_{goarch}"))
    }
}

/// What `godrv modules` downloads: every module `go.mod`/`go.sum` of `src/modRoot` needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModulesRequest {
    /// The source tree (a store path).
    pub src: String,
    /// The Go toolchain: a GOROOT with `bin/go`.
    pub go: String,
    /// Directory of `go.mod` relative to `src`.
    #[serde(default)]
    pub mod_root: String,
    /// The user's environment for `go`: `GOPROXY`, `GOPRIVATE`, `GONOSUMDB`, `GOFLAGS`, …
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// What `godrv module-dirs` reads (`godrvModuleDirsConfig`, nix/internal/moduleDirs.nix).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleDirsRequest {
    /// `dyn`: add every module directory to the store (the build's, inside recursive Nix), so
    /// that they are in this derivation's output's closure; `ifd`: hash only.
    pub mode: PlanMode,
    /// The realised module cache (vendorHash's fixed-output derivation).
    pub modcache: String,
    /// The `nix` program (dyn mode: the store is reached through its daemon socket or it).
    #[serde(default)]
    pub nix: Option<String>,
}

/// What `godrv fetch-module` downloads: one module (lockfile mode).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FetchRequest {
    /// The Go toolchain: a GOROOT with `bin/go`.
    pub go: String,
    /// Module path and version, as `go mod download` takes them.
    pub path: String,
    pub version: String,
    /// The user's environment for `go`: `GOPROXY`, `GOPRIVATE`, `GOAUTH`, …
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// How the planner derivation reports its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMode {
    /// Write every derivation with `nix derivation add`; `$out` is the top `.drv`.
    Dyn,
    /// `$out` is the plan as JSON, which the Nix library's `instantiate` reads (IFD).
    Ifd,
    /// `$out` is the plan as JSON without the source sets' and modules' hashes: the plan made
    /// from the source's skeleton (`godrv skeleton`), which a `dyn` or `ifd` planner given it as
    /// [`PlanConfig::plan`] registers or pins with the source itself (nix/internal/planner.nix).
    /// In dyn mode, granularity "module", it also writes the third-party part of the plan
    /// (`godrv_nix::module_groups::ModuleGroupsPlan`) to its second output.
    Unpinned,
    /// The module groups' registrar (dyn mode): registers the module groups of
    /// [`PlanConfig::plan`], the third-party part an unpinned planner wrote, and writes a
    /// `godrv_nix::module_groups::RegisteredGroups` to `$out` (the program's planner's
    /// [`PlanConfig::module_groups`]); `src` is not read.
    ModuleGroups,
}

/// The planner derivation's configuration, as the Nix library's `planner` writes it
/// (`godrvPlanConfig`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanConfig {
    pub mode: PlanMode,
    pub addressing: Addressing,
    pub system: String,
    /// The source tree (a store path).
    pub src: String,
    pub go: InputRef,
    pub godrv: InputRef,
    #[serde(default)]
    pub cc: Option<InputRef>,
    #[serde(default)]
    pub modcache: Option<InputRef>,
    /// The user's C inputs (`buildInputs`, `nativeBuildInputs`): given to the cgo, C compile and
    /// link derivations of the user's packages (see `godrv_nix::Attr::CInputs`).
    #[serde(default)]
    pub inputs: Vec<InputRef>,
    /// `packageOverrides`: the C inputs of one package (import path), given only to that
    /// package's cgo and C compile derivations and to the links.
    #[serde(default)]
    pub package_inputs: BTreeMap<String, Vec<InputRef>>,
    /// Lockfile mode: each module's fixed-output derivation, keyed by its module cache directory
    /// (`example.com/greet@v1.1.0`).
    #[serde(default)]
    pub locked_modules: Option<BTreeMap<String, LockedInput>>,
    /// The lockfile's name, for messages (`godrv.lock`, `gomod2nix.toml`).
    #[serde(default)]
    pub lockfile: Option<String>,
    /// The `nix` program (dyn mode).
    #[serde(default)]
    pub nix: Option<String>,
    /// Name of the top derivation (`pname-version`). In dyn mode Nix names a dynamic derivation
    /// after the planner's output (`<name>.drv`), so the top derivation must carry that name for
    /// both modes to give the same `.drv`.
    pub name: String,
    /// A GOCACHE with Go's index of GOROOT (`godrv go-index`), to start the planner's caches
    /// from; only speeds `go` up.
    #[serde(default)]
    pub go_cache_seed: Option<String>,
    /// Plan every package of the standard library instead of the program in `src` (which is then
    /// ignored): the toolchain's std planner, whose output puts every std derivation into the
    /// program planners' inputs, so that they need not add them again (see nix/internal/stdPlanner.nix).
    #[serde(default)]
    pub std: bool,
    /// Plan the packages of the third-party modules the module in `src` requires
    /// (`script::Packages::Deps`; `src` then holds only its `go.mod` and `go.sum`): the
    /// dependencies' planner, which does for them what `std` does for std's (see
    /// nix/internal/depsPlanner.nix).
    #[serde(default)]
    pub deps: bool,
    /// Granularity "module": the output of std's group planner (a
    /// [`crate::plan::StdGroupPlan`] file, `stdPlan` in nix/internal/planner.nix), so that this
    /// planner neither runs `go build -n std` nor adds std's group derivation (registered by std's
    /// planner, an input of this one).
    #[serde(default)]
    pub std_plan: Option<String>,
    /// vendorHash mode: the output of `godrv module-dirs` for `modcache` (`moduleDirs` in
    /// nix/internal/planner.nix): every module directory's source path and NAR hash, so that this
    /// planner neither hashes nor adds a module's tree.
    #[serde(default)]
    pub module_dirs: Option<String>,
    /// Dyn mode: the source sets of the main module's package directories, computed while
    /// evaluating (`sourceSets` in nix/internal/planner.nix, nix/internal/sourceSets.nix), so
    /// inputs of this planner: a set it computes with one of these paths is not added again
    /// (`godrv_nix::register::Toolchain::source_sets`). Any other set is added as usual.
    #[serde(default)]
    pub source_sets: Vec<String>,
    /// A plan made by an `unpinned` planner from the skeleton of `src` (nix/internal/planner.nix,
    /// content addressing): this planner runs no `go`, it registers (dyn) or pins (ifd) that plan
    /// with `src`, whose files the source sets are made of.
    #[serde(default)]
    pub plan: Option<String>,
    /// Dyn mode, granularity "module": the module groups' registrar's output (a
    /// `godrv_nix::module_groups::RegisteredGroups` file, `moduleGroups` in
    /// nix/internal/planner.nix), an input of this planner: the module groups' `.drv`s are in
    /// its input closure, so they are not added again. Read only to say how many were.
    #[serde(default)]
    pub module_groups: Option<String>,
    #[serde(flatten)]
    pub request: BuildRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_builds_get_a_bin_subdirectory() {
        let mut request = BuildRequest::default();
        assert_eq!(request.cross_bin_subdir(), None);
        request.env.insert("GOOS".into(), "windows".into());
        request.env.insert("GOARCH".into(), "amd64".into());
        assert_eq!(request.cross_bin_subdir().as_deref(), Some("windows_amd64"));
    }

    /// The default granularity is "module", as in the Nix functions (`granularityOf` in
    /// nix/internal/common.nix): a request without one (`godrv build --request '{}'`, or no
    /// request) plans what `buildWithDynDrv` without `granularity` plans.
    #[test]
    fn the_default_granularity_is_module() {
        use godrv_plan::group::Granularity;
        assert_eq!(BuildRequest::default().granularity, Granularity::Module);
        let request: BuildRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(request.granularity, Granularity::Module);
        let request: BuildRequest = serde_json::from_str(r#"{"granularity": "package"}"#).unwrap();
        assert_eq!(request.granularity, Granularity::Package);
    }

    /// std's request keeps the std-shaping fields and nothing of the program's own (which
    /// nix/internal/stdConfig.nix leaves out of std's planners too).
    #[test]
    fn std_shaping_keeps_only_what_reaches_std() {
        let mut request = BuildRequest {
            tags: vec!["netgo".into()],
            go_flags: vec!["-gcflags=all=-N".into()],
            allow_go_reference: true,
            ldflags: vec!["-s".into()],
            sub_packages: vec!["cmd/x".into()],
            mod_root: "sub".into(),
            path: vec!["/nix/store/x-pkg-config/bin".into()],
            granularity: godrv_plan::group::Granularity::Package,
            ..BuildRequest::default()
        };
        request.env.insert("CGO_ENABLED".into(), "0".into());
        let std = request.std_shaping().unwrap();
        assert_eq!(std.tags, request.tags);
        assert_eq!(std.go_flags, request.go_flags);
        assert_eq!(std.env, request.env);
        assert!(std.allow_go_reference);
        assert!(std.ldflags.is_empty() && std.sub_packages.is_empty() && std.path.is_empty());
        assert_eq!(std.mod_root, "");
    }

    /// Every std-shaping field of the contract is a field of the planner's configuration: Nix's
    /// `builtins.intersectAttrs` (nix/internal/stdConfig.nix) would silently drop a name that is
    /// not, and std would be planned without that setting.
    #[test]
    fn std_shaping_fields_are_plan_config_fields() {
        let input = |path: &str| InputRef {
            path: path.into(),
            drv: None,
            output: None,
        };
        let config = PlanConfig {
            mode: PlanMode::Dyn,
            addressing: Addressing::ContentAddressed,
            system: "x86_64-linux".into(),
            src: String::new(),
            go: input("/nix/store/go"),
            godrv: input("/nix/store/godrv"),
            cc: None,
            modcache: None,
            inputs: Vec::new(),
            package_inputs: BTreeMap::new(),
            locked_modules: None,
            lockfile: None,
            nix: None,
            name: "std".into(),
            go_cache_seed: None,
            std: true,
            deps: false,
            std_plan: None,
            module_dirs: None,
            source_sets: Vec::new(),
            plan: None,
            module_groups: None,
            request: BuildRequest::default(),
        };
        let json = serde_json::to_value(&config).unwrap();
        let fields = json.as_object().unwrap();
        let shaping = &godrv_nix::contract().std_shaping;
        assert!(shaping.len() >= 10);
        for field in shaping {
            assert!(
                fields.contains_key(field),
                "nix/contract.json's stdShaping names {field}, which godrv's PlanConfig does not have (fields: {:?})",
                fields.keys().collect::<Vec<_>>()
            );
        }
    }
}
