// failingtest builds, and its test fails: with doCheck (the default) the build must fail.
package main

import "fmt"

func answer() int { return 41 }

func main() { fmt.Println("Hello, godrv!", answer()) }
