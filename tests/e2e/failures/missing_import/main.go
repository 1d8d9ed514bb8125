package main

import "example.com/missing/nothere"

func main() { nothere.Run() }
