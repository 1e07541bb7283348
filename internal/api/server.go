package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Readiness is what /readyz asks. Implementations must be safe for
// concurrent use.
type Readiness interface {
	// Ready returns nil when the service can do its work, or why not.
	Ready(ctx context.Context) error
}

// Server is the HTTP server: operations endpoints and, with NewAPI, the
// /v1 query API.
type Server struct {
	srv    *http.Server
	log    *zap.Logger
	routes []string
	mux    *http.ServeMux
	guard  *authenticator // the /v1 guard; open for the operations-only server
}

// NewAPI returns a server on addr with the operations endpoints
// (unauthenticated) and the /v1 query API answered by q and guarded by
// auth. It fails when auth is enabled without a usable token.
func NewAPI(addr string, reg *prometheus.Registry, ready Readiness, q Query, auth Auth, log *zap.Logger) (*Server, error) {
	if q == nil {
		return nil, errors.New("api: query service is required")
	}
	return newServer(addr, reg, ready, q, auth, log)
}

func newServer(addr string, reg *prometheus.Registry, ready Readiness, q Query, auth Auth, log *zap.Logger) (*Server, error) {
	mux := http.NewServeMux()
	s := &Server{log: log, mux: mux, guard: &authenticator{}}
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		s.routes = append(s.routes, pattern)
	}
	handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	}))
	handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}))
	handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if q != nil {
		guard, err := newAuthenticator(auth)
		if err != nil {
			return nil, err
		}
		s.guard = guard
		v := &v1{q: q, log: log}
		for _, rt := range v.routes() {
			handle(rt.pattern, guard.wrap(rt.handler))
		}
		// Anything else under /v1/: a JSON 404 (or 405), after auth, so
		// that an unauthenticated client learns nothing of the routes.
		mux.Handle("/v1/", guard.wrap(unknownRoute(mux)))
		if !auth.Enabled {
			log.Warn("http.auth is off: the /v1 query API is open to anyone who can reach " + addr)
		}
	}
	m := newHTTPMetrics(reg)
	h := m.instrument(recoverPanics(mux, log))
	s.srv = &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: zap.NewStdLog(log.Named("http")),
	}
	return s, nil
}

// EnablePProf serves the net/http/pprof profiles under /debug/pprof/
// (http.pprof), behind the same bearer-token guard as /v1: profiles show
// the program's code paths and memory, and a CPU profile costs CPU while it
// runs, so they are not for anyone who can reach the port. The command
// line is not served (it may carry --set secrets). A CPU profile without
// ?seconds= runs for 20 s, within the server's 30 s write timeout. Call it
// before Run.
func (s *Server) EnablePProf() {
	handle := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.guard.wrap(h))
		s.routes = append(s.routes, pattern)
	}
	handle("GET /debug/pprof/", pprof.Index) // the index and the named profiles (heap, goroutine, allocs, ...)
	handle("GET /debug/pprof/cmdline", http.NotFound)
	handle("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("seconds") == "" {
			q := r.URL.Query()
			q.Set("seconds", "20")
			r.URL.RawQuery = q.Encode()
		}
		pprof.Profile(w, r)
	})
	handle("GET /debug/pprof/symbol", pprof.Symbol)
	handle("POST /debug/pprof/symbol", pprof.Symbol)
	handle("GET /debug/pprof/trace", pprof.Trace)
}

// Routes returns the patterns the server serves (method and path), in
// registration order. The /v1/ fallback that answers unknown paths is not
// a route.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Run listens on the configured address and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", s.srv.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("http listening", zap.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
