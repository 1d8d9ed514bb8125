# skeleton src: the source's skeleton (`godrv skeleton`, crates/godrv/src/skeleton.rs): a copy of
# `src` with the same names, modes and links in which every non-test `.go` file is cut to its
# header (package clause, imports, build constraints, directives, cgo preamble) and its
# `//go:embed` comments, and every other file is whole: what `go build -n` reads of the source.
# The output is one file, the NAR of that tree (Nix registers one file at a fraction of the cost
# of a tree of them: rclone's has 1,344 files), which the plan derivation's `godrv plan` unpacks
# (a `src` that is a regular file is a NAR). Content-addressed, so an edit that changes none of that (a function body, an added function)
# gives the same output, and the plan derivation made from it (planner.nix) is found built
# (Nix's early cutoff): no `go build -n` after such an edit.
#
# Arguments:
#   src  the source tree (a path or a store path)
{ toolchain, lib }:
let
  inherit (toolchain) godrv system;
in
src:
derivation (
  {
    name = "go-source-skeleton";
    inherit system;
    builder = "${godrv}/bin/godrv";
    args = [ "skeleton" ];
    src = "${src}";
  }
  // lib.common.floatingCA
)
