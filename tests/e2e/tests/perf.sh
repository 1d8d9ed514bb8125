# shellcheck shell=bash
# Performance-related end-to-end tests (issue 8), sourced by tests/e2e/run.
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant, as in tests/e2e/run

# Registering through the daemon protocol (godrv-store) gives the same .drv paths as
# `nix derivation add` / `nix store add`: a private nix-daemon on a socket in the scratch
# directory; a fresh copy of examples/packages (a per-run comment in every .go file, so every
# source set and module derivation is new) registered first through the daemon (which answers
# with the paths it computed: godrv stops if they differ from its own), then through the CLI, then
# through the daemon again (everything already valid: nothing sent).
test_daemon_registration() {
	local src=$SCRATCH/daemonreg sock=$SCRATCH/nix-daemon.socket pid a b c nonce
	cp -r examples/packages "$src"
	chmod -R u+w "$src"
	nonce="$$-$(date +%s%N)"
	find "$src" -name '*.go' -exec sh -c 'printf "\n// nonce %s\n" "$1" >>"$2"' _ "$nonce" {} \;
	NIX_DAEMON_SOCKET_PATH=$sock nix-daemon >"$LOG.daemon" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		if [ -S "$sock" ]; then break; fi
		sleep 0.1
	done
	[ -S "$sock" ] || {
		kill "$pid" 2>/dev/null
		echo "nix-daemon did not create $sock" >&2
		tail "$LOG.daemon" >&2
		return 1
	}
	a=$(NIX_REMOTE=unix://$sock GODRV_STORE=daemon "$GODRV" build --dry-run --no-cache "$src" 2>"$LOG.d1") &&
		b=$(GODRV_STORE=cli "$GODRV" build --dry-run --no-cache "$src" 2>"$LOG.c") &&
		c=$(NIX_REMOTE=unix://$sock GODRV_STORE=daemon "$GODRV" build --dry-run --no-cache "$src" 2>"$LOG.d2") || {
		kill "$pid"
		tail -5 "$LOG.d1" "$LOG.c" "$LOG.d2" >&2
		return 1
	}
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	# std's derivations may be in the store already; the module's sources and derivations are new
	grep -q 'godrv: daemon protocol 1\.[0-9]*: .*: [1-9][0-9]* added' "$LOG.d1" &&
		grep -q 'godrv: daemon protocol 1\.[0-9]*: .*: 0 added' "$LOG.d2" || {
		echo "expected the first daemon run to add the new paths and the second nothing:" >&2
		grep 'godrv:' "$LOG.d1" "$LOG.d2" >&2
		return 1
	}
	[ "$a" = "$b" ] && [ "$a" = "$c" ] || {
		echo "top .drv differs: daemon $a, CLI $b, daemon again $c" >&2
		return 1
	}
	nix-store --check-validity "$a"
}

# The dyn planner uses the daemon protocol inside recursive Nix (its log says so) and its top
# .drv is the one `nix-instantiate` gives in IFD mode (test_same_derivations_all_modes checks it).
test_planner_uses_daemon() {
	local d
	d=$(nix-instantiate "$REPO/default.nix" -A examples.packages.planner --arg useDynDrv true 2>"$LOG.i") || {
		tail -5 "$LOG.i" >&2
		return 1
	}
	nix-store --realise "$d" >/dev/null 2>"$LOG.r" || {
		tail -20 "$LOG.r" >&2
		return 1
	}
	nix-store -l "$d" 2>/dev/null | grep -q '^godrv: daemon protocol' || {
		echo "the planner's log does not say it used the daemon protocol:" >&2
		nix-store -l "$d" 2>&1 | grep godrv >&2
		return 1
	}
}

# The planners start their GOCACHE from the toolchain's go-index derivation (`godrv go-index`).
# It must hold Go's package index and no build results: with a copy of it, `go build -n` prints
# the same script as with an empty cache (a cached build result would drop that action from the
# script). Its output is reproducible (`nix-build --check`: no trim.txt time stamp).
test_go_index() {
	local idx src=$SCRATCH/goindex f
	idx=$(nix-build --no-out-link nix -A goIndex 2>"$LOG") || {
		tail -5 "$LOG" >&2
		return 1
	}
	[ ! -e "$idx/trim.txt" ] && [ -n "$(find "$idx" -type f -name '*-d' -print -quit)" ] || {
		echo "go-index $idx: expected index entries and no trim.txt" >&2
		return 1
	}
	nix-build --no-out-link --check nix -A goIndex >/dev/null 2>"$LOG.check" || {
		echo "go-index is not reproducible:" >&2
		tail -5 "$LOG.check" >&2
		return 1
	}
	cp -r examples/packages "$src"
	chmod -R u+w "$src"
	mkdir -p "$src.empty" "$src.home"
	cp -r "$idx" "$src.seeded"
	chmod -R u+w "$src.seeded"
	for f in empty seeded; do
		(cd "$src" && env -i PATH="$GOROOT/bin:/usr/bin" HOME="$src.home" GOROOT="$GOROOT" GOCACHE="$src.$f" \
			GOTOOLCHAIN=local GOENV=off GOFLAGS= GOPROXY=off \
			go build -n -trimpath -buildvcs=false -o "$SCRATCH/goindex-bin/" ./... 2>&1 |
			sed "s|$src\.$f|GOCACHE|g" >"$LOG.$f")
	done
	[ "$(grep -c '/compile ' "$LOG.empty")" -gt 10 ] && cmp -s "$LOG.empty" "$LOG.seeded" || {
		echo "go build -n differs with the go-index cache:" >&2
		diff "$LOG.empty" "$LOG.seeded" | head -20 >&2
		return 1
	}
}

# In package granularity std's derivations are registered once, by the toolchain's std planner
# (`go build -n std`), whose output is an input of every program's dyn planner: the program's
# planner finds them valid among its inputs and adds only the program's own derivations (its
# source sets, computed while evaluating, are inputs too). (Module granularity's std group:
# test_module_planner_adds_no_std_or_module_again.) A copy of examples/packages with a per-run
# file in testdata/ (so the planner runs again; no package reads testdata/).
test_std_registered_ahead() {
	local src=$SCRATCH/stdahead out n_std line
	uncached_copy packages "$src"
	out=$(nix-build --no-out-link -E "((import /src/nix {}).buildWithDynDrv { pname = \"stdahead\"; version = \"1\"; src = $src; granularity = \"package\"; }).planner" 2>"$LOG") || {
		tail -20 "$LOG" >&2
		return 1
	}
	# std's derivations in the plan: go-<import path>.drv where the path has no dot (no domain).
	n_std=$(nix-store -qR "$out" | sed -n 's|^/nix/store/[a-z0-9]*-go-\([^.]*\)\.drv$|\1|p' | wc -l)
	line=$(grep -o 'godrv: daemon protocol [^:]*: .*already valid' "$LOG")
	[ "$n_std" -gt 20 ] && [[ $line == *" $n_std already valid" ]] && [[ $line == *": 4 added,"* ]] &&
		grep -q 'godrv: registered .* source sets: 3, 3 of them given' "$LOG" || {
		echo "expected the planner to find the $n_std std derivations valid and add 4 paths (4 derivations; the 3 source sets given); it said: $line" >&2
		grep 'godrv: registered' "$LOG" >&2
		return 1
	}
}

# In package granularity the third-party modules' package derivations are registered by the
# dependencies' planner
# (go-deps: `go build -n` of the packages of the modules go.mod requires, from a tree with only
# go.mod and go.sum), whose output is an input of the program's dyn planner: after an edit of the
# program's own source, go-deps does not run again and the program's planner finds the modules'
# derivations and source paths valid, adding only the main module's derivations (its source set,
# computed while evaluating, is an input too). (Module granularity makes the module groups in the
# program's planner: test_module_planner_adds_no_std_or_module_again.) A copy of examples/dep
# with a per-run comment in go.mod (so go-deps is new) and in main.go, then another edit of main.go.
test_deps_registered_ahead() {
	local src=$SCRATCH/depsahead out n_deps line i expr
	cp -r examples/dep "$src"
	chmod -R u+w "$src"
	echo "// nonce $$-$(date +%s%N)" >>"$src/go.mod"
	expr="((import /src/nix {}).buildWithDynDrv { pname = \"depsahead\"; version = \"1\"; src = $src; granularity = \"package\"; vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\"; env.GOPROXY = \"file://\${/src/testdata/goproxy}\"; }).planner"
	for i in 1 2; do
		echo "// nonce $$-$(date +%s%N)" >>"$src/main.go"
		out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.$i") || {
			tail -20 "$LOG.$i" >&2
			return 1
		}
	done
	grep -q "building '[^']*-go-deps.drv.drv'" "$LOG.1" && ! grep -q "building '[^']*-go-deps.drv.drv'" "$LOG.2" || {
		echo "expected go-deps to run for the first build and not after the edit:" >&2
		grep "building '" "$LOG.1" "$LOG.2" >&2
		return 1
	}
	# The modules' derivations (go-example.com-<module>-…) and source paths (gomod-…).
	n_deps=$(nix-store -qR "$out" | grep -c -e '-go-example\.com-\(greet\|shout\)' -e '-gomod-example\.com-')
	line=$(grep -o 'godrv: daemon protocol [^:]*: .*already valid' "$LOG.2")
	[ "$n_deps" -ge 5 ] && [[ $line == *": 2 added,"* ]] || {
		echo "expected the planner to add only the main module's 2 derivations (compile, link: the top; its source set is given) and find the $n_deps paths of the modules valid; it said: $line" >&2
		return 1
	}
}

