package protocol

import "testing"

// Benchmarks of the three reference frames (see benchFrames): encode into a
// reused buffer, and decode. Run with
//
//	go test -run '^$' -bench . -benchmem ./rpc/protocol/

func BenchmarkAppendFrame(b *testing.B) {
	for _, name := range benchNames {
		f := benchFrames()[name]
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendFrame(buf[:0], f); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, name := range benchNames {
		frame := mustAppendFrame(b, benchFrames()[name])
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeFrame(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGzip measures the optional gzip path on the 200-row lock key
// frame.
func BenchmarkGzip(b *testing.B) {
	f := *benchFrames()["BranchRegister200"]
	f.Compressor = CompressGzip
	frame := mustAppendFrame(b, &f)
	b.Run("Append", func(b *testing.B) {
		buf := make([]byte, 0, 64<<10)
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = AppendFrame(buf[:0], &f)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeFrame(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var benchNames = []string{"GlobalBegin", "BranchRegister200", "MergedWarp8"}
