package grpcxid_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/tm/grpcxid"
)

// echoServer answers Check and Watch with header metadata that says which
// XID the handler's context carried ("seen-xid", "" for none) and which
// "other" metadata value arrived.
type echoServer struct {
	healthpb.UnimplementedHealthServer
}

func seen(ctx context.Context) metadata.MD {
	xid, _ := tm.XID(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	return metadata.Pairs("seen-xid", xid, "seen-other", strings.Join(md.Get("other"), ","))
}

func (echoServer) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if err := grpc.SetHeader(ctx, seen(ctx)); err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (echoServer) Watch(_ *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if err := s.SendHeader(seen(s.Context())); err != nil {
		return err
	}
	return s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
}

// start runs a real gRPC server with the server interceptors and returns a
// client connected to it, with the client interceptors when withClient.
func start(t *testing.T, withClient bool) healthpb.HealthClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcxid.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(grpcxid.StreamServerInterceptor()))
	healthpb.RegisterHealthServer(srv, echoServer{})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if withClient {
		opts = append(opts,
			grpc.WithUnaryInterceptor(grpcxid.UnaryClientInterceptor()),
			grpc.WithStreamInterceptor(grpcxid.StreamClientInterceptor()))
	}
	conn, err := grpc.NewClient(lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return healthpb.NewHealthClient(conn)
}

func unary(t *testing.T, c healthpb.HealthClient, ctx context.Context) (xid, other string) {
	t.Helper()
	var hdr metadata.MD
	if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	return strings.Join(hdr.Get("seen-xid"), ","), strings.Join(hdr.Get("seen-other"), ",")
}

func stream(t *testing.T, c healthpb.HealthClient, ctx context.Context) (xid, other string) {
	t.Helper()
	s, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := s.Header()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(hdr.Get("seen-xid"), ","), strings.Join(hdr.Get("seen-other"), ",")
}

const xid = "127.0.0.1:8091:4567890123456789"

func TestXIDCrossesGRPC(t *testing.T) {
	c := start(t, true)
	for name, call := range map[string]func(*testing.T, healthpb.HealthClient, context.Context) (string, string){
		"unary": unary, "stream": stream,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()

			got, _ := call(t, c, ctx)
			expect(t, got, "", "no XID in the caller's context")

			got, _ = call(t, c, tm.WithXID(ctx, xid))
			expect(t, got, xid)

			// Other outgoing metadata is kept.
			mctx := metadata.AppendToOutgoingContext(tm.WithXID(ctx, xid), "other", "v")
			got, other := call(t, c, mctx)
			expect(t, got, xid)
			expect(t, other, "v")

			// A stale XID in the outgoing metadata is replaced, not doubled.
			stale := metadata.AppendToOutgoingContext(ctx, "tx_xid", "127.0.0.1:8091:1", "other", "w")
			got, other = call(t, c, tm.WithXID(stale, xid))
			expect(t, got, xid)
			expect(t, other, "w")

			// The same XID set by hand is not sent twice.
			same := metadata.AppendToOutgoingContext(tm.WithXID(ctx, xid), "TX_XID", xid)
			got, _ = call(t, c, same)
			expect(t, got, xid)

			// A suspended transaction (WithoutXID) sends nothing.
			got, _ = call(t, c, tm.WithoutXID(tm.WithXID(ctx, xid)))
			expect(t, got, "")
		})
	}
}

func TestServerIgnoresBadXID(t *testing.T) {
	c := start(t, false) // metadata is set by hand
	for name, call := range map[string]func(*testing.T, healthpb.HealthClient, context.Context) (string, string){
		"unary": unary, "stream": stream,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			send := func(kv ...string) string {
				got, _ := call(t, c, metadata.AppendToOutgoingContext(ctx, kv...))
				return got
			}
			expect(t, send("TX_XID", xid), xid, "any spelling of the key")
			expect(t, send("tx_xid", xid, "tx_xid", xid), xid, "repeated equal values")
			expect(t, send("tx_xid", xid, "tx_xid", "127.0.0.1:8091:2"), "", "conflicting values")
			expect(t, send("tx_xid", strings.Repeat("1", tm.MaxXIDLen+1)), "", "too long")
			expect(t, send("tx_xid", "a b"), "", "space")
			// gRPC itself refuses to send control characters and
			// non-ASCII text; tm.ValidXID's tests cover them.
		})
	}
}

func TestServerInterceptorKeepsContextWithoutMetadata(t *testing.T) {
	ctx := tm.WithXID(context.Background(), xid)
	var got context.Context
	_, err := grpcxid.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{}, func(ctx context.Context, _ any) (any, error) {
		got = ctx
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != ctx {
		t.Fatal("no incoming XID: the context must be passed on as is")
	}
}

func BenchmarkUnaryClientInterceptor(b *testing.B) {
	ic := grpcxid.UnaryClientInterceptor()
	ctx := tm.WithXID(context.Background(), xid)
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = ic(ctx, "/m", nil, nil, nil, invoker)
	}
}

func BenchmarkUnaryServerInterceptor(b *testing.B) {
	ic := grpcxid.UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("tx_xid", xid, "other", "v"))
	handler := func(context.Context, any) (any, error) { return nil, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ic(ctx, nil, nil, handler)
	}
}

// expect fails the test when got != want.
func expect(t *testing.T, got, want string, why ...string) {
	t.Helper()
	if got != want {
		t.Fatalf("got %q, want %q %v", got, want, why)
	}
}
