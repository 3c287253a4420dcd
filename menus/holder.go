package menus

import (
	"context"
	"os"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// Holder keeps the menu new calls get. Reload swaps it atomically: a call
// takes the menu once, with Load, when it starts, and keeps it to the end,
// so a reload never changes a menu under a caller's feet.
type Holder struct {
	cur     atomic.Pointer[Menu]
	mu      sync.Mutex // one reload at a time
	path    string     // the file last loaded ("" for the compiled-in menu)
	builtin *Menu      // what an empty path restores
	names   Names      // what a reloaded file is checked against
	metrics *Metrics
}

// NewHolder returns a holder serving m (Default(names) when m is nil);
// files it reloads are checked against names. Metrics may be nil.
func NewHolder(m *Menu, names Names, metrics *Metrics) *Holder {
	if m == nil {
		m = Default(names)
	}
	h := &Holder{metrics: metrics, builtin: m, names: names}
	h.cur.Store(m)
	return h
}

// Load returns the current menu. It never blocks, even during a reload.
func (h *Holder) Load() *Menu { return h.cur.Load() }

// Path returns the file the current menu came from, "" for the built-in.
func (h *Holder) Path() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.path
}

// Reload reads and validates the menu at path and, only if it is valid,
// makes it the menu for new calls. A broken file is refused: the running
// menu stays and the error (an *Error listing every problem with its line,
// or a read error) is returned. An empty path re-reads the file loaded
// last; with none loaded yet it restores the menu NewHolder was given.
//
// Reload is safe to call from a SIGHUP handler and an HTTP handler at the
// same time; reloads are serialised, Load never waits for them.
func (h *Holder) Reload(path string) (*Menu, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if path == "" {
		path = h.path
	}
	m := h.builtin
	if path != "" {
		var err error
		if m, err = Load(path, h.names); err != nil {
			h.count("refused")
			return nil, err
		}
	}
	h.cur.Store(m)
	h.path = path
	h.count("ok")
	return m, nil
}

// ReloadOn re-reads the menu file each time a signal arrives on sig (the
// controller passes SIGHUP) until ctx ends. A refused file is logged with
// every problem; the running menu stays.
func (h *Holder) ReloadOn(ctx context.Context, sig <-chan os.Signal, log zerolog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			m, err := h.Reload("")
			if err != nil {
				log.Error().Err(err).Str("file", h.Path()).Msg("menu reload refused; the running menu stays")
				continue
			}
			log.Info().Str("menu", m.Version).Str("file", h.Path()).Int("nodes", len(m.Nodes)).Msg("menu reloaded")
		}
	}
}

func (h *Holder) count(result string) {
	if h.metrics != nil {
		h.metrics.Reloads.WithLabelValues(result).Inc()
	}
}
