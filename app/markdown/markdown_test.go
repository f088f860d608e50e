package markdown

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const z = string(zwj)

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// Ordinary text comes out as it was.
		{"plain title", "Fix token expiry", "Fix token expiry"},
		{"author with address", "Ada Lovelace <ada@example.com>", "Ada Lovelace &lt;ada@example.com&gt;"},
		{"unicode name", "Übergröße für Nova, 日本語, عربي", "Übergröße für Nova, 日本語, عربي"},
		{"address at a hex-looking host", "bex@disney.com", "bex@disney.com"},
		{"colon and path", "nova: fix /var/lib", "nova: fix /var/lib"},
		{"emoji with presentation selector", "ship it ❤️", "ship it ❤️"},
		{"empty", "", ""},

		// Any GitHub user (commit author, issue title) or any upstream host
		// (a Gerrit or GitLab title) writes these.
		{"any GitHub user: mention notifies", "cc @alice", "cc @" + z + "alice"},
		{"any GitHub user: team mention", "@org/team please", "@" + z + "org/team please"},
		{"any GitHub user: mention after a non-ASCII letter", "é@alice", "é@" + z + "alice"},
		{"any GitHub user: mention after a dot", "x.@alice", "x.@" + z + "alice"},
		{"any GitHub user: issue reference", "fixes #123", "fixes \\#" + z + "123"},
		{"any GitHub user: cross-repository reference adds a backlink", "see victim/private#4", "see victim/private\\#" + z + "4"},
		{"any GitHub user: GH- reference", "closes GH-26 and gh-27", "closes GH-" + z + "26 and gh-" + z + "27"},
		{"any GitHub user: user@sha commit link", "mallory@a5c3785ed8d6a35868bc169f07e40e889087fd2e", "mallory@" + z + "a5c3785ed8d6a35868bc169f07e40e889087fd2e"},
		{"any GitHub user: owner/repo@sha commit link", "see o/r@a5c3785 now", "see o/r@" + z + "a5c3785 now"},
		{"any GitHub user: address with a hex host loses only its mailto link", "x@deadbeef0.example", "x@" + z + "deadbeef0.example"},
		{"upstream host: bare https URL", "see https://evil.example/x", "see https:" + z + "//evil.example/x"},
		{"upstream host: ftp URL", "ftp://evil.example", "ftp:" + z + "//evil.example"},
		{"upstream host: www autolink", "see www.evil.example", "see www" + z + ".evil.example"},
		{"upstream host: www autolink after an escaped star", "*www.evil.example", `\*www` + z + ".evil.example"},
		{"upstream host: www autolink at the start", "WWW.evil.example", "WWW" + z + ".evil.example"},
		{"upstream host: www inside a domain is no autolink", "a.www.example ada@www.example.org", "a.www.example ada@www.example.org"},
		{"upstream host: URL split by a zero-width space", "http:\u200b//evil.example", "http:" + z + "//evil.example"},
		{"upstream host: mention split by a zero-width space", "@\u200balice", "@" + z + "alice"},
		{"any GitHub user: bidi override disguises a file name", "invoice\u202efdp.exe", "invoicefdp.exe"},
		{"any GitHub user: bidi isolates and marks", "a\u2066b\u2069c\u200fd\u061ce", "abcde"},
		{"any GitHub user: invisible name", "\u3164\u115f\u200b\ufeff", ""},
		{"any GitHub user: tag characters smuggle text", "hi\U000e0041\U000e0042", "hi"},
		{"any GitHub user: table pipe", "a | b", `a \| b`},
		{"any GitHub user: line breaks end the cell", "  one\r\ntwo\t\x1b[2J three\n\n", `one two \[2J three`},
		{"any GitHub user: unicode line separator", "one\u2028two", "one two"},
		{"any GitHub user: html", `<img src=x onerror="alert(1)">`, `&lt;img src=x onerror="alert\(1\)"&gt;`},
		{"any GitHub user: html comment hides the marker", "<!-- contribot:upstream -->", `&lt;\!-- contribot:upstream --&gt;`},
		{"any GitHub user: link", "[click](https://evil.example)", `\[click\]\(https:` + z + `//evil.example\)`},
		{"any GitHub user: image", "![x](y)", `\!\[x\]\(y\)`},
		{"any GitHub user: code span", "`rm -rf`", "\\`rm -rf\\`"},
		{"any GitHub user: emphasis", "**bold** _it_ ~~gone~~", `\*\*bold\*\* \_it\_ \~\~gone\~\~`},
		{"any GitHub user: math", `$\Huge\text{APPROVED}$`, `&#36;\\Huge\\text\{APPROVED\}&#36;`},
		{"any GitHub user: math in backticks", "$`x`$", "&#36;\\`x\\`&#36;"},
		{"any GitHub user: emoji shortcode in an author name", ":white_check_mark: approved", ":" + z + `white\_check\_mark: approved`},
		{"any GitHub user: emoji shortcodes back to back", ":+1::-1:", ":" + z + "+1:" + ":" + z + "-1:"},
		{"any GitHub user: emoji name after a word", "ok:100:", "ok:" + z + "100:"},
		{"any GitHub user: heading loses a trailing #", "x #", `x \#`},
		{"any GitHub user: heading loses trailing #s", "x ##", `x \#\#`},
		{"any GitHub user: entity mention", "&#64;alice", "&amp;\\#" + z + "64;alice"},
		{"any GitHub user: backslash escapes itself", `a\|b`, `a\\\|b`},
		{"any GitHub user: heading at a line start", "# big", `\# big`},
		{"any GitHub user: hash in the middle", "C# and F#", `C\# and F\#`},
		{"any GitHub user: heading reference at a line start", "#12", `\#` + z + "12"},
		{"any GitHub user: list at a line start", "- item", `\- item`},
		{"any GitHub user: ordered list at a line start", "1. item", `1\. item`},
		{"any GitHub user: invalid UTF-8", "bad \xff byte", "bad \ufffd byte"},
		{"lone signs stay", "meet @ noon, # 1, GH-x, a:b, 12:30, :(, a: b:", `meet @ noon, \# 1, GH-x, a:b, 12:30, :\(, a: b:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Text(tt.in)
			if got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkText(t, tt.in, got)
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "/dco recheck", "`/dco recheck`"},
		{"empty", "", ""},
		{"maintainer: backtick inside", "git rebase 'a`b'", "`` git rebase 'a`b' ``"},
		{"maintainer: backtick at the end", "x`", "`` x` ``"},
		{"maintainer: line breaks", "a\nb\r\n c", "`a b c`"},
		{"any GitHub user: bidi override inside code", "main\u202e.yml", "`main.yml`"},
		{"any GitHub user: invalid UTF-8", "\xff", "`\ufffd`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.in); got != tt.want {
				t.Errorf("Code(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestInvisible(t *testing.T) {
	for _, r := range []rune{0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
		0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x061c, 0x2060, 0xfeff, 0x00ad, 0x180e, 0x3164, 0x115f, 0x034f, 0xe0041, 0xe0100} {
		if !Invisible(r) {
			t.Errorf("Invisible(%U) = false", r)
		}
	}
	for _, r := range []rune{'a', ' ', 'é', '日', 0xfe0f, '\ufffd', '\u2028'} {
		if Invisible(r) {
			t.Errorf("Invisible(%U) = true", r)
		}
	}
}

// FuzzText checks what must hold for any input: the result is valid UTF-8
// on one line, no bounded as Text promises, GitHub finds no pattern in what
// it decodes, and decoding gives back the input's visible text.
func FuzzText(f *testing.F) {
	for _, s := range []string{
		"cc @alice #1 GH-2 o/r#3 u@a5c3785 https://x www.x", "Ada <ada@example.com>", "\u202ea\u2066", "# x",
		"&#64;a", "`|*_[]()~!{}$\\", "x\xffy", "ﬁ www.x", "@@a", "gh-gh-1", "w.www.www.x", "1) a", "\U000e0041",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkText(t, in, Text(in))
	})
}

