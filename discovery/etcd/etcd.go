// Package etcd is Seata's etcd v3 registry: a Resolver that finds the
// coordinators of a transaction service group among the keys Seata servers
// register in etcd, and Register, which registers a coordinator the same
// way (atcc-tc -etcd-endpoints).
//
// The key layout is Seata's (org.apache.seata.discovery.registry.etcd3.
// EtcdRegistryServiceImpl): a coordinator of cluster C listening on
// ip:port puts the key "registry-seata-C-ip:port" with the value "ip:port",
// attached to a lease of 10 s kept alive while it runs, so the key goes
// when the coordinator dies. Clients list the keys with the prefix
// "registry-seata-C" and watch it. Java Seata servers registered in etcd
// are therefore found, and Java clients find atcc coordinators.
//
// It imports go.etcd.io/etcd/client/v3, which is why it is a package of its
// own: users of other registries do not import it.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atcc-go/atcc/discovery"
)

// KeyPrefix starts every registry key (Seata's REGISTRY_KEY_PREFIX).
const KeyPrefix = "registry-seata-"

// DefaultTTL is the lease TTL, in seconds, of a registration (Seata's TTL).
const DefaultTTL = 10

// Key returns the registry key of a coordinator of cluster at addr.
func Key(cluster, addr string) string { return KeyPrefix + cluster + "-" + addr }

// Resolver finds coordinators in etcd. It is safe for concurrent use; it
// does not own Client (close it yourself after the atcc client).
type Resolver struct {
	// Client is the etcd client. Required.
	Client *clientv3.Client
	// VGroupMapping maps each transaction service group to its cluster
	// (service.vgroupMapping.<group>). Required.
	VGroupMapping discovery.VGroupMapping
}

var _ discovery.Resolver = (*Resolver)(nil)

// Resolve returns the addresses registered for the group's cluster.
func (r *Resolver) Resolve(ctx context.Context, group string) ([]string, error) {
	addrs, _, err := r.list(ctx, group)
	return addrs, err
}

// list reads the cluster's addresses and the revision they were read at.
func (r *Resolver) list(ctx context.Context, group string) ([]string, int64, error) {
	if r.Client == nil {
		return nil, 0, errors.New("atcc/discovery/etcd: Resolver.Client is nil")
	}
	cluster, err := r.VGroupMapping.Cluster(group)
	if err != nil {
		return nil, 0, err
	}
	resp, err := r.Client.Get(ctx, KeyPrefix+cluster, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("atcc/discovery/etcd: list cluster %q: %w", cluster, err)
	}
	set := map[string]bool{}
	for _, kv := range resp.Kvs {
		if a, ok := entry(cluster, string(kv.Key), string(kv.Value)); ok {
			set[a] = true
		}
	}
	addrs := make([]string, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	return addrs, resp.Header.Revision, nil
}

// entry returns the address a registry key holds, if the key belongs to
// cluster. Seata's own lookup takes every key with the prefix
// "registry-seata-<cluster>", so cluster "a" would also see cluster "a2";
// here the key must be exactly the cluster's key for its value.
func entry(cluster, key, value string) (string, bool) {
	if key != Key(cluster, value) || discovery.CheckAddr(value) != nil {
		return "", false
	}
	return value, true
}

// Watch follows the group's cluster: after each change of its keys it
// sends the full address list. It returns ctx's error when ctx ends, or
// the error that broke the watch (the client then resolves again).
func (r *Resolver) Watch(ctx context.Context, group string, update func([]string)) error {
	addrs, rev, err := r.list(ctx, group)
	if err != nil {
		return err
	}
	cluster, _ := r.VGroupMapping.Cluster(group)
	update(addrs)
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := r.Client.Watch(ctx, KeyPrefix+cluster, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("atcc/discovery/etcd: watch cluster %q: %w", cluster, err)
		}
		if len(wr.Events) == 0 {
			continue
		}
		addrs, _, err := r.list(ctx, group)
		if err != nil {
			return err
		}
		update(addrs)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("atcc/discovery/etcd: watch channel closed")
}

// Registration is a coordinator's registry key, kept alive by its lease.
type Registration struct {
	cli    *clientv3.Client
	lease  clientv3.LeaseID
	key    string
	cancel context.CancelFunc
	done   chan struct{}
	lost   chan struct{}
}

// Register puts cluster's key for addr ("ip:port" as clients dial it) with
// a lease of ttl seconds (DefaultTTL when ttl <= 0) and keeps the lease
// alive until Close or until the process dies; then etcd drops the key
// after the TTL. Lost is closed if the keepalive stops (etcd unreachable
// beyond the TTL).
func Register(ctx context.Context, cli *clientv3.Client, cluster, addr string, ttl int64) (*Registration, error) {
	if err := discovery.CheckAddr(addr); err != nil {
		return nil, err
	}
	if cluster == "" || strings.ContainsAny(cluster, " \n") {
		return nil, fmt.Errorf("atcc/discovery/etcd: bad cluster name %q", cluster)
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	lease, err := cli.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("atcc/discovery/etcd: grant lease: %w", err)
	}
	key := Key(cluster, addr)
	if _, err := cli.Put(ctx, key, addr, clientv3.WithLease(lease.ID)); err != nil {
		return nil, fmt.Errorf("atcc/discovery/etcd: put %s: %w", key, err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	ka, err := cli.KeepAlive(kctx, lease.ID)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("atcc/discovery/etcd: keep lease alive: %w", err)
	}
	g := &Registration{cli: cli, lease: lease.ID, key: key, cancel: cancel, done: make(chan struct{}), lost: make(chan struct{})}
	go func() {
		defer close(g.done)
		for range ka { // drain the answers; the channel closes when keepalive ends
		}
		if kctx.Err() == nil {
			close(g.lost)
		}
	}()
	return g, nil
}

// Key returns the registered key.
func (g *Registration) Key() string { return g.key }

// Lost is closed when the lease can no longer be kept alive.
func (g *Registration) Lost() <-chan struct{} { return g.lost }

// Close stops the keepalive and revokes the lease, which deletes the key
// at once, so clients drain this coordinator before it stops.
func (g *Registration) Close(ctx context.Context) error {
	g.cancel()
	<-g.done
	if _, err := g.cli.Revoke(ctx, g.lease); err != nil {
		return fmt.Errorf("atcc/discovery/etcd: revoke lease: %w", err)
	}
	return nil
}
