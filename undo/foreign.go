package undo

import (
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"strings"
)

// Undo logs of other Seata clients.
//
// Rollback also undoes branches whose undo_log rows were written by Java
// Seata's JacksonUndoLogParser (context "serializer=jackson", any version
// from 0.7 on, class names io.seata.* or org.apache.seata.*) or by seata-go
// v1.2.0 (context "serializerKey=jackson", plain encoding/json), so a
// resource can move to atcc with transactions in flight. Both say
// "jackson"; the payload tells them apart (Java's starts with "@class").
// Such logs are decoded into a BranchLog against the live table metadata
// (the column types say how to read each value) and then rolled back like
// atcc's own, dirty-write check included. A value the writer stored
// inexactly is refused with ErrLossy instead of being restored wrong; see
// foreignValue for the rules.
//
// Compressors, named by the context's compressorType (Java) or
// compressorTypeKey (seata-go): NONE, GZIP, ZIP (a zip archive from Java, a
// zlib stream from seata-go), DEFLATER / CompressorDeflate (zlib or raw
// deflate), BZIP2. SEVENZ, LZ4 and ZSTD have no decoder in Go's standard
// library and are refused with ErrUnsupportedFormat, as are Java 2.2's
// split logs (context subId=...), fastjson, kryo, protostuff and fst.
// Inflation stops at Config.MaxPayload.

// Foreign context keys and values.
const (
	contextSerializerGo = "serializerKey"
	contextCompressorGo = "compressorTypeKey"
	contextSubID        = "subId"
	serializerJackson   = "jackson"
)

// foreignContext is what an undo_log context column says about a foreign
// payload.
type foreignContext struct {
	serializer string
	compressor string // normalised: NONE, GZIP, ZIP, DEFLATE, BZIP2, or the name as written
	split      bool   // Java 2.2+ stored the payload in several rows
}

// parseForeignContext reads a context written by Java Seata or seata-go.
func parseForeignContext(s string) foreignContext {
	c := foreignContext{compressor: compressorNone}
	for i := 0; s != "" && i < maxContextSegments; i++ {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case contextSerializer, contextSerializerGo:
			c.serializer = v
		case contextCompressor, contextCompressorGo:
			c.compressor = normaliseCompressor(v)
		case contextSubID:
			c.split = v != ""
		}
	}
	return c
}

func normaliseCompressor(name string) string {
	switch name {
	case "NONE", "CompressorNone", "":
		return compressorNone
	case "GZIP", "CompressorGzip":
		return compressorGzip
	case "ZIP", "CompressorZip":
		return "ZIP"
	case "DEFLATER", "CompressorDeflate":
		return "DEFLATE"
	case "BZIP2", "CompressorBzip2":
		return "BZIP2"
	}
	return name
}

// decodeUndoLog decodes the rollback_info of an undo_log row written with
// context uctx: atcc's own format, or another Seata client's (see above),
// resolved against the live table metadata.
func (m *Manager) decodeUndoLog(ctx context.Context, uctx string, info []byte) (*BranchLog, error) {
	c := parseForeignContext(uctx)
	if c.serializer == serializerName {
		return m.unmarshal(uctx, info)
	}
	if c.serializer != serializerJackson {
		return nil, fmt.Errorf("%w: serializer %q (context %q)", ErrUnsupportedFormat, c.serializer, uctx)
	}
	if c.split {
		return nil, fmt.Errorf("%w: undo log split over several rows (context %q)", ErrUnsupportedFormat, uctx)
	}
	data, err := inflateForeign(c.compressor, info, m.cfg.MaxPayload)
	if err != nil {
		return nil, err
	}
	fl, err := parseForeignLog(data)
	if err != nil {
		return nil, err
	}
	return m.resolveForeign(ctx, fl)
}

// inflateForeign undoes the compression a foreign writer applied, failing
// with ErrPayloadTooLarge past limit bytes.
func inflateForeign(compressor string, data []byte, limit int) ([]byte, error) {
	var r io.Reader
	switch compressor {
	case compressorNone:
		if len(data) > limit {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(data), limit)
		}
		return data, nil
	case compressorGzip:
		return gunzip(data, limit)
	case "ZIP", "DEFLATE":
		switch {
		case bytes.HasPrefix(data, []byte("PK\x03\x04")): // Java's ZipUtil: an archive, one entry
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return nil, fmt.Errorf("%w: zip: %v", ErrCorrupt, err)
			}
			if len(zr.File) != 1 {
				return nil, fmt.Errorf("%w: zip archive with %d entries", ErrCorrupt, len(zr.File))
			}
			f, err := zr.File[0].Open()
			if err != nil {
				return nil, fmt.Errorf("%w: zip: %v", ErrCorrupt, err)
			}
			defer f.Close()
			r = f
		case len(data) >= 2 && data[0]&0x0f == 8 && (uint16(data[0])<<8|uint16(data[1]))%31 == 0: // zlib header
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("%w: zlib: %v", ErrCorrupt, err)
			}
			defer zr.Close()
			r = zr
		case compressor == "DEFLATE": // seata-go's CompressorDeflate: raw deflate
			r = flate.NewReader(bytes.NewReader(data))
		default:
			return nil, fmt.Errorf("%w: %s payload is neither a zip archive nor a zlib stream", ErrCorrupt, compressor)
		}
	case "BZIP2":
		r = bzip2.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("%w: compressor %q", ErrUnsupportedFormat, compressor)
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, compressor, err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%w: inflates beyond %d bytes", ErrPayloadTooLarge, limit)
	}
	return out, nil
}
