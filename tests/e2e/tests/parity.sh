# shellcheck shell=bash
# buildGoModule parity (issue 6): cgo with pkg-config and buildInputs, allowGoReference,
# excludedPackages. Sourced by tests/e2e/run (helpers: build_attr, built_count, $LOG, $REPO, $GODRV).
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant: fail if either fails

# The .drv of the package compile NAME (go-NAME.drv) among the requisites of DRV; fails when there
# is none.
drv_named() { # drv name
	local requisites
	requisites=$(nix-store -q --requisites "$1")
	grep -m1 -- "-$2\.drv\$" <<<"$requisites" || {
		echo "no $2.drv among the requisites of $1" >&2
		return 1
	}
}

# std's derivations of examples.ATTR (IFD) lack libgreet, in both granularities: the std group
# (module, the default) and runtime/cgo's (package), so std stays shared between programs.
std_lacks_libgreet() { # attr
	local g top std
	for g in module package; do
		top=$(nix-instantiate "$REPO/default.nix" -A "examples.$1" --arg useDynDrv false --argstr granularity $g 2>"$LOG.i") || {
			tail -20 "$LOG.i" >&2
			return 1
		}
		std=$(drv_named "$top" "$([ $g = module ] && echo go-stdlib || echo go-runtime-cgo)") || return 1
		lacks "$std" -e libgreet || {
			echo "$1, $g granularity: std ($std) got libgreet" >&2
			return 1
		}
	done
}

# `#cgo pkg-config:` in both modes: libgreet (buildInputs, a raw derivation) and the build machine's
# zlib. The programs print what they got from C; dyn and IFD write the same top .drv; the cgo
# package's compile has libgreet among its inputs and its flags, std does not (std_lacks_libgreet).
test_cgo_pkgconfig() {
	local mode out planned ifd cgo
	for mode in true false; do
		out=$(build_attr "$mode" examples.cgo-pkgconfig) || return 1
		[ "$("$out/bin/cgopkgconfig")" = "Hello, godrv! from libgreet" ] || {
			echo "useDynDrv=$mode: cgo-pkgconfig printed $("$out/bin/cgopkgconfig")" >&2
			return 1
		}
		out=$(build_attr "$mode" examples.cgo-zlib) || return 1
		[ "$("$out/bin/cgozlib")" = "Hello, godrv! zlib true" ] || {
			echo "useDynDrv=$mode: cgo-zlib printed $("$out/bin/cgozlib")" >&2
			return 1
		}
	done
	planned=$(nix-build --no-out-link "$REPO/default.nix" -A examples.cgo-pkgconfig.planner --arg useDynDrv true 2>"$LOG.b") &&
		ifd=$(nix-instantiate "$REPO/default.nix" -A examples.cgo-pkgconfig --arg useDynDrv false 2>"$LOG.i") || {
		tail -20 "$LOG.b" "$LOG.i" >&2
		return 1
	}
	cmp "$planned" "$ifd" || {
		echo "dyn top .drv ($planned) differs from IFD's ($ifd)" >&2
		return 1
	}
	cgo=$(drv_named "$ifd" go-example.com-cgopkgconfig) || return 1
	grep -q 'libgreet-1.0"' "$cgo" && grep -qF -- '-lgreet' "$cgo" && grep -qF -- '-I/nix/store/' "$cgo" || {
		echo "$cgo: expected libgreet as buildInputs and pkg-config's -I/-lgreet in the cgo steps" >&2
		return 1
	}
	lacks "$cgo" -e pkg-config || {
		echo "a pkg-config step is left in $cgo" >&2
		return 1
	}
	std_lacks_libgreet cgo-pkgconfig
}

# A pkg-config package that no input provides: the planner fails with pkg-config's message and says
# what to add.
test_cgo_pkgconfig_missing() {
	local b expr
	for b in buildWithDynDrv buildWithIFD; do
		expr="(import $REPO/nix {}).$b { pname = \"nogreet\"; version = \"$$\"; src = $REPO/examples/cgo-pkgconfig; env.CGO_ENABLED = \"1\"; }"
		if nix-build --no-out-link -E "$expr" >"$LOG.p" 2>&1; then
			echo "$b: built without libgreet" >&2
			return 1
		fi
		grep -q 'pkg-config --cflags -- greet. failed' "$LOG.p" && grep -q 'add the library .* to buildInputs' "$LOG.p" || {
			tail -20 "$LOG.p" >&2
			return 1
		}
	done
}

