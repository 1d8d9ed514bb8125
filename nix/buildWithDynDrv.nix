# buildWithDynDrv: build a Go program with one derivation per Go package of its own code (std and
# each third-party module one each, by default: `granularity`), planned while building
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
#   granularity    "module": std one derivation, each third-party module one; the main
#                  module, replace directories and go.work modules one per package  default "module"
#                  "package": one derivation per Go package
#   contentAddressed  per-package derivations are content-addressed (early cutoff)  default true
#   passthru, meta  as usual
#   doCheck        run the packages' Go tests, one derivation per package   default true
#   checkFlags     flags for the test binaries, as for `go test` (e.g. [ "-run" "TestX" "-v" ])
#   checkData      what test runs see besides their package directory: import path (or "*")
#                  → paths relative to modRoot, e.g. { "example.com/m/parser" = [ "testdata" ]; }
#   proxyVendor    accepted, no effect: the module derivation is always a module cache (go mod
#                  download), what proxyVendor = true means for buildGoModule
#   allowGoReference  false: -trimpath, and a link whose output names GOROOT fails   default false
#                  true: no -trimpath, references to Go allowed
#   buildInputs, nativeBuildInputs   C libraries and tools for cgo: pkg-config runs at plan time
#                  with their PKG_CONFIG_PATH and PATH; the cgo/C/link derivations of your packages
#                  get them (with their dev and bin outputs) as inputs
#   packageOverrides  { "<import path>" = { buildInputs = [ … ]; nativeBuildInputs = [ … ]; }; }:
#                  C inputs for one package only (its cgo/C derivations and the links)
#   overrideModAttrs  changes the module derivation: old: { … } (or final: prev: { … }, or a set)
#                  over { name; env; modRoot; impureEnvVars; } — env is go's environment for
#                  go mod download, impureEnvVars are passed on to go
#
# The result is a derivation whose output holds bin/<name> (a link to the program) for each
# program; with doCheck it depends on the test runs and is the same store path as without. `.testBinaries` builds the test binaries (bin/<pkg>.test) without
# running them.
{ toolchain, lib }:
args:
let
  args' = lib.checkArgs "buildWithDynDrv" args;
  planner = lib.planner "dyn" args' { };
in
assert lib.checkNixVersion "buildWithDynDrv" builtins.nixVersion;
if !(builtins ? outputOf) then
  throw "godrv.buildWithDynDrv needs Nix >= 2.33 with the experimental feature dynamic-derivations (builtins.outputOf is missing): add `experimental-features = nix-command dynamic-derivations ca-derivations recursive-nix` to nix.conf, or use buildWithIFD."
else
lib.finish args' (lib.linkTree args' (builtins.outputOf planner.outPath "out")) // {
  inherit planner;
  goModules = lib.goModules args';
  # The test binaries ($out/bin/<pkg>.test), built and not run (a planner of their own).
  testBinaries =
    let
      name = "${lib.common.nameOf args'}-test-binaries";
      testPlanner = lib.testPlanner "dyn" args';
    in
    lib.linkTree (args' // { inherit name; }) (builtins.outputOf testPlanner.outPath "out") // { planner = testPlanner; };
}
