//! Module granularity: several planned actions built by one derivation, a *group*.
//!
//! Nobody edits the standard library or a downloaded module, so their packages need no
//! derivation each. A group replays its members' action specs unchanged (the same commands as
//! per-package derivations) inside one `godrv exec`, in dependency order and in parallel; its
//! outputs (`link`, `out`) hold one directory per member, named after the member's import path.
//! A dependent names (group, output, directory) in a [`DepRef`], and its own spec does not change.
//!
//! - [`group_modules`]: each third-party module is one group of the packages the build needs from
//!   it; modules whose packages import each other in a cycle are one group. The main module,
//!   local `replace` directories and `go.work` modules (sources in the user's tree) are not
//!   grouped: one derivation per package keeps early cutoff where edits happen.
//! - [`group_std`]: the standard library is one group made of every package of
//!   `go build -n std` (planned with the same std-shaping settings as the program), so it is the
//!   same derivation in every program built with the same toolchain and settings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::spec::{self, ActionSpec, Member, MemberInput};
use crate::{DepRef, Plan, PlannedAction, Role};

/// How many derivations a build has: the `granularity` argument of the builders. The default
/// is `Module` (measured faster on real programs cold, with std built, and in the planner after
/// an edit; see nix/README.md, "Granularity").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// Every package its own derivation.
    Package,
    /// The standard library one derivation ([`group_std`]), each third-party module (or import
    /// cycle of modules) one ([`group_modules`]); the main module's packages, local `replace`
    /// directories and `go.work` modules one derivation per package.
    #[default]
    Module,
}

/// Plan key of the standard library's group.
pub const STD_KEY: &str = "std";

/// Derivation name of the standard library's group.
pub const STD_NAME: &str = "go-stdlib";

/// Prefix of a third-party module group's plan key (`module:example.com/greet@v1.1.0`, the first
/// module of the group).
pub const MODULE_KEY_PREFIX: &str = "module:";

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
}

/// Replaces every standard-library action of `plan` by one group of every action of `std` (the
/// plan of `go build -n std` with the same settings, from [`crate::plan_library`]). Only the
/// program's std actions that are the std plan's action for the same package, with the same
/// dependencies, are replaced; the others (`go test` compiles `testing/internal/testdeps`
/// otherwise) and those that read them keep their own derivations, so the program builds exactly
/// what its own script says.
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
    // The program's std actions, and those that are not std's: their own derivations.
    let mut ours = BTreeMap::new();
    let mut unlike = BTreeSet::new();
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
            unlike.insert(key.clone());
        }
        ours.insert(key.clone(), package.to_string());
    }
    // An action reading one that is not std's is not std's either.
    loop {
        let more: Vec<String> = ours
            .keys()
            .filter(|k| !unlike.contains(*k))
            .filter(|k| {
                plan.actions[*k]
                    .deps
                    .iter()
                    .any(|d| unlike.contains(&d.key))
            })
            .cloned()
            .collect();
        if more.is_empty() {
            break;
        }
        unlike.extend(more);
    }
    let moved = ours
        .into_iter()
        .filter(|(k, _)| !unlike.contains(k))
        .collect();
    replace_with_group(plan, &moved, STD_KEY, group);
    Ok(())
}

/// Where a group's dependency goes in its list: the target's package and name, the output, the
/// directory inside it, and (a tie-break only) the plan key.
type DepOrder = (Option<String>, String, String, Option<String>, String);

