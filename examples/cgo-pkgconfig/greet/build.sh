# Builder of the libgreet derivation (examples/default.nix): a static C library with a pkg-config
# file, made with the build machine's gcc and ar (/usr/bin). $src is this directory.
set -eu
mkdir -p "$out/lib/pkgconfig" "$out/include"
cd "$TMPDIR"
gcc -O2 -c "$src/greet.c" -o greet.o
ar rcs "$out/lib/libgreet.a" greet.o
cp "$src/greet.h" "$out/include/"
cat >"$out/lib/pkgconfig/greet.pc" <<PC
prefix=$out
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: greet
Description: godrv's example C library
Version: 1.0
Cflags: -I\${includedir}
Libs: -L\${libdir} -lgreet
PC
