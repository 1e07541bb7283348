package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// servePProfTest starts a server with the query API behind a bearer token,
// with or without http.pprof, and returns its base URL.
func servePProfTest(t *testing.T, pprofOn bool) string {
	t.Helper()
	srv, err := NewAPI("unused", prometheus.NewRegistry(), okReady{}, &stubQuery{}, Auth{Enabled: true, Tokens: []string{testToken}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if pprofOn {
		srv.EnablePProf()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func getWithToken(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// isGzip reports whether b starts with the gzip magic: pprof profiles are
// gzipped protocol buffers.
func isGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

func TestPProfIsOffByDefault(t *testing.T) {
	base := servePProfTest(t, false)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/goroutine"} {
		if code, _ := getWithToken(t, base+path, testToken); code != http.StatusNotFound {
			t.Errorf("GET %s with http.pprof off: status %d, want 404", path, code)
		}
	}
}

func TestPProfServesProfilesBehindTheAPIAuth(t *testing.T) {
	base := servePProfTest(t, true)
	if code, _ := getWithToken(t, base+"/debug/pprof/heap", ""); code != http.StatusUnauthorized {
		t.Fatalf("heap profile without a token: status %d, want 401", code)
	}
	code, body := getWithToken(t, base+"/debug/pprof/heap", testToken)
	if code != http.StatusOK || !isGzip(body) {
		t.Fatalf("heap profile: status %d, %d bytes, gzip %v", code, len(body), isGzip(body))
	}
	code, body = getWithToken(t, base+"/debug/pprof/profile?seconds=1", testToken)
	if code != http.StatusOK || !isGzip(body) {
		t.Fatalf("CPU profile: status %d, %d bytes, gzip %v: %.200s", code, len(body), isGzip(body), body)
	}
	if code, _ := getWithToken(t, base+"/debug/pprof/", testToken); code != http.StatusOK {
		t.Fatalf("pprof index: status %d", code)
	}
	if code, _ := getWithToken(t, base+"/debug/pprof/cmdline", testToken); code != http.StatusNotFound {
		t.Fatalf("cmdline (may carry --set secrets): status %d, want 404", code)
	}
}
