# godrv's Nix library: build Go programs with one derivation per Go package.
#
# With nixpkgs:    import ./nix { inherit pkgs; }
# Without it:      import ./nix { toolchain = { go = …; godrv = …; nix = …; cc = …; system = …; }; }
#                  (or set GODRV_TOOLCHAIN to a JSON file with those keys, as vmtest/ does)
#
# Every function is documented in its own file and in nix/README.md.
{
  # nixpkgs, if you have it: supplies go, nix, the C compiler and godrv itself.
  pkgs ? null,
  # The toolchain when there is no nixpkgs: an attrset with `go` (a GOROOT with bin/go),
  # `godrv` (a prefix with bin/godrv), `nix` (a prefix with bin/nix), `cc` (a prefix with
  # bin/gcc, or null) and `system`. Defaults to the JSON file named by $GODRV_TOOLCHAIN.
  toolchain ? null,
}:
let
  toolchain' = import ./toolchain.nix { inherit pkgs toolchain; };
  core = import ./core.nix { toolchain = toolchain'; };
in
{
  toolchain = toolchain';
  # Go's index of GOROOT's packages (a GOCACHE without build results) the planners start from.
  inherit (core) goIndex;
  buildWithDynDrv = import ./buildWithDynDrv.nix { inherit core; };
  buildWithIFD = import ./buildWithIFD.nix { inherit core; };
}
