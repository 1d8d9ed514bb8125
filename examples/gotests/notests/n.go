// Package notests has no test files: nothing to run.
package notests

const X = 1
