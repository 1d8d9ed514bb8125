//! `godrv build`'s cache of std's plan (granularity "module"): the plan of `go build -n std` that
//! the standard library's one derivation is made of ([`godrv_plan::group::group_std`]), kept per
//! toolchain and std-shaping settings, so that a plan-cache miss (an edit) does not run
//! `go build -n std` again. What the Nix library gets from std's group planner
//! (`nix/internal/stdGroupPlanner.nix`), keyed on the same settings.
//!
//! An entry is `<cache>/std-<key>.json` in the plan cache's directory
//! ([`crate::build_cache::cache_dir`]): a [`StdPlanEntry`], written atomically (a temporary file
//! in the same directory, renamed). The key ([`StdPlanKey`]) is the SHA-256 of the contract's
//! std-shaping fields (`stdShaping` of `nix/contract.json`, which `nix/internal/stdConfig.nix`
//! gives std's planners: the toolchain's `go`, `godrv`, `cc`, `nix` and `system`, the addressing,
//! and the request's `tags`, `goFlags`, `env` and `allowGoReference`; not `mode`, which
//! `godrv build` does not have), of this godrv (its version and the executable's bytes: it plans)
//! and of the plan version. An entry that cannot be read, does not parse or was written for
//! another plan version is planned again and replaced, with a line on stderr saying why: the
//! cache never fails a build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use godrv_nix::Addressing;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::path_toolchain::ToolchainFile;
use crate::request::BuildRequest;

/// The contract's std-shaping field that `godrv build` has no value for: it registers as dyn
/// mode does, and std's plan is the same in both modes.
const NOT_IN_GODRV_BUILD: &str = "mode";

/// What a cache entry holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StdPlanEntry {
    /// The plan version of the godrv that wrote it (`planVersion` of `nix/contract.json`).
    pub plan_version: u32,
    pub plan: godrv_plan::Plan,
}

/// The key of std's plan for a build: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdPlanKey(String);

impl StdPlanKey {
    /// `godrv`: this godrv's version and the SHA-256 of its executable.
    pub fn new(
        godrv: (&str, &str),
        toolchain: &ToolchainFile,
        addressing: Addressing,
        request: &BuildRequest,
    ) -> Result<StdPlanKey> {
        let contract = godrv_nix::contract();
        let shaping = std_shaping_fields(toolchain, addressing, request)?;
        let key = serde_json::json!({
            "godrv": [godrv.0, godrv.1],
            "planVersion": contract.plan_version,
            "stdShaping": shaping,
        });
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&key).context("serializing std's plan key")?);
        Ok(StdPlanKey(
            data_encoding::HEXLOWER.encode(&hasher.finalize()),
        ))
    }
}

/// The contract's std-shaping fields (but `mode`) with the values this build gives them, by the
/// names of a planner's configuration (`godrvPlanConfig`).
fn std_shaping_fields(
    toolchain: &ToolchainFile,
    addressing: Addressing,
    request: &BuildRequest,
) -> Result<BTreeMap<String, serde_json::Value>> {
    let mut all = serde_json::Map::new();
    for value in [
        serde_json::to_value(toolchain)?,
        serde_json::json!({ "addressing": addressing }),
        serde_json::to_value(request.std_shaping()?)?,
    ] {
        if let serde_json::Value::Object(fields) = value {
            all.extend(fields);
        }
    }
    let mut shaping = BTreeMap::new();
    for field in &godrv_nix::contract().std_shaping {
        if field == NOT_IN_GODRV_BUILD {
            continue;
        }
        let Some(value) = all.get(field) else {
            bail!(
                "nix/contract.json names the std-shaping field {field}, which godrv build has no \
                 value for (its toolchain, addressing and request fields: {:?}): std's plan \
                 cannot be keyed on it; run godrv build with --no-cache",
                all.keys().collect::<Vec<_>>()
            );
        };
        shaping.insert(field.clone(), value.clone());
    }
    Ok(shaping)
}

/// std's plan in the cache directory `dir` under one key.
pub struct StdPlanCache {
    entry: PathBuf,
}

impl StdPlanCache {
    pub fn new(dir: &Path, key: &StdPlanKey) -> Self {
        StdPlanCache {
            entry: dir.join(format!("std-{}.json", key.0)),
        }
    }

    /// The entry's file.
    pub fn entry(&self) -> &Path {
        &self.entry
    }

