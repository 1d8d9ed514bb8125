# shellcheck shell=bash
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant, as in tests/e2e/run
# Remote builders (issue 15): godrv's derivations built on Nix remote builders reached over
# ssh-ng, each its own store in its own network namespace (vmtest/builders), with `--max-jobs 0`
# on the coordinator (the test machine's own store): everything is built remotely. Sourced by
# tests/e2e/run.

BUILDERS=$REPO/vmtest/builders

# Starts N builders under $SCRATCH/builders-NAME (FEATURES as vmtest/builders takes them) and stops them
# when the test's subshell exits. Sets BUILDERS_DIR.
builders_up() { # name n features
	BUILDERS_DIR=$SCRATCH/builders-$1
	"$BUILDERS" start "$BUILDERS_DIR" "$2" "$3" >/dev/null 2>"$LOG.builders" || {
		cat "$LOG.builders" >&2
		return 1
	}
	# shellcheck disable=SC2064 # expand the directory now
	trap "'$BUILDERS' stop '$BUILDERS_DIR' || true" EXIT
}

# nix-build on the coordinator with the builders; the log is in $LOG.remote. --max-jobs 0:
# everything is built remotely.
remote_build() { # nix-build args...
	"$BUILDERS" exec "$BUILDERS_DIR" nix-build --no-out-link --max-jobs 0 "$@" 2>"$LOG.remote" || {
		grep -v '^warning: Ignoring dynamic derivation' "$LOG.remote" | tail -40 >&2
		return 1
	}
}

# The derivations a nix-build log says it sent to a builder, one "NAME ADDRESS" line each, NAME
# without the store hash. (The builder's own log follows, with its own "building '…'..." line.)
built_remotely() { # log
	sed -n "s/^building '\/nix\/store\/[a-z0-9]*-\([^']*\)' on 'ssh-ng:\/\/root@\([0-9.]*\)'\.\.\.$/\1 \2/p" "$1"
}

# The derivations a nix-build log says it built on the coordinator: "building" lines not preceded
# by the same derivation's "on 'ssh-ng://…'" line.
built_locally() { # log
	sed -n "s/^building '\(\/nix\/store\/[^']*\)'\(.*\)$/\1 \2/p" "$1" |
		awk '$2 == "on" { remote[$1] = 1; next } !($1 in remote) { print $1 }'
}

# A synthetic module (bench/gen-synthetic) under a module path of its own, so every package
# derivation is new in a store that ran this test before.
remote_src() { # dir npackages tag
	"$REPO/bench/gen-synthetic" "$1" "$2" "example.com/remote$3x$$x$(date +%s%N)" >/dev/null
}

# go build's binary of a synthetic module (tests/e2e/refbuild: -trimpath, no build id).
remote_reference() { # src out
	(cd tests/e2e/refbuild && GOCACHE=$SCRATCH/gocache GOTOOLCHAIN=local GOFLAGS='' PATH="$GOROOT/bin:/usr/bin" \
		go build -o "$SCRATCH/refbuild" .) &&
		GOROOT=$GOROOT "$SCRATCH/refbuild" -request '{}' -src "$1" -out "$2" -scratch "$SCRATCH/refscratch" 2>"$LOG.ref" || {
		tail -20 "$LOG.ref" >&2
		return 1
	}
}

# One build with the builders: in dyn mode the planners first, on the coordinator (--max-jobs 1:
# they have preferLocalBuild; a planner built on a builder cannot be copied back, see
# docs/remote-builders.md), then everything else with --max-jobs 0. Prints the output path.
remote_build_mode() { # dyn|ifd expr
	if [ "$1" = dyn ]; then
		"$BUILDERS" exec "$BUILDERS_DIR" nix-build --no-out-link --max-jobs 1 -E "($2).planner" >/dev/null 2>"$LOG.planner" || {
			grep -v '^warning: Ignoring dynamic derivation' "$LOG.planner" | tail -40 >&2
			return 1
		}
		lacks "$LOG.planner" -q -E "^building '[^']*\.drv\.drv' on " || {
			echo "a planner was sent to a builder: $(grep -E "^building '[^']*\.drv\.drv' on " "$LOG.planner")" >&2
			return 1
		}
	fi
	remote_build -E "$2"
}

