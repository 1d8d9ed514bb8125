# copyOf args path: a derivation whose output is a copy of a store path that is only known as a
# string (the output of a dynamic derivation, builtins.outputOf): gives nix-build something to
# build and a place for meta.
#
# Arguments:
#   args  the builder's arguments (its name: nameOf args)
#   path  the store path to copy
{ toolchain, lib }:
let
  inherit (toolchain) go godrv system;
in
args: path:
derivation {
  name = lib.common.nameOf args;
  inherit system;
  builder = "${godrv}/bin/godrv";
  args = [ "exec" ];
  goroot = go;
  godrvAction = builtins.toJSON {
    steps = [ { op = "copy"; from = "$WORK/b002"; to = "$OUT"; } ];
    deps = 1;
    keep = [ ];
  };
  dep0 = path;
  __contentAddressed = true;
  outputHashMode = "recursive";
  outputHashAlgo = "sha256";
}
