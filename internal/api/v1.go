package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/query"
)

// Query is the read side the /v1 API serves (query.Service). Its methods
// must be safe for concurrent use. A nil view with a nil error means
// "not found"; errors are classified with the query package's sentinels.
type Query interface {
	Customer(ctx context.Context, id string) (*query.CustomerView, error)
	Segments(ctx context.Context) (*query.SegmentsView, error)
	Model(ctx context.Context) (*query.ModelView, error)
	KPIs(ctx context.Context) (*query.KPIView, error)
	Cohorts(ctx context.Context) (*query.CohortsView, error)
	Campaigns(ctx context.Context) (*query.CampaignsView, error)
}

// requestTimeout bounds the Redis work of one /v1 request.
const requestTimeout = 5 * time.Second

type v1 struct {
	q   Query
	log *zap.Logger
}

type route struct {
	pattern string
	handler http.Handler
}

func (v *v1) routes() []route {
	return []route{
		{"GET /v1/customers/{id}", http.HandlerFunc(v.customer)},
		{"GET /v1/segments", serve(v, "no segments", v.q.Segments)},
		{"GET /v1/model", serve(v, "no model has been published yet", v.q.Model)},
		{"GET /v1/kpis", serve(v, "no KPI snapshot", v.q.KPIs)},
		{"GET /v1/cohorts", serve(v, "no KPI snapshot", v.q.Cohorts)},
		{"GET /v1/campaigns", serve(v, "no KPI snapshot", v.q.Campaigns)},
	}
}

// serve answers a parameterless query; notFound is the 404 message when
// the query returns a nil view.
func serve[T any](v *v1, notFound string, fn func(context.Context) (*T, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		view, err := fn(ctx)
		reply(v, w, r, view, err, notFound)
	})
}

func (v *v1) customer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id") // already URL-decoded by the mux
	if err := query.ValidateID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	view, err := v.q.Customer(ctx, id)
	reply(v, w, r, view, err, "customer not found")
}

// reply writes view (200), a 404 when it is nil, or the error's status.
func reply[T any](v *v1, w http.ResponseWriter, r *http.Request, view *T, err error, notFound string) {
	switch {
	case err == nil && view == nil:
		writeError(w, http.StatusNotFound, notFound)
	case err == nil:
		if err := writeJSON(w, http.StatusOK, view); err != nil {
			v.log.Error("encode response", zap.String("route", r.Pattern), zap.Error(err))
		}
	case errors.Is(err, query.ErrInvalidID):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, query.ErrErased):
		_ = writeJSON(w, http.StatusGone, erasedBody{
			Error:  "customer erased (right to erasure): no data is kept or disclosed",
			Erased: true,
		})
	case errors.Is(err, query.ErrNotReady):
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, query.ErrStore), errors.Is(err, context.DeadlineExceeded):
		v.log.Warn("query failed", zap.String("route", r.Pattern), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "state store unavailable, retry later")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		v.log.Error("query failed", zap.String("route", r.Pattern), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// erasedBody is the 410 answer for an erased customer: the fact, nothing else.
type erasedBody struct {
	Error  string `json:"error"`
	Erased bool   `json:"erased"`
}

// unknownRoute answers the /v1/ paths no route matches: 405 when the path
// exists for GET, 400 for an empty customer id, else 404.
func unknownRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			probe := r.Clone(r.Context())
			probe.Method = http.MethodGet
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/v1/" {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: the API is read-only (GET)")
				return
			}
		}
		if r.URL.Path == "/v1/customers/" {
			writeError(w, http.StatusBadRequest, "invalid customer id: empty")
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: see api/openapi.yaml")
	})
}