# Everything remote with 2 builders, in dyn and IFD mode and both granularities, each on a fresh
# synthetic module: every builder built a share and nothing but dyn's planners was built on the
# coordinator (builder 1 has recursive-nix too: preferLocalBuild keeps the planners off it), the
# binary equals go build's byte for byte, and after a body-only edit of `base` the builders are
# sent only base's compile and the link (and in dyn mode the result (links to the link's output); in IFD mode the plan).
test_remote_builders() {
	local gran mode src out ref name fail=0 shares expr builder top
	builders_up remote 2 ca-derivations,b1:recursive-nix
	for gran in package module; do
		for mode in dyn ifd; do
			name="$mode/$gran"
			src=$SCRATCH/remote-$mode-$gran
			remote_src "$src" 24 "$mode$gran"
			builder=buildWithIFD
			[ "$mode" = ifd ] || builder=buildWithDynDrv
			expr="(import $REPO/nix {}).$builder { pname = \"remote\"; version = \"1\"; src = $src; granularity = \"$gran\"; }"
			out=$(remote_build_mode "$mode" "$expr") || return 1
			built_remotely "$LOG.remote" >"$SCRATCH/remote"
			shares=$(awk '{ print $2 }' "$SCRATCH/remote" | sort | uniq -c | awk '{ printf " %s: %s", $2, $1 }')
			echo "$name cold: derivations per builder:$shares" >&2
			built_locally "$LOG.remote" >"$SCRATCH/local"
			[ ! -s "$SCRATCH/local" ] || {
				echo "$name: built on the coordinator with max-jobs 0: $(tr '\n' ' ' <"$SCRATCH/local")" >&2
				fail=1
			}
			grep -q ' 10\.15\.1\.2$' "$SCRATCH/remote" && grep -q ' 10\.15\.2\.2$' "$SCRATCH/remote" || {
				echo "$name: not every builder built a share:$shares" >&2
				fail=1
			}
			ref=$SCRATCH/remote-ref-$mode-$gran
			remote_reference "$src" "$ref" || return 1
			cmp "$ref/bin/$(ls "$ref/bin")" "$out/bin/$(ls "$out/bin")" || {
				echo "$name: the binary built remotely differs from go build's" >&2
				fail=1
			}
			# A body-only edit of base (its export data stays the same).
			sed -i "s|// BODY|+ $(date +%s%N) // BODY|" "$src/base/base.go"
			out=$(remote_build_mode "$mode" "$expr") || return 1
			# (Not the planner's steps, which IFD mode builds remotely too: the source's skeleton and
			# the plan pinned with the source.)
			built_remotely "$LOG.remote" | awk '{ print $1 }' | grep -v -e '-plan\.json\.drv$' -e '^go-source-skeleton\.drv$' | sort | tr '\n' ' ' >"$SCRATCH/sent"
			# dyn: the link and the result, links to its output (both remote-1.drv); IFD:
			# the link is the result.
			top="remote-1\.drv remote-1\.drv"
			[ "$mode" = dyn ] || top="remote-1\.drv"
			grep -q -E "^go-example\.com-remote$mode${gran}x[0-9x]*-base\.drv $top $" "$SCRATCH/sent" || {
				echo "$name: after a body-only edit of base, expected base's compile and the link (dyn: and the result (links to the link's output)) to be sent; sent: $(cat "$SCRATCH/sent")" >&2
				fail=1
			}
			built_locally "$LOG.remote" >"$SCRATCH/local"
			[ ! -s "$SCRATCH/local" ] || {
				echo "$name: rebuild: built on the coordinator: $(tr '\n' ' ' <"$SCRATCH/local")" >&2
				fail=1
			}
			remote_reference "$src" "$ref.2" || return 1
			cmp "$ref.2/bin/$(ls "$ref.2/bin")" "$out/bin/$(ls "$out/bin")" || {
				echo "$name: after the edit, the binary built remotely differs from go build's" >&2
				fail=1
			}
		done
	done
	return "$fail"
}

