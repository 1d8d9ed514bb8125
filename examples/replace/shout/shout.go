// Package shout replaces example.com/shout (go.mod: replace example.com/shout => ./shout).
package shout

import "strings"

// Shout upper-cases s and says it comes from the local replacement.
func Shout(s string) string {
	return strings.ToUpper(s) + " (local shout)"
}
