package reader

import (
	"os"
	"strings"
	"testing"
)

func TestPunctMatchesSharedTestdata(t *testing.T) {
	want, err := os.ReadFile("../testdata/punct.txt")
	if err != nil {
		t.Fatalf("reading the shared test data: %v", err)
	}
	if got := Punct(); got != strings.TrimSpace(string(want)) {
		t.Errorf("Punct() = %q, want %q", got, want)
	}
}
