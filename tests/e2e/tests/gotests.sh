# shellcheck shell=bash
# Go tests (issue 7): sourced by tests/e2e/run, which provides $REPO, $SCRATCH, $LOG and the
# helpers expect_failure and log_says.

# A failing test fails the build in both modes; the error names the package and shows its output.
test_gotests_failing_build() {
	local b
	for b in buildWithDynDrv buildWithIFD; do
		expect_failure "$b" "$REPO/examples/failingtest" &&
			log_says "go-test-example.com-failingtest: the tests of example.com/failingtest failed (exit status: 1)" \
				"--- FAIL: TestAnswer" "main_test.go:7: answer() = 41, want 42" || return 1
	done
}

# The names of the test runs a nix-build log says it built, sorted, space-separated.
count_test_runs() { # log
	grep "^building '/nix/store/.*-go-test-.*\.drv'" "$1" | sed "s/^building '\/nix\/store\/[a-z0-9]*-go-test-//; s/\.drv'.*//" |
		sort | tr '\n' ' '
}

# Editing one package re-runs only the tests of the packages whose test binaries changed:
#  1. calc's double (used by calc's tests only) → calc's tests only;
#  2. words' Hello (greet calls it) → words' and greet's (greet's test binary links words);
#  3. a function of words nobody calls → words' tests only: the linker drops it from greet's test
#     binary, which comes out the same (content addressing: greet's run is not repeated).
# A per-run nonce keeps every state new in a store that ran this test before.
test_gotests_rerun_only_changed() {
	local b src nonce expr step
	for b in buildWithDynDrv buildWithIFD; do
		# Per builder too: both give the same derivations, so the second would find the first's runs.
		nonce="$(($(date +%s) % 100000000))$$${#b}"
		src=$SCRATCH/gotests-$b
		cp -r examples/gotests "$src"
		sed -i "s/func double(n int) int { return 2 \* n }/func double(n int) int { sink = ${nonce}0; return 2 * n }/" "$src/calc/calc.go"
		sed -i "s/func Hello() string { return \"hello\" }/func Hello() string { sink = ${nonce}0; return \"hello\" }/" "$src/words/words.go"
		printf '\nvar sink int64\n' >>"$src/calc/calc.go"
		printf '\nvar sink int64\n\nfunc Unused() int64 { sink = %s0; return sink }\n' "$nonce" >>"$src/words/words.go"
		expr="(import $REPO/nix {}).$b { pname = \"gotests-inc\"; version = \"1\"; src = $src; }"
		for step in 0 1 2 3; do
			case $step in
			1) sed -i "s/sink = ${nonce}0; return 2/sink = ${nonce}1; return 2/" "$src/calc/calc.go" ;;
			2) sed -i "s/sink = ${nonce}0; return \"hello\"/sink = ${nonce}2; return \"hello\"/" "$src/words/words.go" ;;
			3) sed -i "s/sink = ${nonce}0; return sink/sink = ${nonce}3; return sink/" "$src/words/words.go" ;;
			esac
			nix-build --no-out-link -E "$expr" >/dev/null 2>"$LOG.$step" || {
				tail -20 "$LOG.$step" >&2
				return 1
			}
		done
		check_runs "$b" "first build" 0 "example.com-gotests-calc example.com-gotests-greet example.com-gotests-words " &&
			check_runs "$b" "editing calc" 1 "example.com-gotests-calc " &&
			check_runs "$b" "editing words.Hello" 2 "example.com-gotests-greet example.com-gotests-words " &&
			check_runs "$b" "editing an unused function of words" 3 "example.com-gotests-words " || return 1
	done
}

check_runs() { # builder what step expected
	local runs
	runs=$(count_test_runs "$LOG.$3")
	[ "$runs" = "$4" ] || {
		echo "$1: $2 ran the tests of: '$runs', expected '$4'" >&2
		return 1
	}
}

# The _testmain.go godrv compiles is go's: byte for byte the one a real `go test -work` keeps, for
# every package of examples/gotests with tests (taken from the IFD plan's test main compile).
test_gotests_testmain_matches_go() {
	local plan work pkg ours theirs
	plan=$(nix-build --no-out-link "$REPO/default.nix" -A examples.gotests.planner --arg useDynDrv false 2>"$LOG.p") || {
		tail -20 "$LOG.p" >&2
		return 1
	}
	cp -r examples/gotests "$SCRATCH/tm"
	work=$(cd "$SCRATCH/tm" && env PATH="$GOROOT/bin:/usr/bin" GOROOT="$GOROOT" GOCACHE="$SCRATCH/gocache" \
		GOTOOLCHAIN=local GOFLAGS='' GOPROXY=off go test -work -vet=off -trimpath -count=1 ./calc ./greet ./words 2>&1 |
		sed -n 's/^WORK=//p')
	for pkg in calc greet words; do
		theirs=$(grep -l "testdeps.ImportPath = \"example.com/gotests/$pkg\"" "$work"/b*/_testmain.go) || {
			echo "go test -work kept no _testmain.go for $pkg in $work" >&2
			return 1
		}
		# The write-file step of the package's test main compile, in the plan (JSON in godrvAction).
		ours=$(nix eval --raw --impure --expr "
			let
			  plan = builtins.fromJSON (builtins.readFile $plan);
			  main = builtins.head (builtins.filter (a: a.name.string == \"go-example.com-gotests-$pkg.test\") (builtins.attrValues plan.actions));
			  steps = (builtins.fromJSON main.godrvAction.string).steps;
			  write = builtins.filter (s: s.op == \"write-file\" && builtins.match \".*/_testmain.go\" s.path != null) steps;
			in (builtins.head write).contents" 2>"$LOG.t") || {
			tail -5 "$LOG.t" >&2
			return 1
		}
		[ "$ours" = "$(cat "$theirs")" ] || {
			echo "$pkg: the planned _testmain.go differs from go's ($theirs):" >&2
			diff <(echo "$ours") "$theirs" >&2
			return 1
		}
	done
	rm -rf "$work"
}

# testExamples (both modes) covers gotests, gotests-test-binaries, failingtest-test-binaries and
# failingtest-nocheck; here: each failing-test example is really left out and the rest is in.
test_gotests_in_test_examples() {
	local names
	names=$(nix-instantiate --eval --strict --json --read-write-mode "$REPO/default.nix" -A testExamples.godrvChecks 2>"$LOG.e") || {
		tail -5 "$LOG.e" >&2
		return 1
	}
	case $names in *'\"name\":\"failingtest\"'*)
		echo "testExamples has failingtest, whose build fails" >&2
		return 1
		;;
	esac
	for n in gotests gotests-test-binaries failingtest-test-binaries failingtest-nocheck; do
		case $names in *"\\\"name\\\":\\\"$n\\\""*) ;; *)
			echo "testExamples lacks $n" >&2
			return 1
			;;
		esac
	done
}

