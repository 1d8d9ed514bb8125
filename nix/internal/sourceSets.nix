# sourceSets args: dyn mode's source sets of the main module, computed while evaluating, so that
# the program's planner gets them as inputs and does not add them again after an edit (inside
# recursive Nix every path a build adds costs Nix a process, even a path valid outside).
#
# A main-module package's source set is, by godrv's rule (crates/godrv-plan, lib.rs), every
# regular file of its directory, laid out under the source root, named `src-<import path>`
# (godrv_nix::source_set_name; the prefix is the contract's). This computes that set for every
# directory of the main module that go's `./...` would visit and that holds a `.go` file: the
# directories under modRoot but those named `testdata` or `vendor`, those whose name starts with
# `.` or `_`, symlinks, and nested modules (a directory with its own go.mod). One
# `builtins.path` per directory, whose filter admits only the directory's ancestors and its own
# regular files, so no call walks the whole tree. A set the planner computes otherwise (a
# package that embeds files of a subdirectory, a module path this does not read from go.mod, a
# name with characters other than ASCII) is simply not among them: the planner adds its own set,
# and no derivation changes.
#
# Arguments:
#   args  the builder's arguments: `src`, `modRoot`
# Returns a list of store paths (strings with their context), or [ ] when `src` is a derivation
# output (reading its directories while evaluating would build it: import from derivation) or
# modRoot has no go.mod with a `module` line.
{ toolchain, lib }:
args:
let
  inherit (builtins) attrNames concatMap filter head isList match readDir readFile split substring stringLength;
  src = args.src;
  modRoot = args.modRoot or "";
  srcString = toString src;
  built = builtins.any (c: c ? outputs || c.allOutputs or false) (builtins.attrValues (builtins.getContext srcString));
  # A path under src (a path value stays one: nothing is copied to the store).
  at = rel: if rel == "" then src else src + "/${rel}";
  join = a: b: if a == "" then b else "${a}/${b}";
  goMod = at (join modRoot "go.mod");
  hasGoMod = !built && builtins.pathExists goMod;
  # go.mod's `module` line: `module example.com/m`, quoted or not, maybe with a comment.
  modulePath =
    let
      lines = filter (l: !isList l) (split "\n" (readFile goMod));
      found = filter (m: m != null) (map (match "[[:space:]]*module[[:space:]]+\"?([^\"[:space:]]+)\"?[[:space:]]*(//.*)?\r?") lines);
    in
    if found == [ ] then null else head (head found);
  # Nix's allowed store name characters, as godrv_plan::sanitize_store_name keeps them.
  sanitize =
    s:
    let
      mapped = builtins.concatStringsSep "" (map (p: if isList p then "-" else p) (split "[^A-Za-z0-9+._?=-]" s));
    in
    head (match "[.]*(.*)" mapped);
  nameOf = dir: sanitize "${lib.contract.sourceSetPrefix}${if dir == "" then modulePath else "${modulePath}/${dir}"}";
  # The directories (relative to modRoot) go visits for ./... that hold a .go file.
  walk =
    dir:
    let
      entries = readDir (at (join modRoot dir));
      names = attrNames entries;
      skip = n: n == "testdata" || n == "vendor" || match "[._].*" n != null;
      subdirs = filter (n: entries.${n} == "directory" && !skip n) names;
      hasGo = builtins.any (n: entries.${n} == "regular" && match ".*[.]go" n != null) names;
    in
    # A nested module's directory (its own go.mod) is not the main module's.
    if dir != "" && entries ? "go.mod" then [ ]
    else (if hasGo then [ dir ] else [ ]) ++ concatMap (n: walk (join dir n)) subdirs;
  prefix = "${srcString}/";
  relative = p: substring (stringLength prefix) (stringLength p) p;
  # The set of `dir` (relative to modRoot): the ancestors of its directory in the source, the
  # directory itself and its regular files.
  set =
    dir:
    let
      full = join modRoot dir;
      fullSlash = "${full}/";
      n = stringLength fullSlash;
    in
    builtins.path {
      path = src;
      name = nameOf dir;
      filter =
        p: type:
        let
          r = relative (toString p);
        in
        if full == "" then
          type == "regular" && match ".*/.*" r == null
        else if type == "directory" then
          substring 0 (stringLength r + 1) fullSlash == "${r}/"
        else
          type == "regular" && substring 0 n r == fullSlash && match ".*/.*" (substring n (stringLength r) r) == null;
    };
  # Store names are at most 211 characters: a longer one could not be the planner's either.
  valid = dir: stringLength (nameOf dir) <= 211;
in
if !hasGoMod || modulePath == null then
  [ ]
else
  map set (filter valid (walk ""))