# The dyn planner needs recursive-nix: with no builder offering it and no local builds
# (--max-jobs 0), the build fails with Nix's message naming the feature (no builder is chosen).
test_remote_planner_needs_feature() {
	local src=$SCRATCH/remote-nofeature
	builders_up nofeature 1 ca-derivations
	remote_src "$src" 4 nofeature
	if remote_build -E "(import $REPO/nix {}).buildWithDynDrv { pname = \"nofeature\"; version = \"1\"; src = $src; }" >/dev/null 2>&1; then
		echo "built without any machine offering recursive-nix" >&2
		return 1
	fi
	grep -q 'Failed to find a machine for remote build' "$LOG.remote" &&
		grep -q "required (system, features): (x86_64-linux, \[.*recursive-nix.*\])" "$LOG.remote" &&
		lacks "$LOG.remote" -q -E "^building '[^']*\.drv\.drv' on " || {
		grep -v '^warning: Ignoring dynamic derivation' "$LOG.remote" | tail -20 >&2
		return 1
	}
}

# Sharing through a binary cache: the test machine's store builds a synthetic module and copies
# what it built to a file:// binary cache signed with a key made by this test (the outputs of
# every derivation of the build with their realisations — dyn: the planner output's too — those
# of the resolved derivations Nix built them as included, and Go and godrv); a fresh store (a
# chroot store under the scratch directory) with that cache as its only substituter builds the
# next commit (a body-only edit of `base`) and builds only the planner, base's compile and the
# link (dyn: and the result (links to the link's output); IFD: and go-index and, in "module" granularity, std's plan
# go-stdlib-plan.json: inputs of the plan only, built at evaluation time and so in no result's
# closure, unless an earlier dyn build put them in the cache), substituting
# everything else, std included. Both modes, both granularities.
test_remote_binary_cache() {
	local gran mode src expr out drv top cache=$SCRATCH/cache fresh built subst name want base fail=0
	local godrv_path
	godrv_path=$(dirname "$(dirname "$GODRV")")
	nix-store --generate-binary-cache-key "godrv-e2e-$$" "$SCRATCH/cache.sec" "$SCRATCH/cache.pub"
	for gran in package module; do
		for mode in ifd dyn; do
			name="$mode/$gran"
			src=$SCRATCH/cache-$mode-$gran
			remote_src "$src" 12 "cache$mode$gran"
			expr="(import $REPO/nix {}).buildWith${mode/ifd/IFD} { pname = \"cached\"; version = \"1\"; src = $src; granularity = \"$gran\"; }"
			expr=${expr/buildWithdyn/buildWithDynDrv}
			out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.c1") || {
				tail -20 "$LOG.c1" >&2
				return 1
			}
			drv=$(nix-instantiate -E "$expr" 2>/dev/null)
			top=
			[ "$mode" = ifd ] || top=$(nix-build --no-out-link -E "($expr).planner" 2>/dev/null)
			# Every derivation of the build and the resolved ones it was built as (a
			# content-addressed derivation whose inputs changed is looked up in the cache in its
			# resolved form: without those, every dependent of an edited package is rebuilt).
			{
				# shellcheck disable=SC2086 # top: empty or one path
				nix-store -qR "$drv" $top | grep '\.drv$'
				sed -n "s/^resolved derivation: '[^']*' -> '\([^']*\)'.*/\1/p" "$LOG.c1"
			} | sort -u | sed 's/$/^*/' >"$SCRATCH/cache.drvs"
			xargs nix copy --to "file://$cache?compression=none&secret-key=$SCRATCH/cache.sec" "$GOROOT" "$godrv_path" \
				<"$SCRATCH/cache.drvs" 2>"$LOG.copy" || {
				tail -20 "$LOG.copy" >&2
				return 1
			}
			sed -i "s|// BODY|+ $(date +%s%N) // BODY|" "$src/base/base.go"
			fresh=$SCRATCH/fresh-$mode-$gran
			nix-build --no-out-link --store "local?root=$fresh" --option substituters "file://$cache" \
				--option trusted-public-keys "$(cat "$SCRATCH/cache.pub")" -E "$expr" >/dev/null 2>"$LOG.c2" || {
				tail -20 "$LOG.c2" >&2
				return 1
			}
			built=$(sed -n "s/^building '\/nix\/store\/[a-z0-9]*-\([^']*\)'.*/\1/p" "$LOG.c2" | sort | tr '\n' ' ')
			subst=$(grep -c "^copying path '.*' from 'file://" "$LOG.c2" || true)
			echo "$name: the fresh store built: $built; substituted $subst paths" >&2
			base="go-example\.com-remotecache$mode${gran}x[0-9x]*-base\.drv"
			# go-index and std's plan: unless a dyn build put them in the cache (they are inputs
			# of the dyn planner); the source's skeleton (new after the edit) and, unless the
			# cache has its realisation, the plan made from it (unchanged: the edit is a body's)
			want="^cached-1-plan\.json\.drv (cached-1-unpinned-plan\.json\.drv )?cached-1\.drv $base (go-index\.drv )?go-source-skeleton\.drv (go-stdlib-plan\.json\.drv )?$"
			[ "$mode" = ifd ] || want="^(cached-1-unpinned-plan\.json\.drv )?cached-1\.drv cached-1\.drv cached-1\.drv\.drv $base (go-index\.drv )?go-source-skeleton\.drv (go-stdlib-plan\.json\.drv )?$"
			[[ $built =~ $want ]] || {
				echo "$name: expected the fresh store to build the planner, the skeleton, base and the link only (IFD: and go-index, std's plan; dyn: and the result (links to the link's output))" >&2
				fail=1
			}
		done
	done
	return "$fail"
}

