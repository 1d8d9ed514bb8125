//go:build !foo

package main

func tag() string { return "none" }
