package rules

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// Duration is a length of time written as whole days ("60d"), whole weeks
// ("8w") or a Go duration ("72h", "90m"): rules speak in days and weeks,
// which time.ParseDuration does not know. It reads and writes itself as
// that text, in YAML and JSON alike.
type Duration time.Duration

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// durationForms is what error messages offer, so every message names the
// same accepted forms.
const durationForms = `"60d", "8w" or "72h"`

// maxDays is the longest duration in days.
const maxDays = math.MaxInt64 / int64(day)

var daysOrWeeks = regexp.MustCompile(`^(-?)([0-9]+)([dw])$`)

// ParseDuration reads the forms Duration accepts. Its errors name the
// accepted forms but not the setting; callers prefix that.
func ParseDuration(s string) (Duration, error) {
	if m := daysOrWeeks.FindStringSubmatch(s); m != nil {
		unit := day
		if m[3] == "w" {
			unit = week
		}
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) {
			return 0, fmt.Errorf("%q is too long; durations go up to %dd", s, maxDays)
		}
		if m[1] == "-" {
			n = -n
		}
		return Duration(time.Duration(n) * unit), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as %s, got %q", durationForms, s)
	}
	return Duration(d), nil
}

// String writes whole days as "Nd", the form rules files use, and anything
// else as Go does; ParseDuration reads both back.
func (d Duration) String() string {
	if d != 0 && time.Duration(d)%day == 0 {
		return strconv.FormatInt(int64(time.Duration(d)/day), 10) + "d"
	}
	return time.Duration(d).String()
}

// MarshalText makes JSON and YAML write the text an admin writes, not a
// count of nanoseconds.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText reads what MarshalText writes and any other accepted form.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
