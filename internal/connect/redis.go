package connect

import (
	"crypto/tls"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/config"
)

// Redis returns a client for the mode of cfg: a *redis.Client for
// standalone (cfg.Addr), a *redis.ClusterClient for cluster (seed nodes
// cfg.Addrs) or a failover *redis.Client for sentinel (the master
// cfg.MasterName, found through the sentinels cfg.Addrs and followed across
// failovers). Username and Password authenticate to the Redis servers;
// sentinels are asked without credentials. With cfg.TLS.Enabled every
// connection, to sentinels too, uses TLS. Redis does not connect: Ping the
// client to check the server.
func Redis(cfg config.Redis) (redis.UniversalClient, error) {
	var tc *tls.Config
	if cfg.TLS.Enabled {
		var err error
		tc, err = tlsFiles{prefix: "redis.tls", caFile: cfg.TLS.CAFile, insecureSkipVerify: cfg.TLS.InsecureSkipVerify}.config()
		if err != nil {
			return nil, err
		}
	}
	switch cfg.Mode {
	case "", config.RedisStandalone:
		return redis.NewClient(&redis.Options{
			Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password, DB: cfg.DB, TLSConfig: tc,
		}), nil
	case config.RedisCluster:
		if len(cfg.Addrs) == 0 {
			return nil, fmt.Errorf("redis.addrs: redis.mode cluster needs the seed nodes")
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.Addrs, Username: cfg.Username, Password: cfg.Password, TLSConfig: tc,
		}), nil
	case config.RedisSentinel:
		if len(cfg.Addrs) == 0 || cfg.MasterName == "" {
			return nil, fmt.Errorf("redis.addrs and redis.master_name: redis.mode sentinel needs the sentinels and the master name")
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addrs,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB, TLSConfig: tc,
		}), nil
	default:
		return nil, fmt.Errorf("redis.mode: %q must be standalone, cluster or sentinel", cfg.Mode)
	}
}
