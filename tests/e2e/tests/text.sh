# shellcheck shell=bash
# shellcheck disable=SC2016 # the expected texts hold `$` literally
# User text passes through godrv unchanged (issue 16, item 2). Sourced by tests/e2e/run.

# examples/usertext: -X values `$OUTLOOK`, `$WORKDIR/x` and `$GOROOT` (which begin like godrv's
# tokens $OUT, $WORK, $GOROOT), an Example whose `// Output:` names $GOROOT, $SRC, $OUT and $WORK
# (go writes it into _testmain.go, a write-file step) and a `$` in checkFlags. The program prints
# the values as given, the example test runs and passes, the binary equals go build's byte for
# byte, and dyn, IFD and godrv build write the same .drv.
test_user_text_unchanged() {
	local out want ifd run log
	out=$(build_attr true examples.usertext) || return 1
	want='Hello, godrv! $OUTLOOK $WORKDIR/x $GOROOT'
	[ "$("$out/bin/usertext")" = "$want" ] || {
		echo "usertext prints '$("$out/bin/usertext")', not '$want'" >&2
		return 1
	}
	ifd=$(nix-instantiate "$REPO/default.nix" -A examples.usertext --arg useDynDrv false 2>"$LOG.i") || {
		tail -20 "$LOG.i" >&2
		return 1
	}
	run=$(nix-store -qR "$ifd" | grep -- '-go-test-example\.com-usertext\.drv$') || {
		echo "no test run derivation of example.com/usertext in the closure of $ifd" >&2
		return 1
	}
	log=$(nix-store -r "$run" 2>"$LOG.r") || {
		tail -20 "$LOG.r" >&2
		return 1
	}
	grep -q -- '^--- PASS: ExampleTokens' "$log" || {
		echo "the test log $log has no passing ExampleTokens:" >&2
		cat "$log" >&2
		return 1
	}
	GODRV_E2E_EXAMPLES=usertext test_identical_binaries_all_modes || return 1
	GODRV_E2E_EXAMPLES=usertext test_same_derivations_all_modes
}
