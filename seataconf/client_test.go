package seataconf_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/seataconf"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
)

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(nil) // getty logs every session's end at Info by default
	os.Exit(m.Run())
}

// The Config a loader returns is one atcc.New accepts, for every sample.
func TestSamplesMakeClients(t *testing.T) {
	for name, load := range map[string]func() (*seataconf.Settings, error){
		"seatago.yml": func() (*seataconf.Settings, error) {
			return seataconf.LoadSeataGo("testdata/seatago.yml", seataconf.Options{})
		},
		"application.yml": func() (*seataconf.Settings, error) {
			s, err := seataconf.LoadSpring("testdata/application.yml", seataconf.Options{})
			if err == nil {
				s.Client.Coordinators = []string{"127.0.0.1:8091"} // etcd3: the resolver's job
			}
			return s, err
		},
		"registry.conf": func() (*seataconf.Settings, error) {
			s, err := seataconf.LoadJava("testdata/registry.conf", seataconf.Options{})
			if err == nil {
				s.Client.ApplicationID = "pay"
				err = s.SetTxServiceGroup("pay_tx_group")
			}
			return s, err
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := load()
			require.NoError(t, err)
			c, err := atcc.New(s.Client)
			require.NoError(t, err)
			require.NoError(t, c.Close())
		})
	}
}

// A seatago.yml whose grouplist names a running coordinator gives a client
// that reaches it and runs a global transaction.
func TestLoadedClientReachesCoordinator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := tc.New(tc.Config{})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx, "127.0.0.1:0"))
	t.Cleanup(func() { _ = srv.Close() })

	conf := filepath.Join(t.TempDir(), "seatago.yml")
	require.NoError(t, os.WriteFile(conf, []byte(`
seata:
  application-id: e2e
  tx-service-group: e2e_group
  service:
    vgroup-mapping:
      e2e_group: local
    grouplist:
      local: `+srv.Addr().String()+`
  client:
    tm:
      default-global-transaction-timeout: 10s
`), 0o600))
	s, err := seataconf.LoadSeataGo(conf, seataconf.Options{})
	require.NoError(t, err)
	require.Empty(t, s.Warnings)
	c, err := atcc.New(s.Client)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(ctx))
	ran := false
	require.NoError(t, c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "e2e"}, func(ctx context.Context) error {
		ran = true
		return nil
	}))
	require.True(t, ran)
}
