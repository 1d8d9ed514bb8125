# shellcheck shell=bash
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant: fail if either fails
# shellcheck disable=SC2034 # GRANULARITY is read by the helpers of tests/e2e/run
# Granularity (issue 18): "module", the default, makes the standard library one derivation,
# shared by every program built with the same toolchain and settings, and each third-party module
# one; the program's own packages keep one derivation each. "package" gives every package its
# own. The tests without a granularity in their name run in the default one; these run the same
# checks in "package". Sourced by tests/e2e/run.

# The same .drvs in dyn, IFD and godrv build, with every example in package granularity.
test_same_derivations_package() {
	GRANULARITY=package
	test_same_derivations_all_modes
}

# Every example's binaries equal go build's in package granularity, in all three modes.
test_identical_binaries_package() {
	GRANULARITY=package
	test_identical_binaries_all_modes
}

# Early cutoff: a body-only edit of a main-module package rebuilds that package, the link and
# the result (links to the link's output), in package granularity too.
test_incremental_rebuild_package() {
	GRANULARITY=package
	test_incremental_rebuild
}

# The .drv files (godrv's, not the toolchain's or the fetchers') in the closure of a top .drv.
godrv_drvs() { # top.drv
	nix-store --query --requisites "$1" | grep '\.drv$' | grep -v -e '-go-modules\.drv$' -e '/[a-z0-9]*-gomod-' || true
}

# examples/packages in module granularity (the default: no argument): std is one derivation
# named go-stdlib (no per-package std derivation is left), the same one for a second program, and
# the program's own packages keep one derivation each; embed (same settings) has the same
# go-stdlib, hello (CGO_ENABLED=0) another. Prints the derivation counts of both granularities.
test_std_one_derivation() {
	local attr pkg mod n_pkg n_mod
	for attr in packages embed hello; do
		pkg=$(nix-instantiate "$REPO/default.nix" -A "examples.$attr" --arg useDynDrv false --argstr granularity package 2>"$LOG.p") || {
			tail -20 "$LOG.p" >&2
			return 1
		}
		mod=$(nix-instantiate "$REPO/default.nix" -A "examples.$attr" --arg useDynDrv false 2>"$LOG.m") || {
			tail -20 "$LOG.m" >&2
			return 1
		}
		godrv_drvs "$pkg" >"$SCRATCH/drvs.pkg"
		godrv_drvs "$mod" >"$SCRATCH/drvs.mod"
		n_pkg=$(wc -l <"$SCRATCH/drvs.pkg")
		n_mod=$(wc -l <"$SCRATCH/drvs.mod")
		echo "examples.$attr: $n_pkg derivations in package granularity, $n_mod in module granularity" >&2
		grep -q -- '-go-runtime\.drv$' "$SCRATCH/drvs.pkg" && ! grep -q -- '-go-runtime\.drv$' "$SCRATCH/drvs.mod" || {
			echo "examples.$attr: expected go-runtime.drv in package granularity only" >&2
			return 1
		}
		[ "$(grep -c -- '-go-stdlib\.drv$' "$SCRATCH/drvs.mod")" = 1 ] || {
			echo "examples.$attr: expected one go-stdlib.drv in module granularity:" >&2
			cat "$SCRATCH/drvs.mod" >&2
			return 1
		}
		# The program's own packages: the same derivation names in both granularities.
		[ "$(grep -c -- '-go-example\.com-' "$SCRATCH/drvs.pkg")" = "$(grep -c -- '-go-example\.com-' "$SCRATCH/drvs.mod")" ] || {
			echo "examples.$attr: the program's own package derivations differ between granularities" >&2
			return 1
		}
		grep -- '-go-stdlib\.drv$' "$SCRATCH/drvs.mod" >"$SCRATCH/std.$attr"
	done
	[ "$(cat "$SCRATCH/std.packages")" = "$(cat "$SCRATCH/std.embed")" ] || {
		echo "packages and embed (same settings) have different std groups" >&2
		return 1
	}
	[ "$(cat "$SCRATCH/std.packages")" != "$(cat "$SCRATCH/std.hello")" ] || {
		echo "hello (CGO_ENABLED=0) and packages share their std group" >&2
		return 1
	}
	# godrv build's default is the Nix functions': the same std group.
	local top
	top=$("$GODRV" build --dry-run --no-cache examples/packages 2>"$LOG.g") || {
		tail -20 "$LOG.g" >&2
		return 1
	}
	[ "$(godrv_drvs "$top" | grep -- '-go-stdlib\.drv$')" = "$(cat "$SCRATCH/std.packages")" ] || {
		echo "godrv build without --granularity: expected the std group of examples.packages ($(cat "$SCRATCH/std.packages")) in the closure of $top" >&2
		return 1
	}
}

