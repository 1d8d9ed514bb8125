# shellcheck shell=bash
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant: fail if either fails
# End-to-end tests of third-party modules (issue 5): sourced by tests/e2e/run, which runs every
# test_* function defined here.

GOPROXY_EXPR="file://\${builtins.path { path = $REPO/testdata/goproxy; name = \"goproxy\"; }}"

# Runs the toolchain's go in DIR with the local file proxy (no checksum database: it is local).
go_in() { # dir args...
	local dir=$1
	shift
	(cd "$dir" && env -i PATH="$GOROOT/bin:/usr/bin:/bin" HOME="$SCRATCH/home" GOROOT="$GOROOT" \
		GOCACHE="$SCRATCH/gocache" GOMODCACHE="$SCRATCH/gomodcache" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
		GOPROXY="file://$REPO/testdata/goproxy" GOSUMDB=off go "$@")
}

# The vendorHash of the module in DIR: Nix's `got:` after building with a wrong one.
vendor_hash_of() { # dir
	local expr="(import $REPO/nix {}).buildWithIFD { pname = \"vh\"; version = \"1\"; src = $1;
		env.GOPROXY = \"$GOPROXY_EXPR\"; vendorHash = \"\"; }"
	nix-build --no-out-link -E "$expr" -A goModules >/dev/null 2>"$LOG.vh" && {
		echo "vendorHash = \"\" built" >&2
		return 1
	}
	sed -n 's/^ *got: *\(sha256-[A-Za-z0-9+/=]*\).*/\1/p' "$LOG.vh" | head -1
}

# Names (without hash) of the derivations a nix-build log says it built, sorted, one line.
built_names() { # log
	grep "^building '/nix/store/.*\.drv'" "$1" | sed "s/^building '\/nix\/store\/[a-z0-9]*-//; s/'.*//" | sort | tr '\n' ' '
}

# Bumping one module (example.com/greet v1.0.0 → v1.1.0) in vendorHash mode: the other module's
# (example.com/shout) store path and package derivation stay the same and are not rebuilt; what
# is rebuilt is the module cache, the planner, greet's packages, main, the link and the result.
test_module_bump() {
	local src=$SCRATCH/bump nonce v hash expr top out
	cp -r examples/dep "$src"
	# A per-run main package, so main, the link and the result are new in a store that ran this.
	nonce=$(date +%s%N)
	echo "var sink int64 = $nonce" >>"$src/main.go"
	for v in v1.0.0 v1.1.0; do
		go_in "$src" get "example.com/greet@$v" 2>"$LOG.get" || {
			cat "$LOG.get" >&2
			return 1
		}
		hash=$(vendor_hash_of "$src") && [ -n "$hash" ] || {
			tail -20 "$LOG.vh" >&2
			return 1
		}
		expr="(import $REPO/nix {}).buildWithDynDrv { pname = \"bump\"; version = \"1\"; src = $src;
			env.GOPROXY = \"$GOPROXY_EXPR\"; vendorHash = \"$hash\"; }"
		top=$(nix-build --no-out-link -E "$expr" -A planner 2>"$LOG.p.$v") || {
			tail -20 "$LOG.p.$v" >&2
			return 1
		}
		nix-store --query --requisites "$top" >"$SCRATCH/req.$v"
		out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.$v") || {
			tail -20 "$LOG.$v" >&2
			return 1
		}
		[ "$("$out/bin/dep")" = "HELLO, GODRV!" ] || {
			echo "greet $v: wrong output" >&2
			return 1
		}
	done
	# Each module is its own store path, an input of only the derivations that read it; no
	# derivation gets the whole module cache.
	grep -q -- '-gomod-example.com-shout-v0.2.0$' "$SCRATCH/req.v1.1.0" &&
		grep -q -- '-gomod-example.com-greet-v1.1.0$' "$SCRATCH/req.v1.1.0" &&
		! grep -q -- '-go-modules$' "$SCRATCH/req.v1.1.0" || {
		echo "expected per-module store paths (gomod-…) and no module cache among the inputs:" >&2
		grep -E 'gomod|go-modules' "$SCRATCH/req.v1.1.0" >&2
		return 1
	}
	# shout's derivation is the same before and after; greet's changed.
	local shout greet
	shout=$(grep -h -- '-go-example.com-shout.drv$' "$SCRATCH/req.v1.0.0" "$SCRATCH/req.v1.1.0" | sort -u | wc -l)
	greet=$(grep -h -- '-go-example.com-greet.drv$' "$SCRATCH/req.v1.0.0" "$SCRATCH/req.v1.1.0" | sort -u | wc -l)
	[ "$shout" = 1 ] && [ "$greet" = 2 ] || {
		echo "expected one .drv for example.com/shout in both builds (got $shout) and two for example.com/greet (got $greet)" >&2
		return 1
	}
	# Built after the bump: never shout's package (its derivation did not change), at most the
	# module cache, the planner, greet's two packages, main, the link and the result copy.
	local built name
	built=$(built_names "$LOG.v1.1.0")
	echo "built after the bump: $(built_names "$LOG.p.v1.1.0")$built ($(($(built_count "$LOG.p.v1.1.0") + $(built_count "$LOG.v1.1.0"))) derivations)" >&2
	for name in $built; do
		case $name in
		bump-1-go-modules.drv | bump-1.drv | go-example.com-greet.drv | go-example.com-greet-internal-words.drv | go-example.com-dep.drv) ;;
		*)
			echo "rebuilt after bumping greet: $name (expected only greet's packages, main, the link, the result)" >&2
			return 1
			;;
		esac
	done
	case " $built " in *" go-example.com-dep.drv "*) ;; *)
		echo "main was not rebuilt after bumping greet: $built" >&2
		return 1
		;;
	esac
}
