package connect

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/clvstream/clvstream/internal/config"
)

// Every mechanism maps to kafka-go's implementation with the credentials.
func TestSASLMechanisms(t *testing.T) {
	scramType := func() reflect.Type {
		m, err := scram.Mechanism(scram.SHA256, "u", "p")
		if err != nil {
			t.Fatal(err)
		}
		return reflect.TypeOf(m)
	}()
	for _, tt := range []struct {
		mechanism string
		name      string       // the SASL name sent to the broker; "" for none
		typ       reflect.Type // nil for none
	}{
		{"none", "", nil},
		{"", "", nil},
		{"plain", "PLAIN", reflect.TypeOf(plain.Mechanism{})},
		{"scram-sha-256", "SCRAM-SHA-256", scramType},
		{"scram-sha-512", "SCRAM-SHA-512", scramType},
	} {
		m, err := SASL(config.KafkaSASL{Mechanism: tt.mechanism, Username: "clv-user", Password: "s3cret"})
		if err != nil {
			t.Fatalf("%q: %v", tt.mechanism, err)
		}
		if tt.typ == nil {
			if m != nil {
				t.Errorf("%q: mechanism %T, want none", tt.mechanism, m)
			}
			continue
		}
		if reflect.TypeOf(m) != tt.typ || m.Name() != tt.name {
			t.Errorf("%q: %T named %s, want %v named %s", tt.mechanism, m, m.Name(), tt.typ, tt.name)
		}
		_, first, err := m.Start(context.Background())
		if err != nil {
			t.Fatalf("%q: start: %v", tt.mechanism, err)
		}
		// PLAIN sends authzid NUL user NUL password; SCRAM's client-first
		// message carries the user name and a nonce, never the password.
		switch tt.name {
		case "PLAIN":
			if string(first) != "\x00clv-user\x00s3cret" {
				t.Errorf("PLAIN initial response %q", first)
			}
		default:
			if !strings.HasPrefix(string(first), "n,,n=clv-user,r=") || strings.Contains(string(first), "s3cret") {
				t.Errorf("%s client-first message %q", tt.name, first)
			}
		}
	}
	if _, err := SASL(config.KafkaSASL{Mechanism: "gssapi"}); err == nil || !strings.Contains(err.Error(), "kafka_security.sasl.mechanism") {
		t.Errorf("unknown mechanism: err = %v", err)
	}
}

// The default configuration is kafka-go's plaintext defaults; TLS and SASL
// reach both the dialer and the transport.
func TestKafkaDialerAndTransport(t *testing.T) {
	d, rt, err := Kafka(config.KafkaSecurity{SASL: config.KafkaSASL{Mechanism: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := rt.(*kafka.Transport)
	if !ok {
		t.Fatalf("transport is %T, want *kafka.Transport", rt)
	}
	if d.TLS != nil || d.SASLMechanism != nil || tr.TLS != nil || tr.SASL != nil {
		t.Errorf("default: dialer %+v transport %+v, want no TLS and no SASL", d, tr)
	}
	if d.Timeout != kafka.DefaultDialer.Timeout || d.DualStack != kafka.DefaultDialer.DualStack {
		t.Errorf("dialer timeout %v dual stack %v, want kafka-go's defaults", d.Timeout, d.DualStack)
	}

	p := newPKI(t)
	d, rt, err = Kafka(config.KafkaSecurity{
		TLS:  config.KafkaTLS{Enabled: true, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey},
		SASL: config.KafkaSASL{Mechanism: "scram-sha-512", Username: "u", Password: "p"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr = rt.(*kafka.Transport)
	for what, c := range map[string]interface{ Name() string }{"dialer": d.SASLMechanism, "transport": tr.SASL} {
		if c == nil || c.Name() != "SCRAM-SHA-512" {
			t.Errorf("%s SASL = %v, want SCRAM-SHA-512", what, c)
		}
	}
	if d.TLS == nil || tr.TLS == nil || d.TLS.RootCAs == nil || len(tr.TLS.Certificates) != 1 {
		t.Errorf("TLS not on both: dialer %+v transport %+v", d.TLS, tr.TLS)
	}
}

// End to end against an in-process broker that requires TLS with client
// certificates and SASL: the transport produces and reads metadata, the
// dialer consumes in a consumer group; a wrong password, a missing CA or a
// missing client certificate is refused.
func TestKafkaTLSAndSASLEndToEnd(t *testing.T) {
	p := newPKI(t)
	const topic = "clv.secure"
	for _, mech := range []struct{ kafka, ours string }{
		{"SCRAM-SHA-512", "scram-sha-512"},
		{"SCRAM-SHA-256", "scram-sha-256"},
		{"PLAIN", "plain"},
	} {
		t.Run(mech.ours, func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(p.serverTLS(true)), kfake.EnableSASL(),
				kfake.Superuser(mech.kafka, "clv", "right-password"), kfake.SeedTopics(2, topic))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			brokers := cluster.ListenAddrs()
			sec := config.KafkaSecurity{
				TLS:  config.KafkaTLS{Enabled: true, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey},
				SASL: config.KafkaSASL{Mechanism: mech.ours, Username: "clv", Password: "right-password"},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			d, tr, err := Kafka(sec)
			if err != nil {
				t.Fatal(err)
			}
			client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second, Transport: tr}
			md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
			if err != nil {
				t.Fatalf("metadata over the transport: %v", err)
			}
			if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 2 {
				t.Fatalf("metadata %+v, want %s with 2 partitions", md.Topics, topic)
			}
			w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Transport: tr, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
			if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("c-1"), Value: []byte("hello")}); err != nil {
				t.Fatalf("produce over the transport: %v", err)
			}
			_ = w.Close()

			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: brokers, GroupID: "clv-test", Topic: topic, Dialer: d,
				StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
			})
			defer r.Close()
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("consume in a group over the dialer: %v", err)
			}
			if string(m.Value) != "hello" {
				t.Errorf("consumed %q, want hello", m.Value)
			}

			// Refusals, over the dialer (a direct connection) and the transport.
			refused := func(what string, sec config.KafkaSecurity, want string) {
				t.Helper()
				d, tr, err := Kafka(sec)
				if err != nil {
					t.Fatal(err)
				}
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				defer ccancel()
				conn, err := d.DialContext(cctx, "tcp", brokers[0])
				if err == nil {
					_, err = conn.ReadPartitions(topic)
					conn.Close()
				}
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), want) {
					t.Errorf("%s: dialer err = %v, want one containing %q", what, err, want)
				}
				t.Logf("%s: dialer: %v", what, err)
				client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 3 * time.Second, Transport: tr}
				_, err = client.Metadata(cctx, &kafka.MetadataRequest{Topics: []string{topic}})
				if err == nil {
					t.Errorf("%s: transport metadata succeeded", what)
				}
				t.Logf("%s: transport: %v", what, err)
				tr.(*kafka.Transport).CloseIdleConnections()
			}
			wrong := sec
			wrong.SASL.Password = "wrong-password"
			refused("wrong password", wrong, "sasl")
			noSASL := sec
			noSASL.SASL = config.KafkaSASL{Mechanism: "none"}
			refused("no SASL", noSASL, "")
			noCA := sec
			noCA.TLS.CAFile = ""
			refused("broker certificate from an unknown CA", noCA, "certificate")
			noCert := sec
			noCert.TLS.CertFile, noCert.TLS.KeyFile = "", ""
			refused("no client certificate", noCert, "certificate")
		})
	}
}
