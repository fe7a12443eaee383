package undo

// Retryable is the former name of IsRetryable, kept while the branches
// written against it are merged.
//
// Deprecated: use IsRetryable.
func Retryable(err error) bool { return IsRetryable(err) }
