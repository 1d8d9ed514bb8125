// Package greet says hello.
package greet

import "example.com/greet/internal/words"

// Hello returns "Hello, godrv!".
func Hello() string {
	return HelloTo(words.Name)
}

// HelloTo returns "Hello, <name>!".
func HelloTo(name string) string {
	return words.Greeting + ", " + name + "!"
}
