// Package seataconf reads the configuration files of Seata clients, so that
// a service moving to atcc keeps its settings: seata-go's seatago.yml
// (LoadSeataGo), the seata section of a Spring Boot application.yml
// (LoadSpring), and Java Seata's registry.conf with the file.conf it names
// (LoadJava).
//
// The loaders return Settings: an atcc.Config, a datasource.Config and
// tcc.Config filled from the keys atcc has a field for, plus what service
// discovery needs (the vgroup mapping, the grouplists, the registry type
// and its address) and the client's access key and secret key. Settings
// left unset keep atcc's defaults. The core of atcc reads no files; this
// package does, and is the only importer of its YAML parser.
//
// Nothing is dropped in silence:
//
//   - a value of the wrong type is an error naming the file, line and key
//     (*KeyError wrapping ErrInvalid);
//   - a setting atcc cannot honour and whose absence would change
//     behaviour (registry.type = nacos, transport.serialization = kryo,
//     data-source-proxy-mode = XA, config.type = apollo) is an error
//     wrapping ErrUnsupported;
//   - a setting atcc honours differently (client.undo.log-serialization,
//     an undo compressor other than gzip, different TM and RM request
//     timeouts, degrade checks turned on) is a warning saying how;
//   - keys no rule knows are listed in one warning;
//   - keys that configure machinery atcc does not have, with no effect on
//     its behaviour (Java thread pools, interceptor order, SQL parser
//     choice, the blocks of registries not selected), are listed in
//     Settings.Ignored.
//
// Neither Seata client documents TLS settings; the loaders read atcc's own
// transport.tls block (enabled, ca-file, cert-file, key-file, server-name)
// in every format.
//
// The functions are safe for concurrent use; they hold no state between
// calls.
package seataconf
