package service

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The profiler answers on its own listener, never on the API.
func TestPprofOwnListenerOnly(t *testing.T) {
	s, _ := newService(t)
	prof := httptest.NewServer(pprofHandler())
	defer prof.Close()
	resp, err := http.Get(prof.URL + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("profiler: HTTP %d", resp.StatusCode)
	}
	api := httptest.NewServer(s.Handler())
	defer api.Close()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile?seconds=1"} {
		req, _ := http.NewRequest("GET", api.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+s.cfg.APIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("API serves %s", path)
		}
	}
}

// An address the profiler cannot listen on stops start-up with its name.
func TestPprofListenFailureStopsStart(t *testing.T) {
	s, _ := newService(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s.cfg.PprofAddr = busy.Addr().String()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Serve(ctx, ln)
	if err == nil || !strings.Contains(err.Error(), "HOTLINE_PPROF_ADDR") {
		t.Fatalf("Serve with the profiler's port taken: %v", err)
	}
}
