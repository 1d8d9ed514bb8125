# vendorModules args: the module cache of `args` (vendorHash mode), or null when `vendorHash` is
# null (no third-party modules, or vendor/ in src). A fixed-output derivation (hash `vendorHash`)
# whose builder, `godrv modules`, runs `go mod download` with GOMODCACHE=$out and keeps only
# module sources and go.mod files.
#
# Arguments: the builder's arguments; read here:
#   vendorHash        the output hash ("" makes Nix fail and print the right one after `got:`)
#   src, modRoot      where go.mod is
#   env, GOFLAGS      go's environment for `go mod download`
#   overrideModAttrs  changes the attributes below before `derivation` is called: `env` (go's
#                     environment, an attribute set) and `modRoot` go into godrvModulesConfig;
#                     every other one is a derivation attribute (`impureEnvVars` are also passed
#                     on to go)
{ toolchain, lib }:
let
  inherit (toolchain) go godrv system;
  # Credentials in `env` are an evaluation error (they would be stored in .drv files).
  refuseSecrets = import ../refuseSecrets.nix;
  # overrideModAttrs as buildGoModule takes it (lib.toExtension): `old: { … }`,
  # `final: prev: { … }` (final is the result before this override: no fixed point) or a set.
  applyOverride =
    f: attrs:
    let
      r = if builtins.isFunction f then f attrs else f;
    in
    attrs // (if builtins.isFunction r then r attrs else r);
in
args:
if (args.vendorHash or null) == null then
  null
else
  let
    attrs = applyOverride (args.overrideModAttrs or { }) {
      name = "${lib.common.nameOf args}-go-modules";
      env = lib.common.userEnv args;
      modRoot = args.modRoot or "";
      # Proxies of the calling environment reach a fixed-output derivation.
      impureEnvVars = lib.common.fetcherImpureEnvVars;
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
  })
