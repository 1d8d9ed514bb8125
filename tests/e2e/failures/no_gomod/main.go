// A program without go.mod: godrv needs a module.
package main

func main() { println("no module") }
