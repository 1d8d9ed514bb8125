//! Module granularity: several planned actions built by one derivation, a *group*.
//!
//! Nobody edits the standard library or a downloaded module, so their packages need no
//! derivation each. A group replays its members' action specs unchanged (the same commands as
//! per-package derivations) inside one `godrv exec`, in dependency order and in parallel; its
//! outputs (`link`, `out`) hold one directory per member, named after the member's import path.
//! A dependent names (group, output, directory) in a [`DepRef`], and its own spec does not change.
//!
//! - [`group_std`]: the standard library is one group made of every package of
//!   `go build -n std` (planned with the same std-shaping settings as the program), so it is the
//!   same derivation in every program built with the same toolchain and settings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::spec::{self, ActionSpec, Member, MemberInput};
use crate::{DepRef, Plan, PlannedAction, Role};

/// How many derivations a build has: the `granularity` argument of the builders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// Every package its own derivation.
    #[default]
    Package,
    /// The standard library one derivation ([`group_std`]); every other package its own.
    Module,
}

/// Plan key of the standard library's group.
pub const STD_KEY: &str = "std";

/// Derivation name of the standard library's group.
pub const STD_NAME: &str = "go-stdlib";

/// Why actions cannot be grouped.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("the action {key} ({name}) builds no package, so it has no directory in the outputs of the group {group}")]
    NoPackage {
        group: String,
        key: String,
        name: String,
    },
    #[error("two actions of the group {group} build {package} ({first} and {second})")]
    DuplicatePackage {
        group: String,
        package: String,
        first: String,
        second: String,
    },
    #[error("the action {key} depends on {dep}, which the plan does not have")]
    MissingDependency { key: String, dep: String },
    #[error("the program's action for the standard-library package {package} differs from the one `go build -n std` gives with the same settings, so the std group would not build what go builds; use granularity = \"package\" and report this")]
    StdMismatch { package: String },
}

/// Replaces every standard-library action of `plan` by one group of every action of `std` (the
/// plan of `go build -n std` with the same settings, from [`crate::plan_library`]). Each of the
/// program's std actions must be the std plan's action for the same package, with the same
/// dependencies: the program then builds exactly what its own script says.
pub fn group_std(plan: &mut Plan, std: &Plan) -> Result<(), GroupError> {
    let members: BTreeSet<String> = std
        .actions
        .keys()
        .filter(|k| **k != std.top)
        .cloned()
        .collect();
    let group = make_group(&std.actions, &members, STD_NAME)?;
    let std_key: BTreeMap<&str, &str> = members
        .iter()
        .filter_map(|k| Some((std.actions[k].package.as_deref()?, k.as_str())))
        .collect();
    let package_deps = |actions: &BTreeMap<String, PlannedAction>, action: &PlannedAction| {
        action
            .deps
            .iter()
            .map(|d| {
                let dep = actions
                    .get(&d.key)
                    .ok_or_else(|| GroupError::MissingDependency {
                        key: action.name.clone(),
                        dep: d.key.clone(),
                    })?;
                Ok((dep.package.clone(), dep.role, d.output.clone()))
            })
            .collect::<Result<Vec<_>, GroupError>>()
    };
    let mut moved = BTreeMap::new();
    for (key, action) in &plan.actions {
        let Some(package) = action.package.as_deref() else {
            continue;
        };
        let Some(theirs) = std_key.get(package) else {
            continue;
        };
        let theirs = &std.actions[*theirs];
        if action.spec != theirs.spec
            || action.outputs != theirs.outputs
            || package_deps(&plan.actions, action)? != package_deps(&std.actions, theirs)?
        {
            return Err(GroupError::StdMismatch {
                package: package.to_string(),
            });
        }
        moved.insert(key.clone(), package.to_string());
    }
    replace_with_group(plan, &moved, STD_KEY, group);
    Ok(())
}

/// Where a group's dependency goes in its list: the target's package and name, the output, the
/// directory inside it, and (a tie-break only) the plan key.
type DepOrder = (Option<String>, String, String, Option<String>, String);

