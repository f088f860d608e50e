package fakegithub_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// readFixture reads one of GitHub's example answers, copied unchanged from
// shared/fixtures/github/rest (see fixtures/github/rest/README.md); those not
// yet in fixtures/github/rest are in testdata (see testdata/README.md).
func readFixture(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "github", "rest", name))
	if errors.Is(err, fs.ErrNotExist) {
		return os.ReadFile(filepath.Join("testdata", name))
	}
	return b, err
}
