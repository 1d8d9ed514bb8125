# moduleFiles args: the go.mod and go.sum of modRoot (and the directories above them) of `src`,
# nothing else (a `builtins.path` with a filter): what the dependencies' planner and go-modindex
# see, so that an edit of the program's own files changes neither. null when `src` is not a plain
# path (a derivation's output: reading its go.mod would need import from derivation) or modRoot
# has a go.work.
#
# Arguments: the builder's arguments; read here:
#   src      the source tree
#   modRoot  the directory of go.mod in it   default: ""
{ toolchain, lib }:
args:
let
  modRoot = args.modRoot or "";
  plain = builtins.isPath args.src || (builtins.isString args.src && !(builtins.hasContext args.src));
  root = if modRoot == "" then "" else "${modRoot}/";
  keep = [ "${root}go.mod" "${root}go.sum" ] ++ parents modRoot;
  parents = dir: if dir == "" || dir == "." then [ ] else [ dir ] ++ parents (dirOf' dir);
  dirOf' = d: let p = builtins.dirOf d; in if p == "." then "" else p;
  prefix = "${toString args.src}/";
in
if !plain || builtins.pathExists "${toString args.src}/${root}go.work" then
  null
else
  builtins.path {
    path = args.src;
    name = "go-module-files";
    filter = p: _type: builtins.elem (builtins.substring (builtins.stringLength prefix) 1000000 (toString p)) keep;
  }
