// cgo: C in the preamble, calling printf.
package main

/*
#include <stdio.h>

static void greet(void) {
	printf("Hello, godrv!\n");
	fflush(stdout);
}
*/
import "C"

func main() {
	C.greet()
}
