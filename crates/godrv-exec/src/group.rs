//! Replaying a group: several actions in one derivation (module granularity, see
//! `godrv_plan::group`).
//!
//! Each member is replayed by [`crate::run`] exactly as its own derivation would replay it, in its
//! own scratch directory, with its `$OUT` (and every other output) being that output's directory
//! named after the member. Members run in dependency order, up to `NIX_BUILD_CORES` at a time
//! (all the machine's cores when it is 0 or unset), as cargo's job queue runs jobs; the first
//! failure stops starting new ones and is reported with the member named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

use godrv_plan::spec::{self, Member, MemberInput};

use crate::{io_err, BuildEnv, ExecError};

/// Replays every member of the group `env` describes.
pub fn run(env: &BuildEnv) -> Result<(), ExecError> {
    let members = &env.spec.members;
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (dir, member) in members {
        let needs: BTreeSet<&str> = member
            .inputs
            .iter()
            .filter_map(|input| match input {
                MemberInput::Member { member: dep, .. } => Some(dep.as_str()),
                MemberInput::Dep { .. } => None,
            })
            .collect();
        for dep in &needs {
            if !members.contains_key(*dep) {
                return Err(ExecError::BadGroup(format!(
                    "member {dir} reads member {dep}, which the group does not have"
                )));
            }
            dependents.entry(*dep).or_default().push(dir);
        }
        waiting.insert(dir, needs.len());
    }
    for output in env.outputs.values().chain(std::iter::once(&env.out)) {
        std::fs::create_dir_all(output).map_err(io_err("creating", output))?;
    }
    let ready: Vec<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(dir, _)| *dir)
        .collect();
    let state = Mutex::new(Queue {
        ready,
        waiting,
        running: 0,
        done: 0,
        failure: None,
    });
    let wake = Condvar::new();
    let index: BTreeMap<&str, usize> = members
        .keys()
        .enumerate()
        .map(|(i, d)| (d.as_str(), i))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs().min(members.len().max(1)) {
            scope.spawn(|| loop {
                let dir = {
                    let mut queue = state.lock().expect("no worker panics holding the queue");
                    loop {
                        if queue.failure.is_some() {
                            return;
                        }
                        if let Some(dir) = queue.ready.pop() {
                            queue.running += 1;
                            break dir;
                        }
                        if queue.running == 0 {
                            return; // all done, or the rest wait on a cycle (reported below)
                        }
                        queue = wake
                            .wait(queue)
                            .expect("no worker panics holding the queue");
                    }
                };
                let result =
                    member_env(env, index[dir], dir, &members[dir]).and_then(|e| crate::run(&e));
                let mut queue = state.lock().expect("no worker panics holding the queue");
                queue.running -= 1;
                queue.done += 1;
                match result {
                    Err(e) => {
                        queue.failure.get_or_insert(ExecError::Member {
                            group: env.name.clone(),
                            member: dir.to_string(),
                            source: Box::new(e),
                        });
                    }
                    Ok(()) => {
                        for next in dependents.get(dir).into_iter().flatten() {
                            let n = queue.waiting.get_mut(next).expect("every member waits");
                            *n -= 1;
                            if *n == 0 {
                                queue.ready.push(next);
                            }
                        }
                    }
                }
                wake.notify_all();
            });
        }
    });
    let queue = state
        .into_inner()
        .expect("no worker panics holding the queue");
    if let Some(e) = queue.failure {
        return Err(e);
    }
    if queue.done != members.len() {
        let stuck: Vec<&str> = queue
            .waiting
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(d, _)| *d)
            .collect();
        return Err(ExecError::BadGroup(format!(
            "members {} read each other in a cycle",
            stuck.join(", ")
        )));
    }
    Ok(())
}

/// The work queue shared by the workers.
struct Queue<'a> {
    ready: Vec<&'a str>,
    /// Member → how many of the members it reads are not built yet.
    waiting: BTreeMap<&'a str, usize>,
    running: usize,
    done: usize,
    failure: Option<ExecError>,
}

