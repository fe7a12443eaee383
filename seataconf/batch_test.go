package seataconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// atcc batches the TM's and the RM's requests alike: the per-role keys
// turn it on only when both roles batch (unset keys take Java's defaults,
// TM off and RM on); Seata 1.4's single key says it for both.
func TestBatchKeys(t *testing.T) {
	for transport, want := range map[string]bool{
		"{heartbeat: true}":                                                                       false,
		"{enable-client-batch-send-request: true}":                                                true,
		"{enable-client-batch-send-request: false}":                                               false,
		"{enable-rm-client-batch-send-request: true}":                                             false, // TM off by default
		"{enable-tm-client-batch-send-request: true}":                                             true,  // RM on by default
		"{enable-tm-client-batch-send-request: true, enable-rm-client-batch-send-request: false}": false,
		"{enable-tm-client-batch-send-request: false, enable-rm-client-batch-send-request: true}": false,
		"{enable-tm-client-batch-send-request: true, enable-rm-client-batch-send-request: true}":  true,
		"{enable-client-batch-send-request: true, enable-tm-client-batch-send-request: false}":    false,
	} {
		p := writeFile(t, "application.yml", "seata:\n  service: {vgroup-mapping: {default_tx_group: d}, grouplist: {d: \"h:1\"}}\n  transport: "+transport+"\n")
		s, err := LoadSpring(p, Options{})
		require.NoError(t, err, transport)
		assert.Equal(t, want, s.Client.BatchRequests, transport)
		assert.Empty(t, s.Warnings, transport)
	}
}
