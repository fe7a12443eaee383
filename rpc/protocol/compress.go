package protocol

import (
	"bytes"
	"compress/gzip"
	"io"
	"sync"
)

// Gzip (compressor 1): an RFC 1952 stream, as Java's GZIPOutputStream
// writes and GZIPInputStream reads (§2.4).
//
// The pools only cache compressor state, which is large (about 800 KB for a
// gzip.Writer); they hold no data between calls and are safe for concurrent
// use.
var (
	gzipWriters sync.Pool // *gzip.Writer
	gzipReaders sync.Pool // *gzip.Reader
)

// gzipMessage appends m's body, gzip-compressed.
func (e *encoder) gzipMessage(m Message) {
	start := len(e.b)
	e.message(m)
	if e.err != nil {
		return
	}
	raw := bytes.Clone(e.b[start:])
	w := &appendWriter{b: e.b[:start]}
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(w)
	} else {
		zw.Reset(w)
	}
	// appendWriter never fails, so neither do Write and Close.
	_, _ = zw.Write(raw)
	_ = zw.Close()
	zw.Reset(io.Discard) // drop the reference to w before pooling
	gzipWriters.Put(zw)
	e.b = w.b
}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// gunzip inflates src, refusing output larger than MaxFrameLength, so a
// small compressed body cannot make us allocate without bound.
func gunzip(src []byte) ([]byte, error) {
	r := bytes.NewReader(src)
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(r)
	} else {
		err = zr.Reset(r)
	}
	if err != nil {
		if zr != nil {
			gzipReaders.Put(zr)
		}
		return nil, errorf(ErrCorruptFrame, "gzip: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxFrameLength+1))
	gzipReaders.Put(zr)
	switch {
	case len(out) > MaxFrameLength:
		return nil, errorf(ErrDecompressedTooLarge, "more than %d bytes", MaxFrameLength)
	case err != nil:
		return nil, errorf(ErrCorruptFrame, "gzip: %v", err)
	case len(out) == 0:
		return nil, ErrEmptyBody
	}
	return out, nil
}
