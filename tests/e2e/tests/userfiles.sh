# shellcheck shell=bash
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant: fail if either fails
# The user's files are never touched (issue 16): `godrv build` and `godrv lock` leave the tree
# byte-identical (but for the lockfile `godrv lock` writes), and a go.sum that lacks lines go needs
# is an error naming them, never a silent edit. Sourced by tests/e2e/run.

# One line per file and directory of DIR (name, mode, size, and the contents' sha256), except the
# names given: what must not change.
tree_state() { # dir [name-to-skip...]
	local dir=$1 skip=() n
	shift
	for n in "$@"; do skip+=(! -name "$n"); done
	(cd "$dir" && find . "${skip[@]}" -printf '%p %y %m %s\n' | sort &&
		find . -type f "${skip[@]}" -print0 | sort -z | xargs -0 -r sha256sum)
}

# `godrv lock` in DIR with the local proxy and GOFLAGS=-mod=mod (which lets go edit go.mod and
# go.sum, as a user's GOFLAGS may); its stderr in $LOG.lock.
lock_in() { # dir
	(cd "$1" && env -i PATH="$GOROOT/bin:/usr/bin:/bin" HOME="$SCRATCH/home" GOROOT="$GOROOT" GOTOOLCHAIN=local \
		GOMODCACHE="$SCRATCH/userfiles-cache" GOFLAGS=-mod=mod GOPROXY="file://$REPO/testdata/goproxy" GOSUMDB=off \
		"$GODRV" lock) 2>"$LOG.lock"
}

# Fails, showing the difference, when DIR's state is not BEFORE.
same_tree() { # what dir before [name-to-skip...]
	local what=$1 dir=$2 before=$3
	shift 3
	[ "$(tree_state "$dir" "$@")" = "$before" ] || {
		echo "$what changed the user's tree $dir:" >&2
		diff <(echo "$before") <(tree_state "$dir" "$@") >&2
		return 1
	}
}

# godrv build (third-party modules, a local replace) and godrv lock (a module, a workspace): the
# tree is the same before and after, but for the godrv.lock that lock writes (no temporary file).
test_user_tree_untouched() {
	local ex src before
	for ex in dep replace; do
		src=$SCRATCH/untouched-$ex
		cp -r "examples/$ex" "$src"
		before=$(tree_state "$src")
		"$GODRV" build --no-cache --env GOPROXY="file://$REPO/testdata/goproxy" "$src" >/dev/null 2>"$LOG.b" || {
			tail -20 "$LOG.b" >&2
			return 1
		}
		same_tree "godrv build" "$src" "$before" || return 1
	done
	for ex in deplock replace workspace; do
		src=$SCRATCH/untouched-lock-$ex
		cp -r "examples/$ex" "$src"
		before=$(tree_state "$src" godrv.lock)
		lock_in "$src" || {
			cat "$LOG.lock" >&2
			return 1
		}
		[ -s "$src/godrv.lock" ] && same_tree "godrv lock" "$src" "$before" godrv.lock || return 1
	done
}

# `godrv lock` in DIR must fail, saying that FILE lacks LINE, and write no lockfile.
lock_fails_naming() { # dir file line
	if lock_in "$1"; then
		echo "godrv lock in $1 succeeded; expected it to say that $2 lacks a line" >&2
		return 1
	fi
	grep -qF "$2 lacks what go needs" "$LOG.lock" && grep -qF "+ $3" "$LOG.lock" && [ ! -e "$1/godrv.lock" ] || {
		cat "$LOG.lock" >&2
		return 1
	}
}

# A go.sum without a line go needs (here shout's go.mod hash, which `go mod download` would add
# silently): godrv build and godrv lock fail naming the line, and the tree stays as it was; the
# same for a workspace, whose missing lines go to go.work.sum.
test_incomplete_gosum_is_an_error() {
	local src=$SCRATCH/incomplete before line
	line='example.com/shout v0.2.0/go.mod h1:hWi0SPhxpG2SfxNW+ob9vk4aKNdXudwan4Q44/micuM='
	cp -r examples/dep "$src"
	grep -qxF "$line" "$src/go.sum"
	sed -i '\|^example.com/shout v0.2.0/go.mod |d' "$src/go.sum"
	before=$(tree_state "$src")
	# (GOSUMDB=off: otherwise go asks sum.golang.org for the line, which this machine cannot reach.)
	if "$GODRV" build --no-cache --env GOPROXY="file://$REPO/testdata/goproxy" --env GOSUMDB=off "$src" >/dev/null 2>"$LOG.b"; then
		echo "godrv build with an incomplete go.sum succeeded" >&2
		return 1
	fi
	grep -qF "$src/go.sum lacks what go needs" "$LOG.b" && grep -qF "+ $line" "$LOG.b" &&
		grep -qF 'which godrv never edits' "$LOG.b" || {
		tail -20 "$LOG.b" >&2
		return 1
	}
	same_tree "godrv build" "$src" "$before" &&
		lock_fails_naming "$src" "$src/go.sum" "$line" &&
		same_tree "godrv lock" "$src" "$before" || return 1

	src=$SCRATCH/incomplete-workspace
	cp -r examples/workspace "$src"
	sed -i '\|^example.com/shout v0.2.0/go.mod |d' "$src/lib/go.sum"
	before=$(tree_state "$src")
	lock_fails_naming "$src" "$src/go.work.sum" "$line" && same_tree "godrv lock" "$src" "$before"
}

# godrv build plans in the user's own directory: GOFLAGS=-mod=mod (or -modfile) in the request,
# which would let go rewrite go.mod and go.sum there, is an error naming the flag, before go runs.
test_godrv_build_refuses_mod_mod() {
	local src=$SCRATCH/modmod before
	cp -r examples/dep "$src"
	before=$(tree_state "$src")
	if "$GODRV" build --dry-run --request '{"env": {"GOFLAGS": "-mod=mod"}}' \
		--env GOPROXY="file://$REPO/testdata/goproxy" "$src" >/dev/null 2>"$LOG.b"; then
		echo "godrv build with GOFLAGS=-mod=mod succeeded" >&2
		return 1
	fi
	grep -qF -- "-mod=mod would let go rewrite go.mod and go.sum in $src, your own directory" "$LOG.b" || {
		tail -5 "$LOG.b" >&2
		return 1
	}
	same_tree "godrv build" "$src" "$before"
}
