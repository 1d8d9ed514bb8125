package snap

import (
	"os"
	"strings"
	"testing"
)

func TestGreetingSnapshot(t *testing.T) {
	want, err := os.ReadFile("snapshots/TestGreetingSnapshot.snap")
	if err != nil {
		t.Fatalf("No snapshot saved for TestGreetingSnapshot: %v", err)
	}
	if got := Greeting(); got != strings.TrimSpace(string(want)) {
		t.Errorf("Greeting() = %q, snapshot %q", got, want)
	}
}
