# bench/bench.nix — the Nix side of bench/run and bench/cache: godrv's two modes, the planner
# alone, the module cache, and a one-derivation go build (buildGoModule-style). `args` (JSON) is
# added to the builders' arguments; `proxy`, a store path, becomes env.GOPROXY (file://) without
# being hashed again at every evaluation.
{ nixlib, dir, mode, nonce ? "", args ? "{}", proxy ? "", main ? "." }:
let
  godrv = import nixlib { };
  tc = godrv.toolchain;
  extra = builtins.fromJSON args;
  env = (extra.env or { }) // (if proxy == "" then { } else { GOPROXY = "file://${builtins.storePath proxy}"; });
  a = { pname = "bench"; version = "1"; src = dir; } // extra // (if env == { } then { } else { inherit env; });
  mods = (godrv.buildWithDynDrv a).goModules;
in
if mode == "dyn" then godrv.buildWithDynDrv a
else if mode == "planner" then (godrv.buildWithDynDrv a).planner
else if mode == "ifd" then godrv.buildWithIFD a
else if mode == "modules" then mods
else
  # buildGoModule-style: one derivation runs `go build` with an empty GOCACHE (and godrv's module
  # cache, read-only, when there are modules). The builder is the test machine's /usr/bin/sh (it
  # is in the sandbox through extra-sandbox-paths).
  derivation {
    name = "bench-onedrv";
    inherit (tc) system;
    builder = "/usr/bin/sh";
    src = dir;
    go = tc.go;
    modcache = if mods == null then "" else mods;
    cgo = (extra.env or { }).CGO_ENABLED or "";
    inherit nonce main;
    args = [ "-c" ''
      set -e
      export PATH=$go/bin:/usr/bin GOROOT=$go GOCACHE=$TMPDIR/gocache HOME=$TMPDIR GOTOOLCHAIN=local GOFLAGS= GOPROXY=off
      if [ -n "$modcache" ]; then export GOMODCACHE=$modcache; fi
      if [ -n "$cgo" ]; then export CGO_ENABLED=$cgo; fi
      mkdir -p "$out/bin"
      cd "$src"
      go build -trimpath -buildvcs=false -ldflags=-buildid= -o "$out/bin/" "$main"
    '' ];
  }