# The entries of go's package and module index in the GOCACHE DIR (their data starts with the
# index format's version, cmd/go/internal/modindex/write.go; go build -n also caches other data).
index_entries() { # dir
	find "$1" -name '*-d' -type f -exec head -c 12 {} \; -exec echo \; | grep -c '^go index v2$' || true
}

# The program's planners start their GOCACHE from go-modindex (`godrv go-mod-index`): go-index plus
# go's index of every module of the module cache (cmd/go/internal/modindex), built from go.mod and
# go.sum alone, so once per go.mod/go.sum and not after an edit of the program. With a copy of it
# and the planner's module cache, `go build -n` finds every module and std package in the index
# (it writes no index entry) and prints the same script as with an empty cache; with go-index
# alone it indexes the modules itself (the control: the check can fail). The index is
# reproducible. A copy of examples/dep with a per-run comment in go.mod (a new go-modindex) and
# in main.go, then another edit of main.go.
test_go_modindex() {
	local src=$SCRATCH/modindex build expr i seed named modcache idx f before after n_seeded n_control
	cp -r examples/dep "$src"
	chmod -R u+w "$src"
	echo "// nonce $$-$(date +%s%N)" >>"$src/go.mod"
	build="(import /src/nix {}).buildWithDynDrv { pname = \"modindex\"; version = \"1\"; src = $src; vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\"; env.GOPROXY = \"file://\${/src/testdata/goproxy}\"; }"
	expr="($build).planner"
	for i in 1 2; do
		echo "// nonce $$-$(date +%s%N)" >>"$src/main.go"
		nix-build --no-out-link -E "$expr" >/dev/null 2>"$LOG.$i" || {
			tail -20 "$LOG.$i" >&2
			return 1
		}
	done
	grep -q "building '[^']*-go-modindex.drv'" "$LOG.1" && ! grep -q "building '[^']*-go-modindex.drv'" "$LOG.2" || {
		echo "expected go-modindex to be built for the first build and not after the edit:" >&2
		grep "building '" "$LOG.1" "$LOG.2" >&2
		return 1
	}
	# go-modindex reads go.mod through a content-addressed derivation (go-modindex-key), so the
	# planner's configuration names it by a placeholder: compare it with go-modindex's.
	seed=$(nix-build --no-out-link -E "$expr.modIndex" 2>"$LOG.seed")
	modcache=$(nix-build --no-out-link -E "($build).goModules" 2>"$LOG.mc")
	named=$(nix-instantiate --eval -E "let p = $expr; in (builtins.fromJSON (builtins.unsafeDiscardStringContext p.godrvPlanConfig)).goCacheSeed == builtins.unsafeDiscardStringContext \"\${p.modIndex}\"" 2>"$LOG.named")
	[[ $seed == */nix/store/*-go-modindex ]] && [ -d "$seed" ] && [ -d "$modcache" ] && [ "$named" = true ] || {
		echo "expected the planner's goCacheSeed to be go-modindex (the planner's names it: '$named'; go-modindex '$seed') and its module cache (got '$modcache')" >&2
		cat "$LOG.named" >&2
		return 1
	}
	idx=$(nix-build --no-out-link /src/nix -A goIndex 2>"$LOG.idx") || {
		tail -5 "$LOG.idx" >&2
		return 1
	}
	[ ! -e "$seed/trim.txt" ] && [ "$(find "$seed" -name '*-d' | wc -l)" -gt "$(find "$idx" -name '*-d' | wc -l)" ] || {
		echo "go-modindex $seed: expected more entries than go-index $idx and no trim.txt" >&2
		return 1
	}
	nix-store --realise --check "$(nix-store --query --deriver "$seed")" >/dev/null 2>"$LOG.check" || {
		echo "go-modindex is not reproducible:" >&2
		tail -5 "$LOG.check" >&2
		return 1
	}
	# The program's files dated in the future: go indexes no main-module package (it skips files
	# newer than 2 s ago), so any new index entry is a module's or std's.
	cp -r "$src" "$src.tree"
	find "$src.tree" -type f -exec touch -d '+1 hour' {} +
	mkdir -p "$src.home" "$src.empty"
	for f in seeded control; do
		if [ $f = seeded ]; then cp -r "$seed" "$src.$f"; else cp -r "$idx" "$src.$f"; fi
		chmod -R u+w "$src.$f"
	done
	for f in empty seeded control; do
		before=$(index_entries "$src.$f")
		(cd "$src.tree" && env -i PATH="$GOROOT/bin:/usr/bin" HOME="$src.home" GOROOT="$GOROOT" GOCACHE="$src.$f" \
			GOMODCACHE="$modcache" GOTOOLCHAIN=local GOENV=off GOFLAGS= GOPROXY=off GOSUMDB=off \
			go build -n -trimpath -buildvcs=false -o "$SCRATCH/modindex-bin/" . 2>&1 |
			sed "s|$src\.$f|GOCACHE|g" >"$LOG.$f")
		after=$(index_entries "$src.$f")
		printf -v "n_$f" '%s' "$((after - before))"
	done
	# shellcheck disable=SC2154 # n_seeded, n_control: set by printf -v above
	[ "$n_seeded" = 0 ] && [ "$n_control" -gt 0 ] || {
		echo "go build -n wrote $n_seeded index entries with go-modindex (expected 0: every module and std package in it) and $n_control with go-index alone (expected some: the modules)" >&2
		return 1
	}
	[ "$(grep -c '/compile ' "$LOG.empty")" -gt 3 ] && cmp -s "$LOG.empty" "$LOG.seeded" || {
		echo "go build -n differs with the go-modindex cache:" >&2
		diff "$LOG.empty" "$LOG.seeded" | head -20 >&2
		return 1
	}
}

# Renaming the main module's path (go.mod's `module` line and the imports of it) cannot change
# go's module index, which is keyed by the go version and each module's directory: go-modindex
# reads go.mod through go-modindex-key, go.mod with a fixed module path (content-addressed), so
# after the rename Nix builds that key again, finds it the same and go-modindex built, and builds
# no go-modindex; the binary still runs. A copy of examples/dep (third-party modules, vendorHash)
# with a per-run comment in go.mod, so that the first build makes a go-modindex of its own; the
# control: the key is built again after the rename, and go-modindex after another comment.
test_module_rename_rebuilds_no_modindex() {
	local src=$SCRATCH/rename build out i
	cp -r examples/dep "$src"
	chmod -R u+w "$src"
	echo "// nonce $$-$(date +%s%N)" >>"$src/go.mod"
	build="(import /src/nix {}).buildWithDynDrv { pname = \"rename\"; version = \"1\"; src = $src; vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\"; env.GOPROXY = \"file://\${/src/testdata/goproxy}\"; }"
	for i in 1 2 3; do
		case $i in
		2) sed -i 's|^module example\.com/dep$|module example.org/dep|' "$src/go.mod" ;;
		3) echo "// nonce $$-$(date +%s%N)" >>"$src/go.mod" ;;
		esac
		out=$(nix-build --no-out-link -E "$build" 2>"$LOG.$i") || {
			tail -20 "$LOG.$i" >&2
			return 1
		}
		[ "$("$out/bin/dep")" = "HELLO, GODRV!" ] || {
			echo "build $i: $out/bin/dep printed '$("$out/bin/dep")', expected 'HELLO, GODRV!'" >&2
			return 1
		}
	done
	grep -q '^module example\.org/dep$' "$src/go.mod" || {
		echo "the module path was not renamed: $(head -1 "$src/go.mod")" >&2
		return 1
	}
	grep -q "^building '[^']*-go-modindex\.drv'" "$LOG.1" && grep -q "^building '[^']*-go-modindex-key\.drv'" "$LOG.2" &&
		! grep -q "^building '[^']*-go-modindex\.drv'" "$LOG.2" && grep -q "^building '[^']*-go-modindex\.drv'" "$LOG.3" || {
		echo "expected go-modindex built by the first build, only its key after the rename, and go-modindex again after a new comment in go.mod:" >&2
		grep -H "^building '[^']*-go-modindex" "$LOG.1" "$LOG.2" "$LOG.3" >&2
		return 1
	}
}

# `godrv build`'s plan cache (crates/godrv/src/build_cache.rs): nothing changed → the top .drv of
# last time, not planned again; an edit, another flag, or the cached .drv gone from the store →
# planned again; the entry is a garbage-collector root of the .drv; --no-cache plans. A private
# cache directory and a fresh copy of examples/packages (a per-run nonce: no earlier entry).
test_godrv_build_plan_cache() {
	local src=$SCRATCH/plancache a b c d e out entry hit="nothing that shapes the plan changed"
	cp -r examples/packages "$src"
	chmod -R u+w "$src"
	printf '\n// nonce %s\n' "$$-$(date +%s%N)" >>"$src/main.go"
	local -x XDG_CACHE_HOME=$SCRATCH/xdg
	a=$("$GODRV" build --dry-run "$src" 2>"$LOG.pc1")
	lacks "$LOG.pc1" -F "$hit" || { echo "the first build of a new tree was a cache hit" >&2 && return 1; }
	b=$("$GODRV" build --dry-run "$src" 2>"$LOG.pc2")
	grep -qF "$hit" "$LOG.pc2" && [ "$a" = "$b" ] || {
		echo "nothing changed, but godrv build planned again or gave another .drv ($a, $b):" >&2
		cat "$LOG.pc2" >&2
		return 1
	}
	out=$("$GODRV" build "$src" 2>"$LOG.pc3")
	grep -qF "$hit" "$LOG.pc3" && [ "$("$out/bin/packages")" = "Hello, godrv!" ] || {
		echo "a cached plan did not build the program ($out):" >&2
		cat "$LOG.pc3" >&2
		return 1
	}
	# The entry keeps the .drv alive.
	if nix-store --delete "$a" >/dev/null 2>&1; then
		echo "the cached top .drv $a could be deleted: the cache entry is no garbage-collector root" >&2
		return 1
	fi
	# An edit: planned again, another .drv.
	printf '\n// edited\n' >>"$src/internal/greeting/greeting.go"
	c=$("$GODRV" build --dry-run "$src" 2>"$LOG.pc4")
	lacks "$LOG.pc4" -F "$hit" && [ "$c" != "$a" ] || {
		echo "after an edit godrv build did not plan again ($a, $c)" >&2
		return 1
	}
	# Another flag: planned again.
	d=$("$GODRV" build --dry-run --request '{"ldflags": ["-s"]}' "$src" 2>"$LOG.pc5")
	lacks "$LOG.pc5" -F "$hit" && [ "$d" != "$c" ] || {
		echo "with another flag godrv build did not plan again ($c, $d)" >&2
		return 1
	}
	# The cached .drv gone from the store (the entry left pointing at it): planned again, the same
	# .drv registered again and rooted.
	entry=$(find "$XDG_CACHE_HOME/godrv/build" -type l -lname "$c")
	[ -n "$entry" ] || { echo "no cache entry points at $c" >&2 && return 1; }
	rm "$entry"
	nix-store --delete "$c" >/dev/null 2>"$LOG.pcdel" || { cat "$LOG.pcdel" >&2 && return 1; }
	ln -s "$c" "$entry"
	e=$("$GODRV" build --dry-run "$src" 2>"$LOG.pc6")
	lacks "$LOG.pc6" -F "$hit" && [ "$e" = "$c" ] && nix path-info "$e" >/dev/null || {
		echo "with its .drv deleted the cache entry was used, or planning again gave another .drv ($c, $e)" >&2
		return 1
	}
	grep -qF "$hit" <("$GODRV" build --dry-run "$src" 2>&1 >/dev/null) || {
		echo "planned again after the .drv was deleted, but not recorded" >&2
		return 1
	}
	# --no-cache plans.
	"$GODRV" build --dry-run --no-cache "$src" >/dev/null 2>"$LOG.pc7"
	lacks "$LOG.pc7" -F "$hit" || { echo "--no-cache used the cache" >&2 && return 1; }
}

# `godrv build` keeps std's plan (granularity "module", the default) in its cache directory,
# keyed on what shapes std alone (crates/godrv/src/std_cache.rs): the first build of a new tree
# runs `go build -n std` and records it; after an edit (a plan-cache miss) godrv plans the
# program again but takes std's plan from the cache (its stderr says so, and says nothing of
# running `go build -n std`), and its top .drv and binary are those of a build that ran
# `go build -n std` itself (--no-cache); another std-shaping setting misses. A private cache
# directory and a fresh copy of examples/packages.
test_godrv_build_std_plan_cache() {
	local src=$SCRATCH/stdplancache out2 out3 a b hit="std's plan from godrv build's cache" ran="std's plan: \`go build -n std\`"
	uncached_copy packages "$src"
	local -x XDG_CACHE_HOME=$SCRATCH/xdg-std
	"$GODRV" build "$src" >/dev/null 2>"$LOG.sp1" || { tail -20 "$LOG.sp1" >&2 && return 1; }
	grep -qF "$ran" "$LOG.sp1" && lacks "$LOG.sp1" -F "$hit" && [ -n "$(find "$XDG_CACHE_HOME/godrv/build" -name 'std-*.json')" ] || {
		echo "the first build with an empty cache did not plan std and record it:" >&2
		grep 'godrv:' "$LOG.sp1" >&2
		return 1
	}
	printf '\n// edited %s\n' "$(date +%s%N)" >>"$src/internal/greeting/greeting.go"
	out2=$("$GODRV" build "$src" 2>"$LOG.sp2") || { tail -20 "$LOG.sp2" >&2 && return 1; }
	grep -qF "$hit" "$LOG.sp2" && lacks "$LOG.sp2" -F "$ran" && lacks "$LOG.sp2" -F "nothing that shapes the plan changed" || {
		echo "after an edit godrv build ran \`go build -n std\` again, or took the whole plan from the cache:" >&2
		grep 'godrv:' "$LOG.sp2" >&2
		return 1
	}
	a=$("$GODRV" build --dry-run "$src" 2>/dev/null)
	b=$("$GODRV" build --dry-run --no-cache "$src" 2>"$LOG.sp3")
	out3=$("$GODRV" build --no-cache "$src" 2>>"$LOG.sp3")
	lacks "$LOG.sp3" -F "$hit" && [ "$a" = "$b" ] && [ "$out2" = "$out3" ] &&
		cmp "$out2/bin/packages" "$out3/bin/packages" && [ "$("$out2/bin/packages")" = "Hello, godrv!" ] || {
		echo "with std's plan from the cache: top .drv $a, output $out2; planning std itself (--no-cache): $b, $out3" >&2
		return 1
	}
	# Another setting that reaches std: its own entry.
	"$GODRV" build --dry-run --request '{"env": {"CGO_ENABLED": "0"}}' "$src" >/dev/null 2>"$LOG.sp4"
	grep -qF "$ran" "$LOG.sp4" && lacks "$LOG.sp4" -F "$hit" || {
		echo "with CGO_ENABLED=0 godrv build took the std plan of CGO_ENABLED unset from the cache" >&2
		return 1
	}
}

# A no-op (the same source built again; run (7) of BENCHMARKS.md saw the no-ops rise after the plan
# made from the skeleton, suspected of resolving the skeleton and plan derivations again):
# nix-build builds nothing and resolves no content-addressed derivation, in dyn and IFD mode (Nix
# finds the result, and in IFD mode the plan, without resolving what they are made from). Counted
# on Nix's internal-json log: build activities and "resolved derivation" activities; the first
# build's log must show builds, so the count can see them.
test_noop_builds_and_resolves_nothing() {
	local src=$SCRATCH/noop builder expr log first built resolved
	uncached_copy packages "$src"
	for builder in buildWithDynDrv buildWithIFD; do
		expr="(import $REPO/nix {}).$builder { pname = \"noop\"; version = \"1\"; src = $src; }"
		for log in "$LOG.n1" "$LOG.n2"; do
			nix-build --no-out-link -E "$expr" --log-format internal-json -v >/dev/null 2>"$log" || {
				tail -20 "$log" >&2
				return 1
			}
		done
		first=$(grep -c '"action":"start".*"type":105[,}]' "$LOG.n1" || true)
		built=$(grep -c '"action":"start".*"type":105[,}]' "$LOG.n2" || true)
		resolved=$(grep -c 'resolved derivation: ' "$LOG.n2" || true)
		[ "$first" -gt 0 ] && [ "$built" = 0 ] && [ "$resolved" = 0 ] || {
			echo "$builder: the first build built $first derivation(s); the no-op after it built $built and resolved $resolved: $(grep -o "building '[^']*'\|resolved derivation: '[^']*'" "$LOG.n2" | head -5 | tr '\n' ' ')" >&2
			return 1
		}
	done
}
