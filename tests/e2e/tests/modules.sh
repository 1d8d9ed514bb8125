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
	sed -n 's/^ *got: *\(sha256-[A-Za-z0-9+/=]*\).*/\1/p; T; q' "$LOG.vh"
}

# Names (without hash) of the derivations a nix-build log says it built, sorted, one line.
built_names() { # log
	grep "^building '/nix/store/.*\.drv'" "$1" | sed "s/^building '\/nix\/store\/[a-z0-9]*-//; s/'.*//" | sort | tr '\n' ' '
}

# Bumping one module (example.com/greet v1.0.0 → v1.1.0): the other module's (example.com/shout)
# store path and derivation (module granularity: its group; package: its package's) stay the
# same and are not rebuilt; what is rebuilt is the module download (the cache in vendorHash mode,
# greet's own in lockfile mode, unless the store has it already), the planner, greet's group (or
# packages), main, the link and the result.
test_module_bump() { module_bump vendorHash module; }
test_module_bump_lockfile() { module_bump lockfile module; }
test_module_bump_package() { module_bump vendorHash package; }

module_bump() { # vendorHash|lockfile module|package
	local mode=$1 gran=$2 src=$SCRATCH/bump-$1-$2 nonce v hash expr top out modules
	cp -r examples/dep "$src"
	# A per-run main package, so main, the link and the result are new in a store that ran this
	# (stored in init: the linker keeps it).
	nonce=$(date +%s%N)
	printf 'var sink int64\n\nfunc init() { sink = %s }\n' "$nonce" >>"$src/main.go"
	for v in v1.0.0 v1.1.0; do
		go_in "$src" get "example.com/greet@$v" 2>"$LOG.get" || {
			cat "$LOG.get" >&2
			return 1
		}
		if [ "$mode" = vendorHash ]; then
			hash=$(vendor_hash_of "$src") && [ -n "$hash" ] || {
				tail -20 "$LOG.vh" >&2
				return 1
			}
			modules="vendorHash = \"$hash\";"
		else
			(cd "$src" && env -i PATH="$GOROOT/bin:/usr/bin:/bin" HOME="$SCRATCH/home" GOROOT="$GOROOT" GOTOOLCHAIN=local \
				GOMODCACHE="$SCRATCH/gomodcache" GOPROXY="file://$REPO/testdata/goproxy" GOSUMDB=off "$GODRV" lock) 2>"$LOG.lock" || {
				cat "$LOG.lock" >&2
				return 1
			}
			modules="modules = $src/godrv.lock;"
		fi
		expr="(import $REPO/nix {}).buildWithDynDrv { pname = \"bump\"; version = \"1\"; src = $src;
			granularity = \"$gran\"; env.GOPROXY = \"$GOPROXY_EXPR\"; $modules }"
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
	# (vendorHash: source paths; lockfile: the fixed-output derivations making the same paths)
	grep -qE -- '-gomod-example.com-shout-v0.2.0(\.drv)?$' "$SCRATCH/req.v1.1.0" &&
		grep -qE -- '-gomod-example.com-greet-v1.1.0(\.drv)?$' "$SCRATCH/req.v1.1.0" &&
		lacks "$SCRATCH/req.v1.1.0" -e '-go-modules$' || {
		echo "expected per-module store paths (gomod-…) and no module cache among the inputs:" >&2
		grep -E 'gomod|go-modules' "$SCRATCH/req.v1.1.0" >&2
		return 1
	}
	# shout's derivation is the same before and after; greet's changed.
	local shout greet shout_re='-go-example.com-shout.drv$' greet_re='-go-example.com-greet.drv$'
	if [ "$gran" = module ]; then
		shout_re='-go-example.com-shout-v0.2.0.drv$' greet_re='-go-example.com-greet-v1.[01].0.drv$'
	fi
	shout=$(grep -h -- "$shout_re" "$SCRATCH/req.v1.0.0" "$SCRATCH/req.v1.1.0" | sort -u | wc -l)
	greet=$(grep -h -- "$greet_re" "$SCRATCH/req.v1.0.0" "$SCRATCH/req.v1.1.0" | sort -u | wc -l)
	[ "$shout" = 1 ] && [ "$greet" = 2 ] || {
		echo "expected one .drv for example.com/shout in both builds (got $shout) and two for example.com/greet (got $greet)" >&2
		return 1
	}
	# Built after the bump: never shout's package or group (its derivation did not change), at
	# most the module cache, the dependencies' planner (package granularity) and go-modindex with
	# its key (go.mod changed), the module directories (a new module cache), the source's skeleton and
	# the plan made from it (go.mod is in both), the module groups' registrar (dyn, module
	# granularity: greet's group is new), the planner, greet's two packages (module
	# granularity: its group), main, the link and the result (links to the link's output).
	local built name
	built="$(built_names "$LOG.p.v1.1.0")$(built_names "$LOG.v1.1.0")"
	[ -z "${GODRV_E2E_DEBUG:-}" ] || grep -E "^(building|resolved)" "$LOG.v1.1.0" >&2
	echo "$mode, $gran: built after the bump: $built($(($(built_count "$LOG.p.v1.1.0") + $(built_count "$LOG.v1.1.0"))) derivations)" >&2
	for name in $built; do
		case $name in
		bump-1-go-modules.drv | gomod-example.com-greet-v1.1.0.drv | go-modindex-key.drv | go-modindex.drv | go-module-dirs.json.drv | go-source-skeleton.drv | bump-1-unpinned-plan.json.drv | bump-1.drv.drv | bump-1.drv | go-example.com-dep.drv) ;;
		go-module-groups.json.drv) [ "$gran" = module ] || {
			echo "rebuilt after bumping greet in package granularity: $name (module granularity's registrar)" >&2
			return 1
		} ;;
		go-deps.drv.drv | go-example.com-greet.drv | go-example.com-greet-internal-words.drv) [ "$gran" = package ] || {
			echo "rebuilt after bumping greet in module granularity: $name (a package granularity derivation)" >&2
			return 1
		} ;;
		go-example.com-greet-v1.1.0.drv) [ "$gran" = module ] || {
			echo "rebuilt after bumping greet in package granularity: $name (module granularity's group)" >&2
			return 1
		} ;;
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


