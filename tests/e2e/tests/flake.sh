# shellcheck shell=bash
# The flake (issue 17): `nix flake show`, `nix flake init -t` into a temporary directory, and building
# the initialized template there in both modes, with the test machine's toolchain (GODRV_TOOLCHAIN,
# hence --impure) and godrv's default `nixpkgs` input (no package set).

# The flake's files only (a path: flake copies its whole directory into the store: not target/).
flake_copy() {
	local dir=$SCRATCH/godrv-flake
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir"
		cp -r "$REPO/flake.nix" "$REPO/nix" "$REPO/templates" "$dir/" || return 1
	fi
	echo "$dir"
}

flake_nix() { nix --extra-experimental-features flakes "$@"; }

test_flake_show() {
	local flake
	flake=$(flake_copy) || return 1
	flake_nix flake show --json "path:$flake" >"$LOG.show" 2>"$LOG.show.err" || {
		tail -20 "$LOG.show.err" >&2
		return 1
	}
	local want
	for want in '"templates"' '"default"' '"dyn"' '"ifd"' '"overlays"' '"lib"'; do
		grep -qF "$want" "$LOG.show" || {
			echo "nix flake show does not list $want: $(cat "$LOG.show")" >&2
			return 1
		}
	done
	# lib is a function of { pkgs ? null, toolchain ? null }; no nixpkgs given: no packages.
	[ "$(flake_nix eval --impure "path:$flake#lib" --apply 'lib: builtins.attrNames (lib { })' --json 2>"$LOG.eval")" = \
		'["buildWithDynDrv","buildWithIFD","goIndex","toolchain"]' ] || {
		echo "lib { } does not give the builders: $(cat "$LOG.eval")" >&2
		return 1
	}
	[ "$(flake_nix eval "path:$flake#packages" --json 2>>"$LOG.eval")" = '{}' ] || {
		echo "packages without nixpkgs is not empty" >&2
		return 1
	}
}

flake_template_builds() { # template
	local flake dir out
	flake=$(flake_copy) || return 1
	dir=$SCRATCH/template-$1
	mkdir -p "$dir"
	(cd "$dir" && flake_nix flake init -t "path:$flake#$1") >"$LOG.init" 2>&1 || {
		tail -20 "$LOG.init" >&2
		return 1
	}
	if [ ! -f "$dir/flake.nix" ] || [ ! -f "$dir/greeting/greeting.go" ]; then
		echo "nix flake init -t $1 did not write the template's files: $(ls -R "$dir")" >&2
		return 1
	fi
	# A per-run comment: greeting's derivation is new, so the log shows it being built.
	echo "// run $$ $(date +%s%N)" >>"$dir/greeting/greeting.go"
	out=$(cd "$dir" && flake_nix build --impure --no-link --print-out-paths \
		--override-input godrv "path:$flake" --override-input nixpkgs "path:$flake/nix/no-nixpkgs" \
		.#default 2>"$LOG.build") || {
		tail -30 "$LOG.build" >&2
		return 1
	}
	[ "$("$out/bin/hello")" = "Hello, Nix!" ] || {
		echo "template $1: wrong output: $("$out/bin/hello")" >&2
		return 1
	}
	# One derivation per package: greeting is its own derivation.
	grep -q "^building '/nix/store/[a-z0-9]*-go-example.com-hello-greeting.drv'" "$LOG.build" || {
		echo "template $1: no derivation of its own for example.com/hello/greeting" >&2
		return 1
	}
}

test_flake_template_dyn() { flake_template_builds dyn; }
test_flake_template_ifd() { flake_template_builds ifd; }

# docs/migrating.md: every godrv snippet (a ```nix block after `<!-- evaluated in: DIR -->`)
# instantiates with `godrv` in scope, as a file in a copy of DIR (so `./.` is that example).
test_migrating_snippets() {
	local doc=$REPO/docs/migrating.md dir n=0 base=$SCRATCH/migrating
	mkdir -p "$base/examples"
	cp -r "$REPO/testdata" "$base/" || return 1
	while read -r dir; do
		n=$((n + 1))
		[ -d "$REPO/$dir" ] || {
			echo "docs/migrating.md snippet $n: no directory $dir" >&2
			return 1
		}
		rm -rf "${base:?}/$dir"
		cp -r "$REPO/$dir" "$base/$dir" || return 1
		{
			echo "let godrv = import $REPO/nix { }; in"
			# the n-th evaluated block
			awk -v n="$n" '
				/^<!-- evaluated in: / { k++; want = (k == n); next }
				want && /^```nix$/ { inblock = 1; next }
				inblock && /^```$/ { exit }
				inblock { print }
			' "$doc"
		} >"$base/$dir/snippet.nix"
		nix-instantiate "$base/$dir/snippet.nix" >/dev/null 2>"$LOG.snip" || {
			echo "docs/migrating.md snippet $n (in $dir) does not evaluate:" >&2
			cat "$base/$dir/snippet.nix" >&2
			tail -20 "$LOG.snip" >&2
			return 1
		}
	done < <(sed -n 's/^<!-- evaluated in: \(.*\) -->$/\1/p' "$doc")
	[ "$n" -ge 3 ] || {
		echo "docs/migrating.md: expected at least 3 evaluated snippets, found $n" >&2
		return 1
	}
}

# godrv build without --toolchain: go, nix and gcc from PATH give the same top .drv as the
# toolchain file; with the distribution's go (Debian's /usr/bin/go, a GOROOT of links outside the
# store without pack and buildid) the copy godrv adds is the test machine's Go store path.
test_godrv_build_toolchain_from_path() {
	local want got path
	want=$("$GODRV" build --dry-run examples/packages 2>"$LOG.tc") || {
		tail -20 "$LOG.tc" >&2
		return 1
	}
	for path in "$GOROOT/bin:/usr/bin" "/usr/bin"; do
		got=$(env -u GODRV_TOOLCHAIN PATH="$path" "$GODRV" build --dry-run --no-cache examples/packages 2>"$LOG.path") || {
			tail -20 "$LOG.path" >&2
			return 1
		}
		grep -q "^godrv: toolchain from PATH: go 1\.[0-9.]* $GOROOT, godrv ${GODRV%/bin/godrv}, nix /usr, cc /usr, system x86_64-linux$" "$LOG.path" || {
			echo "PATH=$path: godrv build did not say what it picked, or picked other tools:" >&2
			tail -5 "$LOG.path" >&2
			return 1
		}
		[ "$got" = "$want" ] || {
			echo "PATH=$path: top .drv $got, with --toolchain $want" >&2
			return 1
		}
	done
	# Without nix on PATH: one line that says what to do.
	if env -u GODRV_TOOLCHAIN PATH="$GOROOT/bin" "$GODRV" build --dry-run examples/packages 2>"$LOG.nonix"; then
		echo "godrv build without nix on PATH and without --toolchain succeeded" >&2
		return 1
	fi
	grep -q "no \`nix\` on PATH and no --toolchain file" "$LOG.nonix" || {
		cat "$LOG.nonix" >&2
		return 1
	}
}
