package undo

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
)

// The undo_log context column says how rollback_info is encoded, with Java
// Seata's keys: "serializer=atcc1&compressorType=NONE". A log written by
// another serializer is refused with ErrUnsupportedFormat.
const (
	serializerName     = "atcc1"
	contextNone        = "serializer=" + serializerName + "&compressorType=NONE"
	contextGzip        = "serializer=" + serializerName + "&compressorType=GZIP"
	contextSerializer  = "serializer"
	contextCompressor  = "compressorType"
	compressorNone     = "NONE"
	compressorGzip     = "GZIP"
	defaultCompressor  = compressorNone
	maxContextSegments = 16
)

// parseContext reads the serializer and compressor names of a context value
// ("k=v&k=v"); unknown keys are ignored.
func parseContext(s string) (serializer, compressor string) {
	compressor = defaultCompressor
	for i := 0; s != "" && i < maxContextSegments; i++ {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case contextSerializer:
			serializer = v
		case contextCompressor:
			compressor = v
		}
	}
	return serializer, compressor
}

// marshal encodes l for the rollback_info column, compressing it above the
// threshold, and returns the matching context value.
func (m *Manager) marshal(l *BranchLog) (payload []byte, uctx string, err error) {
	data, err := encodeLog(nil, l)
	if err != nil {
		return nil, "", err
	}
	if len(data) > m.cfg.MaxPayload {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(data), m.cfg.MaxPayload)
	}
	if m.cfg.CompressThreshold < 0 || len(data) <= m.cfg.CompressThreshold {
		return data, contextNone, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(data) / 3)
	zw, _ := m.gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed) // the level is valid: no error
	} else {
		zw.Reset(&buf)
	}
	_, err = zw.Write(data)
	if err == nil {
		err = zw.Close()
	}
	zw.Reset(io.Discard) // let go of buf
	m.gzipWriters.Put(zw)
	if err != nil {
		return nil, "", fmt.Errorf("atcc/undo: compress: %w", err)
	}
	return buf.Bytes(), contextGzip, nil
}

// unmarshal decodes a rollback_info value written with context uctx,
// refusing to inflate it beyond MaxPayload.
func (m *Manager) unmarshal(uctx string, info []byte) (*BranchLog, error) {
	serializer, compressor := parseContext(uctx)
	if serializer != serializerName {
		return nil, fmt.Errorf("%w: serializer %q (context %q)", ErrUnsupportedFormat, serializer, uctx)
	}
	switch compressor {
	case compressorNone:
		if len(info) > m.cfg.MaxPayload {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(info), m.cfg.MaxPayload)
		}
	case compressorGzip:
		var err error
		if info, err = gunzip(info, m.cfg.MaxPayload); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: compressor %q", ErrUnsupportedFormat, compressor)
	}
	return decodeLog(info)
}

// gunzip inflates data, failing with ErrPayloadTooLarge past limit bytes.
func gunzip(data []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%w: inflates beyond %d bytes", ErrPayloadTooLarge, limit)
	}
	return out, nil
}
