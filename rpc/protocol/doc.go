// Package protocol encodes and decodes the Seata RPC protocol, version 1
// (magic 0xdada), with the "seata" body codec, byte for byte as Java Seata
// 2.x does (vectors in testdata/vectors come from the Java encoder).
//
// Messages are plain structs, one per body type code. AppendFrame encodes a
// Frame into a caller's buffer; FrameLength and DecodeFrame cut and decode
// frames from a byte stream; AppendBody and DecodeBody handle a bare body.
// Heartbeats are frames of type HeartbeatRequest or HeartbeatResponse with a
// nil Body.
//
// # Strictness
//
// Decoding never panics: every length is checked against the bytes present
// before it is read, negative lengths are errors, and no count read from the
// wire makes the decoder allocate more than the bytes present justify.
// Malformed input yields a *DecodeError that matches one of the Err
// sentinels with errors.Is. Enums are checked against the Java 2.x tables,
// as Java does (ErrInvalidEnum). The decoder is stricter than Java only
// where Java peers never differ: trailing bytes after a message and a batch
// contentLength that does not match are errors. seata-go v1.2.0's malformed
// frames (spec §10 D1, D2) therefore fail to decode instead of yielding
// wrong values. The encoder refuses anything a Java peer could not decode.
//
// # Memory
//
// AppendFrame does not allocate when dst has room (gzip aside). DecodeFrame
// allocates the Frame together with its message, and one copy of the body
// that all its strings share (nothing aliases the input buffer); batches add
// one allocation per inner message and one each for the item and id slices.
// Because the strings of a body share one allocation, keeping any of them
// keeps the whole body alive; clone a small field of a large message that
// you keep for long. A connection's reader may decode through a Names,
// which interns the strings that repeat from frame to frame (resource ids,
// transaction names, ...): they then cost no allocation, nor pin the body.
//
// # Concurrency
//
// The package does no I/O and imports neither net nor context. All functions
// are safe for concurrent use. A Frame or Message value may be encoded from
// several goroutines at once, but must not be modified meanwhile.
package protocol
