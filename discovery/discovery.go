// Package discovery finds Seata coordinators the way Seata's registries do:
// service.vgroupMapping.<txServiceGroup> names a cluster, and the registry
// lists the cluster's addresses. It holds the file registry (Seata's
// service.<cluster>.grouplist); discovery/etcd holds etcd v3 (in its own
// package, so that only its users import the etcd client). Both are
// Resolver implementations for atcc.Config.Resolver.
//
// A new registry (nacos, consul, ...) is a type with the same two methods:
// map the group with VGroupMapping.Cluster, then list the cluster's
// addresses and send each change to Watch's update function.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Resolver finds the coordinators of a transaction service group: Seata's
// registry lookup (service.vgroupMapping.<group> names a cluster, the
// registry lists the cluster's addresses). File is
// Seata's file registry, and discovery/etcd its etcd v3 registry.
//
// A Client with a Resolver follows its updates live: it dials the
// coordinators that appear, and drains those that go (no new request is
// routed to them, the requests under way finish, then the sessions close).
// An empty list leaves the current coordinators in place: a registry that
// lost its entries (leases expired while the registry itself was cut off)
// is likelier than a cluster without a coordinator, and sessions to a
// coordinator that did die end by themselves.
//
// Implementations must be safe for concurrent use.
type Resolver interface {
	// Resolve returns the addresses ("host:port") of the group's
	// coordinators.
	Resolve(ctx context.Context, group string) ([]string, error)

	// Watch calls update with the group's full address list each time it
	// changes (it may repeat a list), one call at a time, until ctx ends,
	// and then returns ctx's error. It returns another error when it can
	// no longer watch; the client then resolves again and watches anew
	// after a backoff. update does not block for long and must not be
	// called after Watch has returned.
	Watch(ctx context.Context, group string, update func(addrs []string)) error
}

// ErrUnknownGroup is returned for a transaction service group that the
// vgroup mapping does not name.
var ErrUnknownGroup = errors.New("atcc/discovery: no vgroup mapping for tx service group")

// ErrUnknownCluster is returned for a cluster the registry lists no
// address for.
var ErrUnknownCluster = errors.New("atcc/discovery: no coordinator address for cluster")

// VGroupMapping maps transaction service groups to cluster names: Seata's
// service.vgroupMapping.<txServiceGroup> = <cluster>.
type VGroupMapping map[string]string

// Cluster returns the cluster the group maps to, or an error wrapping
// ErrUnknownGroup that names the missing key.
func (m VGroupMapping) Cluster(group string) (string, error) {
	if c := m[group]; c != "" {
		return c, nil
	}
	return "", fmt.Errorf("%w: set service.vgroupMapping.%s", ErrUnknownGroup, group)
}

// File is Seata's file registry: fixed addresses per cluster. The zero
// value resolves nothing. A File is safe for concurrent use as long as it
// is not modified.
type File struct {
	// VGroupMapping maps each transaction service group to its cluster.
	VGroupMapping VGroupMapping
	// GroupList holds each cluster's coordinator addresses, "host:port":
	// Seata's service.<cluster>.grouplist (a list separated by ";" there).
	GroupList map[string][]string
}

var _ Resolver = File{}

// Resolve returns the addresses of the group's cluster.
func (f File) Resolve(_ context.Context, group string) ([]string, error) {
	cluster, err := f.VGroupMapping.Cluster(group)
	if err != nil {
		return nil, err
	}
	addrs := f.GroupList[cluster]
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w %q: set service.%s.grouplist", ErrUnknownCluster, cluster, cluster)
	}
	for _, a := range addrs {
		if err := CheckAddr(a); err != nil {
			return nil, fmt.Errorf("service.%s.grouplist: %w", cluster, err)
		}
	}
	return slices.Clone(addrs), nil
}

// SplitGroupList splits a grouplist as Seata writes it in file.conf or
// seatago.yml ("10.0.0.1:8091;10.0.0.2:8091"; "," is accepted too) into
// addresses, dropping blanks. It does not check them: Resolve does.
func SplitGroupList(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Watch waits until ctx ends: a file registry does not change.
func (f File) Watch(ctx context.Context, _ string, _ func([]string)) error {
	<-ctx.Done()
	return ctx.Err()
}

// CheckAddr reports whether a is "host:port" with a non-empty host and a
// port in 1..65535.
func CheckAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err == nil && host == "" {
		err = errors.New("empty host")
	}
	if err == nil {
		if p, perr := strconv.Atoi(port); perr != nil || p <= 0 || p > 65535 {
			err = fmt.Errorf("bad port %q", port)
		}
	}
	if err != nil {
		return fmt.Errorf("coordinator address %q: %v", a, err)
	}
	return nil
}