/// How many members run at once: `NIX_BUILD_CORES` (Nix's `cores`), or every core when it is 0
/// or unset.
fn jobs() -> usize {
    std::env::var("NIX_BUILD_CORES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

/// The environment of one member: its own scratch directory, its outputs' directories, its
/// dependencies resolved to the group's dependencies or other members' directories.
fn member_env(
    env: &BuildEnv,
    index: usize,
    dir: &str,
    member: &Member,
) -> Result<BuildEnv, ExecError> {
    let output_dir = |name: &str| Ok::<PathBuf, ExecError>(env.output(name)?.join(dir));
    let deps = member
        .inputs
        .iter()
        .map(|input| match input {
            MemberInput::Dep { dep } => env.deps.get(*dep).cloned().ok_or_else(|| {
                ExecError::BadGroup(format!(
                    "member {dir} reads dependency {dep}, which the group does not have"
                ))
            }),
            MemberInput::Member { member, output } => Ok(env.output(output)?.join(member)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = member
        .action
        .keep
        .iter()
        .map(|k| Ok((k.output.clone(), output_dir(&k.output)?)))
        .collect::<Result<BTreeMap<_, _>, ExecError>>()?;
    let module = match &member.module {
        Some(attr) => Some(
            env.modules
                .get(attr)
                .cloned()
                .ok_or_else(|| ExecError::MissingAttr(attr.clone()))?,
        ),
        None => env.module.clone(),
    };
    Ok(BuildEnv {
        name: dir.to_string(),
        spec: member.action.clone(),
        goroot: env.goroot.clone(),
        out: output_dir(spec::OUT_OUTPUT)?,
        outputs,
        src: env.src.clone(),
        module,
        modules: BTreeMap::new(),
        modcache: env.modcache.clone(),
        cc: env.cc.clone(),
        inputs: env.inputs.clone(),
        deps,
        scratch: env.scratch.join(format!("m{index}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use godrv_plan::spec::{ActionSpec, ExecStep, Keep};
    use std::fs;

    /// A member that copies `$WORK/b002/<from>` to its own `<to>`, kept in `out`.
    fn copier(from: &str, to: &str, inputs: Vec<MemberInput>) -> Member {
        Member {
            action: ActionSpec {
                steps: vec![
                    ExecStep::Mkdir {
                        path: "$WORK/b001".into(),
                    },
                    ExecStep::Copy {
                        from: format!("$WORK/b002/{from}"),
                        to: format!("$WORK/b001/{to}"),
                    },
                ],
                deps: inputs.len(),
                keep: vec![Keep {
                    output: "out".into(),
                    from: to.into(),
                    to: to.into(),
                }],
                forbid_goroot_reference: false,
                members: BTreeMap::new(),
            },
            inputs,
            module: None,
        }
    }

    fn group_env(tmp: &std::path::Path, members: BTreeMap<String, Member>) -> BuildEnv {
        let dep = tmp.join("dep/example.org/a");
        fs::create_dir_all(&dep).unwrap();
        fs::write(dep.join("_pkg_.a"), "outside").unwrap();
        BuildEnv {
            name: "go-group".into(),
            spec: ActionSpec {
                steps: vec![],
                deps: 1,
                keep: vec![],
                forbid_goroot_reference: false,
                members,
            },
            goroot: tmp.to_path_buf(),
            out: tmp.join("out"),
            outputs: BTreeMap::from([("out".to_string(), tmp.join("out"))]),
            deps: vec![dep],
            scratch: tmp.join("build"),
            ..Default::default()
        }
    }

    /// Members run in dependency order; each one's output is a directory named after it; a
    /// member reads the group's dependency and another member's output directory.
    #[test]
    fn members_run_in_order_with_outputs_by_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let members = BTreeMap::from([
            (
                "m.org/x/b".to_string(),
                copier(
                    "a.copy",
                    "b.copy",
                    vec![MemberInput::Member {
                        member: "m.org/x/a".into(),
                        output: "out".into(),
                    }],
                ),
            ),
            (
                "m.org/x/a".to_string(),
                copier("_pkg_.a", "a.copy", vec![MemberInput::Dep { dep: 0 }]),
            ),
        ]);
        crate::run(&group_env(tmp.path(), members)).unwrap();
        let out = tmp.path().join("out");
        assert_eq!(
            fs::read_to_string(out.join("m.org/x/a/a.copy")).unwrap(),
            "outside"
        );
        assert_eq!(
            fs::read_to_string(out.join("m.org/x/b/b.copy")).unwrap(),
            "outside"
        );
    }

    /// A failing member fails the group with the member named; members that read it never run.
    #[test]
    fn failing_member_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let members = BTreeMap::from([
            (
                "m.org/x/a".to_string(),
                copier("missing", "a.copy", vec![MemberInput::Dep { dep: 0 }]),
            ),
            (
                "m.org/x/b".to_string(),
                copier(
                    "a.copy",
                    "b.copy",
                    vec![MemberInput::Member {
                        member: "m.org/x/a".into(),
                        output: "out".into(),
                    }],
                ),
            ),
        ]);
        let err = crate::run(&group_env(tmp.path(), members))
            .unwrap_err()
            .to_string();
        assert!(err.contains("go-group (m.org/x/a)"), "{err}");
        assert!(!tmp.path().join("out/m.org/x/b/b.copy").exists());
    }

    #[test]
    fn members_in_a_cycle_are_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let reads = |other: &str| {
            copier(
                "f",
                "f",
                vec![MemberInput::Member {
                    member: other.into(),
                    output: "out".into(),
                }],
            )
        };
        let members =
            BTreeMap::from([("a".to_string(), reads("b")), ("b".to_string(), reads("a"))]);
        let err = crate::run(&group_env(tmp.path(), members))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("members a, b read each other in a cycle"),
            "{err}"
        );
    }
}
