package connect

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/clvstream/clvstream/internal/config"
)

// Kafka returns the dialer for the consumer group and readers and the
// transport for the writers and the admin client, both with the TLS and
// SASL of cfg (plaintext and no SASL when cfg is the default). The dialer
// has kafka-go's default timeouts (DefaultDialer's); the transport is a
// *kafka.Transport with kafka-go's defaults, which keeps a connection pool:
// share it between writers and clients of one process.
func Kafka(cfg config.KafkaSecurity) (*kafka.Dialer, kafka.RoundTripper, error) {
	mech, err := SASL(cfg.SASL)
	if err != nil {
		return nil, nil, err
	}
	var tc *tls.Config
	if cfg.TLS.Enabled {
		tc, err = tlsFiles{
			prefix: "kafka_security.tls", caFile: cfg.TLS.CAFile, certFile: cfg.TLS.CertFile, keyFile: cfg.TLS.KeyFile,
			insecureSkipVerify: cfg.TLS.InsecureSkipVerify,
		}.config()
		if err != nil {
			return nil, nil, err
		}
	}
	d := &kafka.Dialer{
		Timeout:       10 * time.Second,
		DualStack:     true,
		TLS:           tc,
		SASLMechanism: mech,
	}
	t := &kafka.Transport{SASL: mech}
	if tc != nil {
		t.TLS = tc.Clone()
	}
	return d, t, nil
}

// SASL returns the kafka-go mechanism of cfg: nil for none, PLAIN, or
// kafka-go's SCRAM with SHA-256 or SHA-512.
func SASL(cfg config.KafkaSASL) (sasl.Mechanism, error) {
	switch cfg.Mechanism {
	case "", config.SASLNone:
		return nil, nil
	case config.SASLPlain:
		return plain.Mechanism{Username: cfg.Username, Password: cfg.Password}, nil
	case config.SASLScramSHA256, config.SASLScramSHA512:
		algo := scram.SHA256
		if cfg.Mechanism == config.SASLScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, cfg.Username, cfg.Password)
		if err != nil {
			return nil, fmt.Errorf("kafka_security.sasl.username/password: %w", err)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("kafka_security.sasl.mechanism: %q must be none, plain, scram-sha-256 or scram-sha-512", cfg.Mechanism)
	}
}