# A lockfile module's fixed-output derivation gives the same store path as the module's directory
# in vendorHash mode (both are the NAR of the tree, named gomod-<dir>): switching modes keeps it.
test_lockfile_same_module_path() {
	local lock vendor
	lock=$(nix-build --no-out-link "$REPO/default.nix" -A 'examples.deplock.goModules."example.com/shout@v0.2.0"' 2>"$LOG.l") || {
		tail -20 "$LOG.l" >&2
		return 1
	}
	vendor=$(nix-store --query --requisites "$(nix-build --no-out-link "$REPO/default.nix" -A examples.dep.planner 2>"$LOG.v")" |
		grep -- '-gomod-example.com-shout-v0.2.0$') || {
		tail -20 "$LOG.v" >&2
		return 1
	}
	[ "$lock" = "$vendor" ] || {
		echo "lockfile: $lock, vendorHash: $vendor" >&2
		return 1
	}
}

# `godrv lock` on examples/deplock writes the committed godrv.lock again.
test_lock_command() {
	cp -r examples/deplock "$SCRATCH/lock"
	rm "$SCRATCH/lock/godrv.lock"
	(cd "$SCRATCH/lock" && env PATH="$GOROOT/bin:/usr/bin:/bin" HOME="$SCRATCH/home" GOROOT="$GOROOT" GOTOOLCHAIN=local \
		GOMODCACHE="$SCRATCH/lockcache" GOFLAGS=-mod=mod GOPROXY="file://$REPO/testdata/goproxy" GOSUMDB=off "$GODRV" lock) 2>"$LOG.lock" || {
		cat "$LOG.lock" >&2
		return 1
	}
	diff -u examples/deplock/godrv.lock "$SCRATCH/lock/godrv.lock" >&2
}

