package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// subcommand is the flag handling every offline command shares: errors
// name the command and end with its usage, -h prints the usage.
type subcommand struct {
	name, usage    string
	stdout, stderr io.Writer
	*flag.FlagSet
}

func newSubcommand(name, usage string, stdout, stderr io.Writer) *subcommand {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by usageError, in one place
	return &subcommand{name: name, usage: usage, stdout: stdout, stderr: stderr, FlagSet: fs}
}

// usageError reports a usage mistake and returns exit status 2.
func (c *subcommand) usageError(format string, a ...any) int {
	fmt.Fprintf(c.stderr, c.name+": "+format+"\n\n%s", append(a, c.usage)...)
	return 2
}

// parse parses args; done is true when the caller should exit with code.
func (c *subcommand) parse(args []string) (code int, done bool) {
	err := c.Parse(args)
	switch {
	case err == nil && c.NArg() > 0:
		return c.usageError("unexpected argument %q", c.Arg(0)), true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, c.usage)
		return 0, true
	case err != nil:
		return c.usageError("%v", err), true
	}
	return 0, false
}
