package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// CommitOption adjusts a commit built by Commit.
type CommitOption func(*github.RepositoryCommit)

// Parents replaces the commit's parents (default: one made-up parent). No
// SHAs makes a root commit; two make a merge commit.
func Parents(shas ...string) CommitOption {
	return func(c *github.RepositoryCommit) {
		c.Parents = nil
		for _, sha := range shas {
			c.Parents = append(c.Parents, &github.Commit{SHA: github.String(sha)})
		}
	}
}

// CommitterLogin sets the GitHub account GitHub matched to the committer's
// email; "" means none (the committer object is null), as for an email that
// belongs to no account.
func CommitterLogin(login string) CommitOption {
	return func(c *github.RepositoryCommit) {
		c.Committer = nil
		if login != "" {
			c.Committer = NewUser(login)
		}
	}
}

// Verified marks the commit's signature as verified by GitHub (reason
// "valid" when reason is "").
func Verified(reason string) CommitOption {
	if reason == "" {
		reason = "valid"
	}
	return func(c *github.RepositoryCommit) {
		c.Commit.Verification = &github.SignatureVerification{
			Verified:  github.Bool(true),
			Reason:    github.String(reason),
			Signature: github.String("-----BEGIN PGP SIGNATURE-----\n\nfake\n-----END PGP SIGNATURE-----\n"),
			Payload:   github.String("tree " + c.Commit.Tree.GetSHA() + "\n"),
		}
	}
}

// defaultDate is the date of the commit in GitHub's pulls-list-commits
// example, so that commits built without dates compare equal across runs.
var defaultDate = time.Date(2011, 4, 14, 16, 0, 49, 0, time.UTC)

