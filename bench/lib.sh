# shellcheck shell=bash
# bench/lib.sh — helpers shared by bench's scripts (sourced, not run).

# child_cpu VAR: the CPU of this (sub)shell's waited-for children, "user sys" in clock ticks
# (/proc/PID/stat fields 16 and 17: cutime, cstime), into VAR (no subshell: its children would
# not be ours). A child's figure includes its own waited-for children.
child_cpu() {
	local l f
	read -r l <"/proc/$BASHPID/stat"
	read -r -a f <<<"${l##*) }"
	printf -v "$1" '%s %s' "${f[13]}" "${f[14]}"
}

# probe: the seconds a fixed CPU loop takes (BENCH_PROBE_LOOPS iterations of awk, default
# 3000000): this machine's speed now, which varies.
probe() {
	local t0=$EPOCHREALTIME
	awk -v n="${BENCH_PROBE_LOOPS:-3000000}" 'BEGIN { for (i = 0; i < n; i++) s += i * i; if (s < 0) print s }'
	awk -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t1 - t0 }'
}

# steal: the machine's steal time so far, in ticks (/proc/stat): CPU the hypervisor gave others.
steal() { awk '/^cpu / { print $9 }' /proc/stat; }
