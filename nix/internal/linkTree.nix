# linkTree args path: the result of a build whose program is the output of a dynamic derivation,
# a store path only known as a string (builtins.outputOf): a derivation whose output holds a
# symbolic link to every file of that path at the same place (`bin/<name>` → `<path>/bin/<name>`),
# as nixpkgs' symlinkJoin makes them. It gives nix-build something to build and a place for
# `meta`; its output refers to `path`, which is therefore in its runtime closure; nothing is
# copied (a copy of the binary, 30–60 MB on a real program, was copied and hashed again after
# every edit: docs/profile.md). A link of `path` with an absolute target (go-checked's, the result
# with the tests run: a link into the link's output) is made again with that target: the output
# then refers to the link's output, and is the same with and without the tests (one store path).
#
# Arguments:
#   args  the builder's arguments (its name: nameOf args)
#   path  the store path to link to
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
    steps = [ { op = "link-tree"; from = "$WORK/b002"; to = "$OUT"; } ];
    deps = 1;
    keep = [ ];
  };
  dep0 = path;
  __contentAddressed = true;
  outputHashMode = "recursive";
  outputHashAlgo = "sha256";
}
