# shellcheck shell=bash
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant: fail if either fails
# Reliability (issue 9): every example is byte-identical to plain `go build` in every mode, and the
# three modes write the same derivations. Sourced by tests/e2e/run.

# Prints the example lines of tests/e2e/example-requests.nix.
example_requests() {
	local attr rest
	nix eval --raw --impure --expr "import $REPO/tests/e2e/example-requests.nix { repo = $REPO; granularity = ${GRANULARITY:+\"}${GRANULARITY:-null}${GRANULARITY:+\"}; }" 2>"$LOG.req" >"$LOG.requests" || {
		tail -20 "$LOG.req" >&2
		return 1
	}
	# GODRV_E2E_EXAMPLES="a b": only these examples (while debugging one); each must be one.
	local want
	for want in ${GODRV_E2E_EXAMPLES:-}; do
		awk -v w="$want" '$1 == w { found = 1 } END { exit !found }' "$LOG.requests" || {
			echo "GODRV_E2E_EXAMPLES: no example named '$want' in tests/e2e/example-requests.nix" >&2
			return 1
		}
	done
	while read -r attr rest; do
		case " ${GODRV_E2E_EXAMPLES:-$attr} " in *" $attr "*) echo "$attr $rest" ;; esac
	done <"$LOG.requests"
}

# The top .drv of an example in each mode: dyn (the planner's output), IFD (instantiated) and
# `godrv build --dry-run` with the same request and name. All three must be the same file.
test_same_derivations_all_modes() {
	local attr kind godrv_build name src request dyn ifd built failed=0
	example_requests >"$SCRATCH/requests" || return 1
	while read -r attr kind godrv_build name src request; do
		# shellcheck disable=SC2046 # granularity_args prints separate words
		dyn=$(nix-build --no-out-link "$REPO/default.nix" -A "examples.$attr.planner" --arg useDynDrv true $(granularity_args) 2>"$LOG.d") || {
			tail -20 "$LOG.d" >&2
			return 1
		}
		# shellcheck disable=SC2046
		ifd=$(nix-instantiate "$REPO/default.nix" -A "examples.$attr" --arg useDynDrv false $(granularity_args) 2>"$LOG.i") || {
			tail -20 "$LOG.i" >&2
			return 1
		}
		if [ "$godrv_build" = no ]; then
			# Inputs that are derivation outputs: the dyn top .drv has the same contents as IFD's
			# but Nix's reference scan of the planner's output adds them as references, which
			# changes its path (see nix/README.md); godrv build does not take such inputs.
			cmp -s "$dyn" "$ifd" || {
				echo "$attr: dyn top .drv ($dyn) has other contents than IFD's ($ifd)" >&2
				failed=1
			}
			continue
		fi
		built=$("$GODRV" build --dry-run --no-cache --request "$request" --name "$name" \
			--env GOPROXY="file://$REPO/testdata/goproxy" "$src" 2>"$LOG.g") || {
			tail -20 "$LOG.g" >&2
			return 1
		}
		if [ "$dyn" != "$ifd" ] || [ "$ifd" != "$built" ]; then
			echo "$attr: top .drv differs: dyn $dyn, IFD $ifd, godrv build $built" >&2
			failed=1
		fi
	done <"$SCRATCH/requests"
	return "$failed"
}

# Every example's binaries equal plain `go build -trimpath -buildvcs=false -ldflags=-buildid=`
# (plus the example's own flags; tests/e2e/refbuild) byte for byte, in dyn, IFD and godrv build
# mode; `go version -m` (the embedded build information) agrees too.
test_identical_binaries_all_modes() {
	local attr kind godrv_build name src request ref out mode file failed=0
	example_requests >"$SCRATCH/requests" || return 1
	(cd tests/e2e/refbuild && GOCACHE=$SCRATCH/gocache GOTOOLCHAIN=local GOFLAGS='' PATH="$GOROOT/bin:/usr/bin" \
		go build -o "$SCRATCH/refbuild" .) || return 1
	while read -r attr kind godrv_build name src request; do
		[ "$kind" = program ] || continue # test binaries and failing builds: not go build's output
		ref=$SCRATCH/ref-$attr
		GOROOT=$GOROOT "$SCRATCH/refbuild" -request "$request" -src "$src" -out "$ref" \
			-goproxy "file://$REPO/testdata/goproxy" -scratch "$SCRATCH/refscratch" 2>"$LOG.ref" || {
			tail -20 "$LOG.ref" >&2
			return 1
		}
		for mode in dyn ifd godrv; do
			[ "$mode" != godrv ] || [ "$godrv_build" = yes ] || continue
			case $mode in
			dyn) out=$(build_attr true "examples.$attr") || return 1 ;;
			ifd) out=$(build_attr false "examples.$attr") || return 1 ;;
			godrv)
				out=$("$GODRV" build --request "$request" --name "$name" \
					--env GOPROXY="file://$REPO/testdata/goproxy" "$src" 2>"$LOG.g") || {
					tail -20 "$LOG.g" >&2
					return 1
				}
				;;
			esac
			# -L: dyn mode's result holds links to the link's output (nix/internal/linkTree.nix).
			(cd "$ref" && find -L . -type f) | sort >"$SCRATCH/ref.files"
			(cd "$out" && find -L . -type f) | sort >"$SCRATCH/out.files"
			cmp -s "$SCRATCH/ref.files" "$SCRATCH/out.files" || {
				echo "$attr ($mode): files differ from go build's: $(tr '\n' ' ' <"$SCRATCH/out.files") vs $(tr '\n' ' ' <"$SCRATCH/ref.files")" >&2
				failed=1
				continue
			}
			while read -r file; do
				cmp -s "$ref/$file" "$out/$file" || {
					echo "$attr ($mode): $file differs from go build's" >&2
					failed=1
				}
				case $file in ./bin/*_*/*) continue ;; esac # another platform: not the build info of this one
				[ "$("$GOROOT/bin/go" version -m "$ref/$file" | tail -n +2)" = "$("$GOROOT/bin/go" version -m "$out/$file" | tail -n +2)" ] || {
					echo "$attr ($mode): go version -m of $file differs" >&2
					failed=1
				}
			done <"$SCRATCH/ref.files"
		done
	done <"$SCRATCH/requests"
	return "$failed"
}

