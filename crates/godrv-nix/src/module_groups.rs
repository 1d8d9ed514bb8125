//! Module groups registered ahead (dyn mode, granularity "module", content addressing).
//!
//! After an edit of the main module the program's dyn planner registers its plan again inside
//! recursive Nix, where a derivation valid in the store but not among the build's inputs is
//! added again (a process, a `setns` and a bind mount in Nix each). The third-party module
//! groups do not change with such an edit, so they are registered ahead, by a derivation whose
//! inputs do not change with it either:
//!
//! 1. the unpinned planner (the plan made from the source's skeleton) writes the third-party
//!    part of its plan, a [`ModuleGroupsPlan`], as a second output;
//! 2. the module groups' registrar (`godrv plan` in mode `module-groups`,
//!    nix/internal/planner.nix) registers it and writes [`RegisteredGroups`], which refers to
//!    every group's `.drv`;
//! 3. that file is an input of the program's planner, so those `.drv`s are in its input closure:
//!    the store reports them valid and they are not added again.
//!
//! Content-addressed, the part and the registrar's output are the same paths after any edit
//! that leaves the third-party part as it was (a body, a function, an import of the main
//! module, the main module's path): Nix finds the registrar built.

use std::collections::{BTreeMap, BTreeSet};

use godrv_plan::group::{MODULE_KEY_PREFIX, STD_KEY};
use serde::{Deserialize, Serialize};

use crate::{Addressing, DrvPlan, ModuleDir, Template, ToolInput};

/// The third-party part of a plan: its module groups that can be registered without the
/// program's source (see [`ModuleGroupsPlan::of`]), with the templates of every action they
/// depend on (other groups, std's group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleGroupsPlan {
    /// The plan version ([`DrvPlan::version`]).
    pub version: u32,
    pub addressing: Addressing,
    /// The plan keys of the module groups.
    pub groups: BTreeSet<String>,
    /// Their templates and those of every action they depend on, by plan key.
    pub actions: BTreeMap<String, Template>,
}

impl ModuleGroupsPlan {
    /// The module groups of `plan` (keys [`MODULE_KEY_PREFIX`]…) whose derivations are the same
    /// whatever the main module's text: none of them, nor anything they depend on, reads a
    /// source set or the whole module cache (named by its fixed-output `.drv`, which changes
    /// with the source), and they depend only on module groups and std's group. Empty in
    /// granularity "package".
    pub fn of(plan: &DrvPlan) -> Self {
        fn independent(plan: &DrvPlan, key: &str, memo: &mut BTreeMap<String, bool>) -> bool {
            if let Some(known) = memo.get(key) {
                return *known;
            }
            let Some(template) = plan.actions.get(key) else {
                return false;
            };
            // A cycle is impossible in a plan; assume no while visiting.
            memo.insert(key.to_string(), false);
            let ok = (key == STD_KEY || key.starts_with(MODULE_KEY_PREFIX))
                && template.sources().next().is_none()
                && !template.uses(ToolInput::Modcache)
                && template.deps().all(|d| independent(plan, &d.key, memo));
            memo.insert(key.to_string(), ok);
            ok
        }
        let mut memo = BTreeMap::new();
        let groups: BTreeSet<String> = plan
            .actions
            .keys()
            .filter(|k| k.starts_with(MODULE_KEY_PREFIX))
            .filter(|k| independent(plan, k, &mut memo))
            .cloned()
            .collect();
        let mut actions = BTreeMap::new();
        let mut todo: Vec<&String> = groups.iter().collect();
        while let Some(key) = todo.pop() {
            if actions.contains_key(key) {
                continue;
            }
            let template = &plan.actions[key];
            todo.extend(template.deps().map(|d| &d.key));
            actions.insert(key.clone(), template.clone());
        }
        ModuleGroupsPlan {
            version: plan.version,
            addressing: plan.addressing,
            groups,
            actions,
        }
    }

    /// The modules its derivations read, each once.
    pub fn modules(&self) -> BTreeSet<&ModuleDir> {
        self.actions
            .values()
            .flat_map(|t| t.modules().map(|(_, m)| m))
            .collect()
    }
}

/// What the module groups' registrar writes: the `.drv` of each module group it registered, by
/// plan key (absolute paths: references of the file, so the `.drv`s are in the closure of every
/// planner given it). Empty when registering failed (the program's planner then adds them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisteredGroups {
    pub groups: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attr, SourceSet};
    use godrv_plan::DepRef;

    fn template(deps: &[&str], extra: &[(&str, Attr)]) -> Template {
        let mut attrs = BTreeMap::new();
        for (i, dep) in deps.iter().enumerate() {
            attrs.insert(
                format!("dep{i}"),
                Attr::Dep(DepRef {
                    key: dep.to_string(),
                    output: "out".into(),
                    dir: None,
                }),
            );
        }
        for (name, value) in extra {
            attrs.insert(name.to_string(), value.clone());
        }
        Template { attrs }
    }

    fn plan(actions: Vec<(&str, Template)>) -> DrvPlan {
        DrvPlan {
            version: crate::contract().plan_version,
            addressing: Addressing::ContentAddressed,
            top: "b001".into(),
            actions: actions
                .into_iter()
                .map(|(k, t)| (k.to_string(), t))
                .collect(),
        }
    }

    /// The groups that do not depend on the main module, with std's group; a group reading the
    /// whole module cache, one depending on a main-module package, and what depends on either,
    /// are left to the program's planner.
    #[test]
    fn only_groups_independent_of_the_source_are_registered_ahead() {
        let src = Attr::Src(SourceSet {
            name: "src-m".into(),
            files: ["a.go".to_string()].into(),
            paths: ["a.go".to_string()].into(),
            sha256: None,
        });
        let modcache = Attr::Toolchain {
            input: ToolInput::Modcache,
            path: String::new(),
        };
        let p = plan(vec![
            (STD_KEY, template(&[], &[])),
            ("module:a@v1", template(&[STD_KEY], &[])),
            ("module:b@v1", template(&["module:a@v1"], &[])),
            (
                "module:c@v1",
                template(&[STD_KEY], &[("modcache", modcache)]),
            ),
            ("module:d@v1", template(&["module:c@v1"], &[])),
            ("b002", template(&[STD_KEY], &[("src", src)])),
            ("module:e@v1", template(&["b002"], &[])),
            ("b001", template(&["module:b@v1", "module:e@v1"], &[])),
        ]);
        let part = ModuleGroupsPlan::of(&p);
        assert_eq!(
            part.groups.iter().map(String::as_str).collect::<Vec<_>>(),
            ["module:a@v1", "module:b@v1"]
        );
        assert_eq!(
            part.actions.keys().map(String::as_str).collect::<Vec<_>>(),
            ["module:a@v1", "module:b@v1", STD_KEY]
        );
        assert_eq!(part.actions["module:b@v1"], p.actions["module:b@v1"]);
    }

    #[test]
    fn a_plan_without_module_groups_has_an_empty_part() {
        let p = plan(vec![("b001", template(&[], &[]))]);
        let part = ModuleGroupsPlan::of(&p);
        assert!(part.groups.is_empty() && part.actions.is_empty());
    }
}
