package main

func main() { println("from the future") }
