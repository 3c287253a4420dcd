package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// The sipp processes of a run: each scenario is rendered into the run's
// work directory and sipp's output kept beside it.

type sippProc struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func startSipp(dir, name, text string, data scenario.Data, args []string) (*sippProc, error) {
	xml, err := scenario.Render(text, data)
	if err != nil {
		return nil, err
	}
	sf := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(sf, []byte(xml), 0o644); err != nil {
		return nil, err
	}
	// -aa: answer in-dialog OPTIONS (the cluster's edge probes every call
	// with them, as real phones and carriers answer them) and INFO, NOTIFY,
	// UPDATE with 200 instead of failing the call.
	all := append([]string{"-sf", sf, "-i", "127.0.0.1", "-nostdin", "-trace_err", "-aa",
		"-error_file", filepath.Join(dir, name+"_errors.log"), "-max_recv_loops", "1000"}, args...)
	p := &sippProc{name: name, cmd: exec.Command("sipp", all...)}
	p.cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sipp %s: %w", name, err)
	}
	return p, nil
}

func (p *sippProc) wait(within time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-done
		return fmt.Errorf("sipp %s: not done within %s", p.name, within)
	}
}

// stop asks sipp to finish its calls and exit (SIGUSR1), then kills it.
func (p *sippProc) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	_ = p.wait(grace)
}

func (p *sippProc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_, _ = p.cmd.Process.Wait()
	}
}

// cpu is the CPU seconds (user + system, every thread) of a sipp process
// that has exited.
func (p *sippProc) cpu() float64 {
	if p.cmd.ProcessState == nil {
		return 0
	}
	return (p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()).Seconds()
}
