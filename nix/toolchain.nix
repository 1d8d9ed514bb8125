# toolchain: the tools godrv builds with: from nixpkgs, from an explicit attrset, or from the JSON file named
# by $GODRV_TOOLCHAIN (what vmtest/ writes). Store paths read from JSON get their string context
# back with builtins.storePath; host prefixes such as /usr (the test machine's C compiler) stay
# plain strings and are not inputs of any derivation.
{ pkgs, toolchain }:
let
  fromJSONFile =
    file:
    let
      raw = builtins.fromJSON (builtins.readFile file);
      asPath = p: if p == null then null else if builtins.substring 0 11 p == "/nix/store/" then builtins.storePath p else p;
    in
    {
      go = asPath raw.go;
      godrv = asPath raw.godrv;
      nix = asPath raw.nix;
      cc = asPath (raw.cc or null);
      system = raw.system;
    };
  envFile = builtins.getEnv "GODRV_TOOLCHAIN";
in
if toolchain != null then
  toolchain
else if pkgs != null then
  {
    go = pkgs.go;
    nix = pkgs.nixVersions.latest;
    cc = pkgs.stdenv.cc;
    godrv = pkgs.callPackage ./package.nix { };
    system = pkgs.stdenv.hostPlatform.system;
  }
else if envFile != "" then
  fromJSONFile envFile
else
  throw "godrv: no toolchain. Pass `pkgs` (nixpkgs) or `toolchain = { go; godrv; nix; cc; system; }` to nix/default.nix, or set GODRV_TOOLCHAIN to a toolchain JSON file (vmtest/run does)."
