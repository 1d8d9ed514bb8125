// Package shout upper-cases text.
package shout

import "strings"

// Shout returns s in upper case.
func Shout(s string) string {
	return strings.ToUpper(s)
}
