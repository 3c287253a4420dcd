package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/rs/zerolog"
)

// pprofHandler is Go's profiler on a mux of its own. It is never mounted on
// the API's mux: it has no authentication, and config refuses any address
// for it but loopback (HOTLINE_PPROF_ADDR).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, ...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startPprof listens on addr and serves the profiler until ctx ends. A
// listen failure is returned at once, so start-up stops with it.
func startPprof(ctx context.Context, addr string, log zerolog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HOTLINE_PPROF_ADDR: listen on %s: %w", addr, err)
	}
	// No WriteTimeout: a CPU profile or trace takes as long as asked.
	srv := &http.Server{Handler: pprofHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn().Err(err).Msg("profiler listener stopped")
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	log.Info().Str("addr", ln.Addr().String()).Msg("profiler (net/http/pprof) listening on loopback")
	return nil
}