# `godrv build` with builders (issue 15): `--builders` and `--max-jobs 0` reach the `nix build`
# it runs (nix.conf has no builders here: NIX_CONFIG's `builders =` empties the harness's), so every
# derivation it registered is built remotely, each builder builds a share, nothing on the
# coordinator, and the binary equals go build's; after a body-only edit of `base` only base's
# compile and the link are sent.
test_remote_godrv_build() {
	local src=$SCRATCH/remote-cli out ref sent shares fail=0
	builders_up cli 2 ca-derivations
	remote_src "$src" 12 cli
	remote_cli_build() {
		NIX_CONFIG='builders =' "$BUILDERS" exec "$BUILDERS_DIR" "$GODRV" build --name remote-1 \
			--builders "@$BUILDERS_DIR/machines" --max-jobs 0 "$src" 2>"$LOG.remote" || {
			tail -40 "$LOG.remote" >&2
			return 1
		}
	}
	out=$(remote_cli_build) || return 1
	built_remotely "$LOG.remote" >"$SCRATCH/remote"
	shares=$(awk '{ print $2 }' "$SCRATCH/remote" | sort | uniq -c | awk '{ printf " %s: %s", $2, $1 }')
	echo "godrv build cold: derivations per builder:$shares" >&2
	grep -q ' 10\.15\.1\.2$' "$SCRATCH/remote" && grep -q ' 10\.15\.2\.2$' "$SCRATCH/remote" || {
		echo "godrv build: not every builder built a share:$shares" >&2
		fail=1
	}
	built_locally "$LOG.remote" >"$SCRATCH/local"
	[ ! -s "$SCRATCH/local" ] || {
		echo "godrv build --max-jobs 0: built on the coordinator: $(tr '\n' ' ' <"$SCRATCH/local")" >&2
		fail=1
	}
	ref=$SCRATCH/remote-cli-ref
	remote_reference "$src" "$ref" || return 1
	cmp "$ref/bin/$(ls "$ref/bin")" "$out/bin/$(ls "$out/bin")" || {
		echo "godrv build: the binary built remotely differs from go build's" >&2
		fail=1
	}
	sed -i "s|// BODY|+ $(date +%s%N) // BODY|" "$src/base/base.go"
	out=$(remote_cli_build) || return 1
	sent=$(built_remotely "$LOG.remote" | awk '{ print $1 }' | sort | tr '\n' ' ')
	[[ $sent =~ ^go-example\.com-remoteclix[0-9x]*-base\.drv\ (remote-1\.drv\ )+$ ]] || {
		echo "godrv build: after a body-only edit of base, expected base's compile and the link to be sent; sent: $sent" >&2
		fail=1
	}
	remote_reference "$src" "$ref.2" || return 1
	cmp "$ref.2/bin/$(ls "$ref.2/bin")" "$out/bin/$(ls "$out/bin")" || {
		echo "godrv build: after the edit, the binary built remotely differs from go build's" >&2
		fail=1
	}
	return "$fail"
}
