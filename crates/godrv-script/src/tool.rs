//! Which program of Go's toolchain a command runs: the one place godrv reads it from an argv.
//! The parser records it per action ([`crate::Action::tools`]); the planner and the Nix front
//! end read that instead of looking at the words again.

use serde::{Deserialize, Serialize};

/// A program of Go's toolchain (`$GOROOT/pkg/tool/GOOS_GOARCH/NAME`) that go's scripts run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoTool {
    Asm,
    Buildid,
    Cgo,
    Compile,
    Cover,
    Covdata,
    Link,
    Pack,
    Preprofile,
    Vet,
}

impl GoTool {
    /// The tool with this file name (`compile`), if it is one godrv knows.
    pub fn named(name: &str) -> Option<GoTool> {
        Some(match name {
            "asm" => GoTool::Asm,
            "buildid" => GoTool::Buildid,
            "cgo" => GoTool::Cgo,
            "compile" => GoTool::Compile,
            "cover" => GoTool::Cover,
            "covdata" => GoTool::Covdata,
            "link" => GoTool::Link,
            "pack" => GoTool::Pack,
            "preprofile" => GoTool::Preprofile,
            "vet" => GoTool::Vet,
            _ => return None,
        })
    }

    /// The tool of `go tool NAME …` (which `godrv exec` runs from GOROOT's tool directory
    /// itself); `None` for any other argv, or a tool godrv does not know.
    pub fn via_go_tool(argv: &[String]) -> Option<GoTool> {
        match argv {
            [go, tool, name, ..] if go == "go" && tool == "tool" => GoTool::named(name),
            _ => None,
        }
    }

    /// The file name of the tool in `$GOROOT/pkg/tool/GOOS_GOARCH/`.
    pub fn file_name(self) -> &'static str {
        match self {
            GoTool::Asm => "asm",
            GoTool::Buildid => "buildid",
            GoTool::Cgo => "cgo",
            GoTool::Compile => "compile",
            GoTool::Cover => "cover",
            GoTool::Covdata => "covdata",
            GoTool::Link => "link",
            GoTool::Pack => "pack",
            GoTool::Preprofile => "preprofile",
            GoTool::Vet => "vet",
        }
    }

    /// The tool an argv runs and the index of the word naming it (its arguments follow):
    /// `go tool NAME`, a `…/pkg/tool/GOOS_GOARCH/NAME` word (also after a `-toolexec` program),
    /// or a program whose file name is a tool's (`cgo`). `None`: not a tool of Go's (`gcc`).
    pub fn invoked_by(argv: &[String]) -> Option<(usize, GoTool)> {
        if argv.len() >= 3 && argv[0] == "go" && argv[1] == "tool" {
            return GoTool::via_go_tool(argv).map(|t| (2, t));
        }
        if let Some(i) = argv.iter().position(|w| w.contains("/pkg/tool/")) {
            return GoTool::named(base_name(&argv[i])).map(|t| (i, t));
        }
        GoTool::named(base_name(argv.first()?)).map(|t| (0, t))
    }
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoked_by_finds_the_tool_word() {
        let v = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            GoTool::invoked_by(&v("go tool pack r x")),
            Some((2, GoTool::Pack))
        );
        assert_eq!(
            GoTool::invoked_by(&v("/g/pkg/tool/linux_amd64/compile -o x")),
            Some((0, GoTool::Compile))
        );
        assert_eq!(
            GoTool::invoked_by(&v("$GOROOT/pkg/tool/linux_amd64/cgo -objdir x")),
            Some((0, GoTool::Cgo))
        );
        assert_eq!(
            GoTool::invoked_by(&v("/bin/toolexec /g/pkg/tool/linux_amd64/asm -o x")),
            Some((1, GoTool::Asm))
        );
        assert_eq!(
            GoTool::invoked_by(&v("cgo -dynimport x")),
            Some((0, GoTool::Cgo))
        );
        assert_eq!(GoTool::invoked_by(&v("x86_64-linux-gnu-gcc -c")), None);
        assert_eq!(GoTool::invoked_by(&v("go tool nosuchtool")), None);
        assert_eq!(GoTool::invoked_by(&[]), None);
        assert_eq!(
            GoTool::via_go_tool(&v("go tool pack r x")),
            Some(GoTool::Pack)
        );
        assert_eq!(
            GoTool::via_go_tool(&v("/g/pkg/tool/linux_amd64/compile -o x")),
            None
        );
        for name in ["asm", "compile", "cgo", "link", "pack", "vet", "covdata"] {
            assert_eq!(GoTool::named(name).map(GoTool::file_name), Some(name));
        }
    }
}
