//! Replay one planned go action inside a Nix build, without a shell.
//!
//! `godrv exec` is the builder of every per-action derivation. It reads the [`ActionSpec`] from the
//! derivation's `godrvAction` attribute, links each dependency's output into the scratch directory
//! (`$WORK/b002`, `$WORK/b003`, …), replays the steps with explicit argv, environment and working
//! directory, and copies the files dependents read (`keep`) to `$out`.
//!
//! The environment it reads ([`BuildEnv::from_env`]): `godrvAction`, `goroot`, `out`, and when the
//! spec needs them `src`, `module`, `modcache`, `dep0`…`depN`, `cc` (a prefix whose `bin` goes on `PATH` for
//! cgo and external linking), `buildInputs` (the user's C inputs, space-separated; their `bin`
//! directories go on `PATH` after the C compiler's and Go's), and `NIX_BUILD_TOP`/`TMPDIR` for the scratch directory.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process;

use godrv_plan::spec::{self, ActionSpec, ExecStep};
use godrv_plan::text::{self, Token};
use godrv_plan::GoTool;

pub mod archive;
pub mod group;

/// What failed while replaying an action.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the builder environment has no `{0}` attribute (is this a godrv derivation?)")]
    MissingAttr(String),
    #[error("the `godrvAction` attribute is not a valid action spec: {0}")]
    BadSpec(#[from] serde_json::Error),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{name}: the working directory {cwd} of `{program}` does not exist (a bug in the plan: a command must run in a directory of its derivation's inputs)")]
    MissingCwd {
        name: String,
        program: String,
        cwd: PathBuf,
    },
    #[error("{name}: the program {program} does not exist (run in {cwd})")]
    MissingProgram {
        name: String,
        program: String,
        cwd: PathBuf,
    },
    #[error("could not start {program} (in {cwd}): {source}")]
    Spawn {
        program: String,
        cwd: PathBuf,
        source: io::Error,
    },
    #[error("{name}: command failed ({status}): {command}")]
    CommandFailed {
        name: String,
        status: process::ExitStatus,
        command: String,
    },
    #[error("the action refers to {0}, which this derivation does not provide")]
    MissingToken(&'static str),
    #[error(transparent)]
    BadText(#[from] text::TextError),
    #[error("{group} ({member}): {source}")]
    Member {
        group: String,
        member: String,
        source: Box<ExecError>,
    },
    #[error("the group's spec is inconsistent (a bug in the plan): {0}")]
    BadGroup(String),
    #[error("the test step of {package} has an empty argv (a bug in the plan)")]
    EmptyTest { package: String },
    #[error("{name}: the tests of {package} failed ({status}):\n{output}\nhelp: a test run sees only {dir} of the source tree, with its subdirectories; if these tests read files outside it (../testdata, the module root), give them with the argument checkData.\"{package}\" = [ \"testdata\" ] (paths relative to modRoot), or checkData.\"*\" = [ \".\" ] for the whole module (nix/README.md, \"Go tests\")")]
    TestFailed {
        name: String,
        package: String,
        status: process::ExitStatus,
        output: String,
        /// The package directory the run saw, as the message names it.
        dir: String,
    },
    #[error("{name}: {file} refers to the Go toolchain {goroot}; outputs must not (allowGoReference is false, the default). help: find what puts the path there (a -X ldflag with a store path, runtime.GOROOT(), a //go:embed of it), or set allowGoReference = true to allow it (that also builds without -trimpath)")]
    GoReference {
        name: String,
        file: PathBuf,
        goroot: PathBuf,
    },
    #[error("{file} is a damaged Go archive ({problem}); it is not kept, so no later build reuses it. help: the file was written wrong on this machine (seen once under heavy load: blocks of zeros); build again, and if it recurs check the machine's disk and memory")]
    DamagedArchive { file: PathBuf, problem: String },
}

pub(crate) fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> ExecError + 'a {
    move |source| ExecError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The builder's inputs, read from the environment Nix gives it.
#[derive(Clone, Debug, Default)]
pub struct BuildEnv {
    pub name: String,
    pub spec: ActionSpec,
    pub goroot: PathBuf,
    pub out: PathBuf,
    /// Every output named by the spec's `keep`, by name (`out`, `link`).
    pub outputs: BTreeMap<String, PathBuf>,
    pub src: Option<PathBuf>,
    /// The one third-party module directory the action reads (`$MODULE`).
    pub module: Option<PathBuf>,
    /// A group's other module directories, by attribute (see `godrv_plan::spec::Member::module`).
    pub modules: BTreeMap<String, PathBuf>,
    pub modcache: Option<PathBuf>,
    pub cc: Option<PathBuf>,
    /// The user's C inputs (`buildInputs` attribute).
    pub inputs: Vec<PathBuf>,
    pub deps: Vec<PathBuf>,
    pub scratch: PathBuf,
}

impl BuildEnv {
    /// Reads the derivation attributes from the process environment.
    pub fn from_env() -> Result<Self, ExecError> {
        let get = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let need = |name: &str| get(name).ok_or_else(|| ExecError::MissingAttr(name.to_string()));
        // A group's spec is passed as a file (`passAsFile`): `godrvActionPath` names it.
        let spec_json = match std::env::var(spec::SPEC_ATTR) {
            Ok(json) => json,
            Err(_) => {
                let file = need(&format!("{}Path", spec::SPEC_ATTR))
                    .map_err(|_| ExecError::MissingAttr(spec::SPEC_ATTR.to_string()))?;
                fs::read_to_string(&file).map_err(io_err("reading", &file))?
            }
        };
        let spec: ActionSpec = serde_json::from_str(&spec_json)?;
        let mut outputs = BTreeMap::new();
        let member_keeps = spec.members.values().flat_map(|m| &m.action.keep);
        for keep in spec.keep.iter().chain(member_keeps) {
            if !outputs.contains_key(&keep.output) {
                outputs.insert(keep.output.clone(), need(&keep.output)?);
            }
        }
        let modules = spec
            .members
            .values()
            .filter_map(|m| m.module.as_deref())
            .map(|attr| Ok((attr.to_string(), need(attr)?)))
            .collect::<Result<_, ExecError>>()?;
        let deps = (0..spec.deps)
            .map(|i| need(&spec::dep_attr(i)))
            .collect::<Result<_, _>>()?;
        let scratch = get("NIX_BUILD_TOP")
            .or_else(|| get("TMPDIR"))
            .unwrap_or_else(std::env::temp_dir);
        Ok(BuildEnv {
            name: std::env::var("name").unwrap_or_else(|_| "godrv-action".to_string()),
            spec,
            goroot: need("goroot")?,
            out: need("out")?,
            outputs,
            src: get("src"),
            module: get("module"),
            modules,
            modcache: get("modcache"),
            cc: get("cc"),
            inputs: std::env::var("buildInputs")
                .unwrap_or_default()
                .split_whitespace()
                .map(PathBuf::from)
                .collect(),
            deps,
            scratch,
        })
    }
}

impl BuildEnv {
    /// Where the output `name` goes: `out` or another of [`BuildEnv::outputs`].
    pub(crate) fn output(&self, name: &str) -> Result<&Path, ExecError> {
        match self.outputs.get(name) {
            Some(path) => Ok(path),
            None if name == spec::OUT_OUTPUT => Ok(&self.out),
            None => Err(ExecError::MissingAttr(name.to_string())),
        }
    }
}

/// Token values for one build.
struct Tokens {
    work: String,
    goroot: String,
    out: String,
    src: Option<String>,
    module: Option<String>,
    modcache: Option<String>,
}

impl Tokens {
    /// Expands spec text ([`godrv_plan::text`]): tokens become their values, `$$` a `$`, and
    /// nothing else changes.
    fn expand(&self, spec_text: &str) -> Result<String, ExecError> {
        text::expand(spec_text, |token| {
            let value = match token {
                Token::Work => Some(&self.work),
                Token::Goroot => Some(&self.goroot),
                Token::Out => Some(&self.out),
                Token::Src => self.src.as_ref(),
                Token::Module => self.module.as_ref(),
                Token::Modcache => self.modcache.as_ref(),
            };
            value
                .map(|v| v.as_str().into())
                .ok_or(ExecError::MissingToken(token.as_text()))
        })
    }
}

/// Replays the action (every member of a group: see [`group`]) and fills `$out`.
pub fn run(env: &BuildEnv) -> Result<(), ExecError> {
    if !env.spec.members.is_empty() {
        return group::run(env);
    }
    let work = env.scratch.join("work");
    fs::create_dir_all(&work).map_err(io_err("creating", &work))?;
    for (i, dep) in env.deps.iter().enumerate() {
        let link = work.join(spec::dep_dir(i));
        std::os::unix::fs::symlink(dep, &link).map_err(io_err("linking dependency at", &link))?;
    }
    let path = path(env);
    let tokens = Tokens {
        work: work.to_string_lossy().into_owned(),
        goroot: env.goroot.to_string_lossy().into_owned(),
        out: env.out.to_string_lossy().into_owned(),
        src: env.src.as_ref().map(|p| p.to_string_lossy().into_owned()),
        module: env
            .module
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        modcache: env
            .modcache
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
    };
    for step in &env.spec.steps {
        run_step(env, &tokens, &path, step)?;
    }
    // A test run's output is a file (the log); every other output is a directory.
    if !env.out.exists() {
        fs::create_dir_all(&env.out).map_err(io_err("creating", &env.out))?;
    }
    let own = work.join(spec::OWN_DIR);
    for keep in &env.spec.keep {
        let (from, to) = (
            own.join(&keep.from),
            env.output(&keep.output)?.join(&keep.to),
        );
        if from.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            copy_file(&from, &to)?;
            if to.file_name().is_some_and(|n| n == archive::PKG_ARCHIVE) {
                archive::check(&to)?;
            }
        }
    }
    for output in env.outputs.values() {
        fs::create_dir_all(output).map_err(io_err("creating", output))?;
    }
    if env.spec.forbid_goroot_reference {
        for output in std::iter::once(&env.out).chain(env.outputs.values()) {
            check_no_reference(env, output)?;
        }
    }
    Ok(())
}

/// What names the Go toolchain in a file: the hash part of its store path (what Nix's reference
/// scanner looks for), or the whole GOROOT when it is not in a store.
fn goroot_needle(goroot: &Path) -> Vec<u8> {
    let text = goroot.to_string_lossy();
    let hash = text
        .strip_prefix("/nix/store/")
        .and_then(|rest| rest.get(..32))
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric()));
    hash.unwrap_or(&text).as_bytes().to_vec()
}

