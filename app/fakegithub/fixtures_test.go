package fakegithub_test

import (
	"os"
	"path/filepath"
)

// readFixture reads one of GitHub's example answers, copied unchanged from
// shared/fixtures/github/rest (see fixtures/github/rest/README.md).
func readFixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "fixtures", "github", "rest", name))
}