# Builds a copy of examples/deplock whose godrv.lock was edited by SED with BUILDER; must fail.
lockfile_failure() { # builder sed-script
	local src=$SCRATCH/badlock.$RANDOM
	cp -r examples/deplock "$src"
	sed -i "$2" "$src/godrv.lock"
	if nix-build --no-out-link -E "(import $REPO/nix {}).$1 { pname = \"badlock\"; version = \"1\"; src = $src;
		modules = $src/godrv.lock; env.GOPROXY = \"$GOPROXY_EXPR\"; }" >"$LOG.fail" 2>&1; then
		echo "$1: a lockfile that disagrees with go.mod built" >&2
		return 1
	fi
}

# A module missing from the lockfile: planning fails naming the module and `godrv lock`.
test_lockfile_missing_module() {
	local b
	for b in buildWithDynDrv buildWithIFD; do
		# shellcheck disable=SC2016 # a sed script, not a shell expression
		lockfile_failure "$b" '/example.com\/shout/,$d' &&
			log_says "godrv.lock has no entry for example.com/shout@v0.2.0, which go.mod requires: run \`godrv lock\`" || return 1
	done
}

# A lockfile at another version than go.mod: planning fails naming both and `godrv lock`.
test_lockfile_wrong_version() {
	local b
	for b in buildWithDynDrv buildWithIFD; do
		lockfile_failure "$b" '/example.com\/greet/,/^hash/{s/^version = .*/version = "v1.0.0"/; s/^hash = .*/hash = "sha256-bEVQf7C+\/goZ1w9fWK8isiH+ECKmTxGzcCYM7BUKuBk="/}' &&
			log_says "godrv.lock locks example.com/greet@v1.0.0 but go.mod requires example.com/greet@v1.1.0: run \`godrv lock\`" || return 1
	done
}

# A locked module whose tree does not match go.sum's h1: hash: planning fails with go's checksum
# mismatch (the planner gives go the h1: of the tree; go compares it with go.sum).
test_lockfile_gosum_mismatch() {
	local src=$SCRATCH/badsum
	cp -r examples/deplock "$src"
	sed -i 's|^example.com/shout v0.2.0 h1:.*|example.com/shout v0.2.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=|' "$src/go.sum"
	if nix-build --no-out-link -E "(import $REPO/nix {}).buildWithIFD { pname = \"badsum\"; version = \"1\"; src = $src;
		modules = $src/godrv.lock; env.GOPROXY = \"$GOPROXY_EXPR\"; }" >"$LOG.fail" 2>&1; then
		echo "a module that does not match go.sum built" >&2
		return 1
	fi
	log_says "example.com/shout@v0.2.0" "checksum mismatch"
}

