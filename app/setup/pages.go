package setup

import (
	"html/template"
	"strings"
)

// code renders the `backticks` of the shared Why texts (written for the
// README's Markdown) as <code>, escaping everything else.
func code(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
		} else {
			b.WriteString(template.HTMLEscapeString(part))
		}
	}
	return template.HTML(b.String())
}

// pages are server-rendered and script-free, so the flow works with
// JavaScript off and under a strict Content-Security-Policy.
var pages = template.Must(template.New("").Funcs(template.FuncMap{"code": code}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1f2328}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
pre,textarea{background:#f6f8fa;border:1px solid #d0d7de;padding:.5rem;overflow-x:auto;width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;font-size:.85rem}
button{font-size:1rem;padding:.4rem 1rem}.box{border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:1rem 0}
.warn{background:#fff8c5;border-color:#d4a72c}
</style></head><body>{{end}}

{{define "form"}}{{template "head" "Register contribot on GitHub"}}
<h1>Register {{.Name}} on GitHub</h1>
<p>This creates the GitHub App for this service, reachable at <code>{{.URL}}</code>, with exactly the
permissions and events listed below. GitHub shows you the settings before anything is created.</p>
{{if .Org}}
<div class="box">
<h2>For the organization {{.Org}}</h2>
<p>You need to be an owner of <code>{{.Org}}</code> (or one of its App managers).</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.ManifestJSON}}">
<button type="submit">Register on GitHub for {{.Org}}</button>
</form>
<p><a href="?">Register for another account instead</a></p>
</div>
{{else}}
<div class="box">
<h2>For an organization</h2>
<form method="get" action="">
<label>Organization name <input type="text" name="org" required maxlength="39" pattern="[A-Za-z0-9]+(-[A-Za-z0-9]+)*" autocomplete="off"></label>
<button type="submit">Continue</button>
</form>
</div>
<div class="box">
<h2>For your personal account</h2>
<form method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.ManifestJSON}}">
<button type="submit">Register on GitHub for my account</button>
</form>
</div>
{{end}}
<p>After you confirm on GitHub, it sends you back here once, with the App's ID, private key and
webhook secret. Finish within an hour, in this browser.</p>
<h2>Permissions</h2>
<table><tr><th>permission</th><th>access</th><th>why</th></tr>
{{range .Permissions}}<tr><td>{{.Title}}{{if .Organization}} (organization){{end}}</td><td>{{.Access}}</td><td>{{code .Why}}</td></tr>
{{end}}</table>
<h2>Events</h2>
<ul>{{range .Events}}<li><code>{{.Name}}</code>: {{code .Why}}</li>{{end}}</ul>
<details><summary>The manifest</summary><pre>{{.ManifestPretty}}</pre></details>
</body></html>{{end}}

{{define "error"}}{{template "head" .Title}}
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
<p><a href="{{.StartURL}}">Start again</a></p>
</body></html>{{end}}

{{define "done"}}{{template "head" "contribot is registered"}}
<h1>{{.App.Name}} is registered</h1>
<div class="box warn"><strong>This page is shown once.</strong> GitHub does not show the private key or
the webhook secret again, and this server keeps neither. Save them now. (Lost them? Generate a new
private key and set a new webhook secret in the App's settings.)</div>
<table>
<tr><th>App ID</th><td><code>{{.App.ID}}</code></td></tr>
<tr><th>App</th><td><a href="{{.App.HTMLURL}}">{{.App.Slug}}</a>, owned by <code>{{.App.Owner.Login}}</code></td></tr>
<tr><th>Webhook secret</th><td><code>{{.App.WebhookSecret}}</code></td></tr>
</table>
<h2>1. Save the private key</h2>
<p><a href="{{.KeyDownload}}" download="{{.KeyFile}}">Download {{.KeyFile}}</a>, or copy it:</p>
<textarea readonly rows="8" spellcheck="false">{{.App.PEM}}</textarea>
<h2>2. Configure the service</h2>
<p>Set these environment variables and restart contribot:</p>
<pre>{{.EnvLines}}</pre>
<p>(Instead of the file: <code>GITHUB_PRIVATE_KEY</code> with the key itself, newlines as <code>\n</code> allowed.){{if .Enterprise}}
For this GitHub Enterprise Server also set <code>GITHUB_API_URL={{.Enterprise}}</code>.{{end}}</p>
<p>On Fly.io, from the directory with <code>fly.toml</code> and the key file:</p>
<pre>{{.FlyCommand}}</pre>
<p>Then delete the key file, and turn this setup page off (unset <code>SETUP_ENABLED</code>).</p>
<h2>3. Install the App</h2>
<p>{{if .InstallURL}}<a href="{{.InstallURL}}">Install {{.App.Name}}</a>{{else}}Install the App from its page{{end}}
on the organization: all repositories, or those that should get the DCO check.</p>
</body></html>{{end}}
`))
