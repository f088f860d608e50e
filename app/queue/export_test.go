package queue

// Internals of this package, for its external tests.
var CapError = capError
