package provider

import (
	"errors"
	"fmt"
	"strconv"
)

// Failure is a check that failed. Its Error is the public text, which
// names the host and at most the HTTP status it answered: the page, the
// API, the dashboard and status comments show it. The dial, DNS or TLS
// error, or the start of an answer, would make those pages a scanner of the
// service's network for anyone who can name a host in rules (which host
// answers, on which port, with what); Cause keeps them for the log.
type Failure struct {
	Public string
	Cause  error
}

func (f *Failure) Error() string { return f.Public }
func (f *Failure) Unwrap() error { return f.Cause }

// unreachable: no answer at all (DNS, connection, TLS, timeout, or a
// connection the guard refused).
func unreachable(host string, err error) *Failure {
	return &Failure{Public: "could not reach " + host, Cause: err}
}

// answered: an HTTP status that says nothing about the item.
func answered(host string, code int, err error) *Failure {
	return &Failure{Public: host + " answered HTTP " + strconv.Itoa(code), Cause: err}
}

// unreadable: an answer that is not what the API sends.
func unreadable(host string, err error) *Failure {
	return &Failure{Public: host + " sent an answer that could not be read", Cause: err}
}

// PublicText is the text of a failed check that may be shown anywhere. An
// error that is neither a Failure nor a RateLimitError (whose text is
// contribot's own: provider, host, status, wait) has its details left
// out.
func PublicText(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Public
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.Error()
	}
	return "could not check"
}

// Detail is the whole of err, the cause of a Failure included, for the
// log.
func Detail(err error) string {
	if err == nil {
		return ""
	}
	var f *Failure
	if errors.As(err, &f) && f.Cause != nil {
		return fmt.Sprintf("%s (%s)", err.Error(), f.Cause.Error())
	}
	return err.Error()
}

// public makes err one whose text may be shown anywhere, naming host:
// errors that are already are kept as they are.
func public(host string, err error) error {
	var f *Failure
	var rl *RateLimitError
	if errors.As(err, &f) || errors.As(err, &rl) {
		return err
	}
	return &Failure{Public: "could not check on " + host, Cause: err}
}