# `granularity` takes "package" or "module"; anything else is an evaluation error naming both.
test_granularity_argument_error() {
	if nix-instantiate -E "(import $REPO/nix {}).buildWithIFD { pname = \"x\"; version = \"1\"; src = $REPO/examples/hello; granularity = \"modules\"; }" >/dev/null 2>"$LOG.g"; then
		echo "granularity = \"modules\" evaluated" >&2
		return 1
	fi
	grep -q 'granularity. must be one of "package", "module" (got "modules")' "$LOG.g" || {
		tail -5 "$LOG.g" >&2
		return 1
	}
}

# What the planner of `expr` (a buildWithDynDrv, its `.planner`) added to the store, from its
# log: the number in "N added" of godrv's daemon line.
planner_added() { # log
	sed -n 's/^.*godrv: daemon protocol .* derivations: \([0-9]*\) added, .*$/\1/p' "$1" | tail -1
}

# The outputs of the helper derivations the planner `drv` reads (std's plan, the module
# directories, the module groups registered ahead), realised: what they hold is valid in the
# planner's build.
planner_helper_outputs() { # planner.drv
	local d
	for d in $(nix-store --query --references "$1" | grep -e '-go-stdlib-plan\.json\.drv$' -e '-go-module-dirs\.json\.drv$' -e '-go-module-groups\.json\.drv$'); do
		nix-store --realise "$d" 2>/dev/null
	done
}

# The main module's source sets the dyn planner was given (computed while evaluating,
# nix/internal/sourceSets.nix): its input sources named src-….
planner_given_sets() { # planner.drv
	nix-store --query --references "$1" | grep -e '^/nix/store/[a-z0-9]*-src-' || true
}

# After an edit of one main-module package, the plan derivation (`go build -n` on the source's
# skeleton) is not built again, and the module-granularity planner adds nothing that its
# helpers registered: std's group derivation (std's planner registers it, and the program's
# planner does not run `go build -n std`), the module directories (`godrv module-dirs` adds
# them once per module cache) and the module groups (the module groups' registrar) are found
# valid, not hashed and added again; nor any source set of the main module, the edited
# package's included: the evaluation computed them all, and they are inputs of the planner (its
# log says every set was given).
# Counted: the paths the planner added (its log) equal the paths in the new top's closure that
# are not in the closure of the helpers' outputs or among the given sets (the program's own
# derivations: none of a module group, `go-<module>-v<version>`).
test_module_planner_adds_no_std_or_module_again() {
	local name src expr file top planner helpers given own added sets
	for name in packages dep; do
		src=$SCRATCH/plan-added-$name
		rm -rf "$src"
		cp -r "examples/$name" "$src"
		chmod -R u+w "$src"
		case $name in
		packages)
			file=internal/greeting/greeting.go
			expr="(import $REPO/nix {}).buildWithDynDrv { pname = \"added\"; version = \"1\"; src = $src; granularity = \"module\"; }"
			;;
		dep)
			file=main.go
			expr="(import $REPO/nix {}).buildWithDynDrv { pname = \"added-dep\"; version = \"1\"; src = $src; granularity = \"module\";
				env.GOPROXY = \"file://\${builtins.path { path = $REPO/testdata/goproxy; name = \"goproxy\"; }}\";
				vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\"; }"
			;;
		esac
		nix-build --no-out-link -E "($expr).planner" >/dev/null 2>"$LOG.$name.1" || {
			tail -20 "$LOG.$name.1" >&2
			return 1
		}
		sets=$([ $name = dep ] && echo 1 || echo 3)
		# A per-run comment keeps the edited package new in a store that ran this test before.
		echo "// edited $(date +%s%N)" >>"$src/$file"
		top=$(nix-build --no-out-link -E "($expr).planner" 2>"$LOG.$name.2") || {
			tail -20 "$LOG.$name.2" >&2
			return 1
		}
		# The edit (a comment after the last declaration) leaves the source's skeleton the same:
		# the plan is found built and the planner proper only registers it.
		lacks "$LOG.$name.2" -q "^building '[^']*-unpinned-plan\.json\.drv'" || {
			echo "examples.$name: the plan derivation (go build -n) was built again after an edit that leaves the skeleton the same" >&2
			return 1
		}
		planner=$(nix-instantiate -E "($expr).planner" 2>/dev/null)
		helpers=$(planner_helper_outputs "$planner")
		given=$(planner_given_sets "$planner")
		[ "$(echo "$given" | grep -c .)" = "$sets" ] &&
			grep -q "godrv: registered .* source sets: $sets, $sets of them given" "$LOG.$name.2" || {
			echo "examples.$name: expected the planner to be given its $sets source sets after the edit; given: $given" >&2
			grep 'godrv: registered' "$LOG.$name.2" >&2
			return 1
		}
		[ "$(echo "$helpers" | grep -c -e '-go-stdlib-plan\.json$' -e '-go-module-dirs\.json$' -e '-go-module-groups\.json$')" = "$([ $name = dep ] && echo 3 || echo 1)" ] || {
			echo "examples.$name: expected the planner to read std's plan (and, with vendorHash, the module directories and the module groups registered ahead); its helpers: $helpers" >&2
			return 1
		}
		# shellcheck disable=SC2086 # one path per word
		own=$(comm -23 <(nix-store --query --requisites "$top" | sort) <(nix-store --query --requisites $helpers $given | sort))
		added=$(planner_added "$LOG.$name.2")
		echo "examples.$name after an edit: the planner added $added paths; not its helpers': $(echo "$own" | wc -l)" >&2
		[ -n "$added" ] && [ "$added" = "$(echo "$own" | wc -l)" ] && ! grep -q -e '-go-stdlib\.drv$' -e '-gomod-' -e '-src-' -e '-go-[^/]*-v[0-9][^/]*\.drv$' <<<"$own" || {
			echo "examples.$name: expected the planner to add only these paths:" >&2
			echo "$own" >&2
			grep 'godrv:' "$LOG.$name.2" >&2
			return 1
		}
	done
}