/// Replaces the actions of every third-party module (each reads its module's directory of the
/// module cache) by one group per module, named `go-<module>@<version>`; modules whose packages
/// import each other in a cycle form one group. Groups are made dependencies first, so a group's
/// dependencies on another are on that group's directories.
pub fn group_modules(plan: &mut Plan) -> Result<(), GroupError> {
    let mut by_module: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, action) in &plan.actions {
        if let (Some(module), Role::Compile | Role::Other) = (&action.module, action.role) {
            by_module
                .entry(module.clone())
                .or_default()
                .insert(key.clone());
        }
    }
    let module_of = |key: &str| -> Option<&str> {
        let action = plan.actions.get(key)?;
        by_module
            .get(action.module.as_deref()?)?
            .contains(key)
            .then_some(action.module.as_deref()?)
    };
    let mut imports: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (module, keys) in &by_module {
        let edges = imports.entry(module.as_str()).or_default();
        for key in keys {
            for dep in &plan.actions[key].deps {
                if let Some(other) = module_of(&dep.key).filter(|m| *m != module) {
                    edges.insert(other);
                }
            }
        }
    }
    let components: Vec<Vec<String>> = strongly_connected(&imports)
        .into_iter()
        .map(|c| c.into_iter().map(str::to_string).collect())
        .collect();
    for modules in components {
        let members: BTreeSet<String> = modules
            .iter()
            .flat_map(|m| by_module[m].iter().cloned())
            .collect();
        let name = match modules.as_slice() {
            [one] => format!("go-{one}"),
            [first, rest @ ..] => format!("go-{first}-and-{}-more", rest.len()),
            [] => continue,
        };
        let group = make_group(&plan.actions, &members, &name)?;
        let moved = members
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    plan.actions[k].package.clone().unwrap_or_default(),
                )
            })
            .collect();
        replace_with_group(
            plan,
            &moved,
            &format!("{MODULE_KEY_PREFIX}{}", modules[0]),
            group,
        );
    }
    Ok(())
}

