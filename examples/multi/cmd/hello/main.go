// hello: one of the two programs of examples/multi.
package main

import "fmt"

func main() {
	fmt.Println("Hello, godrv!")
}
