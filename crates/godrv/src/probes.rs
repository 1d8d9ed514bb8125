//! Facts the planner asks of the build's tools because `go build -n` prints the commands
//! instead of running them: pkg-config's flags, which flags the C compilers accept, and the
//! directories `-trimpath` maps in C debug information.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::go::{planner_env, tags_flag, Go, GoTools};
use crate::request::BuildRequest;

/// Runs one of the pkg-config queries `go build -n` printed (`pkg-config --cflags -- zlib`) in the
/// package directory `cwd`, with the planner's environment (`PATH` with the inputs' `bin`,
/// `PKG_CONFIG_PATH` from the inputs, `env`), and splits its output into words as go does.
pub fn pkg_config(
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
    cwd: &Path,
    argv: &[String],
) -> Result<Vec<String>> {
    let env = planner_env(request, tools, scratch)?;
    let path = env.get(std::ffi::OsStr::new("PATH")).map(|p| p.as_os_str());
    // Resolved on the planner's PATH (Command would look it up on godrv's own).
    let program = which::which_in(&argv[0], path, cwd).with_context(|| {
        format!(
            "`{}` (for `#cgo pkg-config:` in {}) is not on PATH; help: add pkg-config to nativeBuildInputs",
            argv[0],
            cwd.display()
        )
    })?;
    let output = Command::new(&program)
        .args(&argv[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(&env)
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "`{}` failed in {} ({}) for `#cgo pkg-config:`:\n{}\nhelp: add the library (with its .pc file in lib/pkgconfig or share/pkgconfig) to buildInputs",
            argv.join(" "),
            cwd.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let text = String::from_utf8(output.stdout).context("pkg-config printed non-UTF-8 text")?;
    godrv_plan::pkgconfig::split_output(&text)
        .with_context(|| format!("reading the output of `{}`", argv.join(" ")))
}

/// Runs the C compiler probes go printed (and assumed failed) under `-n`: which optional flags
/// the build's C compilers accept (see `godrv_plan::cc`).
pub fn run_c_probes(
    probes: &[godrv_plan::cc::Probe],
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let env = planner_env(request, tools, scratch)?;
    let mut supported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for probe in probes {
        // go's environment (PATH with the C compiler, CGO_* from env), another program.
        let mut cmd = Command::new(&probe.argv[0]);
        cmd.args(&probe.argv[1..])
            .current_dir(scratch)
            .env_clear()
            .envs(&env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let accepted = cmd
            .status()
            .with_context(|| {
                format!(
                    "running the C compiler probe `{}` (is the C compiler `{}` on PATH?)",
                    probe.argv.join(" "),
                    probe.compiler
                )
            })?
            .success();
        let flags = supported.entry(probe.compiler.clone()).or_default();
        if accepted {
            flags.insert(probe.flag.clone());
        }
    }
    Ok(supported)
}

/// For each of `packages`, the directory `go build -trimpath` maps in C debug information and
/// what it maps it to (`ccompile` in cmd/go/internal/work/exec.go), from `go list`.
pub fn c_trim_dirs(
    packages: &BTreeSet<String>,
    start_dir: &Path,
    request: &BuildRequest,
    tools: &GoTools<'_>,
    scratch: &Path,
) -> Result<BTreeMap<String, (String, String)>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed {
        import_path: String,
        #[serde(default)]
        dir: String,
        #[serde(default)]
        module: Option<ListedModule>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct ListedModule {
        path: String,
        #[serde(default)]
        version: String,
        #[serde(default)]
        dir: String,
    }
    if packages.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut args = vec![
        "list".to_string(),
        "-json=ImportPath,Dir,Module".to_string(),
    ];
    args.extend(tags_flag(request));
    args.extend(packages.iter().cloned());
    let output = Go::planner(start_dir, request, tools, scratch)?
        .args(args)
        .run()?
        .stdout;
    let mut dirs = BTreeMap::new();
    for listed in serde_json::Deserializer::from_slice(&output).into_iter::<Listed>() {
        let p = listed.context("reading the output of `go list -json`")?;
        let (from, to) = match p.module {
            None => (p.dir, p.import_path.clone()),
            // Vendored: the whole vendor directory.
            Some(m) if m.dir.is_empty() => (
                p.dir
                    .strip_suffix(&format!("/{}", p.import_path))
                    .unwrap_or(&p.dir)
                    .to_string(),
                "vendor".to_string(),
            ),
            Some(m) if m.version.is_empty() => (m.dir, m.path),
            Some(m) => (m.dir, format!("{}@{}", m.path, m.version)),
        };
        dirs.insert(p.import_path, (from, format!("/_/{to}")));
    }
    Ok(dirs)
}
