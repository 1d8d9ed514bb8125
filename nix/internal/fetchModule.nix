# fetchModule args path version hash dir: one module of a lockfile, downloaded by
# `godrv fetch-module` (`go mod download path@version`); its output is the module's directory and
# its hash the lockfile's. Named after the module's cache directory `dir`, as godrv names a
# module's tree in vendorHash mode (godrv_nix::ModuleDir), so both give the same store name.
#
# Arguments:
#   args     the builder's arguments: the download variables of `env`/`GOFLAGS` (GOPROXY, …)
#   path     the module path downloaded
#   version  its version
#   hash     the NAR hash (SRI) of its directory
#   dir      its module cache directory (`example.com/greet@v1.1.0`, escaped)
{ toolchain, lib }:
let
  inherit (toolchain) go godrv system;
  moduleStoreName = dir: lib.contract.moduleStorePrefix + builtins.replaceStrings [ "/" "@" "!" "~" ] [ "-" "-" "-" "-" ] dir;
in
args: path: version: hash: dir:
derivation {
  name = moduleStoreName dir;
  inherit system;
  builder = "${godrv}/bin/godrv";
  args = [ "fetch-module" ];
  godrvFetchConfig = builtins.toJSON {
    inherit path version;
    go = "${go}";
    env = builtins.intersectAttrs (builtins.listToAttrs (map (n: { name = n; value = null; }) lib.common.downloadEnv)) (lib.common.userEnv args);
  };
  outputHashMode = "recursive";
  outputHashAlgo = "sha256";
  outputHash = hash;
  impureEnvVars = lib.common.fetcherImpureEnvVars;
}
