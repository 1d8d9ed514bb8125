// cgo-pkgconfig: calls a C library (greet/, built by a raw derivation) found by pkg-config.
package main

/*
#cgo pkg-config: greet
#include <greet.h>
*/
import "C"

import "fmt"

func main() {
	fmt.Println(C.GoString(C.greet_message()))
}
