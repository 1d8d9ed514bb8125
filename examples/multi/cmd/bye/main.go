// bye: the other program of examples/multi.
package main

import "fmt"

func main() {
	fmt.Println("Bye, godrv!")
}
