// Package protocol encodes and decodes the Seata RPC protocol, version 1
// (magic 0xdada), with the "seata" body codec.
//
// Messages are plain structs. AppendFrame encodes a frame into a caller's
// buffer; FrameLength and DecodeFrame cut and decode frames from a byte
// stream. Decoding never panics: every length is checked against the bytes
// present before it is read, and malformed input yields an error that
// matches one of the sentinels below with errors.Is.
//
// The package does no I/O: it imports neither net nor context. All functions
// are safe for concurrent use; a Frame or Message value is not, unless it is
// only read.
package protocol
