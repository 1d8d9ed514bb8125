// Package lib is a module of the workspace (go.work) that example.com/app imports without
// requiring it: the workspace makes it a local source. It uses a third-party module itself.
package lib

import "example.com/shout"

// Greeting is what app prints.
func Greeting() string { return "Hello, godrv! from the " + shout.Shout("workspace") }