    /// std's plan from the entry, or from `plan` (then written to the entry). Says on stderr
    /// which, and why an entry was not used; failing to write the entry is only reported.
    pub fn get_or_plan(
        &self,
        plan: impl FnOnce() -> Result<godrv_plan::Plan>,
    ) -> Result<godrv_plan::Plan> {
        let entry = self.entry().display();
        match self.read() {
            Ok(Some(plan)) => {
                eprintln!(
                    "godrv: std's plan from godrv build's cache {entry} (no `go build -n std`)"
                );
                return Ok(plan);
            }
            Ok(None) => eprintln!(
                "godrv: std's plan: `go build -n std` (no cache entry {entry} yet: recorded \
                 for the next build)"
            ),
            Err(why) => eprintln!(
                "godrv: std's plan: `go build -n std` again, the cache entry {entry} is not \
                 usable ({why:#}): it is replaced"
            ),
        }
        let plan = plan()?;
        if let Err(e) = self.write(&plan) {
            eprintln!("godrv: warning: std's plan is not cached for the next build: {e:#}");
        }
        Ok(plan)
    }

    /// The entry's plan: `None` when there is no entry, an error when it cannot be read, does
    /// not parse or has another plan version.
    fn read(&self) -> Result<Option<godrv_plan::Plan>> {
        let text = match std::fs::read_to_string(&self.entry) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context("reading it"),
        };
        let entry: StdPlanEntry = serde_json::from_str(&text).context("parsing it")?;
        let version = godrv_nix::contract().plan_version;
        if entry.plan_version != version {
            bail!(
                "written for plan version {}, this godrv's is {version}",
                entry.plan_version
            );
        }
        Ok(Some(entry.plan))
    }

    /// Writes `plan` to the entry atomically: a temporary file in the same directory, renamed.
    fn write(&self, plan: &godrv_plan::Plan) -> Result<()> {
        let dir = self
            .entry
            .parent()
            .context("the cache entry has no directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let entry = StdPlanEntry {
            plan_version: godrv_nix::contract().plan_version,
            plan: plan.clone(),
        };
        let json = serde_json::to_vec(&entry).context("writing std's plan")?;
        crate::fs::write_atomic(&self.entry, &json, ".std-", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn toolchain() -> ToolchainFile {
        ToolchainFile {
            go: "/nix/store/00000000000000000000000000000000-go".into(),
            godrv: "/nix/store/11111111111111111111111111111111-godrv".into(),
            cc: Some("/nix/store/22222222222222222222222222222222-gcc".into()),
            nix: "/usr".into(),
            system: "x86_64-linux".into(),
        }
    }

    fn key(tc: &ToolchainFile, addressing: Addressing, r: &BuildRequest) -> StdPlanKey {
        StdPlanKey::new(("1", "exe"), tc, addressing, r).unwrap()
    }

    /// The key of the default request with [`toolchain`].
    fn default_key() -> StdPlanKey {
        key(
            &toolchain(),
            Addressing::ContentAddressed,
            &BuildRequest::default(),
        )
    }

    fn plan(top: &str) -> godrv_plan::Plan {
        godrv_plan::Plan {
            actions: BTreeMap::new(),
            top: top.into(),
        }
    }

    /// Every setting that shapes std's plan (the contract's std-shaping fields, godrv itself and
    /// the plan version) changes the key; what does not (the program's packages, flags that
    /// only reach links, the source) leaves it.
    #[test]
    fn each_setting_that_shapes_std_changes_the_key() {
        let (tc, ca, r) = (
            toolchain(),
            Addressing::ContentAddressed,
            BuildRequest::default(),
        );
        let k0 = key(&tc, ca, &r);
        assert_eq!(k0, key(&tc, ca, &r), "the same settings, the same key");
        let mut shaped: Vec<(&str, StdPlanKey)> = Vec::new();
        for (what, change) in [
            (
                "go",
                (|t: &mut ToolchainFile| t.go.push('2')) as fn(&mut ToolchainFile),
            ),
            ("godrv", |t| t.godrv.push('2')),
            ("cc", |t| t.cc = None),
            ("nix", |t| t.nix.push('2')),
            ("system", |t| t.system = "aarch64-linux".into()),
        ] {
            let mut other = toolchain();
            change(&mut other);
            shaped.push((what, key(&other, ca, &r)));
        }
        shaped.push(("addressing", key(&tc, Addressing::InputAddressed, &r)));
        for (what, change) in [
            (
                "tags",
                (|r: &mut BuildRequest| r.tags.push("x".into())) as fn(&mut BuildRequest),
            ),
            ("goFlags", |r| r.go_flags.push("-gcflags=all=-N".into())),
            ("env", |r| {
                r.env.insert("CGO_ENABLED".into(), "0".into());
            }),
            ("env (GOFLAGS)", |r| {
                r.env.insert("GOFLAGS".into(), "-gcflags=all=-l".into());
            }),
            ("allowGoReference", |r| r.allow_go_reference = true),
        ] {
            let mut other = BuildRequest::default();
            change(&mut other);
            shaped.push((what, key(&tc, ca, &other)));
        }
        shaped.push((
            "godrv's executable",
            StdPlanKey::new(("1", "another"), &tc, ca, &r).unwrap(),
        ));
        shaped.push((
            "godrv's version",
            StdPlanKey::new(("2", "exe"), &tc, ca, &r).unwrap(),
        ));
        for (what, k) in &shaped {
            assert_ne!(&k0, k, "{what} shapes std's plan: another key");
        }
        for (what, change) in [
            (
                "subPackages",
                (|r: &mut BuildRequest| r.sub_packages.push("cmd/x".into()))
                    as fn(&mut BuildRequest),
            ),
            ("ldflags", |r| r.ldflags.push("-s".into())),
            ("modRoot", |r| r.mod_root = "sub".into()),
            ("granularity", |r| {
                r.granularity = godrv_plan::group::Granularity::Package
            }),
        ] {
            let mut other = BuildRequest::default();
            change(&mut other);
            assert_eq!(k0, key(&tc, ca, &other), "{what} does not reach std's plan");
        }
    }

    /// The key covers every std-shaping field of the contract but `mode`: a field added there
    /// and not given a value by godrv build is an error, not a key that ignores it.
    #[test]
    fn the_key_has_every_std_shaping_field_but_mode() {
        let fields = std_shaping_fields(
            &toolchain(),
            Addressing::ContentAddressed,
            &BuildRequest::default(),
        )
        .unwrap();
        let mut want: Vec<&String> = godrv_nix::contract()
            .std_shaping
            .iter()
            .filter(|f| *f != NOT_IN_GODRV_BUILD)
            .collect();
        want.sort();
        assert_eq!(fields.keys().collect::<Vec<_>>(), want);
        assert!(godrv_nix::contract()
            .std_shaping
            .iter()
            .any(|f| f == NOT_IN_GODRV_BUILD));
    }

    #[test]
    fn a_missing_entry_is_planned_and_written_then_read() {
        let d = tempfile::tempdir().unwrap();
        let k = default_key();
        let cache = StdPlanCache::new(&d.path().join("cache"), &k);
        let runs = Cell::new(0);
        let planned = || {
            runs.set(runs.get() + 1);
            Ok(plan("std-top"))
        };
        assert_eq!(cache.get_or_plan(planned).unwrap().top, "std-top");
        assert_eq!(runs.get(), 1, "no entry: planned");
        assert!(cache.entry().is_file());
        assert_eq!(cache.get_or_plan(planned).unwrap().top, "std-top");
        assert_eq!(runs.get(), 1, "an entry: not planned again");
        let leftovers: Vec<_> = std::fs::read_dir(d.path().join("cache"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    }

    #[test]
    fn a_corrupt_or_stale_entry_is_planned_again_and_replaced() {
        let d = tempfile::tempdir().unwrap();
        let k = default_key();
        let cache = StdPlanCache::new(d.path(), &k);
        let stale = serde_json::to_string(&StdPlanEntry {
            plan_version: godrv_nix::contract().plan_version + 1,
            plan: plan("old"),
        })
        .unwrap();
        for (what, contents) in [
            (
                "truncated",
                r#"{"planVersion": 4, "plan": {"act"#.to_string(),
            ),
            ("not JSON", "\0\0\0\0".to_string()),
            ("empty", String::new()),
            ("another plan version", stale),
        ] {
            std::fs::write(cache.entry(), contents).unwrap();
            let runs = Cell::new(0);
            let got = cache
                .get_or_plan(|| {
                    runs.set(runs.get() + 1);
                    Ok(plan("new"))
                })
                .unwrap();
            assert_eq!(
                (got.top.as_str(), runs.get()),
                ("new", 1),
                "{what}: planned again"
            );
            let entry: StdPlanEntry =
                serde_json::from_str(&std::fs::read_to_string(cache.entry()).unwrap()).unwrap();
            assert_eq!(entry.plan.top, "new", "{what}: the entry is replaced");
        }
    }

    /// A cache directory that cannot be written costs the next build a `go build -n std`, not
    /// this one.
    #[test]
    fn an_unwritable_cache_does_not_fail_the_build() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("file"), "").unwrap();
        let k = default_key();
        // The cache "directory" is a file: neither readable as an entry nor writable.
        let cache = StdPlanCache::new(&d.path().join("file"), &k);
        assert_eq!(cache.get_or_plan(|| Ok(plan("p"))).unwrap().top, "p");
    }

    /// A failing `go build -n std` is the build's error, not hidden by the cache.
    #[test]
    fn a_failed_plan_is_an_error_and_not_written() {
        let d = tempfile::tempdir().unwrap();
        let k = default_key();
        let cache = StdPlanCache::new(d.path(), &k);
        let err = cache
            .get_or_plan(|| bail!("go build -n std failed"))
            .unwrap_err();
        assert!(format!("{err:#}").contains("go build -n std failed"));
        assert!(!cache.entry().exists());
    }
}
