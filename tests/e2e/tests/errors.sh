# shellcheck shell=bash
# shellcheck disable=SC2016 # the expected messages quote names in backticks
# Argument and lockfile errors (issue 16): evaluation errors that name the argument, or the
# lockfile and the module. Sourced by tests/e2e/run ($REPO, $SCRATCH, $LOG, log_says).

# Evaluates BUILDER { pname; version; src = examples/hello; ARGS }; must fail with every MESSAGE.
# The log is $LOG.fail (for log_says).
eval_fails() { # builder nix-args message...
	local builder=$1 extra=$2
	shift 2
	if nix-instantiate -E "(import $REPO/nix {}).$builder { pname = \"x\"; version = \"1\"; src = $REPO/examples/hello; $extra }" \
		>/dev/null 2>"$LOG.fail"; then
		echo "$builder { $extra }: evaluated, expected an error" >&2
		return 1
	fi
	log_says "$@"
}

# A wrongly typed argument is an evaluation error naming the argument, the type it takes and the
# value given, in both front ends.
test_argument_type_errors() {
	local b
	for b in buildWithDynDrv buildWithIFD; do
		eval_fails "$b" 'ldflags = 3;' '`ldflags` must be a list of strings or one string (got int 3)' &&
			eval_fails "$b" 'tags = "a b";' '`tags` must be a list of strings (e.g. [ "a" "b" ]) (got string "a b")' &&
			eval_fails "$b" 'tags = [ "a" 1 ];' '`tags` must be a list of strings' 'got a list with string, int elements' &&
			eval_fails "$b" 'subPackages = "cmd/x";' '`subPackages` must be a list of strings' &&
			eval_fails "$b" 'excludedPackages = "x";' '`excludedPackages` must be a list of strings' &&
			eval_fails "$b" 'checkFlags = { };' '`checkFlags` must be a list of strings or one string (got a set)' &&
			eval_fails "$b" 'GOFLAGS = true;' '`GOFLAGS` must be a list of strings or one string (got bool true)' &&
			eval_fails "$b" 'env = [ ];' '`env` must be an attribute set of strings' &&
			eval_fails "$b" 'env.CGO_ENABLED = false;' '`env` must be an attribute set of strings' '`env.CGO_ENABLED` is bool false' &&
			eval_fails "$b" 'modRoot = [ "sub" ];' '`modRoot` must be a string' &&
			eval_fails "$b" 'name = 1;' '`name` must be a string (got int 1)' &&
			eval_fails "$b" 'vendorHash = 3;' '`vendorHash` must be null or a string (got int 3)' &&
			eval_fails "$b" 'modules = 3;' '`modules` must be null, a path or a string (got int 3)' &&
			eval_fails "$b" 'allowGoReference = "yes";' '`allowGoReference` must be true or false (got string "yes")' &&
			eval_fails "$b" 'contentAddressed = 1;' '`contentAddressed` must be true or false' &&
			eval_fails "$b" 'proxyVendor = "true";' '`proxyVendor` must be true or false' &&
			eval_fails "$b" 'buildInputs = "zlib";' '`buildInputs` must be a list (got string "zlib")' &&
			eval_fails "$b" 'nativeBuildInputs = { };' '`nativeBuildInputs` must be a list' &&
			eval_fails "$b" 'passthru = [ ];' '`passthru` must be an attribute set' &&
			eval_fails "$b" 'meta = "m";' '`meta` must be an attribute set' &&
			eval_fails "$b" 'doCheck = "yes";' '`doCheck` must be true or false' &&
			eval_fails "$b" 'packageOverrides."example.com/hello".buildInputs = "zlib";' \
				'`packageOverrides`: example.com/hello.buildInputs must be a list of inputs' || return 1
	done
	# The right types still evaluate (a string ldflags and checkFlags are documented).
	nix-instantiate -E "((import $REPO/nix {}).buildWithDynDrv { pname = \"x\"; version = \"1\"; src = $REPO/examples/hello;
		ldflags = \"-s -w\"; checkFlags = \"-short\"; tags = [ \"a\" ]; GOFLAGS = [ \"-p=1\" ]; env.CGO_ENABLED = \"0\";
		vendorHash = null; allowGoReference = false; })" >/dev/null
}

# Builds a copy of examples/deplock with godrv.lock replaced by LOCK (TOML) with BUILDER; must fail.
lockfile_eval_fails() { # builder toml message...
	local b=$1 src=$SCRATCH/lockerr.$RANDOM
	shift
	cp -r examples/deplock "$src"
	printf '%s\n' "$1" >"$src/godrv.lock"
	shift
	if nix-instantiate -E "(import $REPO/nix {}).$b { pname = \"lockerr\"; version = \"1\"; src = $src; modules = $src/godrv.lock; }" \
		>/dev/null 2>"$LOG.fail"; then
		echo "$b: a bad lockfile evaluated: $(cat "$src/godrv.lock")" >&2
		return 1
	fi
	log_says "$src/godrv.lock" "$@"
}

# A lockfile entry without version or hash, with an unknown key or a value that is not a string:
# an evaluation error naming the file and the module.
test_lockfile_entry_errors() {
	local b greet='[mod."example.com/greet"]
version = "v1.1.0"
hash = "sha256-L/+a8Q3MSEHpwe8IxZp1cA22z7eY+zVzyrEgdiUo8BQ="'
	for b in buildWithDynDrv buildWithIFD; do
		lockfile_eval_fails "$b" "schema = 3
$greet
[mod.\"example.com/shout\"]
hash = \"sha256-hrKIKBKX22cvc2nH4oNH8H5a0G5dhao4zXSo3amTXLc=\"" 'module example.com/shout has no version' &&
			lockfile_eval_fails "$b" "schema = 3
$greet
[mod.\"example.com/shout\"]
version = \"v0.2.0\"" 'module example.com/shout has no hash' &&
			lockfile_eval_fails "$b" "schema = 3
$greet
[mod.\"example.com/shout\"]
version = \"v0.2.0\"
hash = \"sha256-hrKIKBKX22cvc2nH4oNH8H5a0G5dhao4zXSo3amTXLc=\"
sha = \"x\"" 'module example.com/shout has unknown key(s) sha' &&
			lockfile_eval_fails "$b" "schema = 3
$greet
[mod.\"example.com/shout\"]
version = 2
hash = \"sha256-hrKIKBKX22cvc2nH4oNH8H5a0G5dhao4zXSo3amTXLc=\"" 'module example.com/shout has version that is not a string' &&
			lockfile_eval_fails "$b" "schema = 3
mod = 1" '`mod` must be a table of modules' || return 1
	done
	# (The committed lockfiles evaluate and build: examples deplock and depgomod2nix.)
}