# A Nix older than 2.33 gets an evaluation error naming its version and the one needed (the check
# is a function of the version string, so an old version can be tested with this Nix).
test_fail_old_nix() {
	local expr="import $REPO/nix/internal/checkNixVersion.nix { toolchain = null; lib = null; } \"buildWithDynDrv\""
	if nix-instantiate --eval -E "$expr \"2.18.1\"" >/dev/null 2>"$LOG.old"; then
		echo "Nix 2.18.1 was accepted" >&2
		return 1
	fi
	grep -q 'this Nix (2.18.1) is too old: .*need Nix >= 2.33' "$LOG.old" || {
		tail -5 "$LOG.old" >&2
		return 1
	}
	[ "$(nix-instantiate --eval -E "$expr \"2.33.0\"" 2>&1)" = true ] &&
		[ "$(nix-instantiate --eval -E "$expr builtins.nixVersion" 2>&1)" = true ] || {
		echo "Nix 2.33.0 or this Nix ($(nix --version)) was refused" >&2
		return 1
	}
}

# Two different programs built at the same time share the standard library's derivations: both
# succeed, and std is built once (module granularity, the default: its one group; package: each
# std package, here runtime). A per-run -gcflags=all=-D=… (a local-import prefix, which no std
# package uses) makes the std derivations new in a store that ran this test before.
test_concurrent_programs_share_std() { concurrent_programs_share_std module go-stdlib; }
test_concurrent_programs_share_std_package() { concurrent_programs_share_std package go-runtime; }

concurrent_programs_share_std() { # granularity std-derivation-name
	local nonce a b pa pb fail=0
	nonce="$$-$(date +%s%N)"
	for p in hello packages; do
		echo "(import $REPO/nix {}).buildWithDynDrv { pname = \"conc-$p\"; version = \"1\"; src = $REPO/examples/$p;
			granularity = \"$1\"; env.CGO_ENABLED = \"0\"; GOFLAGS = \"-gcflags=all=-D=/godrv-concurrency-$nonce\"; }" >"$SCRATCH/conc-$p.nix"
	done
	nix-build --no-out-link "$SCRATCH/conc-hello.nix" >"$SCRATCH/conc-hello.out" 2>"$LOG.ca" &
	pa=$!
	nix-build --no-out-link "$SCRATCH/conc-packages.nix" >"$SCRATCH/conc-packages.out" 2>"$LOG.cb" &
	pb=$!
	wait "$pa" || { echo "hello failed:" >&2; tail -20 "$LOG.ca" >&2; fail=1; }
	wait "$pb" || { echo "packages failed:" >&2; tail -20 "$LOG.cb" >&2; fail=1; }
	[ "$fail" = 0 ] || return 1
	a=$("$(cat "$SCRATCH/conc-hello.out")/bin/hello")
	b=$("$(cat "$SCRATCH/conc-packages.out")/bin/packages")
	[ "$a" = "Hello, godrv!" ] && [ "$b" = "Hello, godrv!" ] || {
		echo "wrong output: hello: $a, packages: $b" >&2
		return 1
	}
	# std (module) or runtime (package) is in both programs: one of the two builds built it, once.
	local built
	built=$(cat "$LOG.ca" "$LOG.cb" | grep -c "^building '/nix/store/[a-z0-9]*-$2\.drv'" || true)
	[ "$built" = 1 ] || {
		echo "$1 granularity: expected $2 to be built once by the two builds, built $built times" >&2
		return 1
	}
}
