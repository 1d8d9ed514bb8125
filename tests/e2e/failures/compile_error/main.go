package main

import "example.com/broken/internal/bad"

func main() { println(bad.Answer()) }
