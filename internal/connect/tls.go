package connect

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsFiles are the TLS options of one section; prefix is the option path
// of the section ("kafka_security.tls") for error messages.
type tlsFiles struct {
	prefix             string
	caFile             string
	certFile, keyFile  string
	insecureSkipVerify bool
}

// config loads the files into a client TLS configuration. ServerName is
// left empty: kafka-go and go-redis set it per connection from the address
// dialled, so one configuration serves every broker or node.
func (f tlsFiles) config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.insecureSkipVerify} //nolint:gosec // opt-in, documented as tests only
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", f.prefix, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file: %s contains no PEM certificate", f.prefix, f.caFile)
		}
		c.RootCAs = pool
	}
	if f.certFile != "" || f.keyFile != "" {
		if f.certFile == "" || f.keyFile == "" {
			return nil, fmt.Errorf("%s.cert_file and %s.key_file: set both or neither", f.prefix, f.prefix)
		}
		certPEM, err := os.ReadFile(f.certFile)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file: %w", f.prefix, err)
		}
		keyPEM, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.key_file: %w", f.prefix, err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file %s and %s.key_file %s: %w", f.prefix, f.certFile, f.prefix, f.keyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
