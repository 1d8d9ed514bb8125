// Command refbuild builds a Go program the plain way, as the reference godrv's binaries must equal
// byte for byte: `go build -trimpath -buildvcs=false -ldflags="-buildid= <ldflags>"` with the
// request's tags, environment, modRoot and packages, in an empty environment.
//
//	refbuild -request JSON -src DIR -out DIR -goproxy URL -scratch DIR
//
// The request is the planner's (the `godrvPlanConfig` of the Nix functions, same field names).
// Binaries land in OUT/bin, or OUT/bin/<goos>_<goarch> for a cross build, as godrv puts them.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

type request struct {
	ModRoot          string            `json:"modRoot"`
	SubPackages      []string          `json:"subPackages"`
	ExcludedPackages []string          `json:"excludedPackages"`
	Ldflags          []string          `json:"ldflags"`
	Tags             []string          `json:"tags"`
	GoFlags          []string          `json:"goFlags"`
	Env              map[string]string `json:"env"`
	Path             []string          `json:"path"`
	PkgConfigPath    []string          `json:"pkgConfigPath"`
}

func main() {
	reqJSON := flag.String("request", "{}", "the planner's request (JSON)")
	src := flag.String("src", "", "source tree")
	out := flag.String("out", "", "output directory")
	goproxy := flag.String("goproxy", "off", "GOPROXY for third-party modules")
	scratch := flag.String("scratch", "", "directory for GOCACHE, GOPATH, HOME")
	flag.Parse()
	var req request
	if err := json.Unmarshal([]byte(*reqJSON), &req); err != nil {
		fail("reading -request: %v", err)
	}
	if len(req.ExcludedPackages) > 0 {
		fail("excludedPackages is not supported by refbuild")
	}
	goroot := os.Getenv("GOROOT")
	if goroot == "" {
		fail("GOROOT is not set")
	}
	bin := filepath.Join(*out, "bin")
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if v, ok := req.Env["GOOS"]; ok {
		goos = v
	}
	if v, ok := req.Env["GOARCH"]; ok {
		goarch = v
	}
	if goos != runtime.GOOS || goarch != runtime.GOARCH {
		bin = filepath.Join(bin, goos+"_"+goarch)
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		fail("%v", err)
	}
	args := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags=" + strings.Join(append([]string{"-buildid="}, req.Ldflags...), " "),
		"-o", bin + "/"}
	if len(req.Tags) > 0 {
		args = append(args, "-tags="+strings.Join(req.Tags, ","))
	}
	args = append(args, req.GoFlags...)
	if len(req.SubPackages) == 0 {
		args = append(args, "./...")
	}
	for _, p := range req.SubPackages {
		if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") {
			p = "./" + p
		}
		args = append(args, p)
	}
	path := append([]string{filepath.Join(goroot, "bin"), "/usr/bin"}, req.Path...)
	env := []string{
		"PATH=" + strings.Join(path, ":"),
		"GOROOT=" + goroot,
		"HOME=" + filepath.Join(*scratch, "home"),
		"GOCACHE=" + filepath.Join(*scratch, "gocache"),
		"GOPATH=" + filepath.Join(*scratch, "gopath"),
		"GOTOOLCHAIN=local",
		"GOENV=off",
		"GOFLAGS=-modcacherw",
		"GOPROXY=" + *goproxy,
		"GOSUMDB=off",
	}
	if len(req.PkgConfigPath) > 0 {
		env = append(env, "PKG_CONFIG_PATH="+strings.Join(req.PkgConfigPath, ":"))
	}
	for k, v := range req.Env {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(filepath.Join(goroot, "bin", "go"), args...)
	cmd.Dir = filepath.Join(*src, req.ModRoot)
	cmd.Env = env
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fail("go %s in %s: %v", strings.Join(args, " "), cmd.Dir, err)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "refbuild: "+format+"\n", a...)
	os.Exit(1)
}
