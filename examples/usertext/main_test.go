package main

import "fmt"

// go writes this output into _testmain.go, which godrv builds from a write-file step.
func ExampleTokens() {
	fmt.Println("$GOROOT, $SRC, $OUT and $WORK stay as written")
	// Output: $GOROOT, $SRC, $OUT and $WORK stay as written
}
