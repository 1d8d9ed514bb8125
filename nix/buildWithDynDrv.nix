# buildWithDynDrv: build a Go program with one derivation per Go package, planned while building
# (dynamic derivations). Needs Nix ≥ 2.33 with the experimental features nix-command,
# dynamic-derivations, ca-derivations and recursive-nix, and a builder with the system feature
# recursive-nix.
#
# Arguments (buildGoModule's names; see nix/README.md):
#   src            the Go module (or a tree containing it under modRoot)             required
#   pname, version or name                                                            required
#   modRoot        directory of go.mod inside src                                    default ""
#   subPackages    packages to build, relative to modRoot                            default all (./...)
#   excludedPackages  without subPackages: leave out of ./... every package whose import path or
#                  directory contains one of these strings
#   ldflags        linker flags (list or string), e.g. [ "-s" "-w" "-X main.version=1" ]
#   tags           build tags (list)
#   env            environment for go, e.g. { CGO_ENABLED = "0"; GOOS = "linux"; }; a cross build
#                  (GOOS/GOARCH not the build machine's) puts binaries in bin/<goos>_<goarch>/
#   GOFLAGS        extra GOFLAGS
#   vendorHash     null: no third-party modules (or vendor/ in src); else the hash of the module
#                  cache (start with "" and copy the hash Nix prints after `got:`)
#   modules        instead of vendorHash: a lockfile, ./godrv.lock (`godrv lock`) or an existing
#                  ./gomod2nix.toml; one fixed-output derivation per module
#   contentAddressed  per-package derivations are content-addressed (early cutoff)  default true
#   passthru, meta as usual
#   doCheck, checkFlags, proxyVendor   only false / [ ] / false; else an error (not implemented)
#   buildInputs, nativeBuildInputs, overrideModAttrs   an error (not implemented; see nix/README.md)
#
# The result is a derivation whose output holds bin/<name> for each program.
{ core }:
args:
let
  args' = core.checkArgs "buildWithDynDrv" args;
  planner = core.planner "dyn" args';
in
if !(builtins ? outputOf) then
  throw "godrv.buildWithDynDrv needs Nix >= 2.33 with the experimental feature dynamic-derivations (builtins.outputOf is missing): add `experimental-features = nix-command dynamic-derivations ca-derivations recursive-nix` to nix.conf, or use buildWithIFD."
else
core.finish args' (core.copyOf args' (builtins.outputOf planner.outPath "out")) // { inherit planner; goModules = core.goModules args'; }