# `godrv lock` then a build from its lockfile, in both modes, for the examples with a go.work
# workspace (the lockfile is checked against every workspace module's go.mod) and with replace
# directives (greet locked at the version it is replaced by; the local ./shout is not locked).
test_lockfile_workspace_and_replace() {
	local case example subpackages program expected src m out
	for case in "workspace|app|app|Hello, godrv! from the WORKSPACE" "replace|.|replace|HELLO, GODRV! (local shout)"; do
		IFS='|' read -r example subpackages program expected <<<"$case"
		src=$SCRATCH/lock-$example
		cp -r "examples/$example" "$src"
		(cd "$src" && env PATH="$GOROOT/bin:/usr/bin:/bin" HOME="$SCRATCH/home" GOROOT="$GOROOT" GOTOOLCHAIN=local \
			GOMODCACHE="$SCRATCH/lockcache" GOPROXY="file://$REPO/testdata/goproxy" GOSUMDB=off "$GODRV" lock) 2>"$LOG.lock" || {
			cat "$LOG.lock" >&2
			return 1
		}
		for m in buildWithDynDrv buildWithIFD; do
			out=$(nix-build --no-out-link -E "(import $REPO/nix {}).$m { pname = \"lock-$example\"; version = \"1\"; src = $src;
				subPackages = [ \"$subpackages\" ]; modules = $src/godrv.lock; env.GOPROXY = \"$GOPROXY_EXPR\"; }" 2>"$LOG.ws") || {
				tail -20 "$LOG.ws" >&2
				return 1
			}
			[ "$("$out/bin/$program")" = "$expected" ] || {
				echo "$example, $m: wrong output: $("$out/bin/$program")" >&2
				cat "$src/godrv.lock" >&2
				return 1
			}
		done
	done
	# replace: greet is locked at v1.0.0 (go.mod requires v1.1.0, replaced by v1.0.0); shout is local.
	grep -A1 '^\[mod."example.com/greet"\]' "$SCRATCH/lock-replace/godrv.lock" | grep -q 'version = "v1.0.0"' &&
		lacks "$SCRATCH/lock-replace/godrv.lock" -e 'example.com/shout' || {
		cat "$SCRATCH/lock-replace/godrv.lock" >&2
		return 1
	}
}

# Both fetchers (vendorHash and lockfile) let NETRC in from the environment (impureEnvVars), so a
# netrc for private modules is read at build time and never stored.
test_fetchers_take_netrc() {
	local attr
	for attr in 'examples.dep.goModules' 'examples.deplock.goModules."example.com/shout@v0.2.0"'; do
		nix-instantiate --eval --strict "$REPO/default.nix" -A "$attr.impureEnvVars" 2>"$LOG.n" | grep -q '"NETRC"' || {
			echo "$attr: NETRC is not among impureEnvVars" >&2
			cat "$LOG.n" >&2
			return 1
		}
	done
}

# vendorHash and modules together, or a lockfile of another schema: evaluation errors that say
# what to do.
# shellcheck disable=SC2016 # the messages quote names in backticks
test_lockfile_argument_errors() {
	local b
	printf 'schema = 2\n' >"$SCRATCH/old.lock"
	for b in buildWithDynDrv buildWithIFD; do
		if nix-instantiate -E "(import $REPO/nix {}).$b { pname = \"x\"; version = \"1\"; src = $REPO/examples/deplock;
			modules = $REPO/examples/deplock/godrv.lock; vendorHash = \"\"; }" >/dev/null 2>"$LOG.e"; then
			echo "$b: vendorHash and modules together evaluated" >&2
			return 1
		fi
		grep -q 'give either `vendorHash`.*or `modules`' "$LOG.e" || {
			tail -5 "$LOG.e" >&2
			return 1
		}
		if nix-instantiate -E "(import $REPO/nix {}).$b { pname = \"x\"; version = \"1\"; src = $REPO/examples/deplock;
			modules = $SCRATCH/old.lock; }" >/dev/null 2>"$LOG.e"; then
			echo "$b: a schema 2 lockfile evaluated" >&2
			return 1
		fi
		grep -q 'old.lock is not a lockfile godrv reads (schema 2, expected 3): run `godrv lock`' "$LOG.e" || {
			tail -5 "$LOG.e" >&2
			return 1
		}
	done
}

# Nix's escaping of module cache directories (escapeModule in nix/internal/lockedModules.nix, the
# keys of its result) gives the directories of testdata/module-dirs.json, as godrv's module_dir
# does (cargo test module_dirs_match_the_shared_vectors): the algorithm is written on both sides.
test_module_dirs_match_the_shared_vectors() {
	local got
	cat >"$SCRATCH/escape.nix" <<'NIX'
repo:
let
  vectors = (builtins.fromJSON (builtins.readFile (repo + "/testdata/module-dirs.json"))).vectors;
  entry = v: "[mod.\"${v.path}\"]\nversion = \"${v.version}\"\nhash = \"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n";
  lock = builtins.toFile "godrv.lock" ("schema = 3\n" + builtins.concatStringsSep "" (map entry vectors));
  locked = import (repo + "/nix/internal/lockedModules.nix") { toolchain = { }; lib = { }; } { modules = lock; };
  want = builtins.sort builtins.lessThan (map (v: v.dir) vectors);
  got = builtins.attrNames locked;
in
if got == want && builtins.length got >= 5 then "same" else builtins.toJSON { inherit got want; }
NIX
	got=$(nix-instantiate --eval --strict --read-write-mode -E "import $SCRATCH/escape.nix \"$REPO\"" 2>"$LOG.escape") || {
		cat "$LOG.escape" >&2
		return 1
	}
	[ "$got" = '"same"' ] || {
		echo "escapeModule disagrees with testdata/module-dirs.json: $got" >&2
		return 1
	}
}
