package connect

import (
	"strings"
	"testing"

	"github.com/clvstream/clvstream/internal/config"
)

// A TLS file that cannot be used stops the start-up with an error naming
// the option and the file.
func TestTLSFileErrorsNameTheFile(t *testing.T) {
	p := newPKI(t)
	garbage := writeFile(t, "garbage.pem", "not a certificate\n")
	missing := p.dir + "/missing.pem"
	tests := []struct {
		name string
		tls  config.KafkaTLS
		want []string
	}{
		{"missing CA", config.KafkaTLS{Enabled: true, CAFile: missing},
			[]string{"kafka_security.tls.ca_file", missing, "no such file"}},
		{"CA without a certificate", config.KafkaTLS{Enabled: true, CAFile: garbage},
			[]string{"kafka_security.tls.ca_file", garbage, "no PEM certificate"}},
		{"missing client certificate", config.KafkaTLS{Enabled: true, CertFile: missing, KeyFile: p.clientKey},
			[]string{"kafka_security.tls.cert_file", missing}},
		{"missing client key", config.KafkaTLS{Enabled: true, CertFile: p.clientCert, KeyFile: missing},
			[]string{"kafka_security.tls.key_file", missing}},
		{"key of another certificate", config.KafkaTLS{Enabled: true, CertFile: p.clientCert, KeyFile: p.serverKeyFile},
			[]string{"kafka_security.tls.cert_file " + p.clientCert, "kafka_security.tls.key_file " + p.serverKeyFile, "private key does not match"}},
		{"malformed client certificate", config.KafkaTLS{Enabled: true, CertFile: garbage, KeyFile: p.clientKey},
			[]string{"kafka_security.tls.cert_file " + garbage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Kafka(config.KafkaSecurity{TLS: tt.tls, SASL: config.KafkaSASL{Mechanism: "none"}})
			if err == nil {
				t.Fatal("Kafka succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	_, err := Redis(config.Redis{Mode: "standalone", Addr: "127.0.0.1:1", TLS: config.RedisTLS{Enabled: true, CAFile: garbage}})
	if err == nil || !strings.Contains(err.Error(), "redis.tls.ca_file") || !strings.Contains(err.Error(), garbage) {
		t.Errorf("Redis with a bad CA file: err = %v, want one naming redis.tls.ca_file and %s", err, garbage)
	}

	// Files of a disabled TLS are not read (validation rejects them).
	if _, _, err := Kafka(config.KafkaSecurity{TLS: config.KafkaTLS{CAFile: missing}}); err != nil {
		t.Errorf("TLS disabled: %v", err)
	}
}

func TestTLSConfigContents(t *testing.T) {
	p := newPKI(t)
	c, err := tlsFiles{prefix: "x", caFile: p.caFile, certFile: p.clientCert, keyFile: p.clientKey}.config()
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs == nil || len(c.Certificates) != 1 || c.InsecureSkipVerify || c.ServerName != "" || c.MinVersion == 0 {
		t.Errorf("config = %+v: want the CA pool, one client certificate, verification on, no fixed ServerName, a minimum version", c)
	}
	c, err = tlsFiles{prefix: "x", insecureSkipVerify: true}.config()
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs != nil || len(c.Certificates) != 0 || !c.InsecureSkipVerify {
		t.Errorf("config = %+v: want system roots, no client certificate, verification off", c)
	}
}
