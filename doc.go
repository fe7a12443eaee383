// Package atcc gives Go services Seata-style distributed transactions: AT
// mode (automatic undo of SQL through a database/sql driver wrapper) and
// TCC mode (try, confirm, cancel), coordinated by an Apache Seata server
// or by atcc's own coordinator over the Seata RPC protocol.
//
// A Client connects an application to the coordinator:
//
//	client, err := atcc.New(atcc.Config{
//		ApplicationID: "order-service",
//		Coordinators:  []string{"127.0.0.1:8091"},
//	})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//
//	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
//		// Work done with ctx joins the global transaction: AT statements
//		// through the datasource package, TCC actions, and calls to other
//		// services through tm/grpcxid and tm/httpxid.
//		return nil
//	})
//
// The packages:
//
//   - tm: global transactions (Begin, Commit, Rollback, WithGlobalTx,
//     propagation), the XID in context.Context;
//   - tm/grpcxid, tm/httpxid: the XID across gRPC and net/http calls;
//   - rm: resources, branch registration, phase two;
//   - rpc and rpc/protocol: the Seata transport and wire format;
//   - tc: the coordinator.
//
// A Client is safe for concurrent use, does no I/O until first used, and
// must be closed. Several clients with different configurations may live
// in one process; nothing in atcc is global.
package atcc