/// Fails with [`ExecError::GoReference`] if a file (or symlink target) under `dir` names GOROOT.
fn check_no_reference(env: &BuildEnv, dir: &Path) -> Result<(), ExecError> {
    let needle = goroot_needle(&env.goroot);
    let found = |file: &Path| ExecError::GoReference {
        name: env.name.clone(),
        file: file.to_path_buf(),
        goroot: env.goroot.clone(),
    };
    let meta = fs::symlink_metadata(dir).map_err(io_err("reading", dir))?;
    if meta.is_symlink() {
        let target = fs::read_link(dir).map_err(io_err("reading", dir))?;
        if contains(target.as_os_str().as_encoded_bytes(), &needle) {
            return Err(found(dir));
        }
    } else if meta.is_dir() {
        for entry in fs::read_dir(dir).map_err(io_err("reading", dir))? {
            check_no_reference(env, &entry.map_err(io_err("reading", dir))?.path())?;
        }
    } else if contains(&fs::read(dir).map_err(io_err("reading", dir))?, &needle) {
        return Err(found(dir));
    }
    Ok(())
}

/// Whether `needle` occurs in `haystack` (memchr's substring search: a link output is tens of MB,
/// and comparing every window of it took 80–120 ms of every link, on an edit's serial path).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

fn path(env: &BuildEnv) -> OsString {
    let mut dirs = Vec::new();
    if let Some(cc) = &env.cc {
        dirs.push(cc.join("bin"));
    }
    dirs.push(env.goroot.join("bin"));
    dirs.extend(env.inputs.iter().map(|p| p.join("bin")));
    std::env::join_paths(dirs).unwrap_or_default()
}

