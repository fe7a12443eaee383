// Package grpcxid carries the XID of a global transaction across gRPC
// calls, in the metadata key Apache Seata uses ("tx_xid"; gRPC lowercases
// metadata keys, and TX_XID in Java becomes tx_xid on the wire).
//
// Install the client interceptors on the callers of services that take
// part in global transactions, and the server interceptors on those
// services:
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithUnaryInterceptor(grpcxid.UnaryClientInterceptor()),
//		grpc.WithStreamInterceptor(grpcxid.StreamClientInterceptor()),
//		...)
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcxid.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(grpcxid.StreamServerInterceptor()))
//
// A client interceptor adds the XID of the call's context (see tm.XID), if
// any, to the outgoing metadata, keeping every other key. A server
// interceptor puts the incoming XID into the handler's context with
// tm.WithXID; the handler then works as a participant of the caller's
// global transaction. An incoming value that fails tm.ValidXID, or several
// different values, are ignored: the handler runs without an XID.
//
// The interceptors carry only the XID. To carry the trace context too
// (otelatcc's spans, W3C traceparent), install OpenTelemetry's gRPC stats
// handlers beside them (go.opentelemetry.io/contrib/.../otelgrpc:
// grpc.WithStatsHandler(otelgrpc.NewClientHandler()) and
// grpc.StatsHandler(otelgrpc.NewServerHandler())); this package does not
// depend on OpenTelemetry.
//
// The interceptors hold no state and are safe for concurrent use.
package grpcxid

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/atcc-go/atcc/tm"
)

// key is tm.XIDKey as it travels in gRPC metadata.
const key = "tx_xid"

// UnaryClientInterceptor returns an interceptor that sends the XID of the
// call's context in the outgoing metadata.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(outgoing(ctx), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor returns an interceptor that sends the XID of the
// stream's context in the outgoing metadata.
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(outgoing(ctx), desc, cc, method, opts...)
	}
}

// UnaryServerInterceptor returns an interceptor that puts the incoming XID
// into the handler's context.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(incoming(ctx), req)
	}
}

// StreamServerInterceptor returns an interceptor that puts the incoming
// XID into the context the handler gets from ServerStream.Context.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		if xctx := incoming(ctx); xctx != ctx {
			ss = &serverStream{ServerStream: ss, ctx: xctx}
		}
		return handler(srv, ss)
	}
}

// serverStream replaces the context of a grpc.ServerStream.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// outgoing returns ctx with the XID in its outgoing metadata, or ctx itself
// when it has no XID or the metadata already holds exactly that XID.
func outgoing(ctx context.Context) context.Context {
	xid, ok := tm.XID(ctx)
	if !ok {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx) // a copy (go 1.25's grpc has no ValueFromOutgoingContext)
	switch have := md.Get(key); {
	case len(have) == 0:
		return metadata.AppendToOutgoingContext(ctx, key, xid)
	case len(have) == 1 && have[0] == xid:
		return ctx
	}
	// Another XID is set (by hand, or the context is derived from one that
	// was sent in another transaction): the context's XID wins.
	md.Set(key, xid)
	return metadata.NewOutgoingContext(ctx, md)
}

// incoming returns ctx with the XID of its incoming metadata, or ctx itself
// when there is no usable one.
func incoming(ctx context.Context) context.Context {
	xid, ok := pick(metadata.ValueFromIncomingContext(ctx, key))
	if !ok {
		return ctx
	}
	return tm.WithXID(ctx, xid)
}

// pick returns the XID the values agree on, if they do and it is valid.
func pick(vals []string) (string, bool) {
	if len(vals) == 0 || !tm.ValidXID(vals[0]) {
		return "", false
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false
		}
	}
	return vals[0], true
}
