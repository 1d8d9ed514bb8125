# Sandbox proof. Each derivation's builder is Debian's /usr/bin/sh, visible in the sandbox only
# because /usr is in extra-sandbox-paths. `denied.*` try to read a path of the root that is NOT
# exposed and must fail (printing NOT-VISIBLE); `allowed.*` must succeed.
# `nonce` makes every run build afresh instead of reusing an earlier result.
{ nonce ? "" }:
let
  toolchain = builtins.fromJSON (builtins.readFile /etc/godrv/toolchain.json);
  sh = script: name: derivation {
    inherit name nonce;
    system = "x86_64-linux";
    builder = "/usr/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin";
  };
  probe = path: sh ''
    if [ -e ${path} ]; then echo "VISIBLE ${path}"; cat ${path} > "$out"; exit 0; fi
    echo "NOT-VISIBLE ${path}"; exit 1
  '';
in
{
  denied = {
    repo = probe "/src/Cargo.toml" "read-repo";
    root-home = probe "/root" "read-root-home";
    nix-conf = probe "/etc/nix/nix.conf" "read-nix-conf";
    var-cache = probe "/var/cache" "read-var-cache";
    os-release = probe "/etc/os-release" "read-etc";
  };
  allowed = {
    usr = probe "/usr/lib/os-release" "read-usr";
    # Debian's dynamically linked nix runs (the loader comes from /lib64 -> /usr/lib64).
    nix = sh ''nix --version > "$out"'' "run-nix";
    # The C toolchain compiles and links, also against a pkg-config library.
    cc = sh ''
      set -e
      printf '#include <stdio.h>\n#include <zlib.h>\nint main(void){printf("zlib %%s\\n", zlibVersion());return 0;}\n' > a.c
      gcc -o a a.c $(pkg-config --cflags --libs zlib)
      ./a > "$out"
    '' "run-gcc";
    # The Go store path (a static GOROOT, an input through builtins.storePath) runs.
    go = sh ''${builtins.storePath toolchain.go}/bin/go version > "$out"'' "run-go";
  };
}
