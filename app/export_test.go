package app

// Test helpers of this package's internal tests, for its external (e2e)
// tests.
var (
	RealPayloads = realPayloads
	NullLaden    = nullLaden
	AppendKey    = appendKey
)