# allowGoReference = false (the default): a link whose output names GOROOT (here through -X) fails
# with godrv's message; = true: it builds (without -trimpath) and the output refers to Go.
test_allow_go_reference() {
	local nonce expr b out
	nonce="$$-$(date +%s%N)"
	for b in buildWithDynDrv buildWithIFD; do
		expr="let g = import $REPO/nix {}; in g.$b { pname = \"goref\"; version = \"1\"; src = $REPO/examples/ldflags;
			ldflags = [ \"-X main.version=\${g.toolchain.go}-$nonce\" ]; }"
		if nix-build --no-out-link -E "$expr" >"$LOG.g" 2>&1; then
			echo "$b: an output naming GOROOT built with allowGoReference = false" >&2
			return 1
		fi
		grep -q "bin/ldflags refers to the Go toolchain $GOROOT" "$LOG.g" && grep -q 'set allowGoReference = true' "$LOG.g" || {
			tail -20 "$LOG.g" >&2
			return 1
		}
	done
	expr="let g = import $REPO/nix {}; in g.buildWithDynDrv { pname = \"goref\"; version = \"1\"; src = $REPO/examples/ldflags;
		ldflags = [ \"-X main.version=\${g.toolchain.go}-$nonce\" ]; allowGoReference = true; }"
	out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.g") || {
		tail -20 "$LOG.g" >&2
		return 1
	}
	[ "$("$out/bin/ldflags")" = "Hello, godrv! version $GOROOT-$nonce" ] &&
		nix-store -qR "$out" | grep -qxF "$GOROOT" || {
		echo "allowGoReference = true: $out does not print or refer to $GOROOT" >&2
		return 1
	}
}

# excludedPackages: examples/multi without subPackages builds cmd/hello and cmd/bye; excluding
# "bye" (a substring of the directory) leaves hello only.
test_excluded_packages() {
	local b out
	for b in buildWithDynDrv buildWithIFD; do
		out=$(nix-build --no-out-link -E "(import $REPO/nix {}).$b { pname = \"excl\"; version = \"1\"; src = $REPO/examples/multi; excludedPackages = [ \"bye\" ]; }" 2>"$LOG.e") || {
			tail -20 "$LOG.e" >&2
			return 1
		}
		[ "$(ls "$out/bin")" = hello ] && [ "$("$out/bin/hello")" = "Hello, godrv!" ] || {
			echo "$b: expected only bin/hello, got: $(ls "$out/bin")" >&2
			return 1
		}
	done
}

# overrideModAttrs changes the module derivation: (1) `env` reaches `go mod download` (GOPROXY only
# there, not in the build's env); (2) a variable added to `impureEnvVars` comes from nix-build's
# environment, and an extra attribute is a plain derivation attribute (here the proxy directory, so
# the sandbox has it). Each renames the derivation with a nonce, so the download really runs.
test_override_mod_attrs() {
	local nonce proxy expr out
	nonce="$$-$(date +%s%N)"
	proxy="builtins.path { path = $REPO/testdata/goproxy; name = \"goproxy\"; }"
	expr="(import $REPO/nix {}).buildWithIFD { pname = \"dep-ovr\"; version = \"1\"; src = $REPO/examples/dep;
		vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\";
		overrideModAttrs = old: { name = \"env-$nonce-go-modules\"; env = old.env // { GOPROXY = \"file://\${$proxy}\"; }; }; }"
	out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.o1") && [ "$("$out/bin/dep")" = "HELLO, GODRV!" ] || {
		tail -20 "$LOG.o1" >&2
		return 1
	}
	grep -q "building '/nix/store/[a-z0-9]*-env-$nonce-go-modules.drv'" "$LOG.o1" || {
		echo "the overridden module derivation (env-$nonce-go-modules) was not built" >&2
		return 1
	}
	expr="(import $REPO/nix {}).buildWithDynDrv { pname = \"dep-ovr\"; version = \"1\"; src = $REPO/examples/dep;
		vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\";
		overrideModAttrs = final: prev: { name = \"impure-$nonce-go-modules\"; goproxy = $proxy;
			impureEnvVars = prev.impureEnvVars ++ [ \"GOPROXY\" ]; }; }"
	out=$(GOPROXY="file://$(nix eval --impure --raw --expr "$proxy" 2>"$LOG.ev")" nix-build --no-out-link -E "$expr" 2>"$LOG.o2") &&
		[ "$("$out/bin/dep")" = "HELLO, GODRV!" ] || {
		tail -20 "$LOG.o2" >&2
		return 1
	}
}

# overrideModAttrs of the wrong type, and doCheck = true, are evaluation errors naming them.
test_parity_argument_errors() {
	if nix-instantiate -E "(import $REPO/nix {}).buildWithIFD { pname = \"x\"; version = \"1\"; src = $REPO/examples/hello; overrideModAttrs = \"no\"; }" >/dev/null 2>"$LOG.a"; then
		echo "overrideModAttrs = a string evaluated" >&2
		return 1
	fi
	grep -q 'overrideModAttrs. must be a function' "$LOG.a" || {
		tail -5 "$LOG.a" >&2
		return 1
	}
}

# packageOverrides: libgreet given to example.com/cgopkgconfig only. Builds and runs in both
# modes (same top .drv contents); the package's compile has libgreet, std does not. An
# entry for a package without C code, or with an unknown attribute, is an error naming it.
test_package_overrides() {
	local mode out planned ifd expr cgo
	for mode in true false; do
		out=$(build_attr "$mode" examples.cgo-pkgconfig-override) || return 1
		[ "$("$out/bin/cgopkgconfig")" = "Hello, godrv! from libgreet" ] || {
			echo "useDynDrv=$mode: printed $("$out/bin/cgopkgconfig")" >&2
			return 1
		}
	done
	planned=$(nix-build --no-out-link "$REPO/default.nix" -A examples.cgo-pkgconfig-override.planner --arg useDynDrv true 2>"$LOG.b") &&
		ifd=$(nix-instantiate "$REPO/default.nix" -A examples.cgo-pkgconfig-override --arg useDynDrv false 2>"$LOG.i") &&
		cmp "$planned" "$ifd" || {
		tail -20 "$LOG.b" "$LOG.i" >&2
		echo "dyn top .drv ($planned) differs from IFD's ($ifd)" >&2
		return 1
	}
	cgo=$(drv_named "$ifd" go-example.com-cgopkgconfig) || return 1
	grep -q 'libgreet-1.0"' "$cgo" && std_lacks_libgreet cgo-pkgconfig-override || {
		echo "libgreet is not where packageOverrides puts it" >&2
		return 1
	}
	expr="(import $REPO/nix {}).buildWithIFD { pname = \"ovr\"; version = \"1\"; src = $REPO/examples/hello;
		packageOverrides.\"example.com/hello\".env = { }; }"
	if nix-instantiate -E "$expr" >/dev/null 2>"$LOG.a"; then
		echo "packageOverrides with env evaluated" >&2
		return 1
	fi
	grep -q 'packageOverrides.: unknown attribute(s) example.com/hello.env' "$LOG.a" || {
		tail -5 "$LOG.a" >&2
		return 1
	}
	expr="(import $REPO/nix {}).buildWithIFD { pname = \"ovr\"; version = \"$$\"; src = $REPO/examples/hello;
		packageOverrides.\"example.com/hello\".buildInputs = [ ]; }"
	if nix-instantiate -E "$expr" >/dev/null 2>"$LOG.a"; then
		echo "packageOverrides of a package without C code evaluated" >&2
		return 1
	fi
	grep -q 'packageOverrides: example.com/hello is not a package of this build' "$LOG.a" || {
		tail -5 "$LOG.a" >&2
		return 1
	}
}
