package connect

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/config"
)

// The test Redis (scripts/services.sh) answers PING through a standalone
// client.
func TestRedisStandalone(t *testing.T) {
	addr := os.Getenv("CLV_TEST_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CLV_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal("CLV_TEST_REDIS_ADDR is not set: start the services with scripts/services.sh up")
		}
		t.Skip("no Redis: set CLV_TEST_REDIS_ADDR (make test does) to run this test")
	}
	rdb, err := Redis(config.Config{Redis: config.Redis{Addr: addr}}.WithDefaults().Redis)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, ok := rdb.(*redis.Client); !ok {
		t.Errorf("standalone client is %T, want *redis.Client", rdb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := rdb.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
}

// The client types and the options they carry, without a server (clients
// connect lazily).
func TestRedisClientTypes(t *testing.T) {
	p := newPKI(t)
	tlsOn := config.RedisTLS{Enabled: true, CAFile: p.caFile}

	c, err := Redis(config.Redis{Mode: "standalone", Addr: "r:6379", Username: "u", Password: "pw", DB: 3, TLS: tlsOn})
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := c.(*redis.Client)
	if !ok {
		t.Fatalf("standalone: %T, want *redis.Client", c)
	}
	if o := sc.Options(); o.Addr != "r:6379" || o.Username != "u" || o.Password != "pw" || o.DB != 3 || o.TLSConfig == nil || o.TLSConfig.RootCAs == nil {
		t.Errorf("standalone options %+v", o)
	}
	_ = c.Close()

	c, err = Redis(config.Redis{Mode: "cluster", Addrs: []string{"c-0:6379", "c-1:6379"}, Username: "u", Password: "pw", TLS: tlsOn})
	if err != nil {
		t.Fatal(err)
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("cluster: %T, want *redis.ClusterClient", c)
	}
	if o := cc.Options(); strings.Join(o.Addrs, ",") != "c-0:6379,c-1:6379" || o.Username != "u" || o.Password != "pw" || o.TLSConfig == nil {
		t.Errorf("cluster options %+v", o)
	}
	_ = c.Close()

	// One seed node is still a cluster (NewUniversalClient would make it a
	// plain client).
	c, err = Redis(config.Redis{Mode: "cluster", Addrs: []string{"c-0:6379"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Errorf("cluster with one seed: %T, want *redis.ClusterClient", c)
	}
	_ = c.Close()

	c, err = Redis(config.Redis{Mode: "sentinel", Addrs: []string{"s-0:26379"}, MasterName: "mymaster", Password: "pw", DB: 2, TLS: tlsOn})
	if err != nil {
		t.Fatal(err)
	}
	fc, ok := c.(*redis.Client)
	if !ok {
		t.Fatalf("sentinel: %T, want the failover *redis.Client", c)
	}
	// go-redis names the failover client's address "FailoverClient": the
	// real address comes from the sentinels at each dial.
	if o := fc.Options(); o.Addr != "FailoverClient" || o.Password != "pw" || o.DB != 2 || o.TLSConfig == nil {
		t.Errorf("sentinel options %+v", o)
	}
	_ = c.Close()

	for _, bad := range []config.Redis{{Mode: "replica"}, {Mode: "cluster"}, {Mode: "sentinel", Addrs: []string{"s:26379"}}} {
		if _, err := Redis(bad); err == nil || !strings.Contains(err.Error(), "redis.") {
			t.Errorf("Redis(%+v): err = %v, want one naming the option", bad, err)
		}
	}
}

// redisServer runs a private redis-server with args until the test ends
// and returns its port.
func redisServer(t *testing.T, args ...string) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CLV_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal("redis-server is not installed (scripts/redis.sh up installs it)")
		}
		t.Skip("redis-server is not installed (scripts/redis.sh up installs it)")
	}
	port := freePort(t)
	dir := t.TempDir()
	all := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") { // a config file first
		all = append([]string{args[0]}, append(all, args[1:]...)...)
	} else {
		all = append(all, args...)
	}
	cmd := exec.Command(bin, all...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := (&netDialer{}).dial(port)
		if err == nil {
			conn.Close()
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server %v did not listen: %v\n%s", all, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ACL user and password reach the server; a wrong password is refused.
func TestRedisACL(t *testing.T) {
	port := redisServer(t, "--user", "default", "off", "--user", "clv", "on", ">s3cret-pass", "~*", "&*", "+@all")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ping := func(user, pass string) error {
		rdb, err := Redis(config.Redis{Mode: "standalone", Addr: addr, Username: user, Password: pass})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}
	if err := ping("clv", "s3cret-pass"); err != nil {
		t.Errorf("PING as clv: %v", err)
	}
	if err := ping("clv", "wrong"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: err = %v, want WRONGPASS", err)
	}
	if err := ping("", ""); err == nil {
		t.Error("no credentials: PING succeeded")
	}
}

// TLS against a redis-server that only speaks TLS: the CA file verifies
// the server; without it (system roots) the server is not trusted;
// insecure_skip_verify connects anyway.
func TestRedisTLS(t *testing.T) {
	p := newPKI(t)
	tlsPort := freePort(t)
	redisServer(t, "--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", p.serverCertFile, "--tls-key-file", p.serverKeyFile,
		"--tls-ca-cert-file", p.caFile, "--tls-auth-clients", "no")
	addr := fmt.Sprintf("127.0.0.1:%d", tlsPort)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ping := func(tc config.RedisTLS) error {
		rdb, err := Redis(config.Redis{Mode: "standalone", Addr: addr, TLS: tc})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}
	if err := ping(config.RedisTLS{Enabled: true, CAFile: p.caFile}); err != nil {
		t.Errorf("TLS with the CA file: %v", err)
	}
	if err := ping(config.RedisTLS{Enabled: true}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS with the system roots: err = %v, want an unknown-authority error", err)
	}
	if err := ping(config.RedisTLS{Enabled: true, InsecureSkipVerify: true}); err != nil {
		t.Errorf("TLS without verification: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	plain, _ := Redis(config.Redis{Mode: "standalone", Addr: addr})
	defer plain.Close()
	if err := plain.Ping(ctx2).Err(); err == nil {
		t.Error("plaintext PING to a TLS port succeeded")
	}
}

// A one-node Redis Cluster owning every slot: the cluster client finds it
// from the seed and serves keys of any slot.
func TestRedisCluster(t *testing.T) {
	busPort := freePort(t)
	port := redisServer(t, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(busPort),
		"--cluster-config-file", filepath.Join(t.TempDir(), "nodes.conf"), "--cluster-announce-ip", "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := admin.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("cluster did not become ok: %v %s", err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rdb, err := Redis(config.Redis{Mode: "cluster", Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("%T, want *redis.ClusterClient", rdb)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	for _, k := range []string{"{clv:0}:meta", "{clv:1}:meta", "{clv:model}:current"} {
		if err := rdb.Set(ctx, k, "v", time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	var masters int
	if err := rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		masters++
		return c.Ping(ctx).Err()
	}); err != nil || masters != 1 {
		t.Errorf("ForEachMaster: %d masters, %v", masters, err)
	}
}

// A sentinel monitoring a private master: the failover client asks the
// sentinel for the master and writes there.
func TestRedisSentinel(t *testing.T) {
	masterPort := redisServer(t)
	conf := writeFile(t, "sentinel.conf", fmt.Sprintf("sentinel monitor clvmaster 127.0.0.1 %d 1\n", masterPort))
	sentinelPort := redisServer(t, conf, "--sentinel")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb, err := Redis(config.Redis{Mode: "sentinel", Addrs: []string{fmt.Sprintf("127.0.0.1:%d", sentinelPort)}, MasterName: "clvmaster"})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Set(ctx, "clv:sentinel-test", "through the sentinel", time.Minute).Err(); err != nil {
		t.Fatalf("SET through the sentinel: %v", err)
	}
	master := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", masterPort)})
	defer master.Close()
	if got, err := master.Get(ctx, "clv:sentinel-test").Result(); err != nil || got != "through the sentinel" {
		t.Errorf("the master holds %q, %v", got, err)
	}

	wrong, _ := Redis(config.Redis{Mode: "sentinel", Addrs: []string{fmt.Sprintf("127.0.0.1:%d", sentinelPort)}, MasterName: "nosuchmaster"})
	defer wrong.Close()
	ctx2, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	if err := wrong.Ping(ctx2).Err(); err == nil {
		t.Error("PING of an unknown master succeeded")
	}
}
