// hello prints a greeting with fmt: the smallest godrv example.
package main

import "fmt"

func main() {
	fmt.Println("Hello, godrv!")
}
