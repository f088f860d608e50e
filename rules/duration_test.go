package rules

import (
	"encoding/json"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "60d", want: 60 * day},
		{in: "8w", want: 8 * week},
		{in: "0d", want: 0},
		{in: "-2d", want: -2 * day},
		{in: "72h", want: 72 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "106751d", want: 106751 * day},
		{in: "106752d", err: `"106752d" is too long; durations go up to 106751d`},
		{in: "99999999999999999999w", err: `"99999999999999999999w" is too long; durations go up to 106751d`},
		{in: "9999999999h", err: `want a duration such as "60d", "8w" or "72h", got "9999999999h"`},
		{in: "60D", err: `want a duration such as "60d", "8w" or "72h", got "60D"`},
		{in: "2 weeks", err: `want a duration such as "60d", "8w" or "72h", got "2 weeks"`},
		{in: "1d12h", err: `want a duration such as "60d", "8w" or "72h", got "1d12h"`},
		{in: "", err: `want a duration such as "60d", "8w" or "72h", got ""`},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		switch {
		case tt.err != "":
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
		case err != nil || time.Duration(got) != tt.want:
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, time.Duration(got), err, tt.want)
		}
	}
}

// A Duration is written as the text an admin writes, and read back.
func TestDurationText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{60 * day, "60d"},
		{14 * day, "14d"},
		{-2 * day, "-2d"},
		{36 * time.Hour, "36h0m0s"},
		{90 * time.Minute, "1h30m0s"},
		{0, "0s"},
	}
	for _, tt := range tests {
		d := Duration(tt.d)
		if got := d.String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
		j, err := json.Marshal(struct{ D Duration }{d})
		if want := `{"D":"` + tt.want + `"}`; err != nil || string(j) != want {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", tt.d, j, err, want)
		}
		var back struct{ D Duration }
		if err := json.Unmarshal(j, &back); err != nil || back.D != d {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", j, time.Duration(back.D), err, tt.d)
		}
		y, err := yaml.Marshal(struct{ D Duration }{d})
		if want := "d: " + tt.want + "\n"; err != nil || string(y) != want {
			t.Errorf("yaml.Marshal(%v) = %q, %v; want %q", tt.d, y, err, want)
		}
	}
	var bad struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D":"soon"}`), &bad); err == nil {
		t.Errorf(`json.Unmarshal of "soon" = %v, want an error`, time.Duration(bad.D))
	}
	if err := json.Unmarshal([]byte(`{"D":5}`), &bad); err == nil {
		t.Errorf("json.Unmarshal of a number = %v, want an error", time.Duration(bad.D))
	}
}
