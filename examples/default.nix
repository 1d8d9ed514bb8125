# The examples: each builds with `build` (buildWithDynDrv or buildWithIFD) and names the program
# testExamples runs and the line it must print.
{ build }:
let
  example = args: check: { drv = build args; inherit check; };
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
}
