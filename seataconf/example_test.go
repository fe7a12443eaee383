package seataconf_test

import (
	"fmt"

	"github.com/atcc-go/atcc/seataconf"
)

// A service that used seata-go keeps its seatago.yml: the loader returns
// atcc's Configs and says what atcc does differently.
func ExampleLoadSeataGo() {
	s, err := seataconf.LoadSeataGo("testdata/seatago.yml", seataconf.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("application:", s.Client.ApplicationID, "group:", s.Client.TxServiceGroup)
	fmt.Println("coordinators:", s.Client.Coordinators)
	fmt.Println("timeout:", s.Client.DefaultTimeout, "lock retries:", s.DataSource.LockRetries, "every", s.DataSource.LockRetryInterval)
	fmt.Println("undo table:", s.DataSource.UndoTable)
	for _, w := range s.Warnings {
		fmt.Println("warning:", w)
	}
	// Then: client, err := atcc.New(s.Client), and for each data source
	// cfg := s.DataSource; cfg.ResourceID = ...; datasource.Register(...).

	// Output:
	// application: order-service group: order_tx_group
	// coordinators: [10.0.0.1:8091 10.0.0.2:8091]
	// timeout: 45s lock retries: 11 every 20ms
	// undo table: order_undo_log
	// warning: testdata/seatago.yml:33: client.undo.log-serialization: atcc writes undo logs in its own format, not json, unless datasource.Config.Undo.Serializer asks for jackson: a seata-go client cannot roll back a branch atcc wrote in its own format (atcc reads theirs; see the README, Undo logs of other clients)
}

// Java's registry.conf and file.conf leave the application id and the
// transaction service group to code.
func ExampleLoadJava() {
	s, err := seataconf.LoadJava("testdata/registry.conf", seataconf.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Client.ApplicationID = "pay-service"
	if err := s.SetTxServiceGroup("pay_tx_group"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("coordinators:", s.Client.Coordinators)
	fmt.Println("undo table:", s.DataSource.UndoTable, "compress above:", s.DataSource.Undo.CompressThreshold)

	// Output:
	// coordinators: [192.168.0.10:8091 192.168.0.11:8091]
	// undo table: pay_undo_log compress above: 1048576
}