/// One derivation for the actions `members` of `actions`, named `name`. Each member's
/// dependencies outside the group become the group's (in a canonical order: by the target's
/// package, name and output and the directory inside it).
pub fn make_group(
    actions: &BTreeMap<String, PlannedAction>,
    members: &BTreeSet<String>,
    name: &str,
) -> Result<PlannedAction, GroupError> {
    let mut dirs: BTreeMap<&str, &str> = BTreeMap::new(); // key → directory
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new(); // directory → key
    for key in members {
        let action = &actions[key];
        let dir = action
            .package
            .as_deref()
            .ok_or_else(|| GroupError::NoPackage {
                group: name.to_string(),
                key: key.clone(),
                name: action.name.clone(),
            })?;
        if let Some(first) = seen.insert(dir, key) {
            return Err(GroupError::DuplicatePackage {
                group: name.to_string(),
                package: dir.to_string(),
                first: first.to_string(),
                second: key.clone(),
            });
        }
        dirs.insert(key, dir);
    }
    let target = |key: &str, dep: &DepRef| {
        actions
            .get(&dep.key)
            .ok_or_else(|| GroupError::MissingDependency {
                key: key.to_string(),
                dep: dep.key.clone(),
            })
    };
    // The group's own dependencies, in a canonical order (plan keys differ between programs).
    let mut external: BTreeMap<DepOrder, DepRef> = BTreeMap::new();
    for key in members {
        for dep in &actions[key].deps {
            if !members.contains(&dep.key) {
                let t = target(key, dep)?;
                let order = (
                    t.package.clone(),
                    t.name.clone(),
                    dep.output.clone(),
                    dep.dir.clone(),
                    dep.key.clone(),
                );
                external.insert(order, dep.clone());
            }
        }
    }
    let deps: Vec<DepRef> = external.into_values().collect();
    let modules: BTreeSet<Option<&str>> = members
        .iter()
        .map(|k| actions[k].module.as_deref())
        .collect();
    let module = match modules.len() {
        1 => modules.into_iter().next().flatten().map(str::to_string),
        _ => None,
    };
    let mut spec_members = BTreeMap::new();
    let mut outputs = BTreeSet::new();
    let mut sources = BTreeSet::new();
    for key in members {
        let action = &actions[key];
        let inputs = action
            .deps
            .iter()
            .map(|dep| match dirs.get(dep.key.as_str()) {
                Some(dir) => MemberInput::Member {
                    member: dir.to_string(),
                    output: dep.output.clone(),
                },
                None => MemberInput::Dep {
                    dep: deps
                        .iter()
                        .position(|d| d == dep)
                        .expect("every outside dependency is one of the group's"),
                },
            })
            .collect();
        outputs.extend(action.outputs.iter().cloned());
        sources.extend(action.sources.iter().cloned());
        spec_members.insert(
            dirs[key.as_str()].to_string(),
            Member {
                action: action.spec.clone(),
                inputs,
                module: None,
            },
        );
    }
    Ok(PlannedAction {
        name: crate::sanitize_store_name(name),
        package: None,
        role: Role::Group,
        outputs: outputs.into_iter().collect(),
        sources,
        module,
        uses_modcache: members.iter().any(|k| actions[k].uses_modcache),
        binaries: vec![],
        spec: ActionSpec {
            steps: vec![],
            deps: deps.len(),
            keep: vec![],
            forbid_goroot_reference: false,
            members: spec_members,
        },
        deps,
    })
}

/// Removes the actions `moved` (key → their directory in the group) from `plan`, adds `group`
/// under `key`, and points every dependency on a moved action at its directory in the group.
fn replace_with_group(
    plan: &mut Plan,
    moved: &BTreeMap<String, String>,
    key: &str,
    group: PlannedAction,
) {
    for old in moved.keys() {
        plan.actions.remove(old);
    }
    for action in plan.actions.values_mut() {
        for dep in &mut action.deps {
            if let Some(dir) = moved.get(&dep.key) {
                *dep = DepRef {
                    key: key.to_string(),
                    output: dep.output.clone(),
                    dir: Some(dir.clone()),
                };
            }
        }
    }
    plan.actions.insert(key.to_string(), group);
}

/// Whether `action` is a group (its spec has members and no steps).
pub fn is_group(action: &PlannedAction) -> bool {
    !action.spec.members.is_empty()
}

