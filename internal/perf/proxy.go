package perf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// proxy is a TCP relay between the service and Redis that counts what the
// service's Redis client does, which INFO cannot tell apart from other
// clients: bytes each way and round trips. A round trip is a turn of the
// conversation on one connection: the client sends after it last received
// (or first), however many commands the send carries, so a pipeline of
// 100 commands or one EVALSHA is one round trip, and a command split over
// several TCP segments is still one.
type proxy struct {
	ln       net.Listener
	upstream string

	roundTrips atomic.Int64
	bytesUp    atomic.Int64 // client → Redis
	bytesDown  atomic.Int64 // Redis → client
	conns      atomic.Int64

	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[net.Conn]struct{}
}

// proxyCounts is a snapshot of the proxy's counters.
type proxyCounts struct {
	RoundTrips, BytesUp, BytesDown, Conns int64
}

func (c proxyCounts) sub(o proxyCounts) proxyCounts {
	return proxyCounts{c.RoundTrips - o.RoundTrips, c.BytesUp - o.BytesUp, c.BytesDown - o.BytesDown, c.Conns - o.Conns}
}

// startProxy listens on addr and relays every connection to upstream
// until ctx ends or close is called.
func startProxy(ctx context.Context, addr, upstream string) (*proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redis proxy: listen %s: %w (choose another port with -proxy-port)", addr, err)
	}
	p := &proxy{ln: ln, upstream: upstream, active: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.accept(ctx)
	}()
	context.AfterFunc(ctx, func() { _ = p.close() })
	return p, nil
}

// Addr is the address the service connects to.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) counts() proxyCounts {
	if p == nil { // -no-proxy
		return proxyCounts{}
	}
	return proxyCounts{p.roundTrips.Load(), p.bytesUp.Load(), p.bytesDown.Load(), p.conns.Load()}
}

func (p *proxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil {
		return false // closed
	}
	if on {
		p.active[c] = struct{}{}
	} else {
		delete(p.active, c)
	}
	return true
}

func (p *proxy) accept(ctx context.Context) {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		var d net.Dialer
		server, err := d.DialContext(ctx, "tcp", p.upstream)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, true) || !p.track(server, true) {
			_ = client.Close()
			_ = server.Close()
			return
		}
		p.conns.Add(1)
		// lastUp is true while the client spoke last.
		var lastUp atomic.Bool
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.pipe(server, client, func(n int) {
				p.bytesUp.Add(int64(n))
				if !lastUp.Swap(true) {
					p.roundTrips.Add(1)
				}
			})
		}()
		go func() {
			defer p.wg.Done()
			p.pipe(client, server, func(n int) {
				p.bytesDown.Add(int64(n))
				lastUp.Store(false)
			})
		}()
	}
}

// pipe copies src to dst, calling seen with the size of every read before
// forwarding it, and closes both ends when either side ends.
func (p *proxy) pipe(dst, src net.Conn, seen func(n int)) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.track(dst, false)
		p.track(src, false)
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen(n)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF or closed: either way this direction is done
			return
		}
	}
}

// close stops accepting, closes every relayed connection and waits for
// the relays to end.
func (p *proxy) close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.active {
		_ = c.Close()
	}
	p.active = nil
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
