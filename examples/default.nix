# The examples: each builds with `build` (buildWithDynDrv or buildWithIFD) and names the program
# testExamples runs and the line it must print.
{ build, system }:
let
  example = args: check: { drv = build args; inherit check; };
  # A static C library with a pkg-config file (greet.pc), made by a plain derivation with the build
  # machine's sh, gcc and ar (/usr/bin: the test machine has no nixpkgs and no stdenv).
  libgreet = derivation {
    name = "libgreet-1.0";
    inherit system;
    builder = "/usr/bin/sh";
    args = [ ./cgo-pkgconfig/greet/build.sh ];
    src = ./cgo-pkgconfig/greet;
    PATH = "/usr/bin";
  };
  hello = check: { program = "hello"; stdout = "Hello, godrv!\n"; } // check;
in
{
  hello = example {
    pname = "hello";
    version = "0.1.0";
    src = ./hello;
    env.CGO_ENABLED = "0";
  } (hello { });
  hello-cgo = example {
    pname = "hello-cgo";
    version = "0.1.0";
    src = ./hello;
    env.CGO_ENABLED = "1";
  } (hello { });
  packages = example {
    pname = "packages";
    version = "0.1.0";
    src = ./packages;
  } (hello { program = "packages"; });
  storepath = example {
    pname = "storepath";
    version = "0.1.0";
    # src is already a store path (a string), not a Nix path literal.
    src = builtins.path { path = ./hello; name = "hello-source"; };
  } (hello { });
  subpackage = example {
    pname = "subpackage";
    version = "0.1.0";
    src = ./subpackage;
    subPackages = [ "cmd/hello" ];
  } (hello { });
  cgo = example {
    pname = "cgo";
    version = "0.1.0";
    src = ./cgo;
    env.CGO_ENABLED = "1";
  } (hello { program = "cgo"; });
  # `#cgo pkg-config: greet`: the planner runs pkg-config (PKG_CONFIG_PATH from buildInputs) and
  # the cgo and link derivations get libgreet as an input.
  cgo-pkgconfig = example {
    pname = "cgo-pkgconfig";
    version = "0.1.0";
    src = ./cgo-pkgconfig;
    env.CGO_ENABLED = "1";
    buildInputs = [ libgreet ];
  } (hello { program = "cgopkgconfig"; stdout = "Hello, godrv! from libgreet\n"; });
  # The same with libgreet given to example.com/cgopkgconfig only (and the link): packageOverrides.
  cgo-pkgconfig-override = example {
    pname = "cgo-pkgconfig-override";
    version = "0.1.0";
    src = ./cgo-pkgconfig;
    env.CGO_ENABLED = "1";
    packageOverrides."example.com/cgopkgconfig".buildInputs = [ libgreet ];
  } (hello { program = "cgopkgconfig"; stdout = "Hello, godrv! from libgreet\n"; });
  # `#cgo pkg-config: zlib`: the build machine's zlib (/usr, found by its pkg-config).
  cgo-zlib = example {
    pname = "cgo-zlib";
    version = "0.1.0";
    src = ./cgo-zlib;
    env.CGO_ENABLED = "1";
  } (hello { program = "cgozlib"; stdout = "Hello, godrv! zlib true\n"; });
  embed = example {
    pname = "embed";
    version = "0.1.0";
    src = ./embed;
  } (hello { program = "embed"; });
  # Third-party modules (example.com/greet, example.com/shout) from the local file GOPROXY in
  # testdata/goproxy; prints shout.Shout(greet.Hello()).
  dep = example {
    pname = "dep";
    version = "0.1.0";
    src = ./dep;
    env.GOPROXY = "file://${builtins.path { path = ../testdata/goproxy; name = "goproxy"; }}";
    vendorHash = "sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=";
  } (hello { program = "dep"; stdout = "HELLO, GODRV!\n"; });
  # Lockfile mode: godrv.lock (written by `godrv lock`) pins each module by the NAR hash of its
  # tree; each is its own fixed-output derivation.
  deplock = example {
    pname = "deplock";
    version = "0.1.0";
    src = ./deplock;
    modules = ./deplock/godrv.lock;
    env.GOPROXY = "file://${builtins.path { path = ../testdata/goproxy; name = "goproxy"; }}";
  } (hello { program = "deplock"; stdout = "HELLO, GODRV!\n"; });
  # A gomod2nix.toml (schema 3, as gomod2nix writes it) read as it is; greet v1.0.0.
  depgomod2nix = example {
    pname = "depgomod2nix";
    version = "0.1.0";
    src = ./depgomod2nix;
    modules = ./depgomod2nix/gomod2nix.toml;
    env.GOPROXY = "file://${builtins.path { path = ../testdata/goproxy; name = "goproxy"; }}";
  } (hello { program = "depgomod2nix"; stdout = "HELLO, GODRV!\n"; });
  # vendor/ in the source (`go mod vendor`): go builds with -mod=vendor; vendorHash = null, nothing
  # is downloaded.
  vendored = example {
    pname = "vendored";
    version = "0.1.0";
    src = ./vendored;
  } (hello { program = "vendored"; stdout = "HELLO, GODRV!\n"; });
  # replace directives: example.com/greet => v1.0.0 (another version, downloaded), example.com/shout
  # => ./shout (a local directory of the source).
  replace = example {
    pname = "replace";
    version = "0.1.0";
    src = ./replace;
    env.GOPROXY = "file://${builtins.path { path = ../testdata/goproxy; name = "goproxy"; }}";
    vendorHash = "sha256-K4wWed3VFHjgeJEB3qBY/U+aSAFSdHByjCqYlxWv7q0=";
  } (hello { program = "replace"; stdout = "HELLO, GODRV! (local shout)\n"; });
  # A go.work workspace of two modules (app, lib): both are local sources; lib uses a third-party
  # module (example.com/shout), downloaded in the workspace.
  workspace = example {
    pname = "workspace";
    version = "0.1.0";
    src = ./workspace;
    subPackages = [ "app" ];
    env.GOPROXY = "file://${builtins.path { path = ../testdata/goproxy; name = "goproxy"; }}";
    vendorHash = "sha256-iGcU3q9H4xc/7Rt5XqGrIWqKMCxh/pi5luAztyyOOQw=";
  } (hello { program = "app"; stdout = "Hello, godrv! from the WORKSPACE\n"; });
  # -X sets main.version; -s -w strip the symbol table and DWARF.
  ldflags = example {
    pname = "ldflags";
    version = "1.2.3";
    src = ./ldflags;
    ldflags = [ "-s" "-w" "-X main.version=1.2.3" ];
  } (hello { program = "ldflags"; stdout = "Hello, godrv! version 1.2.3\n"; });
  # Text with `$` passes through unchanged (issue 16): -X values that begin like godrv's tokens,
  # an Example whose output names them, and a `$` in checkFlags.
  usertext = example {
    pname = "usertext";
    version = "0.1.0";
    src = ./usertext;
    ldflags = [ "-X main.greeting=$OUTLOOK" "-X main.dir=$WORKDIR/x" "-X main.root=$GOROOT" ];
    checkFlags = [ "-v" "-run" "^Example.*$" ];
  } (hello { program = "usertext"; stdout = "Hello, godrv! $OUTLOOK $WORKDIR/x $GOROOT\n"; });
  # foo.go (//go:build foo) instead of notfoo.go.
  tags = example {
    pname = "tags";
    version = "0.1.0";
    src = ./tags;
    tags = [ "foo" ];
  } (hello { program = "tags"; stdout = "Hello, godrv! tag foo\n"; });
  # Two programs: $out/bin/hello and $out/bin/bye.
  multi = example {
    pname = "multi";
    version = "0.1.0";
    src = ./multi;
    subPackages = [ "cmd/hello" "cmd/bye" ];
  } [ (hello { }) (hello { program = "bye"; stdout = "Bye, godrv!\n"; }) ];
  # go.mod is in sub/.
  modroot = example {
    pname = "modroot";
    version = "0.1.0";
    src = ./modroot;
    modRoot = "sub";
  } (hello { program = "modroot"; stdout = "Hello, godrv! from sub\n"; });
  # The main module in a subdirectory (cmd/nestedcmd/go.mod) replaces its library, the repository
  # root, with `../../`; the library embeds a directory (//go:embed assets).
  nestedcmd = example {
    pname = "nestedcmd";
    version = "0.1.0";
    src = ./nestedcmd;
    modRoot = "cmd/nestedcmd";
  } (hello { program = "nestedcmd"; stdout = "Hello, godrv! from a nested module\n"; });
  # Cross builds land in $out/bin/<goos>_<goarch>/ (as with buildGoModule); not run, only their
  # first bytes are checked (ELF, PE).
  cross-linux-arm64 = example {
    pname = "cross-linux-arm64";
    version = "0.1.0";
    src = ./cross;
    env = { CGO_ENABLED = "0"; GOOS = "linux"; GOARCH = "arm64"; };
  } { program = "linux_arm64/cross"; startsWith = builtins.fromJSON ''"\u007fELF"''; };
  cross-windows-amd64 = example {
    pname = "cross-windows-amd64";
    version = "0.1.0";
    src = ./cross;
    env = { CGO_ENABLED = "0"; GOOS = "windows"; GOARCH = "amd64"; };
  } { program = "windows_amd64/cross.exe"; startsWith = "MZ"; };
  # Go tests (doCheck, the default): internal, external (package x_test), testdata/ and an
  # Example, one run derivation per package; the result depends on the runs.
  gotests = example {
    pname = "gotests";
    version = "0.1.0";
    src = ./gotests;
    checkFlags = [ "-v" ];
  } { program = "gotests"; stdout = "hello, godrv\n"; };
  # Tests that read beyond their package's files: snap's read snap/snapshots/ (a subdirectory: seen
  # by default), reader's read ../testdata/ (outside the package: given with checkData).
  testlayout = example {
    pname = "testlayout";
    version = "0.1.0";
    src = ./testlayout;
    checkData."example.com/testlayout/reader" = [ "testdata" ];
  } (hello { program = "testlayout"; stdout = "Hello, godrv! tests see their files\n"; });
  # The test binaries only (`.testBinaries`, nothing run): words.test passes outside its directory.
  gotests-test-binaries = {
    drv = (build { pname = "gotests"; version = "0.1.0"; src = ./gotests; }).testBinaries;
    check = { program = "words.test"; stdout = "PASS\n"; };
  };
  # A failing test: the build fails (buildFails: testExamples leaves it out, tests/e2e checks it);
  # its test binary fails when run.
  failingtest = example {
    pname = "failingtest";
    version = "0.1.0";
    src = ./failingtest;
  } { program = "failingtest"; } // { buildFails = true; };
  failingtest-test-binaries = {
    drv = (build { pname = "failingtest"; version = "0.1.0"; src = ./failingtest; }).testBinaries;
    check = { program = "failingtest.test"; expectFailure = true; stdoutContains = "--- FAIL: TestAnswer"; };
  };
  # doCheck = false: the failing test is not run, the program builds.
  failingtest-nocheck = example {
    pname = "failingtest";
    version = "0.1.0";
    src = ./failingtest;
    doCheck = false;
  } (hello { program = "failingtest"; stdout = "Hello, godrv! 41\n"; });
}