// patterns are what GitHub turns into links, mentions or references in
// the decoded text, written as loosely as GitHub's own patterns or more.
var patterns = []*regexp.Regexp{
	regexp.MustCompile(`(?:^|[^A-Za-z0-9_])@[A-Za-z0-9]`),         // @mention
	regexp.MustCompile(`[A-Za-z0-9_]@[0-9a-fA-F]{7,}(?:[^\w]|$)`), // user@sha
	regexp.MustCompile(`#[0-9]`),                                  // #26, owner/repo#26
	regexp.MustCompile(`(?i)gh-[0-9]`),                            // GH-26
	regexp.MustCompile(`://`),                                     // http://, https://, ftp://
	regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9.@\x{200d}-])www\.`),  // www. (after our joiner, cmark sees no space)
	regexp.MustCompile(`:[A-Za-z0-9_+-]+:`),                       // :emoji:
}

// checkText asserts Text's invariants for in and its result out.
func checkText(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Text(%q) = %q: invalid UTF-8", in, out)
	}
	if len(out) > 5*len(in) {
		t.Fatalf("Text(%q) = %q: %d bytes from %d", in, out, len(out), len(in))
	}
	if strings.ContainsAny(out, "\n\r<>") {
		t.Fatalf("Text(%q) = %q: a line break or raw HTML", in, out)
	}
	prev := rune(0)
	for _, r := range out {
		if r == zwj {
			if !strings.ContainsRune("@#-:wW", prev) {
				t.Fatalf("Text(%q) = %q: a joiner after %q, where none was inserted", in, out, prev)
			}
		} else if Invisible(r) || unicode.IsControl(r) {
			t.Fatalf("Text(%q) = %q: invisible or control character %U", in, out, r)
		}
		prev = r
	}
	dec, ok := decode(out)
	if !ok {
		t.Fatalf("Text(%q) = %q: an unescaped Markdown character", in, out)
	}
	for _, p := range patterns {
		if loc := p.FindStringIndex(dec); loc != nil {
			t.Fatalf("Text(%q) = %q: GitHub would act on %q in %q", in, out, dec[loc[0]:loc[1]], dec)
		}
	}
	if got, want := strings.ReplaceAll(dec, z, ""), visible(in); got != want {
		t.Fatalf("Text(%q) = %q reads %q, want %q", in, out, got, want)
	}
}

// decode is what CommonMark makes of Text's output: backslash escapes and
// the entities resolved. ok is false if a syntax character, "$" included,
// stands unescaped.
func decode(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) || !strings.ContainsRune(backslashed+"#-+=.)", rune(s[i+1])) {
				return "", false
			}
			i++
			b.WriteByte(s[i])
		case c == '&':
			ent, r := "", rune(0)
			for er, e := range entities {
				if strings.HasPrefix(s[i:], e) {
					ent, r = e, er
				}
			}
			if ent == "" {
				return "", false
			}
			b.WriteRune(r)
			i += len(ent) - 1
		case strings.IndexByte(backslashed+"$", c) >= 0:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// visible is in as a reader sees it on one line: valid UTF-8, invisible
// characters gone, spaces and controls collapsed.
func visible(in string) string {
	in = strings.ToValidUTF8(in, "\ufffd")
	in = strings.Map(func(r rune) rune {
		switch {
		case Invisible(r):
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, in)
	return strings.Join(strings.Fields(in), " ")
}

// TestText_AnyGitHubUser_Adversary runs the strings of the adversarial
// review of the escaping (issue 11, class 9): what any GitHub user can put
// in a commit author, an issue title or an upstream title. Each must come
// out with every invariant of checkText, including the five-fold bound on
// the worst inputs. The review rendered them with cmark-gfm in a table
// cell, a list item, a heading, a sentence and link text; checkText holds
// the reasons those renderings were clean.
func TestText_AnyGitHubUser_Adversary(t *testing.T) {
	for _, in := range []string{
		"cc @alice", "@alice", "@org/team", "é@alice", "日@alice", "x.@alice", "_@alice", "*@alice*", "**@alice**",
		"[@alice](https://x.example)", "\"@alice\"", "<@alice>", "&@alice", "(@alice)", "\uff20alice", "\ufe6balice",
		"&#64;alice", "&#x40;alice", "&commat;alice", "x\u200b@alice", "@\u00adalice", "a\u0301@alice", "a\u00a0@alice", "a\n@alice",
		"#1", "fixes #123", "#\uff11", "GH-1", "see gh-12", "xGH-1", "victim/private#4", "a.b/c.d#4",
		"mallory@a5c3785ed8d6a35868bc169f07e40e889087fd2e", "mallory@a5c3785", "o/r@a5c3785", "my-org/my-repo@a5c3785 x", "m@A5C3785",
		"&#35;12", "GH&#45;12", "https://evil.example/x", "HTTP://evil.example", "ftp://evil.example", "www.evil.example",
		"(www.evil.example)", "~www.evil.example", "_www.evil.example", "a\twww.evil.example", "a\u00a0www.evil.example", "a\u3000www.evil.example",
		"https://github.com/victim/repo/issues/1", "www.github.com/victim/repo/issues/1", "mailto:a@evil.example", "xmpp:a@evil.example",
		"<https://evil.example>", "a | b", "a\\| b", "a\\\\| b", "`x` ``y``", "```\n@alice\n```", "a\rb", "a\u2028b", "a\u2029b", "a\u0085b", "a\v\fb",
		"<!-- x -->", "<!-- contribot:upstream -->", "<img src=x onerror=alert(1)>", "<details><summary>x</summary>y</details>", "<kbd>Ctrl</kbd>",
		"&#64;&lt;&amp;", "a\u202eb", "a\u2066b\u2069", "a\u200b\u200c\u200d\u200e\u200fb", "a\u2060\u2061\u2062\u2063\u2064b", "\ufeffa", "a\u180eb",
		"a\U000E0041\U000E007Fb", "\u3164\uffa0\u115f\u1160", "\u2800\u2800", ":white_check_mark: approved", ":+1:", "- [x] done", "[^1]", "[^1]: x",
		"$\\Huge\\text{APPROVED}$", "$`\\Huge x`$", "```mermaid\ngraph TD\n```", "> [!NOTE]\n> x", "`#ff0000`", "# x", "===", "***", "1. x", "1) x",
		"+ x", "> x", "![x](https://evil.example/a.png)", "[a]: https://evil.example", "[a]", "~~x~~", "~x~", "x #", "x ##",
		"https://github.com/user-attachments/assets/x", "x\\", "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80",
		// The worst cases for the five-fold bound.
		strings.Repeat("#1", 1000), strings.Repeat("&", 1000), strings.Repeat("$", 1000), "#" + strings.Repeat("@a", 1000),
		strings.Repeat("\xff", 1000), strings.Repeat("www.", 1000), strings.Repeat(" www.x", 1000), strings.Repeat("http://", 1000),
		strings.Repeat("gh-1", 1000), strings.Repeat("a@a5c3785 ", 300), strings.Repeat(":a", 1000) + ":", strings.Repeat("\u202e", 1000),
		strings.Repeat("\x00", 1000),
	} {
		checkText(t, in, Text(in))
	}
}

// TestText_AnyGitHubUser_RandomTokens strings the pieces of GitHub's
// patterns together at random, as the review did, with fixed seeds so a
// failure repeats.
func TestText_AnyGitHubUser_RandomTokens(t *testing.T) {
	tokens := []string{"@", "a", "alice", "#", "1", "GH", "gh", "-", "/", "o/r", ":", "//", "http", "https", "ftp", "www", ".", "w", "_",
		"*", "~", "(", ")", "[", "]", "!", "`", "|", "\\", "<", ">", "&", ";", "#64", "x", " ", "\n", "\u200b", "\u200d", "é", "a5c3785",
		"deadbeef", "$", "{", "}", "=", "+", "1.", "\t", "\u00a0", "\u3000", "'", "\"", "%", "?", "e", "+1", "white_check_mark"}
	for _, seed := range []int64{11, 12, 13} {
		rng := rand.New(rand.NewSource(seed))
		for range 8000 {
			var b strings.Builder
			for j := rng.Intn(12) + 1; j > 0; j-- {
				b.WriteString(tokens[rng.Intn(len(tokens))])
			}
			checkText(t, b.String(), Text(b.String()))
		}
	}
}