# The naming of nix/internal/sourceSets.nix (module path read from go.mod, import path made a
# store name) is godrv's: for each vector of testdata/source-sets.json, a tree with that go.mod
# and one .go file in that directory gives exactly one source set, named as the vector says
# (cargo test source_set_names_match_the_shared_vectors checks godrv's side).
test_source_sets_match_the_shared_vectors() {
	local n i got dir
	n=$(grep -c '"goMod"' testdata/source-sets.json)
	cat >"$SCRATCH/sets.nix" <<'NIX'
{ repo, scratch }:
let
  vectors = (builtins.fromJSON (builtins.readFile (repo + "/testdata/source-sets.json"))).vectors;
  lib = { contract = builtins.fromJSON (builtins.readFile (repo + "/nix/contract.json")); };
  sourceSets = import (repo + "/nix/internal/sourceSets.nix") { toolchain = { }; inherit lib; };
  nameOf = p: builtins.substring 33 (-1) (baseNameOf p);
  check = i: v:
    let got = map nameOf (sourceSets { src = /. + "${scratch}/${toString i}"; }); in
    if got == [ v.name ] then null else { inherit got; want = v.name; };
  failures = builtins.filter (x: x != null) (builtins.genList (i: check i (builtins.elemAt vectors i)) (builtins.length vectors));
in
if failures == [ ] then "same" else builtins.toJSON failures
NIX
	for ((i = 0; i < n; i++)); do
		mkdir -p "$SCRATCH/sets/$i"
		nix-instantiate --eval --raw -E "(builtins.elemAt (builtins.fromJSON (builtins.readFile $REPO/testdata/source-sets.json)).vectors $i).goMod" >"$SCRATCH/sets/$i/go.mod"
		dir=$(nix-instantiate --eval --raw -E "(builtins.elemAt (builtins.fromJSON (builtins.readFile $REPO/testdata/source-sets.json)).vectors $i).dir")
		mkdir -p "$SCRATCH/sets/$i/$dir"
		echo "package x" >"$SCRATCH/sets/$i/$dir/x.go"
	done
	got=$(nix-instantiate --eval --strict --read-write-mode -E "import $SCRATCH/sets.nix { repo = $REPO; scratch = \"$SCRATCH/sets\"; }" 2>"$LOG.sets") || {
		cat "$LOG.sets" >&2
		return 1
	}
	[ "$n" -ge 5 ] && [ "$got" = '"same"' ] || {
		echo "nix/internal/sourceSets.nix disagrees with testdata/source-sets.json: $got" >&2
		return 1
	}
}

# A source set the evaluation computes otherwise than the planner (examples/embed: its package
# embeds files of a subdirectory, which the planner's set holds and the evaluation's, a
# directory's own files, does not) only costs the planner an add: its log says the set was not
# given, and the top .drv is the one IFD mode gives (no derivation changes). A copy with a
# per-run file in testdata/ (so the planner runs again; the package does not read testdata/).
test_source_set_mismatch_costs_an_add() {
	local src=$SCRATCH/mismatch args dyn ifd
	uncached_copy embed "$src"
	args="{ pname = \"embed\"; version = \"0.1.0\"; src = $src; }"
	dyn=$(nix-build --no-out-link -E "((import $REPO/nix {}).buildWithDynDrv $args).planner" 2>"$LOG.d") || {
		tail -20 "$LOG.d" >&2
		return 1
	}
	ifd=$(nix-instantiate -E "(import $REPO/nix {}).buildWithIFD $args" 2>"$LOG.i") || {
		tail -20 "$LOG.i" >&2
		return 1
	}
	grep -q 'godrv: registered .* source sets: 1, 0 of them given' "$LOG.d" && [ "$dyn" = "$ifd" ] || {
		echo "expected embed's planner to add its own source set (not the one evaluated) and the same top .drv as IFD: dyn $dyn, IFD $ifd" >&2
		grep 'godrv:' "$LOG.d" >&2
		return 1
	}
}