fn run_step(
    env: &BuildEnv,
    tokens: &Tokens,
    path: &OsString,
    step: &ExecStep,
) -> Result<(), ExecError> {
    match step {
        ExecStep::Mkdir { path } => {
            let dir = PathBuf::from(tokens.expand(path)?);
            fs::create_dir_all(&dir).map_err(io_err("creating", &dir))
        }
        ExecStep::WriteFile { path, contents } => {
            let file = PathBuf::from(tokens.expand(path)?);
            create_parent(&file)?;
            fs::write(&file, tokens.expand(contents)?).map_err(io_err("writing", &file))
        }
        ExecStep::Move { from, to } => {
            let (from, to) = (
                PathBuf::from(tokens.expand(from)?),
                PathBuf::from(tokens.expand(to)?),
            );
            create_parent(&to)?;
            if fs::rename(&from, &to).is_err() {
                copy_file(&from, &to)?;
                fs::remove_file(&from).map_err(io_err("removing", &from))?;
            }
            Ok(())
        }
        ExecStep::Copy { from, to } => {
            let (from, to) = (
                PathBuf::from(tokens.expand(from)?),
                PathBuf::from(tokens.expand(to)?),
            );
            create_parent(&to)?;
            if from.is_dir() {
                copy_tree(&from, &to)
            } else {
                copy_file(&from, &to)
            }
        }
        ExecStep::LinkTree { from, to } => {
            let (from, to) = (
                PathBuf::from(tokens.expand(from)?),
                PathBuf::from(tokens.expand(to)?),
            );
            // The links name FROM by its resolved path (the dependency's store path, not the
            // `$WORK/b002` link to it): the output then refers to that path.
            let from = fs::canonicalize(&from).map_err(io_err("resolving", &from))?;
            link_tree(&from, &to)
        }
        ExecStep::Remove { path } => {
            let target = PathBuf::from(tokens.expand(path)?);
            match fs::symlink_metadata(&target) {
                Ok(m) if m.is_dir() => {
                    fs::remove_dir_all(&target).map_err(io_err("removing", &target))
                }
                Ok(_) => fs::remove_file(&target).map_err(io_err("removing", &target)),
                Err(_) => Ok(()),
            }
        }
        ExecStep::AppendFile { path, contents } => {
            use std::io::Write as _;
            let file = PathBuf::from(tokens.expand(path)?);
            let contents = tokens.expand(contents)?;
            create_parent(&file)?;
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .and_then(|mut f| f.write_all(contents.as_bytes()))
                .map_err(io_err("appending to", &file))
        }
        ExecStep::Touch { path } => {
            let file = PathBuf::from(tokens.expand(path)?);
            create_parent(&file)?;
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .map(drop)
                .map_err(io_err("touching", &file))
        }
        ExecStep::Symlink { target, link } => {
            let (target, link) = (tokens.expand(target)?, PathBuf::from(tokens.expand(link)?));
            create_parent(&link)?;
            std::os::unix::fs::symlink(&target, &link).map_err(io_err("creating symlink", &link))
        }
        ExecStep::Test {
            package,
            cwd,
            argv,
            log,
        } => run_test(env, tokens, path, package, cwd, argv, log),
        ExecStep::Run {
            cwd,
            env: vars,
            argv,
            ignore_failure,
        } => {
            let argv = argv
                .iter()
                .map(|a| tokens.expand(a))
                .collect::<Result<Vec<_>, _>>()?;
            let cwd = PathBuf::from(tokens.expand(cwd)?);
            let program = resolve_program(&env.goroot, &argv);
            let mut command = process::Command::new(&program);
            command
                .args(&argv[program_args_start(&argv)..])
                .current_dir(&cwd)
                .env("PATH", path);
            for (name, value) in vars {
                command.env(name, tokens.expand(value)?);
            }
            if *ignore_failure {
                // `CMD || true`: go's compiler probes; their failures are expected and go hides them.
                command
                    .stdout(process::Stdio::null())
                    .stderr(process::Stdio::null());
            }
            let status = command
                .status()
                .map_err(|source| spawn_error(env, &program, &cwd, path, source))?;
            if !status.success() && !ignore_failure {
                return Err(ExecError::CommandFailed {
                    name: env.name.clone(),
                    status,
                    command: argv.join(" "),
                });
            }
            Ok(())
        }
    }
}

