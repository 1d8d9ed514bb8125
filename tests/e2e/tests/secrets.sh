# shellcheck shell=bash
# shellcheck disable=SC2016 # Nix expressions and messages hold `$` and backticks literally
# Secrets never reach the store (issue 16, item 4). Sourced by tests/e2e/run.

# Credentials in `env` are an evaluation error in both front ends and in overrideModAttrs' env,
# naming the variable but not its value, and saying how to pass them (NETRC, impureEnvVars);
# settings without credentials pass (nix/refuseSecrets.nix has the rule).
test_secrets_refused_in_env() {
	local b bad ok expr
	refused() { # expression-file
		if nix-instantiate "$1" >/dev/null 2>"$LOG.s"; then
			echo "$(cat "$1"): evaluated" >&2
			return 1
		fi
		grep -q 'env\.[A-Za-z_]*: .*written into world-readable .drv files.*NETRC.*impureEnvVars' "$LOG.s" || {
			tail -5 "$LOG.s" >&2
			return 1
		}
		lacks "$LOG.s" -F hunter2 || {
			echo "the error shows the secret: $(grep hunter2 "$LOG.s")" >&2
			return 1
		}
	}
	for b in buildWithDynDrv buildWithIFD; do
		echo "(import $REPO/nix {}).$b { pname = \"x\"; version = \"1\"; src = $REPO/examples/hello;
			env.GOPROXY = \"https://someone:hunter2@proxy.example,direct\"; }" >"$SCRATCH/secret.nix"
		refused "$SCRATCH/secret.nix" || return 1
	done
	echo "((import $REPO/nix {}).buildWithDynDrv { pname = \"x\"; version = \"1\"; src = $REPO/examples/dep;
		vendorHash = \"\"; overrideModAttrs = old: { env = old.env // { GOAUTH = \"command /bin/echo hunter2\"; }; }; }).goModules" >"$SCRATCH/secret.nix"
	refused "$SCRATCH/secret.nix" || return 1
	for bad in 'GOPRIVATE = "https://hunter2@corp.example/x"' 'GITHUB_TOKEN = "hunter2"' 'my_api_key = "hunter2"' \
		'NETRC = "/etc/nix/netrc-hunter2"' 'GOAUTH = "netrc; command /usr/bin/hunter2"' \
		'FOO = "Authorization: Bearer hunter2hunter2"' 'BAR = "ghp_hunter2hunter2hunter2hunter2"' \
		'GOPROXY = "https://proxy.example,https://x:hunter2@other.example"'; do
		echo "import $REPO/nix/refuseSecrets.nix { what = \"env\"; } { $bad; }" >"$SCRATCH/secret.nix"
		refused "$SCRATCH/secret.nix" || return 1
	done
	for ok in 'GOAUTH = "netrc"' 'GOAUTH = "git /src; netrc"' 'GOAUTH = "off"' 'GOPROXY = "https://proxy.golang.org,direct"' \
		'GOPROXY = "file:///nix/store/x-goproxy"' 'GOPRIVATE = "corp.example/*,*.internal"' 'CGO_ENABLED = "0"' \
		'GOFLAGS = "-mod=mod -modcacherw"' 'GONOSUMDB = "example.com@v1"' 'GOPROXY = "https://proxy.example/path@x"'; do
		expr="import $REPO/nix/refuseSecrets.nix { what = \"env\"; } { $ok; }"
		nix-instantiate --eval --strict -E "$expr" >/dev/null 2>"$LOG.s" || {
			echo "refused: { $ok; }" >&2
			tail -3 "$LOG.s" >&2
			return 1
		}
	done
}

