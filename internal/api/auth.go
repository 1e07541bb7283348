package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Auth configures bearer-token authentication of the /v1 API
// (http.auth and http.api_tokens). The operations endpoints are never
// authenticated.
type Auth struct {
	// Enabled requires "Authorization: Bearer <token>" with one of Tokens
	// on every /v1 request. Off, the API is open (the demo).
	Enabled bool
	// Tokens are the accepted tokens; at least one when Enabled, each at
	// least 16 bytes of visible ASCII.
	Tokens []string
}

// minTokenBytes keeps guessable tokens out of the configuration.
const minTokenBytes = 16

// authenticator checks bearer tokens. It compares SHA-256 digests of the
// presented token with every configured token's in constant time, so
// neither the position nor the length of a mismatch shows in the timing.
type authenticator struct {
	enabled bool
	digests [][sha256.Size]byte
}

func newAuthenticator(a Auth) (*authenticator, error) {
	au := &authenticator{enabled: a.Enabled}
	if !a.Enabled {
		return au, nil
	}
	if len(a.Tokens) == 0 {
		return nil, errors.New("http.api_tokens: no token configured while http.auth is on (add a token or turn http.auth off)")
	}
	for i, t := range a.Tokens {
		if len(t) < minTokenBytes {
			return nil, fmt.Errorf("http.api_tokens[%d]: must be at least %d bytes, got %d", i, minTokenBytes, len(t))
		}
		for _, c := range []byte(t) {
			if c <= ' ' || c >= 0x7f {
				return nil, fmt.Errorf("http.api_tokens[%d]: must be visible ASCII (no spaces or control characters)", i)
			}
		}
		au.digests = append(au.digests, sha256.Sum256([]byte(t)))
	}
	return au, nil
}

// valid reports whether token is one of the configured tokens. It looks at
// every configured token whatever the outcome.
func (a *authenticator) valid(token string) bool {
	d := sha256.Sum256([]byte(token))
	ok := 0
	for i := range a.digests {
		ok |= subtle.ConstantTimeCompare(d[:], a.digests[i][:])
	}
	return ok == 1
}

// wrap answers 401 with a WWW-Authenticate challenge (RFC 6750) unless the
// request carries a valid bearer token.
func (a *authenticator) wrap(next http.Handler) http.Handler {
	if !a.enabled {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, token, found := strings.Cut(h, " ")
		switch {
		case h == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="clvstream"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <token>")
			return
		case !found || !strings.EqualFold(scheme, "Bearer") || !a.valid(strings.TrimSpace(token)):
			w.Header().Set("WWW-Authenticate", `Bearer realm="clvstream", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}
