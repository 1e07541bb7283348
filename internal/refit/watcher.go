package refit

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/model"
)

// Watcher keeps the model in force in memory for the tasks of one
// instance, polling the store's version number. Current is safe for
// concurrent use.
type Watcher struct {
	store *Store
	cur   atomic.Pointer[model.Record]
	every time.Duration
	log   *zap.Logger
	m     *Metrics
}

// NewWatcher returns a watcher polling every interval.
func NewWatcher(store *Store, every time.Duration, log *zap.Logger, m *Metrics) *Watcher {
	return &Watcher{store: store, every: every, log: log, m: m}
}

// Current returns the model in force, nil before the first one.
func (w *Watcher) Current() *model.Record { return w.cur.Load() }

// Refresh loads the current model if its version changed.
func (w *Watcher) Refresh(ctx context.Context) error {
	v, err := w.store.Version(ctx)
	if err != nil {
		return err
	}
	if cur := w.cur.Load(); (cur == nil && v == 0) || (cur != nil && cur.Version == v) {
		return nil
	}
	rec, err := w.store.Current(ctx)
	if err != nil || rec == nil {
		return err
	}
	w.cur.Store(rec)
	w.m.observe(rec)
	w.log.Info("model version in force", zap.Int64("version", rec.Version), zap.String("kind", rec.Kind))
	return nil
}

// Run polls until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		if err := w.Refresh(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("model refresh failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
