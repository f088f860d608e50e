package dco

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// gitLogFormat has one field per Commit field git knows, separated by the
// ASCII unit separator; the raw message (%B) comes last, so a separator
// character inside a message cannot shift the other fields. Records are
// separated by NUL (-z), which a commit message cannot contain.
const gitLogFormat = "%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%B"

// ReadGitRange reads the commits of rangeSpec (anything `git log` accepts,
// such as "origin/main..HEAD") from the repository at dir, oldest first, the
// order Evaluate expects. It runs the git binary, so what it reads is exactly
// what git shows: raw messages, parents and identities without .mailmap.
func ReadGitRange(ctx context.Context, dir, rangeSpec string) ([]Commit, error) {
	args := []string{
		"-c", "log.showSignature=false", "-c", "i18n.logOutputEncoding=UTF-8",
		// --topo-order: a commit always after its parents, whatever the
		// dates say, because a remediation only counts for earlier commits.
		"log", "-z", "--reverse", "--topo-order", "--no-color", "--no-mailmap", "--format=" + gitLogFormat,
		// --end-of-options keeps a range such as "--output=x" from being
		// taken for an option.
		"--end-of-options", rangeSpec, "--",
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var exit *exec.ExitError
		if msg == "" || !errors.As(err, &exit) {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git log %s (in %s): %s", rangeSpec, dir, msg)
	}
	return parseGitLog(stdout.String())
}

func parseGitLog(out string) ([]Commit, error) {
	var commits []Commit
	for _, rec := range strings.Split(out, "\x00") {
		if rec == "" { // after the last record's terminator
			continue
		}
		f := strings.SplitN(rec, "\x1f", 7)
		if len(f) != 7 || !isHex(f[0]) {
			return nil, fmt.Errorf("git log: unexpected output %q", ellipsis(rec, 200))
		}
		commits = append(commits, Commit{
			SHA:            f[0],
			ParentCount:    len(strings.Fields(f[1])),
			AuthorName:     f[2],
			AuthorEmail:    f[3],
			CommitterName:  f[4],
			CommitterEmail: f[5],
			Message:        f[6],
		})
	}
	return commits, nil
}
