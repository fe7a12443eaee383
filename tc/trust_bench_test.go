package tc

import (
	"strconv"
	"testing"
)

// BenchmarkXIDPermute measures what unguessable XIDs add to a GlobalBegin.
func BenchmarkXIDPermute(b *testing.B) {
	p := newXIDPermutation(randomXIDKey())
	v := int64(1) << 62
	b.ReportAllocs()
	for b.Loop() {
		v = p.permute(v)
	}
}

// BenchmarkOpenTxs measures what the open-transaction limits add to a
// GlobalBegin and its end.
func BenchmarkOpenTxs(b *testing.B) {
	o := newOpenTxs(Limits{}.withDefaults())
	xids := make([]string, 1024)
	for i := range xids {
		xids[i] = "127.0.0.1:8091:" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := xids[i%len(xids)]
		if err := o.add(x, "bank", 1<<62, 0); err != nil {
			b.Fatal(err)
		}
		o.done(x)
		i++
	}
}
