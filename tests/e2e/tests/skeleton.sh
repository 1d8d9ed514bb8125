# shellcheck shell=bash
# shellcheck disable=SC2015 # `check && check || { report; return 1; }` is meant: fail if either fails
# The plan made from the source's skeleton (issue 18, item 2: planning that costs what changed):
# with content addressing the program's `go build -n` runs in a derivation of its own
# (`<name>-unpinned-plan.json`) on `godrv skeleton`'s copy of the source, and the planner proper
# registers (dyn) or pins (IFD) that plan with the source. Sourced by tests/e2e/run.

# The plan made from the skeleton (`.planner.unpinnedPlan`) is byte for byte the plan the same
# derivation makes from the source itself (its configuration with `src` the source instead of
# the skeleton), on examples whose plans read more than the imports: cgo (preamble, C files),
# cgo-pkgconfig (pkg-config run in the package directory), embed (patterns and the embedded
# files), gotests and testlayout (test files, the test mains), vendored (vendor/), replace and
# workspace (other module directories, go.work), dep (a module cache) and deplock (a lockfile).
# And the skeleton (one file, a NAR, unpacked here) is not the source: some file of each was cut.
test_skeleton_plan_is_the_source_plan() {
	local attr skel src from_skel from_src failed=0
	for attr in cgo cgo-pkgconfig embed gotests testlayout vendored replace workspace dep deplock; do
		# shellcheck disable=SC2046 # granularity_args prints separate words
		skel=$(nix-build --no-out-link "$REPO/default.nix" -A "examples.$attr.planner.skeleton" $(granularity_args) 2>"$LOG.k") || {
			tail -20 "$LOG.k" >&2
			return 1
		}
		# shellcheck disable=SC2046
		src=$(nix-instantiate --eval --raw "$REPO/default.nix" -A "examples.$attr.planner.skeleton.src" $(granularity_args) 2>"$LOG.k") || {
			tail -20 "$LOG.k" >&2
			return 1
		}
		# The skeleton is one file, the NAR of the tree (godrv skeleton): unpacked to compare.
		rm -rf "$SCRATCH/skel-tree"
		nix-store --restore "$SCRATCH/skel-tree" <"$skel" || {
			echo "$attr: the skeleton $skel is not a NAR" >&2
			return 1
		}
		diff -rq "$SCRATCH/skel-tree" "$src" >"$SCRATCH/skel.diff" && {
			echo "$attr: the skeleton $skel is the source $src: no file was cut, nothing is checked" >&2
			return 1
		}
		# shellcheck disable=SC2046
		from_skel=$(nix-build --no-out-link "$REPO/default.nix" -A "examples.$attr.planner.unpinnedPlan" $(granularity_args) 2>"$LOG.s") || {
			tail -20 "$LOG.s" >&2
			return 1
		}
		from_src=$(nix-build --no-out-link -E "
			let
			  p = (import $REPO/default.nix { granularity = ${GRANULARITY:+\"}${GRANULARITY:-null}${GRANULARITY:+\"}; }).examples.\"$attr\".planner;
			  u = p.unpinnedPlan;
			in
			derivation (u.drvAttrs // {
			  name = \"from-source-plan.json\";
			  godrvPlanConfig = builtins.replaceStrings [ \"\${p.skeleton}\" ] [ p.skeleton.src ] u.drvAttrs.godrvPlanConfig;
			})" 2>"$LOG.r") || {
			tail -20 "$LOG.r" >&2
			return 1
		}
		cmp -s "$from_skel" "$from_src" || {
			echo "$attr: the plan from the skeleton ($from_skel) differs from the plan from the source ($from_src):" >&2
			diff "$from_skel" "$from_src" | head -20 >&2
			failed=1
		}
	done
	return "$failed"
}

# go build's binary of a copy of examples/packages (tests/e2e/refbuild).
skeleton_reference() { # src out
	GOROOT=$GOROOT "$SCRATCH/refbuild" -request '{}' -src "$1" -out "$2" -scratch "$SCRATCH/refscratch" 2>"$LOG.ref" || {
		tail -20 "$LOG.ref" >&2
		return 1
	}
}

# After a body-only edit (edit B of issue 18) and after an added function (edit A: the export
# data changes) the plan derivation, the program's `go build -n`, is not built again: the
# skeleton is built and is the same, and Nix finds the plan built (early cutoff); an edit that
# adds an import builds it again. In dyn and IFD mode, each on its own copy of examples/packages
# (a per-run file in testdata/: the first plan is new); after every edit the binary equals go
# build's byte for byte and the planner proper ran (it pins or registers with the new source).
test_plan_not_rebuilt_after_body_edit() {
	local mode builder src expr file nonce edit out ref plan planned
	(cd tests/e2e/refbuild && GOCACHE=$SCRATCH/gocache GOTOOLCHAIN=local GOFLAGS='' PATH="$GOROOT/bin:/usr/bin" \
		go build -o "$SCRATCH/refbuild" .) || return 1
	for mode in dyn ifd; do
		src=$SCRATCH/skeleton-$mode
		uncached_copy packages "$src"
		file=$src/internal/greeting/greeting.go
		builder=$([ $mode = dyn ] && echo buildWithDynDrv || echo buildWithIFD)
		expr="(import $REPO/nix {}).$builder { pname = \"skel\"; version = \"1\"; src = $src; ${GRANULARITY:+granularity = \"$GRANULARITY\";} }"
		plan="^building '/nix/store/[a-z0-9]*-skel-1-unpinned-plan\.json\.drv'"
		planned=$([ $mode = dyn ] && echo "-skel-1\.drv\.drv'" || echo "-skel-1-plan\.json\.drv'")
		nonce=$(date +%s%N)
		for edit in none body function import; do
			case $edit in
			none) ;;
			# A new greeting: the function's body only.
			body) sed -i "s/return \"Hello, godrv\"/return \"Hello, godrv $nonce\"/" "$file" ;;
			# A new exported function: the export data changes, not the header.
			function) echo "func Added$nonce() int { return $((nonce % 1000)) }" >>"$file" ;;
			# An import: the header changes.
			import)
				sed -i 's/^package greeting$/package greeting\n\nimport "strings"/; s/return \("Hello, godrv [0-9]*"\)$/return strings.TrimSpace(\1)/' "$file"
				grep -q 'strings.TrimSpace' "$file" || {
					echo "the import edit did not apply to $file" >&2
					return 1
				}
				;;
			esac
			out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.$mode.$edit") || {
				tail -20 "$LOG.$mode.$edit" >&2
				return 1
			}
			case $edit in
			none | import)
				grep -q "$plan" "$LOG.$mode.$edit" || {
					echo "$mode, edit $edit: expected the plan derivation to be built; built: $(grep "^building '" "$LOG.$mode.$edit" | tr '\n' ' ')" >&2
					return 1
				}
				;;
			*)
				lacks "$LOG.$mode.$edit" -q "$plan" && grep -q "^building '/nix/store/[a-z0-9]*-go-source-skeleton\.drv'" "$LOG.$mode.$edit" &&
					grep -q "^building '/nix/store/[a-z0-9]*$planned" "$LOG.$mode.$edit" &&
					grep -q "actions planned from the source's skeleton" "$LOG.$mode.$edit" || {
					echo "$mode, edit $edit: expected the skeleton and the planner proper to be built, and not the plan derivation; built: $(grep "^building '" "$LOG.$mode.$edit" | tr '\n' ' ')" >&2
					return 1
				}
				;;
			esac
			ref=$SCRATCH/skeleton-ref-$mode-$edit
			skeleton_reference "$src" "$ref" || return 1
			cmp "$ref/bin/packages" "$out/bin/packages" || {
				echo "$mode, edit $edit: the binary differs from go build's" >&2
				return 1
			}
		done
	done
}

