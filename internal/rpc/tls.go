package rpc

import "crypto/tls"

// tlsConfigBuilder hands a *tls.Config to getty, which asks a builder for one
// on every dial and once when it starts listening.
type tlsConfigBuilder struct{ cfg *tls.Config }

// BuildTlsConfig returns a copy of the configuration: getty and crypto/tls
// may fill in fields (ServerName) per connection.
func (b tlsConfigBuilder) BuildTlsConfig() (*tls.Config, error) { return b.cfg.Clone(), nil }
