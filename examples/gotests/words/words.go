// Package words: an internal test; greet (external test) imports it.
package words

func Hello() string { return "hello" }