# The module groups registered ahead (dyn, granularity "module"): after a body-only edit, after
# an added function in the main module and after its module path is renamed (the plan is made
# again, its third-party part is the same), the module groups' registrar
# (`go-module-groups.json`, which registers the third-party module groups from the unpinned
# planner's second output) is not built again, and the planner proper adds no module group: its
# log says every group's .drv is the one registered ahead (an input of it, so valid) and that it
# added none. With a module cache (examples/dep, vendorHash) and with a lockfile
# (examples/deplock), each on its own copy; after every edit the binary equals go build's.
test_module_groups_registered_ahead() {
	local name src expr file nonce edit out ref groups bin
	(cd tests/e2e/refbuild && GOCACHE=$SCRATCH/gocache GOTOOLCHAIN=local GOFLAGS='' PATH="$GOROOT/bin:/usr/bin" \
		go build -o "$SCRATCH/refbuild" .) || return 1
	for name in dep deplock; do
		src=$SCRATCH/groups-$name
		uncached_copy "$name" "$src"
		file=$src/main.go
		case $name in
		dep) expr="vendorHash = \"sha256-tkQCCvkzgP8xZqDUyjkMmLPDWotARBExiQlaQqsAo5E=\";" ;;
		deplock) expr="modules = $src/godrv.lock;" ;;
		esac
		expr="(import $REPO/nix {}).buildWithDynDrv { pname = \"groups-$name\"; version = \"1\"; src = $src; $expr
			env.GOPROXY = \"file://\${builtins.path { path = $REPO/testdata/goproxy; name = \"goproxy\"; }}\"; }"
		nonce=$(date +%s%N)
		bin=$name
		for edit in none body function rename; do
			case $edit in
			none) ;;
			# Another module path: the plan changes (every import path of the main module).
			rename)
				bin=renamed$nonce
				sed -i "s|^module example.com/$name\$|module example.com/$bin|" "$src/go.mod"
				grep -q "^module example.com/$bin\$" "$src/go.mod" || {
					echo "the rename did not apply to $src/go.mod" >&2
					return 1
				}
				;;
			# The printed text: a body only.
			body) sed -i "s/fmt.Println(shout.Shout(greet.Hello()))/fmt.Println(shout.Shout(greet.Hello()) + \"$nonce\")/" "$file" ;;
			# A new exported function: the export data changes, not the header.
			function) echo "func Added$nonce() int { return $((nonce % 1000)) }" >>"$file" ;;
			esac
			out=$(nix-build --no-out-link -E "$expr" 2>"$LOG.$name.$edit") || {
				tail -20 "$LOG.$name.$edit" >&2
				return 1
			}
			groups=$(sed -n 's/^.*godrv: module groups: \([0-9]*\), \([0-9]*\) of them registered ahead (inputs, not added); added here: none$/\1 \2/p' "$LOG.$name.$edit")
			[ -n "$groups" ] && [ "${groups% *}" = "${groups#* }" ] && [ "${groups% *}" -ge 2 ] || {
				echo "$name, edit $edit: expected the planner proper to find every module group (2 modules) registered ahead and to add none:" >&2
				grep 'godrv:' "$LOG.$name.$edit" >&2
				return 1
			}
			case $edit in
			none) ;;
			rename)
				lacks "$LOG.$name.$edit" -q "^building '[^']*-go-module-groups\.json\.drv'" &&
					grep -q "^building '[^']*-unpinned-plan\.json\.drv'" "$LOG.$name.$edit" || {
					echo "$name, edit $edit: expected the plan to be built again, and not the module groups' registrar; built: $(grep "^building '" "$LOG.$name.$edit" | tr '\n' ' ')" >&2
					return 1
				}
				;;
			*)
				lacks "$LOG.$name.$edit" -q "^building '[^']*-go-module-groups\.json\.drv'" &&
					lacks "$LOG.$name.$edit" -q "^building '[^']*-unpinned-plan\.json\.drv'" &&
					grep -q "^building '/nix/store/[a-z0-9]*-groups-$name-1\.drv\.drv'" "$LOG.$name.$edit" || {
					echo "$name, edit $edit: expected the planner proper to be built, and neither the plan nor the module groups' registrar; built: $(grep "^building '" "$LOG.$name.$edit" | tr '\n' ' ')" >&2
					return 1
				}
				;;
			esac
			ref=$SCRATCH/groups-ref-$name-$edit
			GOROOT=$GOROOT "$SCRATCH/refbuild" -request '{}' -src "$src" -out "$ref" \
				-goproxy "file://$REPO/testdata/goproxy" -scratch "$SCRATCH/refscratch" 2>"$LOG.ref" || {
				tail -20 "$LOG.ref" >&2
				return 1
			}
			cmp "$ref/bin/$bin" "$out/bin/$bin" || {
				echo "$name, edit $edit: the binary differs from go build's" >&2
				return 1
			}
		done
	done
}
