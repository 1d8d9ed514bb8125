# goIndex: Go's index of GOROOT's packages as a GOCACHE (`godrv go-index`: what `go list std`
# leaves in an empty cache, no build results). The planners copy it into their caches, so
# `go build -n` does not read every std file again. One per toolchain; no package derivation
# depends on it. Not a function: a derivation.
#
# Arguments: none (the toolchain's `go` and `godrv`).
{ toolchain, lib }:
let
  inherit (toolchain) go godrv system;
in
derivation {
  name = "go-index";
  inherit system;
  builder = "${godrv}/bin/godrv";
  args = [ "go-index" ];
  go = "${go}";
}