# What a test run sees (issue 16): examples/testlayout's snap tests read snap/snapshots/ (a
# subdirectory of the package: seen without anything), its reader tests read ../testdata/ (outside
# the package). Without checkData the reader run fails, and the message names the package and
# points to checkData; with checkData."*" = [ "." ] (the whole module) both pass (testExamples
# builds it with checkData for reader alone); a checkData key that is not a tested package is an
# error naming it.
test_gotests_check_data() {
	local b expr out
	for b in buildWithDynDrv buildWithIFD; do
		expect_failure "$b" "$REPO/examples/testlayout" &&
			log_says "go-test-example.com-testlayout-reader: the tests of example.com/testlayout/reader failed (exit status: 1):" \
				"reading the shared test data: open ../testdata/punct.txt: no such file or directory" \
				"help: a test run sees only its package directory reader/ of the source tree, with its subdirectories" \
				"give them with the argument checkData.\"example.com/testlayout/reader\" = [ \"testdata\" ]" || return 1
		lacks "$LOG.fail" -F "the tests of example.com/testlayout/snap failed" || {
			echo "$b: the snap tests (snapshots/ in their own directory) failed" >&2
			return 1
		}
		expr="(import $REPO/nix {}).$b { pname = \"testlayout\"; version = \"1\"; src = $REPO/examples/testlayout; checkData.\"*\" = [ \".\" ]; }"
		# shellcheck disable=SC2015 # fail if either fails
		out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.w") && [ "$("$out/bin/testlayout")" = "Hello, godrv! tests see their files" ] || {
			tail -20 "$LOG.w" >&2
			return 1
		}
	done
	expr="(import $REPO/nix {}).buildWithIFD { pname = \"testlayout\"; version = \"1\"; src = $REPO/examples/testlayout; checkData.\"example.com/testlayout/nope\" = [ \"testdata\" ]; }"
	if nix-build --no-out-link -E "$expr" >"$LOG.fail" 2>&1; then
		echo "checkData naming a package without tests was accepted" >&2
		return 1
	fi
	log_says "checkData names example.com/testlayout/nope, which is not a package whose tests this build runs (those are: example.com/testlayout/reader, example.com/testlayout/snap)" || return 1
	if nix-instantiate -E "(import $REPO/nix {}).buildWithIFD { pname = \"x\"; version = \"1\"; src = $REPO/examples/testlayout; checkData = [ \"testdata\" ]; }" >"$LOG.fail" 2>&1; then
		echo "checkData = a list evaluated" >&2
		return 1
	fi
	log_says "\`checkData\` must be an attribute set of import path" || return 1
}

# With doCheck (the default) the result (go-checked) copied the link's output: the whole binary,
# copied and hashed again after every edit that changed it. It now links to it: in dyn mode the
# result is the same store path with doCheck = true as with false (a link into the link's output,
# the one IFD builds without the tests too); in IFD mode the result with the tests holds a link
# to bin/gotests of the result without them, no regular file, and the program runs.
test_gotests_checked_result_copies_nothing() {
	local b check out
	declare -A res
	for b in buildWithDynDrv buildWithIFD; do
		for check in true false; do
			out=$(nix-build --no-out-link -E "(import $REPO/nix {}).$b { pname = \"checked\"; version = \"1\";
				src = $REPO/examples/gotests; doCheck = $check; }" 2>"$LOG.c") || {
				tail -20 "$LOG.c" >&2
				return 1
			}
			res[$b-$check]=$out
		done
	done
	local unchecked=${res[buildWithIFD-false]} checked=${res[buildWithIFD-true]} dyn=${res[buildWithDynDrv-true]}
	[ "$dyn" = "${res[buildWithDynDrv-false]}" ] || {
		echo "dyn: the result with doCheck ($dyn) is not the one without (${res[buildWithDynDrv-false]})" >&2
		return 1
	}
	[ -f "$unchecked/bin/gotests" ] && [ ! -L "$unchecked/bin/gotests" ] &&
		[ "$(readlink "$checked/bin/gotests")" = "$unchecked/bin/gotests" ] &&
		[ "$(readlink "$dyn/bin/gotests")" = "$unchecked/bin/gotests" ] &&
		[ "$(find "$checked" "$dyn" -type f | wc -l)" = 0 ] &&
		[ "$("$checked/bin/gotests")" = "hello, godrv" ] || {
		echo "expected IFD's result with doCheck ($checked) and dyn's ($dyn) to hold only a link to $unchecked/bin/gotests, a file: $(find "$unchecked" "$checked" "$dyn" -printf '%p %y %l\n')" >&2
		return 1
	}
}