// Commit builds a commit in the shape of an item of GitHub's "list commits on
// a pull request" answer (fixtures/github/rest/pulls-list-commits.json):
// git author and committer, message, tree, one parent, an unsigned
// verification, and the GitHub account GitHub matched to the author's email,
// login, whose type is "Bot" for logins ending in "[bot]". login "" means no
// account matched: the author object is null, as GitHub answers for unlinked
// emails. committer nil means the author committed; the committer account is
// the author's when the committer's name and email are the author's, else
// null (see CommitterLogin). Missing dates are set to a fixed date. URLs are
// filled in by the server, which knows its repository and address.
func Commit(sha, msg string, author, committer *github.CommitAuthor, login string, opts ...CommitOption) *github.RepositoryCommit {
	if author == nil {
		name := login
		if name == "" {
			name = "Unknown Author"
		}
		author = &github.CommitAuthor{Name: github.String(name), Email: github.String(noreplyEmail(login))}
	}
	a := copyAuthor(author)
	cm := copyAuthor(author)
	sameCommitter := true
	if committer != nil {
		cm = copyAuthor(committer)
		sameCommitter = committer.GetName() == author.GetName() && committer.GetEmail() == author.GetEmail()
	}
	c := &github.RepositoryCommit{
		SHA:    github.String(sha),
		NodeID: github.String(base64.StdEncoding.EncodeToString([]byte("06:Commit" + sha))),
		Commit: &github.Commit{
			Author:       a,
			Committer:    cm,
			Message:      github.String(msg),
			Tree:         &github.Tree{SHA: github.String(fakeSHA("tree", sha))},
			CommentCount: github.Int(0),
			Verification: &github.SignatureVerification{
				Verified: github.Bool(false),
				Reason:   github.String("unsigned"),
			},
		},
		Parents: []*github.Commit{{SHA: github.String(fakeSHA("parent", sha))}},
	}
	if login != "" {
		c.Author = NewUser(login)
		if sameCommitter {
			c.Committer = NewUser(login)
		}
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func copyAuthor(a *github.CommitAuthor) *github.CommitAuthor {
	out := &github.CommitAuthor{Name: a.Name, Email: a.Email, Date: a.Date}
	if out.Date == nil {
		out.Date = &github.Timestamp{Time: defaultDate}
	}
	return out
}

func noreplyEmail(login string) string {
	if login == "" {
		return "unknown@example.com"
	}
	return fmt.Sprintf("%d+%s@users.noreply.github.com", userID(login), login)
}

// fakeSHA derives a stable, well-formed SHA so that made-up objects (trees,
// parents) look like GitHub's and do not change between runs.
func fakeSHA(kind, seed string) string {
	sum := sha1.Sum([]byte(kind + "\x00" + seed))
	return hex.EncodeToString(sum[:])
}

// gitBlobSHA is the SHA git (and the contents API) gives a file's bytes.
func gitBlobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// Real ids of accounts that show up in commit lists, so that code keyed on
// them (e.g. exempting dependabot) sees what GitHub sends.
var knownUserIDs = map[string]int64{
	"web-flow":            19864447,
	"dependabot[bot]":     49699333,
	"github-actions[bot]": 41898282,
	"renovate[bot]":       29139614,
}

func userID(login string) int64 {
	if id, ok := knownUserIDs[strings.ToLower(login)]; ok {
		return id
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return 1_000_000 + int64(h.Sum32()%100_000_000)
}

// NewUser is the account object GitHub embeds for login (type "Bot" for
// logins ending in "[bot]"), with a stable id derived from the login. The
// server fills in its API URLs when it answers.
func NewUser(login string) *github.User {
	id := userID(login)
	typ, prefix := "User", "04:User"
	if strings.HasSuffix(login, "[bot]") {
		typ, prefix = "Bot", "03:Bot"
	}
	return &github.User{
		Login:      github.String(login),
		ID:         github.Int64(id),
		NodeID:     github.String(base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s%d", prefix, id)))),
		AvatarURL:  github.String(fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id)),
		GravatarID: github.String(""),
		HTMLURL:    github.String("https://github.com/" + strings.TrimSuffix(login, "[bot]")),
		Type:       github.String(typ),
		SiteAdmin:  github.Bool(false),
	}
}

// object is a JSON object being adjusted before it is sent: go-github's
// types drop fields that GitHub sends as null (omitempty), and lack some
// URLs, so answers are built from them and then completed here.
type object map[string]any

func toObject(v any) object {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakegithub: marshal %T: %v", v, err))
	}
	var o object
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		panic(fmt.Sprintf("fakegithub: %T is not an object: %v", v, err))
	}
	return o
}

func (o object) def(key string, v any) {
	if _, ok := o[key]; !ok {
		o[key] = v
	}
}

func (o object) obj(key string) object {
	if m, ok := o[key].(map[string]any); ok {
		return object(m)
	}
	if m, ok := o[key].(object); ok {
		return m
	}
	return nil
}

const htmlBase = "https://github.com/"

// fillUser completes a user object with the API URLs GitHub includes.
func (s *Server) fillUser(u object) {
	if u == nil {
		return
	}
	login, _ := u["login"].(string)
	api := s.base + "users/" + login
	u.def("url", api)
	u.def("html_url", htmlBase+login)
	u.def("followers_url", api+"/followers")
	u.def("following_url", api+"/following{/other_user}")
	u.def("gists_url", api+"/gists{/gist_id}")
	u.def("starred_url", api+"/starred{/owner}{/repo}")
	u.def("subscriptions_url", api+"/subscriptions")
	u.def("organizations_url", api+"/orgs")
	u.def("repos_url", api+"/repos")
	u.def("events_url", api+"/events{/privacy}")
	u.def("received_events_url", api+"/received_events")
	u.def("type", "User")
	u.def("site_admin", false)
	u.def("gravatar_id", "")
}

func (s *Server) userObject(login string) object {
	u := toObject(NewUser(login))
	s.fillUser(u)
	return u
}

// commitObject renders a stored commit as GitHub does in commit lists.
func (s *Server) commitObject(owner, repo string, c *github.RepositoryCommit) object {
	o := toObject(c)
	sha, _ := o["sha"].(string)
	api := s.base + "repos/" + owner + "/" + repo
	html := htmlBase + owner + "/" + repo
	o.def("url", api+"/commits/"+sha)
	o.def("html_url", html+"/commit/"+sha)
	o.def("comments_url", api+"/commits/"+sha+"/comments")
	// GitHub sends null, not nothing, for accounts it could not match.
	o.def("author", nil)
	o.def("committer", nil)
	s.fillUser(o.obj("author"))
	s.fillUser(o.obj("committer"))
	o.def("parents", []any{})
	if ps, ok := o["parents"].([]any); ok {
		for _, p := range ps {
			if po, ok := p.(map[string]any); ok {
				psha, _ := po["sha"].(string)
				object(po).def("url", api+"/commits/"+psha)
				object(po).def("html_url", html+"/commit/"+psha)
			}
		}
	}
	if cm := o.obj("commit"); cm != nil {
		cm.def("url", api+"/git/commits/"+sha)
		cm.def("comment_count", 0)
		if t := cm.obj("tree"); t != nil {
			tsha, _ := t["sha"].(string)
			t.def("url", api+"/git/trees/"+tsha)
		}
		cm.def("verification", map[string]any{"verified": false, "reason": "unsigned"})
		if v := cm.obj("verification"); v != nil {
			v.def("signature", nil)
			v.def("payload", nil)
		}
	}
	return o
}
