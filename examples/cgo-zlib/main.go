// cgo-zlib: the build machine's zlib (/usr), found by pkg-config.
package main

/*
#cgo pkg-config: zlib
#include <zlib.h>
*/
import "C"

import "fmt"

func main() {
	// compressBound(n) > n for any n: zlib is linked and callable.
	fmt.Println("Hello, godrv! zlib", C.compressBound(100) > 100)
}
