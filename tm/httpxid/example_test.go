package httpxid_test

import (
	"context"
	"log"
	"net/http"
	"strings"

	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/tm/httpxid"
)

func Example() {
	// The caller: requests whose context carries an XID send it.
	client := &http.Client{Transport: httpxid.Transport(nil)}
	ctx := tm.WithXID(context.Background(), "10.0.0.1:8091:4567890123456789") // as Begin returns it
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://inventory/reserve", strings.NewReader("{}"))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	// The callee: handlers get the caller's XID in their context.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reserve", func(w http.ResponseWriter, r *http.Request) {
		if xid, ok := tm.XID(r.Context()); ok {
			log.Printf("reserving in global transaction %s", xid)
		}
	})
	log.Fatal(http.ListenAndServe(":8080", httpxid.Middleware(mux)))
}
