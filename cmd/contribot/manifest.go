package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/SovereignCloudStack/contribot/app/setup"
)

const manifestUsage = `usage: contribot manifest --url URL [--name NAME] [--public]

Prints the GitHub App manifest for contribot: the webhook and setup URLs
below URL, and exactly the permissions and events the features use.

  --url URL     the service's public base URL (https; plain http only for
                127.0.0.1 or localhost), e.g. https://contribot.example.org
  --name NAME   the App's name on GitHub (default "contribot")
  --public      let other accounts install the App
`

// runManifest prints the App manifest, so an admin can register the App
// without running the service, or review what it asks for.
func runManifest(args []string, stdout, stderr io.Writer) int {
	c := newSubcommand("contribot manifest", manifestUsage, stdout, stderr)
	base := c.String("url", "", "")
	name := c.String("name", setup.DefaultName, "")
	public := c.Bool("public", false, "")
	if code, done := c.parse(args); done {
		return code
	}
	if *base == "" {
		return c.usageError("--url is required: the public base URL GitHub sends webhooks to, e.g. https://contribot.example.org")
	}
	o := setup.Options{Name: *name, URL: *base, Public: *public}
	if err := o.Validate(); err != nil {
		return c.usageError("%v", err)
	}
	b, err := json.MarshalIndent(setup.Manifest(o), "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "contribot manifest: encode the manifest: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}