/// Runs a test binary with its output in `log` (a file), as `go test` runs it: in the package's
/// directory, with `PWD` set to it.
fn run_test(
    env: &BuildEnv,
    tokens: &Tokens,
    path: &OsString,
    package: &str,
    cwd: &str,
    argv: &[String],
    log: &str,
) -> Result<(), ExecError> {
    let argv = argv
        .iter()
        .map(|a| tokens.expand(a))
        .collect::<Result<Vec<_>, _>>()?;
    let planned_cwd = cwd;
    let (cwd, log) = (
        PathBuf::from(tokens.expand(cwd)?),
        PathBuf::from(tokens.expand(log)?),
    );
    create_parent(&log)?;
    let file = fs::File::create(&log).map_err(io_err("creating", &log))?;
    let stderr = file.try_clone().map_err(io_err("opening", &log))?;
    let program = argv.first().ok_or_else(|| ExecError::EmptyTest {
        package: package.to_string(),
    })?;
    let status = process::Command::new(program)
        .args(&argv[1..])
        .current_dir(&cwd)
        .env("PATH", path)
        .env("PWD", &cwd)
        .stdin(process::Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .status()
        .map_err(|source| spawn_error(env, Path::new(program), &cwd, path, source))?;
    let output = fs::read_to_string(&log).map_err(io_err("reading", &log))?;
    if !status.success() {
        return Err(ExecError::TestFailed {
            name: env.name.clone(),
            package: package.to_string(),
            status,
            output: output.trim_end().to_string(),
            dir: match planned_cwd.strip_prefix("$SRC/") {
                Some(dir) => format!("its package directory {dir}/"),
                None => "its package directory (the root of the source)".to_string(),
            },
        });
    }
    eprint!("{output}");
    Ok(())
}

/// Why `program` could not be started in `cwd`: a missing working directory or program is named
/// as such (both give the same "No such file or directory" from the system).
fn spawn_error(
    env: &BuildEnv,
    program: &Path,
    cwd: &Path,
    path: &OsString,
    source: io::Error,
) -> ExecError {
    let name = env.name.clone();
    let shown = program.to_string_lossy().into_owned();
    if source.kind() == io::ErrorKind::NotFound {
        if !cwd.is_dir() {
            return ExecError::MissingCwd {
                name,
                program: shown,
                cwd: cwd.to_path_buf(),
            };
        }
        let found = if program.is_absolute() {
            program.exists()
        } else if program.components().count() > 1 {
            cwd.join(program).exists()
        } else {
            std::env::split_paths(path).any(|dir| dir.join(program).exists())
        };
        if !found {
            return ExecError::MissingProgram {
                name,
                program: shown,
                cwd: cwd.to_path_buf(),
            };
        }
    }
    ExecError::Spawn {
        program: shown,
        cwd: cwd.to_path_buf(),
        source,
    }
}

/// `go tool NAME …` runs `$GOROOT/pkg/tool/<os_arch>/NAME` directly.
fn resolve_program(goroot: &Path, argv: &[String]) -> PathBuf {
    if let Some(tool) = GoTool::via_go_tool(argv) {
        if let Some(dir) = tool_dir(goroot) {
            return dir.join(tool.file_name());
        }
    }
    PathBuf::from(&argv[0])
}

/// Where the program's arguments start: after `go tool NAME`, else after the program.
fn program_args_start(argv: &[String]) -> usize {
    match GoTool::via_go_tool(argv) {
        Some(_) => 3,
        None => 1,
    }
}

fn tool_dir(goroot: &Path) -> Option<PathBuf> {
    let dir = goroot.join("pkg/tool");
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let host = format!(
        "{}_{}",
        godrv_plan::host::goos(),
        godrv_plan::host::goarch()
    );
    entries
        .iter()
        .find(|p| p.ends_with(&host))
        .or(entries.first())
        .cloned()
}

fn create_parent(file: &Path) -> Result<(), ExecError> {
    match file.parent() {
        Some(dir) => fs::create_dir_all(dir).map_err(io_err("creating", dir)),
        None => Ok(()),
    }
}

fn copy_file(from: &Path, to: &Path) -> Result<(), ExecError> {
    create_parent(to)?;
    fs::copy(from, to).map_err(io_err("copying", from))?;
    Ok(())
}

/// Copies a directory tree: directories and regular files (the outputs and module trees godrv
/// copies have nothing else). Also used by the `godrv` binary.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), ExecError> {
    fs::create_dir_all(to).map_err(io_err("creating", to))?;
    for entry in fs::read_dir(from).map_err(io_err("reading", from))? {
        let entry = entry.map_err(io_err("reading", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(io_err("reading", &src))?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            copy_file(&src, &dst)?;
        }
    }
    Ok(())
}

/// Makes `to` a tree of symbolic links to `from` (see [`ExecStep::LinkTree`]): its directories
/// made, a symbolic link with an absolute target (a link tree's link into a store path) made
/// again with that target, every other entry (a file, a relative symbolic link, which would
/// resolve elsewhere at the new place) linked to by its path under `from`.
fn link_tree(from: &Path, to: &Path) -> Result<(), ExecError> {
    let link = |target: &Path, link: &Path| {
        create_parent(link)?;
        std::os::unix::fs::symlink(target, link).map_err(io_err("creating symlink", link))
    };
    if !fs::symlink_metadata(from)
        .map_err(io_err("reading", from))?
        .is_dir()
    {
        return link(from, to);
    }
    fs::create_dir_all(to).map_err(io_err("creating", to))?;
    for entry in fs::read_dir(from).map_err(io_err("reading", from))? {
        let entry = entry.map_err(io_err("reading", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(io_err("reading", &src))?;
        if kind.is_dir() {
            link_tree(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(io_err("reading", &src))?;
            link(if target.is_absolute() { &target } else { &src }, &dst)?;
        } else {
            link(&src, &dst)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(file: &str) -> spec::Keep {
        spec::Keep {
            output: "out".into(),
            from: file.into(),
            to: file.into(),
        }
    }

    /// The 2-builder "module" run's std group kept `_pkg_.a` files with blocks of zeros (issue
    /// 15): the link failed later on another builder. The build that writes one now fails.
    #[test]
    fn a_damaged_package_archive_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = ActionSpec {
            steps: vec![ExecStep::WriteFile {
                path: "$WORK/b001/_pkg_.a".into(),
                contents: "\0\0\0\0\0\0\0\0 zeros where !<arch> was".into(),
            }],
            deps: 0,
            keep: vec![keep("_pkg_.a")],
            forbid_goroot_reference: false,
            members: Default::default(),
        };
        let env = BuildEnv {
            name: "go-unique".into(),
            spec,
            goroot: tmp.path().join("goroot"),
            out: tmp.path().join("out"),
            outputs: BTreeMap::new(),
            src: None,
            module: None,
            modules: BTreeMap::new(),
            modcache: None,
            cc: None,
            inputs: vec![],
            deps: vec![],
            scratch: tmp.path().join("build"),
        };
        let err = run(&env).unwrap_err();
        assert!(
            matches!(&err, ExecError::DamagedArchive { file, .. } if file.ends_with("out/_pkg_.a")),
            "{err}"
        );
    }

    #[test]
    fn replays_steps_with_tokens_and_keeps_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dep = tmp.path().join("dep");
        fs::create_dir_all(&dep).unwrap();
        fs::write(dep.join("_pkg_.a"), "!<arch>\n").unwrap();
        let spec = ActionSpec {
            steps: vec![
                ExecStep::Mkdir {
                    path: "$WORK/b001/".into(),
                },
                ExecStep::WriteFile {
                    path: "$WORK/b001/importcfg".into(),
                    contents: "packagefile dep=$WORK/b002/_pkg_.a\n".into(),
                },
                ExecStep::Copy {
                    from: "$WORK/b002/_pkg_.a".into(),
                    to: "$WORK/b001/copy.a".into(),
                },
                ExecStep::Run {
                    cwd: "$WORK".into(),
                    env: vec![],
                    argv: vec![
                        "/bin/cp".into(),
                        "b001/copy.a".into(),
                        "b001/_pkg_.a".into(),
                    ],
                    ignore_failure: false,
                },
            ],
            deps: 1,
            keep: vec![keep("_pkg_.a"), keep("importcfg")],
            forbid_goroot_reference: false,
            members: Default::default(),
        };
        let out = tmp.path().join("out");
        let env = BuildEnv {
            name: "go-test".into(),
            spec,
            goroot: tmp.path().join("goroot"),
            out: out.clone(),
            deps: vec![dep.clone()],
            scratch: tmp.path().join("build"),
            ..Default::default()
        };
        run(&env).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("_pkg_.a")).unwrap(),
            "!<arch>\n"
        );
        let work = tmp.path().join("build/work");
        assert_eq!(
            fs::read_to_string(out.join("importcfg")).unwrap(),
            format!("packagefile dep={}/b002/_pkg_.a\n", work.display())
        );
    }

    /// The dyn-mode result's build: `step` alone, with `dep` as its one dependency (`$WORK/b002`),
    /// writing `out`.
    fn result_env(tmp: &Path, step: ExecStep, dep: &Path, out: &Path) -> BuildEnv {
        BuildEnv {
            name: "hello".into(),
            spec: ActionSpec {
                steps: vec![step],
                deps: 1,
                keep: vec![],
                forbid_goroot_reference: false,
                members: Default::default(),
            },
            goroot: tmp.to_path_buf(),
            out: out.to_path_buf(),
            deps: vec![dep.to_path_buf()],
            scratch: tmp.join("build"),
            ..Default::default()
        }
    }

    /// Regression: the dyn-mode result copies a whole dependency output (a directory).
    #[test]
    fn copy_of_a_directory_dependency_copies_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dep = tmp.path().join("dep");
        fs::create_dir_all(dep.join("bin")).unwrap();
        fs::write(dep.join("bin/hello"), "binary").unwrap();
        let out = tmp.path().join("out");
        let step = ExecStep::Copy {
            from: "$WORK/b002".into(),
            to: "$OUT".into(),
        };
        run(&result_env(tmp.path(), step, &dep, &out)).unwrap();
        assert_eq!(fs::read_to_string(out.join("bin/hello")).unwrap(), "binary");
    }

    /// The dyn result copied the whole binary (30–60 MB on the real programs of bench/) and Nix
    /// hashed it again after every edit: it now links to the dependency's files by their store
    /// path (through the `$WORK/b002` link), with every directory and file of the dependency.
    #[test]
    fn result_links_to_the_binary_instead_of_copying_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dep = tmp.path().join("store/dep");
        fs::create_dir_all(dep.join("bin/linux_arm64")).unwrap();
        fs::write(dep.join("bin/hello"), "binary").unwrap();
        fs::write(dep.join("bin/linux_arm64/hello"), "cross binary").unwrap();
        std::os::unix::fs::symlink("hello", dep.join("bin/hi")).unwrap();
        let out = tmp.path().join("out");
        let step = ExecStep::LinkTree {
            from: "$WORK/b002".into(),
            to: "$OUT".into(),
        };
        run(&result_env(tmp.path(), step, &dep, &out)).unwrap();
        let dep = fs::canonicalize(&dep).unwrap();
        for (file, contents) in [
            ("bin/hello", "binary"),
            ("bin/linux_arm64/hello", "cross binary"),
            ("bin/hi", "binary"),
        ] {
            assert!(
                out.join(file).symlink_metadata().unwrap().is_symlink(),
                "{file}"
            );
            assert_eq!(fs::read_link(out.join(file)).unwrap(), dep.join(file));
            assert_eq!(fs::read_to_string(out.join(file)).unwrap(), contents);
        }
        assert!(out.join("bin").symlink_metadata().unwrap().is_dir());
    }

    /// With the tests run, the result (`go-checked`, a link tree of the build's result) and dyn's
    /// link tree of it must not copy the binary, and dyn's result must be the same content (so
    /// the same content-addressed path) with and without the tests: a symbolic link with an
    /// absolute target is made again with that target; a relative one (which would resolve
    /// elsewhere at the new place) is linked to by its path, as a file is.
    #[test]
    fn link_tree_keeps_absolute_links_and_links_to_relative_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let build = tmp.path().join("store/build");
        fs::create_dir_all(build.join("bin")).unwrap();
        fs::write(build.join("bin/hello"), "binary").unwrap();
        std::os::unix::fs::symlink("hello", build.join("bin/hi")).unwrap();
        std::os::unix::fs::symlink("/elsewhere/tool", build.join("bin/tool")).unwrap();
        let link_tree = |name: &str, from: &Path| {
            let (work, out) = (
                tmp.path().join(format!("{name}-work")),
                tmp.path().join(name),
            );
            fs::create_dir_all(&work).unwrap();
            let step = ExecStep::LinkTree {
                from: "$WORK/b002".into(),
                to: "$OUT".into(),
            };
            run(&result_env(&work, step, from, &out)).unwrap();
            fs::canonicalize(out).unwrap()
        };
        let checked = link_tree("checked", &build);
        let build = fs::canonicalize(&build).unwrap();
        let targets = |out: &Path| {
            ["bin/hello", "bin/hi", "bin/tool"].map(|file| fs::read_link(out.join(file)).unwrap())
        };
        let expected = [
            build.join("bin/hello"),
            build.join("bin/hi"),
            PathBuf::from("/elsewhere/tool"),
        ];
        assert_eq!(targets(&checked), expected);
        assert_eq!(
            fs::read_to_string(checked.join("bin/hi")).unwrap(),
            "binary"
        );
        // dyn's result with the tests run (of `checked`) and without (of the build's result).
        let with_tests = link_tree("with-tests", &checked);
        let without_tests = link_tree("without-tests", &build);
        assert_eq!(targets(&with_tests), expected);
        assert_eq!(targets(&without_tests), expected);
        for out in [&checked, &with_tests, &without_tests] {
            let files = walk(out);
            assert!(
                files.iter().all(|(_, kind)| kind != "file"),
                "{out:?}: {files:?}"
            );
        }
        assert_eq!(walk(&with_tests), walk(&without_tests));
    }

    /// Every entry under `dir` (relative path, and "dir", "file" or the link's target).
    fn walk(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut entries = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(next) = todo.pop() {
            for entry in fs::read_dir(&next).unwrap() {
                let path = entry.unwrap().path();
                let meta = path.symlink_metadata().unwrap();
                let kind = if meta.is_symlink() {
                    fs::read_link(&path).unwrap().display().to_string()
                } else if meta.is_dir() {
                    todo.push(path.clone());
                    "dir".to_string()
                } else {
                    "file".to_string()
                };
                entries.push((path.strip_prefix(dir).unwrap().to_path_buf(), kind));
            }
        }
        entries.sort();
        entries
    }

    /// A link output naming GOROOT fails, wherever in a large file the name is (the search
    /// became memchr's substring search); one that does not name it passes.
    #[test]
    fn an_output_naming_goroot_fails_wherever_the_name_is() {
        let tmp = tempfile::tempdir().unwrap();
        let goroot = PathBuf::from("/nix/store/8lcp4sszmcqngq0z2gph2697g4a2ywv6-go-1.27.3");
        let mut binary = vec![b'8'; 3 << 20];
        let env = |name: &str| BuildEnv {
            name: name.into(),
            goroot: goroot.clone(),
            out: tmp.path().join(name),
            ..Default::default()
        };
        let clean = env("clean");
        fs::create_dir_all(clean.out.join("bin")).unwrap();
        fs::write(clean.out.join("bin/prog"), &binary).unwrap();
        check_no_reference(&clean, &clean.out).unwrap();
        for (i, at) in [0, (3 << 20) / 2 + 7, (3 << 20) - 32]
            .into_iter()
            .enumerate()
        {
            let named = env(&format!("named{i}"));
            binary[at..at + 32].copy_from_slice(b"8lcp4sszmcqngq0z2gph2697g4a2ywv6");
            fs::create_dir_all(named.out.join("bin")).unwrap();
            fs::write(named.out.join("bin/prog"), &binary).unwrap();
            let err = check_no_reference(&named, &named.out).unwrap_err();
            assert!(matches!(err, ExecError::GoReference { .. }), "{err}");
            binary[at..at + 32].fill(b'8');
        }
    }

    #[test]
    fn failing_command_names_the_derivation() {
        let tmp = tempfile::tempdir().unwrap();
        let env = BuildEnv {
            name: "go-broken".into(),
            spec: ActionSpec {
                steps: vec![ExecStep::Run {
                    cwd: "$WORK".into(),
                    env: vec![],
                    argv: vec!["/bin/false".into()],
                    ignore_failure: false,
                }],
                deps: 0,
                keep: vec![],
                forbid_goroot_reference: false,
                members: Default::default(),
            },
            goroot: tmp.path().to_path_buf(),
            out: tmp.path().join("out"),
            scratch: tmp.path().to_path_buf(),
            ..Default::default()
        };
        let err = run(&env).unwrap_err().to_string();
        assert!(err.starts_with("go-broken: command failed"), "{err}");
    }

    fn run_in(tmp: &Path, cwd: &str, program: &str) -> ExecError {
        let env = BuildEnv {
            name: "go-example.com-lib".into(),
            spec: ActionSpec {
                steps: vec![ExecStep::Run {
                    cwd: cwd.into(),
                    env: vec![],
                    argv: vec![program.into()],
                    ignore_failure: false,
                }],
                deps: 0,
                keep: vec![],
                forbid_goroot_reference: false,
                members: BTreeMap::new(),
            },
            goroot: tmp.to_path_buf(),
            out: tmp.join("out"),
            src: Some(tmp.join("src")),
            scratch: tmp.join("build"),
            ..Default::default()
        };
        fs::create_dir_all(tmp.join("src")).unwrap();
        run(&env).unwrap_err()
    }

    /// Regression: a compile whose working directory was not in its source set failed with
    /// "could not start …/compile", as if the compiler were missing.
    #[test]
    fn a_missing_working_directory_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run_in(tmp.path(), "$SRC/cmd/x", "/bin/true").to_string();
        let cwd = tmp.path().join("src/cmd/x");
        assert_eq!(
            err,
            format!("go-example.com-lib: the working directory {} of `/bin/true` does not exist (a bug in the plan: a command must run in a directory of its derivation's inputs)", cwd.display())
        );
    }

    #[test]
    fn a_missing_program_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run_in(tmp.path(), "$SRC", "$GOROOT/pkg/tool/linux_amd64/compile").to_string();
        let program = tmp.path().join("pkg/tool/linux_amd64/compile");
        let cwd = tmp.path().join("src");
        assert_eq!(
            err,
            format!(
                "go-example.com-lib: the program {} does not exist (run in {})",
                program.display(),
                cwd.display()
            )
        );
        let err = run_in(tmp.path(), "$SRC", "no-such-program-godrv").to_string();
        assert!(
            err.starts_with("go-example.com-lib: the program no-such-program-godrv does not exist"),
            "{err}"
        );
    }

    #[test]
    fn a_link_output_naming_goroot_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let goroot = PathBuf::from("/nix/store/8lcp4sszmcqngq0z2gph2697g4a2ywv6-go-1.27.3");
        let spec = |forbid| ActionSpec {
            steps: vec![ExecStep::WriteFile {
                path: "$OUT/bin/x".into(),
                contents: "runtime: /nix/store/8lcp4sszmcqngq0z2gph2697g4a2ywv6-go-1.27.3/src"
                    .into(),
            }],
            deps: 0,
            keep: vec![],
            forbid_goroot_reference: forbid,
            members: Default::default(),
        };
        let env = |forbid, out: &str| BuildEnv {
            name: "x".into(),
            spec: spec(forbid),
            goroot: goroot.clone(),
            out: tmp.path().join(out),
            scratch: tmp.path().join(out).with_extension("build"),
            ..Default::default()
        };
        run(&env(false, "allowed")).unwrap();
        let err = run(&env(true, "forbidden")).unwrap_err().to_string();
        assert!(err.contains("bin/x refers to the Go toolchain"), "{err}");
        assert!(err.contains("allowGoReference = true"), "{err}");
    }

    #[test]
    fn missing_source_token_is_an_error() {
        let tokens = Tokens {
            work: "/w".into(),
            goroot: "/g".into(),
            out: "/o".into(),
            src: None,
            module: None,
            modcache: None,
        };
        assert_eq!(
            tokens.expand("$WORK/b001 $GOROOT/bin").unwrap(),
            "/w/b001 /g/bin"
        );
        assert!(matches!(
            tokens.expand("$SRC/main.go"),
            Err(ExecError::MissingToken("$SRC"))
        ));
    }

    /// Regression: `$OUT` in `$OUTLOOK`, `$WORK` in `$WORKDIR` and `$GOROOT` in an example's
    /// output were replaced by store paths (or failed as a missing `$SRC`); escaped, they pass.
    #[test]
    fn escaped_user_text_passes_through_unchanged() {
        let tokens = Tokens {
            work: "/w".into(),
            goroot: "/g".into(),
            out: "/o".into(),
            src: None,
            module: None,
            modcache: None,
        };
        assert_eq!(
            tokens
                .expand("-X=main.greeting=$$OUTLOOK -X=main.dir=$$WORKDIR $OUT/bin")
                .unwrap(),
            "-X=main.greeting=$OUTLOOK -X=main.dir=$WORKDIR /o/bin"
        );
        assert_eq!(
            tokens.expand("\"$$GOROOT and $$SRC\\n\"").unwrap(),
            "\"$GOROOT and $SRC\\n\""
        );
        let err = tokens.expand("-X=main.greeting=$OUTLOOK").unwrap_err();
        assert!(err.to_string().contains("`$OUTLOOK` at byte 17"), "{err}");
    }
}

