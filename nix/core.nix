# The core shared by buildWithDynDrv and buildWithIFD: argument checking, the planner derivation
# (the same godrv code in both modes), and the IFD instantiation of a plan.
{ toolchain }:
let
  inherit (toolchain) go godrv nix cc system;

  # The arguments the builders accept (buildGoModule's names). Anything else is an error.
  knownArgs = [
    "pname" "version" "name" "src" "modRoot" "subPackages" "excludedPackages" "ldflags" "tags"
    "env" "GOFLAGS" "vendorHash" "modules" "buildInputs" "nativeBuildInputs" "allowGoReference"
    "contentAddressed" "passthru" "meta" "overrideModAttrs" "packageOverrides"
    # Go tests: doCheck (default true) runs them, checkFlags are the test binaries' flags,
    # checkData widens what a test run sees of the source.
    "doCheck" "checkFlags" "checkData"
    # proxyVendor: godrv's module derivation is always a module cache fetched with `go mod
    # download`, which is what `proxyVendor = true` gives buildGoModule; both values are accepted.
    "proxyVendor"
    # "package" (every package its own derivation) or "module" (std as one derivation; see
    # nix/README.md).
    "granularity"
  ];
  granularities = [ "package" "module" ];
  granularityOf = args: args.granularity or "package";

  # buildGoModule arguments godrv does not implement yet: an error that says so, never ignored.
  notImplemented = fn: what: throw "godrv.${fn}: ${what} is not implemented yet (see nix/README.md).";

  # Credentials in `env` are an evaluation error (they would be stored in .drv files).
  refuseSecrets = import ./refuseSecrets.nix;

  # The output of a (possibly multi-output) derivation holding `bin/` or `lib/pkgconfig`, as
  # nixpkgs' lib.getBin / lib.getDev pick them; plain store paths are used as they are.
  getBin = x: if builtins.isAttrs x && x ? bin then x.bin else x;
  getDev = x: if builtins.isAttrs x && x ? dev then x.dev else x;
  ownInputs = args: (args.nativeBuildInputs or [ ]) ++ (args.buildInputs or [ ]);
  # packageOverrides: import path → { buildInputs; nativeBuildInputs; }.
  overrideKeys = [ "buildInputs" "nativeBuildInputs" ];
  packageOverrides = args: args.packageOverrides or { };
  # Every input: on PATH / PKG_CONFIG_PATH while planning.
  inputsOf = args: ownInputs args ++ builtins.concatMap ownInputs (builtins.attrValues (packageOverrides args));
  # What a derivation gets as its `buildInputs` attribute for a list of inputs: each input with
  # its `dev` and `bin` outputs (headers and .pc files are often in `dev`), each once.
  cInputsOf =
    list:
    builtins.foldl' (acc: x: if builtins.any (y: "${y}" == "${x}") acc then acc else acc ++ [ x ]) [ ] (
      builtins.concatMap (x: [ x (getDev x) (getBin x) ]) list
    );
  # The cgo/C/link derivations of every user package get these; those of one package (and the
  # links) also get its packageOverrides entry's.
  cInputs = args: cInputsOf (ownInputs args);
  packageInputs = args: builtins.mapAttrs (_: ownInputs) (packageOverrides args);

  # A store path godrv's generated derivations depend on, with the derivation output producing it.
  inputRef =
    x:
    if x == null then
      null
    else
      {
        path = "${x}";
        drv = if builtins.isAttrs x && x ? drvPath then x.drvPath else null;
        output = if builtins.isAttrs x && x ? outputName then x.outputName else null;
      };

  # The type of each argument (nix/README.md): a predicate and what it says when it fails.
  # overrideModAttrs, doCheck and packageOverrides have their own messages in checkArgs.
  isPathLike = v: builtins.isPath v || builtins.isString v || (builtins.isAttrs v && v ? outPath);
  isScalar = v: builtins.isString v || builtins.isInt v || builtins.isPath v || (builtins.isAttrs v && v ? outPath);
  isStringList = v: builtins.isList v && builtins.all builtins.isString v;
  types = {
    string = { check = builtins.isString; what = "a string"; };
    bool = { check = builtins.isBool; what = "true or false"; };
    attrs = { check = builtins.isAttrs; what = "an attribute set"; };
    list = { check = builtins.isList; what = "a list"; };
    strings = { check = isStringList; what = "a list of strings (e.g. [ \"a\" \"b\" ])"; };
    flags = { check = v: builtins.isString v || isStringList v; what = "a list of strings or one string"; };
    path = { check = isPathLike; what = "a path, a string or a derivation"; };
    nullOrPath = { check = v: v == null || isPathLike v; what = "null, a path or a string"; };
    nullOrString = { check = v: v == null || builtins.isString v; what = "null or a string"; };
    env = { check = v: builtins.isAttrs v && builtins.all isScalar (builtins.attrValues v); what = "an attribute set of strings (e.g. { CGO_ENABLED = \"0\"; })"; };
  };
  argTypes = with types; {
    pname = string; version = string; name = string; src = path; modRoot = string;
    subPackages = strings; excludedPackages = strings; tags = strings;
    ldflags = flags; checkFlags = flags; GOFLAGS = flags;
    env = env; vendorHash = nullOrString; modules = nullOrPath;
    buildInputs = list; nativeBuildInputs = list;
    allowGoReference = bool; contentAddressed = bool; proxyVendor = bool;
    passthru = attrs; meta = attrs;
  };
  # A value in an error message: scalars as they are, anything else by its type.
  describe =
    v:
    let
      t = builtins.typeOf v;
    in
    if builtins.elem t [ "string" "int" "float" "bool" "null" ] then "${t} ${builtins.toJSON v}"
    else if t == "list" then "a list with ${builtins.concatStringsSep ", " (map builtins.typeOf v)} elements"
    else if t == "set" && v ? outPath then "a derivation"
    else "a ${t}";
  # The first argument of the wrong type as an error message, or null.
  wrongType =
    fn: args:
    let
      bad = builtins.filter (n: argTypes ? ${n} && !(argTypes.${n}.check args.${n})) (builtins.attrNames args);
      n = builtins.head bad;
      # env: the variable whose value is not a string.
      badEnv = builtins.filter (k: !(isScalar args.env.${k})) (builtins.attrNames args.env);
      detail =
        if n == "env" && builtins.isAttrs args.env then
          " (`env.${builtins.head badEnv}` is ${describe args.env.${builtins.head badEnv}})"
        else
          " (got ${describe args.${n}})";
    in
    if bad == [ ] then null else "godrv.${fn}: `${n}` must be ${argTypes.${n}.what}${detail} (see nix/README.md).";

  checkArgs =
    fn: args:
    let
      unknown = builtins.filter (n: !(builtins.elem n knownArgs)) (builtins.attrNames args);
      typeError = wrongType fn args;
    in
    if unknown != [ ] then
      throw "godrv.${fn}: unknown or unsupported argument(s): ${builtins.concatStringsSep ", " unknown}. Supported: ${builtins.concatStringsSep ", " knownArgs} (see nix/README.md)."
    else if typeError != null then
      throw typeError
    else if !(builtins.isAttrs (packageOverrides args) && builtins.all builtins.isAttrs (builtins.attrValues (packageOverrides args))) then
      throw "godrv.${fn}: `packageOverrides` must be an attribute set of import path → { buildInputs = [ … ]; nativeBuildInputs = [ … ]; }."
    else if builtins.any (o: builtins.any (k: !(builtins.elem k overrideKeys)) (builtins.attrNames o)) (builtins.attrValues (packageOverrides args)) then
      throw "godrv.${fn}: `packageOverrides`: unknown attribute(s) ${builtins.concatStringsSep ", " (builtins.concatLists (builtins.attrValues (builtins.mapAttrs (p: o: map (k: "${p}.${k}") (builtins.filter (k: !(builtins.elem k overrideKeys)) (builtins.attrNames o))) (packageOverrides args))))}; an entry takes ${builtins.concatStringsSep " and " overrideKeys}."
    else if builtins.any (o: builtins.any (k: !(builtins.isList o.${k})) (builtins.attrNames o)) (builtins.attrValues (packageOverrides args)) then
      throw "godrv.${fn}: `packageOverrides`: ${builtins.concatStringsSep ", " (builtins.concatLists (builtins.attrValues (builtins.mapAttrs (p: o: map (k: "${p}.${k}") (builtins.filter (k: !(builtins.isList o.${k})) (builtins.attrNames o))) (packageOverrides args))))} must be a list of inputs."
    else if args ? overrideModAttrs && !(builtins.isFunction args.overrideModAttrs || builtins.isAttrs args.overrideModAttrs) then
      throw "godrv.${fn}: `overrideModAttrs` must be a function `old: { … }` (or `final: prev: { … }`) or an attribute set, not a ${builtins.typeOf args.overrideModAttrs}."
    else if !builtins.isBool (args.doCheck or true) then
      throw "godrv.${fn}: `doCheck` must be true or false (got ${builtins.typeOf args.doCheck}); for test binaries without running them use the result's `.testBinaries`."
    else if !(builtins.isAttrs (args.checkData or { }) && builtins.all (l: builtins.isList l && builtins.all builtins.isString l) (builtins.attrValues (args.checkData or { }))) then
      throw "godrv.${fn}: `checkData` must be an attribute set of import path (or \"*\" for every package) → list of paths relative to modRoot, e.g. { \"example.com/m/parser\" = [ \"testdata\" ]; } (got ${builtins.typeOf args.checkData} or a value that is not a list of strings)."
    else if (args.modules or null) != null && (args.vendorHash or null) != null then
      throw "godrv.${fn}: give either `vendorHash` (one fixed-output derivation for all modules) or `modules` (a lockfile: one per module), not both."
    else if !(builtins.elem (granularityOf args) granularities) then
      throw "godrv.${fn}: `granularity` must be one of ${builtins.concatStringsSep ", " (map (g: "\"${g}\"") granularities)} (got ${builtins.toJSON (args.granularity)})."
    else if !(args ? src) then
      throw "godrv.${fn}: `src` is required: the directory of the Go module (or a tree with it under `modRoot`)."
    else if !(args ? pname || args ? name) then
      throw "godrv.${fn}: give `pname` (and `version`) or `name`."
    else
      builtins.seq (refuseSecrets { what = "godrv.${fn}: env"; } (userEnv args)) args;

  nameOf = args: args.name or (if args ? version then "${args.pname}-${args.version}" else args.pname);

  splitFlags = f: if builtins.isList f then f else builtins.filter (s: s != "" && !builtins.isList s) (builtins.split " +" f);

  # Variables that only matter for downloading modules: given to the vendorHash derivation, kept
  # from the planner (so changing a proxy does not re-plan, and planning never downloads).
  downloadEnv = [
    "GOPROXY" "GOPRIVATE" "GONOPROXY" "GONOSUMDB" "GONOSUMCHECK" "GOSUMDB" "GOINSECURE" "GOAUTH"
    "GOVCS" "SSL_CERT_FILE" "SSL_CERT_DIR"
  ];

  userEnv = args: builtins.mapAttrs (_: toString) ((args.env or { }) // (if args ? GOFLAGS then { GOFLAGS = toString args.GOFLAGS; } else { }));

  # overrideModAttrs as buildGoModule takes it (lib.toExtension): `old: { … }`,
  # `final: prev: { … }` (final is the result before this override: no fixed point) or a set.
  applyOverride =
    f: attrs:
    let
      r = if builtins.isFunction f then f attrs else f;
    in
    attrs // (if builtins.isFunction r then r attrs else r);

  # The module cache: a fixed-output derivation (hash `vendorHash`) whose builder, `godrv modules`,
  # runs `go mod download` with GOMODCACHE=$out and keeps only module sources and go.mod files.
  # null when vendorHash is null (no third-party modules). `overrideModAttrs` changes the
  # attributes below before `derivation` is called: `env` (go's environment, an attribute set)
  # and `modRoot` go into godrvModulesConfig; every other one is a derivation attribute
  # (`impureEnvVars` are also passed on to go).
  modules =
    args:
    if (args.vendorHash or null) == null then
      null
    else
      let
        attrs = applyOverride (args.overrideModAttrs or { }) {
          name = "${nameOf args}-go-modules";
          env = userEnv args;
          modRoot = args.modRoot or "";
          # Proxies of the calling environment reach a fixed-output derivation.
          impureEnvVars = fetcherImpureEnvVars;
        };
      in
      derivation (removeAttrs attrs [ "env" "modRoot" ] // {
        inherit system;
        builder = "${godrv}/bin/godrv";
        args = [ "modules" ];
        godrvModulesConfig = builtins.toJSON {
          src = "${args.src}";
          go = "${go}";
          modRoot = attrs.modRoot;
          env = refuseSecrets { what = "godrv: overrideModAttrs: env"; } (builtins.mapAttrs (_: toString) attrs.env);
        };
        outputHashMode = "recursive";
        outputHashAlgo = "sha256";
        # "" (or lib.fakeHash) makes Nix fail and print the right hash after `got:`.
        outputHash = if args.vendorHash == "" then "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" else args.vendorHash;
      });

  # Proxies of the calling environment reach a fixed-output derivation, and NETRC (the path of a
  # netrc file with credentials for private modules, made visible to the sandbox with
  # `extra-sandbox-paths`): never copied into the store.
  fetcherImpureEnvVars = [
    "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy"
    "HTTP_PROXY" "HTTPS_PROXY" "FTP_PROXY" "ALL_PROXY" "NO_PROXY"
    "NETRC"
  ];

  # Lockfile mode (`modules = ./godrv.lock` or `./gomod2nix.toml`, gomod2nix's schema 3): one
  # fixed-output derivation per module, keyed by go's module cache directory
  # (`example.com/greet@v1.1.0`, upper-case letters escaped as `!x`).
  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  escapeModule = builtins.replaceStrings upper (map (c: "!" + c) lower);
  # The store name godrv gives a module's tree (godrv_nix::ModuleDir): the same in both modes.
  moduleStoreName = dir: "gomod-" + builtins.replaceStrings [ "/" "@" "!" "~" ] [ "-" "-" "-" "-" ] dir;
  lockfileName = args: baseNameOf (toString args.modules);
  lockedModules =
    args:
    if (args.modules or null) == null then
      null
    else
      let
        lock = builtins.fromTOML (builtins.readFile args.modules);
        name = lockfileName args;
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
                drv = fetchModule args path entry.version entry.hash dir;
              };
            }
          ) (builtins.attrNames (lock.mod or { }))
        );

  # One module, downloaded by `godrv fetch-module` (`go mod download path@version`), whose output
  # is the module's directory; its hash is the lockfile's.
  fetchModule =
    args: path: version: hash: dir:
    derivation {
      name = moduleStoreName dir;
      inherit system;
      builder = "${godrv}/bin/godrv";
      args = [ "fetch-module" ];
      godrvFetchConfig = builtins.toJSON {
        inherit path version;
        go = "${go}";
        env = builtins.intersectAttrs (builtins.listToAttrs (map (n: { name = n; value = null; }) downloadEnv)) (userEnv args);
      };
      outputHashMode = "recursive";
      outputHashAlgo = "sha256";
      outputHash = hash;
      impureEnvVars = fetcherImpureEnvVars;
    };

  addressing = args: if args.contentAddressed or true then "content-addressed" else "input-addressed";

  # What the planner does with the packages' tests: run them (doCheck, the default, as
  # buildGoModule) or not; checkFlags are the test binaries' flags; checkData (import path or "*"
  # → paths relative to modRoot) is what a run sees besides its package directory.
  # (Left out when empty, so planners without it stay the same derivations.)
  checkOf =
    args:
    {
      mode = if args.doCheck or true then "run" else null;
      flags = splitFlags (args.checkFlags or [ ]);
    }
    // (if (args.checkData or { }) != { } then { data = args.checkData; } else { });

  # Go's index of GOROOT's packages as a GOCACHE (`godrv go-index`: what `go list std` leaves in an
  # empty cache, no build results). The planner copies it into its caches, so `go build -n` does
  # not read every std file again. One per toolchain; no package derivation depends on it.
  goIndex = derivation {
    name = "go-index";
    inherit system;
    builder = "${godrv}/bin/godrv";
    args = [ "go-index" ];
    go = "${go}";
  };

  # The planner: runs `go build -n` (and `go test -c -n`), parses, plans. mode = "dyn" | "ifd".
  planner = mode: args: plannerWith mode args { };

  # The planner of the test binaries only (the result's `.testBinaries`).
  testPlanner = mode: args: plannerWith mode args {
    name = "${nameOf args}-test-binaries";
    check = { mode = "binaries"; flags = [ ]; };
  };

  plannerWith =
    mode: args:
    { name ? nameOf args, check ? checkOf args }:
    let
      modcache = modules args;
      locked = lockedModules args;
      config = {
        inherit mode system name check;
        addressing = addressing args;
        src = "${args.src}";
        go = inputRef go;
        godrv = inputRef godrv;
        cc = inputRef cc;
        modcache = inputRef modcache;
        inputs = map inputRef (cInputs args);
        packageInputs = builtins.mapAttrs (_: l: map inputRef (cInputsOf l)) (packageInputs args);
        lockedModules = if locked == null then null else builtins.mapAttrs (_: m: { inherit (m) key path version; source = inputRef m.drv; }) locked;
        lockfile = if locked == null then null else lockfileName args;
        nix = if mode == "dyn" then "${nix}/bin/nix" else null;
        modRoot = args.modRoot or "";
        subPackages = args.subPackages or [ ];
        excludedPackages = args.excludedPackages or [ ];
        path = map (x: "${getBin x}/bin") (inputsOf args);
        pkgConfigPath = builtins.concatMap (x: [ "${getDev x}/lib/pkgconfig" "${getDev x}/share/pkgconfig" ]) (inputsOf args);
        ldflags = splitFlags (args.ldflags or [ ]);
        tags = args.tags or [ ];
        allowGoReference = args.allowGoReference or false;
        goFlags = [ ];
        goCacheSeed = "${goIndex}";
        env = removeAttrs (userEnv args) downloadEnv;
        granularity = granularityOf args;
      };
    in
    if mode == "dyn" then
      # In "module" granularity std is one derivation the program's planner adds itself, and
      # third-party modules one each: the std and dependencies' planners are not needed.
      dynPlanner name config (
        if config.granularity != "package" then { }
        else { godrvStdPlan = stdPlanner config; }
          // (if depsPlanner args config == null then { } else { godrvDepsPlan = depsPlanner args config; })
      )
    else
      derivation {
        name = "${name}-plan.json";
        inherit system;
        builder = "${godrv}/bin/godrv";
        args = [ "plan" ];
        godrvPlanConfig = builtins.toJSON config;
      };

  # A planner that registers its derivations from inside the build (recursive Nix); its output is
  # the top .drv: a text-hashed content-addressed output named *.drv.
  dynPlanner =
    name: config: extra:
    derivation (
      {
        name = "${name}.drv";
        inherit system;
        builder = "${godrv}/bin/godrv";
        args = [ "plan" ];
        godrvPlanConfig = builtins.toJSON config;
        __contentAddressed = true;
        outputHashMode = "text";
        outputHashAlgo = "sha256";
        requiredSystemFeatures = [ "recursive-nix" ];
        NIX_CONFIG = "experimental-features = nix-command dynamic-derivations ca-derivations recursive-nix";
      }
      // extra
    );

  # The derivations of every std package for the settings that shape std's compile commands
  # (toolchain, C compiler, addressing, tags, allowGoReference, env), registered once: its output
  # (the .drv of a "go-std" derivation depending on all of them, never built) is an input of the
  # program's dyn planner, so the std derivations are among that build's inputs and the planner
  # need not add them again (inside recursive Nix every added path costs Nix a bind mount into the
  # sandbox). An optimization only: a std derivation it lacks is added by the program's planner,
  # and if `go build -n std` fails it says so in its log and registers nothing.
  stdPlanner =
    config:
    dynPlanner "go-std" (
      builtins.intersectAttrs (builtins.listToAttrs (map (name: { inherit name; value = null; }) stdShaping)) config
      // {
        std = true;
        name = "go-std";
        src = "";
      }
    ) { };
  # The derivations of the packages of the third-party modules the program's go.mod requires (the
  # module cache or the lockfile's modules), registered by a planner that sees only go.mod and
  # go.sum: an edit of the program's own sources does not change its inputs, so it runs once per
  # go.mod/go.sum and settings, and its output (a "go-deps" derivation depending on all of them,
  # never built) is an input of the program's dyn planner, which then finds them valid instead of
  # adding them again after every edit. It plans every package of those modules that `go list`
  # loads without error (commands left out), a superset of what the program imports. An
  # optimization only: if its planning fails, it says so in its log and registers nothing.
  # null (no such planner) without third-party modules (or with them in vendor/, which are
  # sources), for a go.work workspace, and when `src` is not a plain path (a derivation's output:
  # reading its go.mod would need import from derivation).
  depsPlanner =
    args: config:
    let
      modRoot = args.modRoot or "";
      plain = builtins.isPath args.src || (builtins.isString args.src && !(builtins.hasContext args.src));
      root = if modRoot == "" then "" else "${modRoot}/";
      # The go.mod and go.sum of modRoot (and the directories above them), nothing else.
      keep = [ "${root}go.mod" "${root}go.sum" ] ++ parents modRoot;
      parents = dir: if dir == "" || dir == "." then [ ] else [ dir ] ++ parents (dirOf' dir);
      dirOf' = d: let p = builtins.dirOf d; in if p == "." then "" else p;
      prefix = "${toString args.src}/";
      moduleFiles = builtins.path {
        path = args.src;
        name = "go-module-files";
        filter = p: _type: builtins.elem (builtins.substring (builtins.stringLength prefix) 1000000 (toString p)) keep;
      };
    in
    if (config.modcache == null && config.lockedModules == null) || !plain
      || builtins.pathExists "${toString args.src}/${root}go.work" then
      null
    else
      dynPlanner "go-deps" (
        removeAttrs config [ "subPackages" "excludedPackages" "ldflags" ]
        // {
          deps = true;
          name = "go-deps";
          src = "${moduleFiles}";
          # The module cache by its output path only: its fixed-output derivation reads the whole
          # source (`go mod download` runs in it), so its .drv changes with every edit; named in
          # this planner's configuration, it would make the planner run again after every edit.
          modcache = if config.modcache == null then null else config.modcache // { drv = null; output = null; };
          check = { mode = null; flags = [ ]; };
        }
      ) { godrvStdPlan = stdPlanner config; };
  # The fields of a program planner's configuration that std's planner takes. Not goCacheSeed:
  # go-std and go-index, both needed before a toolchain's first program planner, build side by side.
  stdShaping = [ "mode" "system" "addressing" "go" "godrv" "cc" "nix" "tags" "allowGoReference" "goFlags" "env" ];

  # IFD: read the plan and call `derivation` with the same attributes godrv writes in dyn mode.
  instantiate =
    args: plan:
    let
      src = args.src;
      modcache = modules args;
      inputs = cInputs args;
      perPackage = builtins.mapAttrs (_: cInputsOf) (packageInputs args);
      srcPrefix = "${toString src}/";
      prefixLen = builtins.stringLength srcPrefix;
      relative = p: builtins.substring prefixLen (builtins.stringLength p) p;
      # With the set's NAR hash (from the planner), builtins.path only checks that the path is
      # valid: the filter walks `src` (and the files are hashed) only for a set not yet in the
      # store, i.e. after an edit, only the edited packages'.
      sourceSet =
        set:
        let
          admitted = builtins.listToAttrs (map (p: { name = p; value = true; }) set.paths);
        in
        builtins.path {
          path = src;
          name = set.name;
          filter = p: _type: admitted ? ${relative (toString p)};
          inherit (set) sha256;
        };
      # A module's own store path: its directory of the realised module cache, added as a source
      # path with the name godrv gives it (the same path `nix store add` gives in dyn mode); its
      # NAR hash from the planner spares the evaluator hashing the tree once the path is valid.
      # In lockfile mode, the module's own fixed-output derivation.
      locked = lockedModules args;
      moduleInput =
        m:
        if locked != null then
          locked.${m.dir}.drv
        else
          builtins.path { path = "${modcache}/${m.dir}"; inherit (m) name sha256; };
      ca = plan.addressing == "content-addressed";
      drvs = builtins.mapAttrs mk plan.actions;
      mk =
        _key: a:
        derivation (
          {
            inherit (a) name;
            inherit system;
            builder = "${godrv}/bin/godrv";
            args = [ "exec" ];
            goroot = go;
          }
          // a.env
          # A dependency is an output of a derivation, or a directory of it (a group member's).
          // builtins.mapAttrs (_: d: if d ? dir then "${drvs.${d.key}.${d.output}}/${d.dir}" else drvs.${d.key}.${d.output}) a.deps
          // (if builtins.length a.outputs > 1 then { inherit (a) outputs; } else { })
          // (if a.src != null then { src = sourceSet a.src; } else { })
          // (if a.cc && cc != null then { inherit cc; } else { })
          // (if a.module != null then { module = moduleInput a.module; } else { })
          // builtins.mapAttrs (_: moduleInput) (a.modules or { })
          // (if a.modcache then { inherit modcache; } else { })
          // (
            let
              all = (if a.inputs or false then inputs else [ ]) ++ builtins.concatMap (p: perPackage.${p}) (a.inputPackages or [ ]);
            in
            if all != [ ] then { buildInputs = all; } else { }
          )
          // (if ca then { __contentAddressed = true; } else { })
        );
    in
    if plan.version != 3 then throw "godrv: plan version ${toString plan.version} is not the one this nix/ library reads (3): update nix/ and godrv together." else drvs.${plan.top};

  # A derivation whose output is a copy of a store path that is only known as a string (the
  # output of a dynamic derivation): gives nix-build something to build and a place for meta.
  copyOf =
    args: path:
    derivation {
      name = nameOf args;
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
    };

  # buildWithDynDrv needs this Nix (builtins.outputOf, `nix derivation add` with JSON format 4).
  minimumNixVersion = "2.33";
  # An error naming the version when `version` (the evaluating Nix's) is older; true otherwise.
  checkNixVersion =
    fn: version:
    builtins.compareVersions version minimumNixVersion >= 0
    || throw "godrv.${fn}: this Nix (${version}) is too old: dynamic derivations as godrv uses them need Nix >= ${minimumNixVersion} (nixpkgs: nixVersions.latest). Upgrade Nix, or use buildWithIFD, which works with any Nix that allows import from derivation.";

  finish = args: drv: drv // { passthru = args.passthru or { }; meta = args.meta or { }; } // (args.passthru or { });
in
{
  inherit checkArgs checkNixVersion planner testPlanner stdPlanner instantiate copyOf finish nameOf modules lockedModules goIndex;
  # The result's `.goModules`: the vendorHash derivation, or in lockfile mode an attrset of the
  # per-module ones (keyed by module cache directory), or null.
  goModules =
    args:
    let
      locked = lockedModules args;
    in
    if locked != null then builtins.mapAttrs (_: m: m.drv) locked else modules args;
}
