# lockedModules args: lockfile mode (`modules = ./godrv.lock` or `./gomod2nix.toml`, gomod2nix's
# schema 3): one fixed-output derivation per module (`fetchModule`), keyed by go's module cache
# directory (`example.com/greet@v1.1.0`, upper-case letters escaped as `!x`); null when `modules`
# is null. Each value: { key; path; version; drv; } (`key` the module path go.mod requires,
# `path` the one downloaded: `replaced`, else the key).
#
# Arguments: the builder's arguments; read here:
#   modules         the lockfile (a path)
#   env, GOFLAGS    the download variables of go's environment (see fetchModule)
{ toolchain, lib }:
let
  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  escapeModule = builtins.replaceStrings upper (map (c: "!" + c) lower);
in
args:
if (args.modules or null) == null then
  null
else
  let
    lock = builtins.fromTOML (builtins.readFile args.modules);
    name = lib.lockfileName args;
    file = toString args.modules;
    # An entry: `version` and `hash` (strings), `replaced` (a string) if the module is replaced.
    entryKeys = [ "version" "hash" "replaced" ];
    entryError =
      key: entry:
      let
        unknown = builtins.filter (k: !(builtins.elem k entryKeys)) (builtins.attrNames entry);
        missing = builtins.filter (k: !(entry ? ${k})) [ "version" "hash" ];
        notString = builtins.filter (k: !(builtins.isString entry.${k})) (builtins.filter (k: entry ? ${k}) entryKeys);
      in
      if !builtins.isAttrs entry then "is not a table ([mod.\"${key}\"] with version and hash)"
      else if unknown != [ ] then "has unknown key(s) ${builtins.concatStringsSep ", " unknown} (an entry has ${builtins.concatStringsSep ", " entryKeys})"
      else if missing != [ ] then "has no ${builtins.concatStringsSep " and no " missing}"
      else if notString != [ ] then "has ${builtins.concatStringsSep ", " notString} that is not a string"
      else null;
    errors = builtins.filter (e: e != null) (builtins.attrValues (builtins.mapAttrs (
      key: entry: let e = entryError key entry; in if e == null then null else "module ${key} ${e}"
    ) (lock.mod or { })));
  in
  if (lock.schema or null) != 3 then
    throw "godrv: ${name} is not a lockfile godrv reads (schema ${toString (lock.schema or "missing")}, expected 3): run `godrv lock` in the module directory."
  else if !builtins.isAttrs (lock.mod or { }) then
    throw "godrv: ${file}: `mod` must be a table of modules ([mod.\"example.com/x\"]): run `godrv lock` in the module directory."
  else if errors != [ ] then
    throw "godrv: ${file}: ${builtins.concatStringsSep "; " errors}: run `godrv lock` in the module directory (or fix the entry)."
  else
    builtins.listToAttrs (
      map (
        key:
        let
          entry = lock.mod.${key};
          path = entry.replaced or key;
          dir = "${escapeModule path}@${escapeModule entry.version}";
        in
        {
          name = dir;
          value = {
            inherit key path;
            inherit (entry) version;
            drv = lib.fetchModule args path entry.version entry.hash dir;
          };
        }
      ) (builtins.attrNames (lock.mod or { }))
    )