/// The outputs a group's members keep, each once: what the group derivation must have.
pub fn member_outputs(spec: &ActionSpec) -> BTreeSet<&str> {
    spec.members
        .values()
        .flat_map(|m| m.action.keep.iter().map(|k| k.output.as_str()))
        .chain(std::iter::once(spec::OUT_OUTPUT))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(package: &str, deps: &[(&str, &str)]) -> PlannedAction {
        PlannedAction {
            name: crate::sanitize_store_name(&format!("go-{package}")),
            package: Some(package.to_string()),
            role: Role::Compile,
            deps: deps
                .iter()
                .map(|(key, output)| DepRef {
                    key: key.to_string(),
                    output: output.to_string(),
                    dir: None,
                })
                .collect(),
            outputs: vec!["link".into(), "out".into()],
            sources: BTreeSet::new(),
            module: None,
            uses_modcache: false,
            binaries: vec![],
            spec: ActionSpec {
                steps: vec![spec::ExecStep::Mkdir {
                    path: format!("$WORK/b001/{package}"),
                }],
                deps: deps.len(),
                keep: vec![],
                forbid_goroot_reference: false,
                members: BTreeMap::new(),
            },
        }
    }

    fn std_plan() -> Plan {
        Plan {
            actions: BTreeMap::from([
                ("b003".into(), compile("runtime", &[])),
                ("b002".into(), compile("fmt", &[("b003", "out")])),
                ("b004".into(), compile("os", &[("b003", "out")])),
                (
                    crate::LIBRARY_TOP.into(),
                    compile("top", &[("b002", "out"), ("b004", "out")]),
                ),
            ]),
            top: crate::LIBRARY_TOP.into(),
        }
    }

    /// The program's std actions (other keys than std's plan) go; its own actions read their
    /// directories in the std group; the group holds all of std, not only what the program uses.
    #[test]
    fn std_group_replaces_the_programs_std_actions() {
        let mut program = Plan {
            actions: BTreeMap::from([
                ("b010".into(), compile("runtime", &[])),
                ("b009".into(), compile("fmt", &[("b010", "out")])),
                (
                    "b001".into(),
                    compile("example.com/m", &[("b009", "out"), ("b010", "link")]),
                ),
            ]),
            top: "b001".into(),
        };
        group_std(&mut program, &std_plan()).unwrap();
        let keys: Vec<&str> = program.actions.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b001", STD_KEY]);
        let deps: Vec<_> = program.actions["b001"]
            .deps
            .iter()
            .map(|d| (d.key.as_str(), d.output.as_str(), d.dir.as_deref()))
            .collect();
        assert_eq!(
            deps,
            [
                (STD_KEY, "out", Some("fmt")),
                (STD_KEY, "link", Some("runtime"))
            ]
        );
        let group = &program.actions[STD_KEY];
        assert_eq!(group.name, STD_NAME);
        assert_eq!(group.role, Role::Group);
        let members: Vec<&str> = group.spec.members.keys().map(String::as_str).collect();
        assert_eq!(members, ["fmt", "os", "runtime"]);
        assert_eq!(
            group.spec.members["fmt"].inputs,
            [MemberInput::Member {
                member: "runtime".into(),
                output: "out".into()
            }]
        );
        assert!(group.deps.is_empty() && group.spec.steps.is_empty());
    }

    /// A program whose std action is not std's (other commands) is an error naming the package,
    /// not a binary that differs from go build's.
    #[test]
    fn std_action_unlike_std_plans_is_an_error() {
        let mut odd = compile("fmt", &[]);
        odd.spec.steps.push(spec::ExecStep::Touch {
            path: "$WORK/b001/x".into(),
        });
        let mut program = Plan {
            actions: BTreeMap::from([("b002".into(), odd)]),
            top: "b002".into(),
        };
        let err = group_std(&mut program, &std_plan())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("standard-library package fmt differs"),
            "{err}"
        );
    }

    /// Dependencies outside a group become the group's, ordered by what they are, not by key.
    #[test]
    fn outside_dependencies_are_ordered_canonically() {
        let actions = BTreeMap::from([
            ("b100".into(), compile("z.org/dep", &[])),
            ("b001".into(), compile("a.org/dep", &[])),
            (
                "b005".into(),
                compile("m.org/x", &[("b100", "out"), ("b001", "out")]),
            ),
            ("b006".into(), compile("m.org/y", &[("b005", "out")])),
        ]);
        let members = BTreeSet::from(["b005".to_string(), "b006".to_string()]);
        let group = make_group(&actions, &members, "go-m.org").unwrap();
        let deps: Vec<&str> = group.deps.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(deps, ["b001", "b100"]);
        assert_eq!(
            group.spec.members["m.org/x"].inputs,
            [MemberInput::Dep { dep: 1 }, MemberInput::Dep { dep: 0 }]
        );
        assert_eq!(group.spec.deps, 2);
    }

    #[test]
    fn two_members_for_one_package_are_an_error() {
        let actions = BTreeMap::from([
            ("b001".into(), compile("m.org/x", &[])),
            ("b002".into(), compile("m.org/x", &[])),
        ]);
        let members = BTreeSet::from(["b001".to_string(), "b002".to_string()]);
        let err = make_group(&actions, &members, "g").unwrap_err().to_string();
        assert!(
            err.contains("two actions of the group g build m.org/x"),
            "{err}"
        );
    }
}