#[cfg(test)]
mod test_runs {
    use super::*;

    fn env_for(tmp: &Path, script: &str) -> BuildEnv {
        let dep = tmp.join("dep/bin");
        fs::create_dir_all(&dep).unwrap();
        let bin = dep.join("p.test");
        fs::write(&bin, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        let src = tmp.join("src/pkg/testdata");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("input.txt"), "data\n").unwrap();
        BuildEnv {
            name: "go-test-example.com-p".into(),
            spec: ActionSpec {
                steps: vec![ExecStep::Test {
                    package: "example.com/p".into(),
                    cwd: "$SRC/pkg".into(),
                    argv: vec!["$WORK/b002/bin/p.test".into(), "-test.v".into()],
                    log: "$OUT".into(),
                }],
                deps: 1,
                keep: vec![],
                forbid_goroot_reference: false,
                members: Default::default(),
            },
            goroot: tmp.to_path_buf(),
            out: tmp.join("out"),
            outputs: BTreeMap::new(),
            src: Some(tmp.join("src")),
            modcache: None,
            module: None,
            modules: BTreeMap::new(),
            cc: None,
            inputs: vec![],
            deps: vec![tmp.join("dep")],
            scratch: tmp.join("build"),
        }
    }

    #[test]
    fn test_run_writes_the_log_as_output_and_runs_in_the_package_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let env = env_for(
            tmp.path(),
            "#!/bin/sh\necho \"args $*\"\nread -r line < testdata/input.txt\necho \"$line\"\necho to-stderr >&2\n",
        );
        run(&env).unwrap();
        assert_eq!(
            fs::read_to_string(tmp.path().join("out")).unwrap(),
            "args -test.v\ndata\nto-stderr\n"
        );
    }

    #[test]
    fn failing_test_names_the_package_and_shows_its_output() {
        let tmp = tempfile::tempdir().unwrap();
        let env = env_for(tmp.path(), "#!/bin/sh\necho '--- FAIL: TestX'\nexit 1\n");
        let err = run(&env).unwrap_err().to_string();
        assert!(
            err.starts_with("go-test-example.com-p: the tests of example.com/p failed"),
            "{err}"
        );
        assert!(err.contains("--- FAIL: TestX"), "{err}");
        assert!(
            err.ends_with("\nhelp: a test run sees only its package directory pkg/ of the source tree, with its subdirectories; if these tests read files outside it (../testdata, the module root), give them with the argument checkData.\"example.com/p\" = [ \"testdata\" ] (paths relative to modRoot), or checkData.\"*\" = [ \".\" ] for the whole module (nix/README.md, \"Go tests\")"),
            "{err}"
        );
    }
}
