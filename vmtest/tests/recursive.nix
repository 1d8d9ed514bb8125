# Recursive Nix + dynamic derivations, without nixpkgs.
#
# `producer` is a text-hashed content-addressed derivation whose name ends in `.drv`: its builder
# (Debian's /usr/bin/sh, through /usr) writes a derivation as JSON, registers it with
# `nix derivation add` (Debian's nix, talking to the outer Nix through the recursive-Nix socket)
# and copies the resulting .drv file to $out. `builtins.outputOf` names the output of the
# derivation that $out will be; `consumer` reads it, so building `consumer` builds producer,
# then the produced derivation, then consumer.
{ nonce ? "" }:
let
  system = "x86_64-linux";
  message = "hello from a dynamic derivation ${nonce}";
  # The shape `nix derivation show` prints (version 4). `"out": {}` with an empty env.out lets
  # Nix fill in the input-addressed output path.
  inner = builtins.toJSON {
    version = 4;
    name = "greeting";
    inherit system;
    builder = "/usr/bin/sh";
    args = [ "-c" "echo \"$message\" > \"$out\"" ];
    env = {
      inherit system message;
      name = "greeting";
      builder = "/usr/bin/sh";
      out = "";
    };
    inputs = { drvs = { }; srcs = [ ]; };
    outputs = { out = { }; };
  };
  producer = derivation {
    name = "greeting.drv";
    inherit system nonce inner;
    passAsFile = [ "inner" ];
    builder = "/usr/bin/sh";
    args = [ "-c" ''
      set -eu
      drv=$(nix derivation add < "$innerPath")
      echo "registered $drv"
      cp "$drv" "$out"
    '' ];
    PATH = "/usr/bin";
    requiredSystemFeatures = [ "recursive-nix" ];
    __contentAddressed = true;
    outputHashMode = "text";
    outputHashAlgo = "sha256";
    NIX_CONFIG = "experimental-features = nix-command dynamic-derivations ca-derivations recursive-nix";
  };
  greeting = builtins.outputOf producer.outPath "out";
in
derivation {
  name = "consumer";
  inherit system;
  builder = "/usr/bin/sh";
  args = [ "-c" "/usr/bin/cat ${greeting} > \"$out\"" ];
}