/// The strongly connected components of `graph` (node → the nodes it points at), each sorted,
/// every component after all those it points at (Tarjan's algorithm).
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(node: &'a str, graph: &BTreeMap<&'a str, BTreeSet<&'a str>>, st: &mut State<'a>) {
        let n = st.index.len();
        st.index.insert(node, n);
        st.low.insert(node, n);
        st.stack.push(node);
        st.on_stack.insert(node);
        for &next in graph.get(node).into_iter().flatten() {
            if !st.index.contains_key(next) {
                visit(next, graph, st);
                let low = st.low[node].min(st.low[next]);
                st.low.insert(node, low);
            } else if st.on_stack.contains(next) {
                let low = st.low[node].min(st.index[next]);
                st.low.insert(node, low);
            }
        }
        if st.low[node] == st.index[node] {
            let mut component = Vec::new();
            while let Some(top) = st.stack.pop() {
                st.on_stack.remove(top);
                component.push(top);
                if top == node {
                    break;
                }
            }
            component.sort_unstable();
            st.out.push(component);
        }
    }
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &node in graph.keys() {
        if !st.index.contains_key(node) {
            visit(node, graph, &mut st);
        }
    }
    st.out
}

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
    // One module: the `module` attribute, as for a package. Several (an import cycle between
    // modules): `module0`, `module1`, … in the order of their directories, named by each member.
    let (module, attrs) = match modules.len() {
        1 => (
            modules.into_iter().next().flatten().map(str::to_string),
            None,
        ),
        _ => (
            None,
            Some(
                modules
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, dir)| (dir.to_string(), format!("module{i}")))
                    .collect::<BTreeMap<String, String>>(),
            ),
        ),
    };
    let group_modules = attrs
        .iter()
        .flatten()
        .map(|(dir, attr)| (attr.clone(), dir.clone()))
        .collect();
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
                module: match &attrs {
                    Some(attrs) => action.module.as_ref().map(|m| attrs[m].clone()),
                    None => None,
                },
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
        group_modules,
        tools: members
            .iter()
            .flat_map(|k| actions[k].tools.iter().copied())
            .collect(),
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
    use crate::GoTool;

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
            group_modules: BTreeMap::new(),
            tools: [GoTool::Compile].into(),
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

    /// A program's std action that is not std's (other commands: `go test`'s testdeps) keeps
    /// its own derivation, and so does every std action that reads it; the rest is the group.
    #[test]
    fn std_action_unlike_std_plans_keeps_its_own_derivation() {
        let mut odd = compile("runtime", &[]);
        odd.spec.steps.push(spec::ExecStep::Touch {
            path: "$WORK/b001/x".into(),
        });
        let mut program = Plan {
            actions: BTreeMap::from([
                ("b010".into(), odd),
                ("b009".into(), compile("fmt", &[("b010", "out")])),
                ("b008".into(), compile("os", &[])),
                (
                    "b001".into(),
                    compile("example.com/m", &[("b009", "out"), ("b008", "out")]),
                ),
            ]),
            top: "b001".into(),
        };
        let mut std = std_plan();
        std.actions.get_mut("b004").unwrap().deps.clear();
        std.actions.get_mut("b004").unwrap().spec.deps = 0;
        group_std(&mut program, &std).unwrap();
        let keys: Vec<&str> = program.actions.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b001", "b009", "b010", STD_KEY]);
        let deps: Vec<_> = program.actions["b001"]
            .deps
            .iter()
            .map(|d| (d.key.as_str(), d.dir.as_deref()))
            .collect();
        assert_eq!(deps, [("b009", None), (STD_KEY, Some("os"))]);
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

    fn in_module(mut action: PlannedAction, module: &str) -> PlannedAction {
        action.module = Some(module.to_string());
        action
    }

    /// Each module is one group; two modules importing each other are one group with a module
    /// attribute each; the main module's package reads directories of the groups.
    #[test]
    fn modules_are_grouped_and_cycles_merged() {
        let mut plan = Plan {
            actions: BTreeMap::from([
                (
                    "b010".into(),
                    in_module(compile("c.org/c", &[]), "c.org/c@v1.0.0"),
                ),
                (
                    "b011".into(),
                    in_module(compile("a.org/a", &[("b012", "out")]), "a.org/a@v1.0.0"),
                ),
                (
                    "b012".into(),
                    in_module(compile("b.org/b/x", &[("b010", "out")]), "b.org/b@v1.0.0"),
                ),
                (
                    "b013".into(),
                    in_module(compile("b.org/b/y", &[("b011", "out")]), "b.org/b@v1.0.0"),
                ),
                (
                    "b001".into(),
                    compile("m.org/main", &[("b013", "link"), ("b010", "out")]),
                ),
            ]),
            top: "b001".into(),
        };
        group_modules(&mut plan).unwrap();
        let keys: Vec<&str> = plan.actions.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["b001", "module:a.org/a@v1.0.0", "module:c.org/c@v1.0.0"]
        );
        let cycle = &plan.actions["module:a.org/a@v1.0.0"];
        assert_eq!(cycle.name, "go-a.org-a-v1.0.0-and-1-more");
        assert_eq!(cycle.module, None);
        assert_eq!(
            cycle.group_modules,
            BTreeMap::from([
                ("module0".to_string(), "a.org/a@v1.0.0".to_string()),
                ("module1".to_string(), "b.org/b@v1.0.0".to_string()),
            ])
        );
        assert_eq!(
            cycle.spec.members["b.org/b/x"].module.as_deref(),
            Some("module1")
        );
        // The cycle's group reads c's group (made first), at c's directory.
        assert_eq!(
            cycle.deps,
            [DepRef {
                key: "module:c.org/c@v1.0.0".into(),
                output: "out".into(),
                dir: Some("c.org/c".into()),
            }]
        );
        let c = &plan.actions["module:c.org/c@v1.0.0"];
        assert_eq!(c.module.as_deref(), Some("c.org/c@v1.0.0"));
        assert!(c.group_modules.is_empty());
        let main: Vec<_> = plan.actions["b001"]
            .deps
            .iter()
            .map(|d| (d.key.as_str(), d.dir.as_deref()))
            .collect();
        assert_eq!(
            main,
            [
                ("module:a.org/a@v1.0.0", Some("b.org/b/y")),
                ("module:c.org/c@v1.0.0", Some("c.org/c"))
            ]
        );
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
