package fakegithub

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// repoState is what the fake knows about one repository. GitHub treats owner
// and repository names case-insensitively, so the map key is lower case; the
// spelling first used is kept for URLs.
type repoState struct {
	owner, name string
	id          int64
	pulls       map[int]*github.PullRequest
	prCommits   map[int][]*github.RepositoryCommit
	prFiles     map[int][]*github.CommitFile
	compares    map[string][]*github.RepositoryCommit // "base...head"
	commits     map[string][]*github.RepositoryCommit // ?sha= value ("" = default branch)
	files       map[string][]byte
	perms       map[string]string // lower-case login → role
	checkRuns   []*github.CheckRun
	comments    map[int][]*github.IssueComment
	labels      map[int][]string     // issue or PR number → names, spelled as the repository label
	repoLabels  []*github.Label      // in creation order; names unique ignoring case
	search      map[int]*searchEntry // the issue store: issues and pull requests
	private     bool                 // seen only by the owner's installation
}

func (s *Server) repoState(owner, repo string) *repoState {
	key := strings.ToLower(owner + "/" + repo)
	rs := s.repos[key]
	if rs == nil {
		s.nextID++
		rs = &repoState{
			owner: owner, name: repo, id: s.nextID,
			pulls:     map[int]*github.PullRequest{},
			prCommits: map[int][]*github.RepositoryCommit{},
			prFiles:   map[int][]*github.CommitFile{},
			compares:  map[string][]*github.RepositoryCommit{},
			commits:   map[string][]*github.RepositoryCommit{},
			files:     map[string][]byte{},
			perms:     map[string]string{},
			comments:  map[int][]*github.IssueComment{},
			labels:    map[int][]string{},
			search:    map[int]*searchEntry{},
		}
		s.repos[key] = rs
	}
	return rs
}

// lookupRepo does not create state: a GET must not change what later calls see.
func (s *Server) lookupRepo(owner, repo string) *repoState {
	return s.repos[strings.ToLower(owner+"/"+repo)]
}

// clone deep-copies through JSON so that neither the test nor the server can
// change the other's values after the hand-over (and -race stays quiet).
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakegithub: copy %T: %v", v, err))
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("fakegithub: copy %T: %v", v, err))
	}
	return out
}

// AddPullRequest stores pr (by pr.Number) for GET /repos/{o}/{r}/pulls/{n};
// missing number-derived URLs are filled in when it is served. Check runs
// created on its head SHA list it under pull_requests.
func (s *Server) AddPullRequest(owner, repo string, pr *github.PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).pulls[pr.GetNumber()] = clone(pr)
}

// SetPRCommits sets the commits of pull request number, oldest first, as
// GET /repos/{o}/{r}/pulls/{n}/commits lists them. Like GitHub, the endpoint
// lists only the first 250, however many are set.
func (s *Server) SetPRCommits(owner, repo string, number int, commits []*github.RepositoryCommit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).prCommits[number] = clone(commits)
}

// SetPRFiles sets the files changed by pull request number, as
// GET /repos/{o}/{r}/pulls/{n}/files lists them. Fields left unset get
// GitHub-like values when served: status "modified"; additions and
// deletions by status (1 and 1 for modified, 1 and 0 for added, 0 and 1 for
// removed, 0 and 0 for renamed, copied and unchanged) when neither is set,
// else 0 for the unset one; changes their sum; a stable blob sha; blob_url, raw_url and
// contents_url at the pull request's head SHA (its base SHA for removed
// files), with the filename escaped as GitHub does (".github%2Fci.yml"); and
// a unified-diff patch with as many lines as additions and deletions (none
// for diffs over 1000 lines, as GitHub leaves out large patches).
// previous_filename is sent only when set. Like GitHub, the endpoint lists
// only the first 3000 files, however many are set: pages beyond them are
// empty.
func (s *Server) SetPRFiles(owner, repo string, number int, files []*github.CommitFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).prFiles[number] = clone(files)
}

// SetCompare sets the commits between base and head, oldest first, for
// GET /repos/{o}/{r}/compare/{base}...{head}. base and head are matched as
// written in the URL (SHAs, branch names, or "owner:branch").
func (s *Server) SetCompare(owner, repo, base, head string, commits []*github.RepositoryCommit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).compares[base+"..."+head] = clone(commits)
}

// SetCommits sets what GET /repos/{o}/{r}/commits?sha=ref lists (newest
// first, as GitHub lists them); ref "" is the answer without ?sha=.
func (s *Server) SetCommits(owner, repo, ref string, commits []*github.RepositoryCommit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).commits[ref] = clone(commits)
}

// SetFile stores a file for GET /repos/{o}/{r}/contents/{path} (any ref).
func (s *Server) SetFile(owner, repo, path string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).files[strings.TrimPrefix(path, "/")] = slices.Clone(content)
}

// DeleteFile removes a file; the contents endpoint then answers 404.
func (s *Server) DeleteFile(owner, repo, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repoState(owner, repo).files, strings.TrimPrefix(path, "/"))
}

// SetMember sets whether login is a member of org, for
// GET /orgs/{org}/members/{login} (204 or 404). Unknown logins are not members.
func (s *Server) SetMember(org, login string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(org)
	if s.members[key] == nil {
		s.members[key] = map[string]bool{}
	}
	s.members[key][strings.ToLower(login)] = member
}

// SetPermission sets login's role on a repository: admin, maintain, write,
// triage, read or none. The permission endpoint answers the role in
// role_name and, as GitHub does, folds maintain into "write" and triage
// into "read" in permission. Logins never set answer "none".
func (s *Server) SetPermission(owner, repo, login, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).perms[strings.ToLower(login)] = perm
}

// CheckRuns returns the check runs created in a repository, in creation
// order, with every update applied. Unlike GitHub's answers, their output
// keeps the annotations sent (all of them, across updates), so tests can
// assert on them.
func (s *Server) CheckRuns(owner, repo string) []*github.CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil {
		return nil
	}
	return clone(rs.checkRuns)
}

// Comments returns the comments on issue or pull request number, in order.
func (s *Server) Comments(owner, repo string, number int) []*github.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil {
		return nil
	}
	return clone(rs.comments[number])
}

// AddComment stores a comment as if login had written it, for code that
// reads existing comments (e.g. to find its own sticky comment).
func (s *Server) AddComment(owner, repo string, number int, login, body string) *github.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.addComment(s.repoState(owner, repo), number, NewUser(login), body))
}
