#!/usr/bin/bash
# Runs inside the test root (after pivot_root), as the first process of its pid namespace.
# Makes the toolchain store paths, writes /etc/godrv/toolchain.json, then runs the command in /src.
# Called by vmtest/run only.
set -euo pipefail

STATE=/var/lib/godrv-vmtest
TOOLCHAIN=/etc/godrv/toolchain.json
mkdir -p "$STATE" /etc/godrv

log() { echo "vmtest: $*" >&2; }

# A GOROOT in the store: Debian's Go copied with symlinks dereferenced (it points into
# /usr/share), plus the `pack` and `buildid` tools Debian leaves out. Added once per Go version.
go_store_path() {
	local version record tmp goroot tool
	version=$(GOTOOLCHAIN=local /usr/bin/go env GOVERSION)
	version=${version#go}
	record=$STATE/go-$version.path
	if [ -s "$record" ] && nix-store --check-validity "$(cat "$record")" 2>/dev/null; then
		cat "$record"
		return
	fi
	log "adding Go $version to the store (once)"
	tmp=$(mktemp -d /tmp/godrv-go-XXXXXX)
	goroot=$tmp/go-$version
	cp -rL "$(GOTOOLCHAIN=local /usr/bin/go env GOROOT)" "$goroot"
	for tool in pack buildid; do
		if [ ! -x "$goroot/pkg/tool/linux_amd64/$tool" ]; then
			(cd "$goroot/src" && GOROOT=$goroot GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath \
				"$goroot/bin/go" build -o "$goroot/pkg/tool/linux_amd64/$tool" "cmd/$tool")
		fi
	done
	nix-store --add "$goroot" >"$record.new"
	mv "$record.new" "$record"
	rm -rf "$tmp"
	cat "$record"
}

setup() {
	local go godrv=""
	go=$(go_store_path)
	if [ -x "$GODRV_VMTEST_STAGE/godrv/bin/godrv" ]; then
		godrv=$(nix-store --add "$GODRV_VMTEST_STAGE/godrv")
	fi
	local goversion
	goversion=$(basename "$go")
	goversion=${goversion#*-go-}
	{
		printf '{\n'
		printf '  "go": "%s",\n' "$go"
		if [ -n "$godrv" ]; then printf '  "godrv": "%s",\n' "$godrv"; fi
		printf '  "nix": "/usr",\n'
		printf '  "cc": "/usr",\n'
		printf '  "goVersion": "%s",\n' "$goversion"
		printf '  "system": "x86_64-linux"\n'
		printf '}\n'
	} >"$TOOLCHAIN.$$"
	mv "$TOOLCHAIN.$$" "$TOOLCHAIN"
}

# One setup at a time (store initialisation on the first run, the Go copy); the commands that
# follow run concurrently and rely on Nix's own locking.
exec 9>"$STATE/setup.lock"
flock 9
setup
exec 9>&-

export GODRV_TOOLCHAIN=$TOOLCHAIN
cd /src
# Not exec: this shell stays the namespace's first process (signals with default actions are not
# delivered to that one), and the command is an ordinary child that Ctrl-C reaches.
if [ $# -eq 0 ]; then
	set -- bash -i
fi
set +e
"$@"
exit $?
