// Package lib is a module of the workspace (go.work) that example.com/app imports without
// requiring it: the workspace makes it a local source.
package lib

// Greeting is what app prints.
func Greeting() string { return "Hello, godrv! from the workspace" }
