package seataconf

import (
	"errors"
	"fmt"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/tcc"
)

// Errors of the loaders. Every error they return wraps one of these (test
// with errors.Is), except that of a file that cannot be read, which wraps
// the os error (fs.ErrNotExist, ...); an error about one setting is a
// *KeyError.
var (
	// ErrInvalid: a file cannot be parsed, or a value has the wrong type
	// or range (retry-times: many).
	ErrInvalid = errors.New("seataconf: invalid configuration")
	// ErrUnsupported: a setting asks for something atcc does not do and
	// whose absence would change behaviour (registry.type = nacos,
	// transport.serialization = kryo, data-source-proxy-mode = XA).
	ErrUnsupported = errors.New("seataconf: setting atcc cannot honour")
)

// KeyError is an error about one setting: where it is written, its key as
// written, and why it cannot be used. It wraps ErrInvalid or
// ErrUnsupported.
type KeyError struct {
	File string
	Line int
	Key  string
	Msg  string
	Err  error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

func (e *KeyError) Unwrap() error { return e.Err }

// Settings is a Seata client configuration in atcc's terms: the Configs it
// fills, and what has no atcc field yet (service discovery, credentials).
// Fields the files do not set stay at their zero value, so atcc's defaults
// apply; a Settings is a plain value, not safe for concurrent mutation.
type Settings struct {
	// Client holds application-id, tx-service-group, the coordinators
	// (from the grouplist of the tx service group's cluster when the
	// registry type is file), global transaction timeout, commit and
	// rollback retries, request timeout, heartbeat, pool size, client
	// batching and TLS.
	// Java's registry.conf and file.conf carry no application id: set
	// Client.ApplicationID in code.
	Client atcc.Config
	// DataSource holds the undo table, the global lock retry interval and
	// count, undo compression, the dirty-write check and the undo delete
	// queue; ResourceID is left for the caller.
	DataSource datasource.Config
	// TCC holds the fence table and its cleanup period; Fence (the
	// *sql.DB) is left for the caller, see FenceDSN.
	TCC tcc.Config
	// FenceDSN is seata-go's tcc.fence.url, the fence database's DSN, when
	// tcc.fence.enable is true. The loader opens nothing.
	FenceDSN string

	// VGroupMapping maps transaction service groups to coordinator
	// cluster names (service.vgroup-mapping).
	VGroupMapping map[string]string
	// GroupList maps cluster names to coordinator addresses
	// (service.grouplist.<cluster> in seata-go and Spring,
	// service.<cluster>.grouplist in file.conf; several addresses are
	// separated by ";" or ",").
	GroupList map[string][]string
	// Registry is how the coordinators are found.
	Registry Registry
	// UndoLogSerialization is client.undo.log-serialization as written
	// (jackson, json, ...). atcc writes its own format whatever it says;
	// a value other than "" produces a warning saying so.
	UndoLogSerialization string

	// Unknown lists the keys no loader rule knows, as "file:line: key".
	// They are also summed up in one entry of Warnings.
	Unknown []string
	// Ignored lists the recognised keys that configure machinery atcc does
	// not have and that change nothing in its behaviour (Java thread
	// pools, interceptor order, SQL parser choice, other registries'
	// blocks, ...), as "file:line: key".
	Ignored []string
	// Warnings are the settings atcc reads but cannot fully honour, each
	// with the reason, and one line listing the unknown keys.
	Warnings []string
}

// Registry types.
const (
	RegistryFile  = "file"  // static addresses from GroupList
	RegistryEtcd3 = "etcd3" // Seata's etcd v3 registry
)

// Registry says where the coordinators of a cluster are listed.
type Registry struct {
	// Type is RegistryFile or RegistryEtcd3; the loaders refuse the
	// others (nacos, eureka, zk, consul, redis, sofa, raft, seata,
	// custom) with ErrUnsupported.
	Type string
	// Addresses are the registry's endpoints: for etcd3 its server-addr
	// split at commas ("http://localhost:2379"). Empty for file.
	Addresses []string
	// Cluster is seata-go's registry.etcd3.cluster; Java takes the cluster
	// from the vgroup mapping (see Settings.Cluster).
	Cluster string
}

// Cluster returns the coordinator cluster of the client's transaction
// service group (Client.TxServiceGroup, default "default_tx_group")
// through VGroupMapping, and whether the mapping has it.
func (s *Settings) Cluster() (string, bool) {
	g := s.Client.TxServiceGroup
	if g == "" {
		g = defaultTxServiceGroup
	}
	c, ok := s.VGroupMapping[g]
	return c, ok
}

const defaultTxServiceGroup = "default_tx_group"

// SetTxServiceGroup sets Client.TxServiceGroup and, with the file
// registry, Client.Coordinators to the grouplist of the group's cluster.
// It is for Java's files, which leave the group to code; the other loaders
// do it themselves. It returns an error wrapping ErrInvalid, and leaves
// Coordinators alone, when the mapping or the grouplist is missing.
func (s *Settings) SetTxServiceGroup(group string) error {
	s.Client.TxServiceGroup = group
	if s.Registry.Type != RegistryFile {
		return nil
	}
	return s.findCoordinators()
}

// findCoordinators sets Client.Coordinators from the vgroup mapping and the
// grouplists.
func (s *Settings) findCoordinators() error {
	group := s.Client.TxServiceGroup
	if group == "" {
		group = defaultTxServiceGroup
	}
	cluster, ok := s.Cluster()
	if !ok {
		return fmt.Errorf("%w: no service.vgroup-mapping for the tx service group %q", ErrInvalid, group)
	}
	addrs := s.GroupList[cluster]
	if len(addrs) == 0 {
		return fmt.Errorf("%w: no grouplist for the cluster %q of the tx service group %q", ErrInvalid, cluster, group)
	}
	s.Client.Coordinators = append([]string(nil), addrs...)
	return nil
}
