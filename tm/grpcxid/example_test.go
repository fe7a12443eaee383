package grpcxid_test

import (
	"log"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/atcc-go/atcc/tm/grpcxid"
)

func Example() {
	// The caller: calls made with a context that carries an XID send it.
	conn, err := grpc.NewClient("inventory:9090",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcxid.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(grpcxid.StreamClientInterceptor()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	// The callee: handlers get the caller's XID in their context and join
	// its global transaction.
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcxid.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(grpcxid.StreamServerInterceptor()))
	_ = srv
}