# A module fetched through an authenticated GOPROXY (HTTPS on 127.0.0.1 with a self-signed
# certificate and basic auth: tests/e2e/authproxy, built with the test machine's Go, exits by
# itself), with the credentials only in a netrc file passed the documented way (NETRC in the
# environment of the build, here nix-build's own as the store is single-user, and the file in the
# sandbox through extra-sandbox-paths). Without NETRC the module fetcher fails with the server's
# 401; with it the program builds and runs; the password is in no file of the build's closure
# (every .drv, source and output, the module cache included) and in no .drv of the store.
test_private_module_through_authenticated_proxy() {
	local dir pid rc
	dir=$SCRATCH/authproxy
	mkdir -p "$dir"
	(cd tests/e2e/authproxy && GOCACHE=$SCRATCH/gocache GOTOOLCHAIN=local GOFLAGS='' PATH="$GOROOT/bin:/usr/bin" \
		go build -o "$dir/authproxy" .) || return 1
	echo "godrv-e2e-secret-$$-$RANDOM$RANDOM" >"$dir/password"
	"$dir/authproxy" -root "$REPO/testdata/goproxy" -user godrv -password "$(cat "$dir/password")" \
		-cert "$dir/ca.pem" -addr-file "$dir/addr" -timeout 20m 2>"$dir/log" &
	pid=$!
	rc=0
	private_module_build "$dir" || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return "$rc"
}

private_module_build() { # dir
	local dir=$1 addr password nonce out drv paths
	for _ in $(seq 100); do
		[ -s "$dir/addr" ] && break
		sleep 0.1
	done
	addr=$(cat "$dir/addr") || {
		cat "$dir/log" >&2
		return 1
	}
	password=$(cat "$dir/password")
	# go matches the machine name with the port, as the URL has it.
	printf 'machine %s login godrv password %s\n' "$addr" "$password" >"$dir/netrc"
	nonce="$$-$(date +%s%N)"
	cp -r examples/dep "$dir/src"
	# A new name per run: the module fetcher (a fixed-output derivation) really runs.
	printf '%s\n' "(import $REPO/nix {}).buildWithIFD {" \
		"  pname = \"private-$nonce\"; version = \"1\"; src = $dir/src;" \
		"  env = { GOPROXY = \"https://$addr\"; GONOSUMDB = \"example.com\"; SSL_CERT_FILE = \"\${$dir/ca.pem}\"; };" \
		"  vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\";" \
		"}" >"$dir/build.nix"
	if env -u NETRC nix-build --no-out-link "$dir/build.nix" -A goModules >/dev/null 2>"$LOG.p"; then
		echo "the module fetcher succeeded without credentials: the proxy does not check them" >&2
		return 1
	fi
	grep -q '401 Unauthorized' "$LOG.p" || {
		tail -20 "$LOG.p" >&2
		return 1
	}
	out=$(NETRC=$dir/netrc nix-build --no-out-link --option extra-sandbox-paths "$dir/netrc" "$dir/build.nix" 2>"$LOG.p") || {
		tail -30 "$LOG.p" >&2
		cat "$dir/log" >&2
		return 1
	}
	[ "$("$out/bin/dep")" = "HELLO, GODRV!" ] || {
		echo "$out/bin/dep: wrong output" >&2
		return 1
	}
	grep -q 'GET /example.com/greet/@v/v1.1.0.zip: authorized' "$dir/log" || {
		echo "the proxy served no authorized download:" >&2
		cat "$dir/log" >&2
		return 1
	}
	drv=$(nix-instantiate "$dir/build.nix" 2>"$LOG.p") || {
		tail -20 "$LOG.p" >&2
		return 1
	}
	# The search finds the password where it is (the netrc), so finding nothing below means something.
	grep -rqF -- "$password" "$dir/netrc" || return 1
	paths=$(nix-store -qR --include-outputs "$drv" "$(nix-instantiate "$dir/build.nix" -A goModules 2>/dev/null)") || return 1
	[ -n "$paths" ] || return 1
	# shellcheck disable=SC2086 # one argument per store path
	grep -rlF -- "$password" $paths >"$SCRATCH/leaks" || true
	if [ -s "$SCRATCH/leaks" ]; then
		echo "the password is in the store: $(cat "$SCRATCH/leaks")" >&2
		return 1
	fi
	find /nix/store -maxdepth 1 -name '*.drv' -exec grep -lF -- "$password" {} + >"$SCRATCH/leaks" || true
	if [ -s "$SCRATCH/leaks" ]; then
		echo "the password is in a .drv: $(cat "$SCRATCH/leaks")" >&2
		return 1
	fi
}
