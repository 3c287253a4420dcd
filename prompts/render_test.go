package prompts

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireAudio skips the test when the audio tools are missing, unless
// HOTLINE_REQUIRE_AUDIO is set (as in CI and on the build host), where a
// missing tool must fail loudly instead of silently skipping.
func requireAudio(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("HOTLINE_REQUIRE_AUDIO") != "" {
				t.Fatalf("HOTLINE_REQUIRE_AUDIO is set but %s is missing: %v", tool, err)
			}
			t.Skipf("%s not installed (set HOTLINE_REQUIRE_AUDIO to make this fatal)", tool)
		}
	}
}

type wavInfo struct {
	format, channels, bits uint16
	rate                   uint32
	dataBytes              uint32
}

func (w wavInfo) seconds() float64 {
	return float64(w.dataBytes) / float64(w.rate*uint32(w.channels)*uint32(w.bits/8))
}

// readWAV parses a RIFF/WAVE header the way Asterisk's format_wav does:
// find "fmt " and "data", skipping any other chunk.
func readWAV(t *testing.T, path string) wavInfo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a RIFF/WAVE file", path)
	}
	var w wavInfo
	var haveFmt, haveData bool
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), binary.LittleEndian.Uint32(b[off+4:off+8])
		body := b[off+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				t.Fatalf("%s: short fmt chunk", path)
			}
			w.format = binary.LittleEndian.Uint16(body[0:2])
			w.channels = binary.LittleEndian.Uint16(body[2:4])
			w.rate = binary.LittleEndian.Uint32(body[4:8])
			w.bits = binary.LittleEndian.Uint16(body[14:16])
			haveFmt = true
		case "data":
			w.dataBytes = size
			if int(size) > len(body) {
				t.Fatalf("%s: data chunk says %d bytes, file has %d", path, size, len(body))
			}
			haveData = true
		}
		off += 8 + int(size) + int(size&1) // chunks are word-aligned
	}
	if !haveFmt || !haveData {
		t.Fatalf("%s: fmt or data chunk missing", path)
	}
	return w
}

// checkAsteriskWAV asserts the format format_wav plays natively.
func checkAsteriskWAV(t *testing.T, path string, minSeconds, maxSeconds float64) {
	t.Helper()
	w := readWAV(t, path)
	if w.format != 1 || w.channels != 1 || w.rate != 8000 || w.bits != 16 {
		t.Errorf("%s: format %d, %d ch, %d Hz, %d bit; want PCM (1), 1 ch, 8000 Hz, 16 bit",
			filepath.Base(path), w.format, w.channels, w.rate, w.bits)
	}
	if s := w.seconds(); s < minSeconds || s > maxSeconds {
		t.Errorf("%s: %.2f s of audio, want %.1f–%.1f s", filepath.Base(path), s, minSeconds, maxSeconds)
	}
}

func testPrompts(t *testing.T, ids ...string) []Prompt {
	t.Helper()
	var ps []Prompt
	for _, p := range Catalogue() {
		for _, id := range ids {
			if p.ID == id {
				ps = append(ps, p)
			}
		}
	}
	if len(ps) != len(ids) {
		t.Fatalf("catalogue lacks some of %v", ids)
	}
	return ps
}

func TestRender(t *testing.T) {
	requireAudio(t, "espeak-ng", "sox")
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "hotline") // Render creates it
	ps := testPrompts(t, "welcome", "goodbye", "d1_yao")

	n, err := Render(ctx, dir, ps, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("first render: rendered %d, want 3", n)
	}
	mtimes := map[string]time.Time{}
	for _, p := range ps {
		wav := filepath.Join(dir, p.ID+".wav")
		// Even one syllable plus the 100 ms pad is well over 0.2 s.
		checkAsteriskWAV(t, wav, 0.2, 15)
		hash, err := os.ReadFile(filepath.Join(dir, p.ID+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(hash)), promptHash(DefaultVoice, DefaultSpeed, p.Chinese); got != want {
			t.Errorf("%s.txt = %q, want %q", p.ID, got, want)
		}
		fi, _ := os.Stat(wav)
		mtimes[p.ID] = fi.ModTime()
	}
	if w := readWAV(t, filepath.Join(dir, "welcome.wav")); w.seconds() < 2 {
		t.Errorf("welcome is only %.2f s: was the sentence spoken?", w.seconds())
	}

	// Nothing changed: nothing is rendered and no file is touched.
	n, err = Render(ctx, dir, ps, RenderOptions{Speed: DefaultSpeed, Voice: DefaultVoice})
	if err != nil || n != 0 {
		t.Fatalf("second render: rendered %d, err %v; want 0, nil", n, err)
	}
	for _, p := range ps {
		fi, _ := os.Stat(filepath.Join(dir, p.ID+".wav"))
		if !fi.ModTime().Equal(mtimes[p.ID]) {
			t.Errorf("%s.wav rewritten although up to date", p.ID)
		}
	}

	// A changed text re-renders that prompt only.
	ps[1].Chinese = "感谢您的来电，祝您生活愉快，再见。"
	n, err = Render(ctx, dir, ps, RenderOptions{})
	if err != nil || n != 1 {
		t.Fatalf("after text change: rendered %d, err %v; want 1, nil", n, err)
	}
	checkAsteriskWAV(t, filepath.Join(dir, "goodbye.wav"), 2, 15)

	// A changed speed changes every hash.
	if n, err = Render(ctx, dir, ps, RenderOptions{Speed: 160}); err != nil || n != 3 {
		t.Fatalf("after speed change: rendered %d, err %v; want 3, nil", n, err)
	}
	// A lost WAV is noticed even though its hash file is current.
	if err := os.Remove(filepath.Join(dir, "d1_yao.wav")); err != nil {
		t.Fatal(err)
	}
	if n, err = Render(ctx, dir, ps, RenderOptions{Speed: 160}); err != nil || n != 1 {
		t.Fatalf("after removing a wav: rendered %d, err %v; want 1, nil", n, err)
	}
	if n, err = Render(ctx, dir, ps, RenderOptions{Speed: 160, Force: true}); err != nil || n != 3 {
		t.Fatalf("forced: rendered %d, err %v; want 3, nil", n, err)
	}

	// No temporary files are left behind for Asterisk to trip over.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want exactly 3 .wav and 3 .txt", names)
	}
}

func TestRenderErrorNamesPromptAndStderr(t *testing.T) {
	requireAudio(t, "espeak-ng", "sox")
	ps := testPrompts(t, "goodbye")
	// Not "no-such-voice": espeak-ng would take its "no" for Norwegian.
	_, err := Render(t.Context(), t.TempDir(), ps, RenderOptions{Voice: "zzvoice"})
	if err == nil {
		t.Fatal("Render with an unknown voice succeeded")
	}
	// espeak-ng says so on stderr; the error must carry it.
	for _, want := range []string{`"goodbye"`, "espeak-ng", "voice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Errorf("error %q does not wrap the *exec.ExitError", err)
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	// Checked before any process starts, so no audio tools are needed.
	tests := []struct {
		name    string
		ps      []Prompt
		opts    RenderOptions
		wantErr string
	}{
		{"path escape", []Prompt{{"../evil", "你好", "hi"}}, RenderOptions{}, "../evil"},
		{"duplicate", []Prompt{{"a", "你好", "hi"}, {"a", "再见", "bye"}}, RenderOptions{}, `duplicate id "a"`},
		{"no text", []Prompt{{"a", " ", "hi"}}, RenderOptions{}, "no Mandarin text"},
		{"negative speed", []Prompt{{"a", "你好", "hi"}}, RenderOptions{Speed: -1}, "negative speed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			n, err := Render(t.Context(), dir, tt.ps, tt.opts)
			if err == nil || n != 0 || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render = %d, %v; want an error mentioning %q", n, err, tt.wantErr)
			}
		})
	}
}

func TestRenderCancelled(t *testing.T) {
	requireAudio(t, "espeak-ng", "sox")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Render(ctx, t.TempDir(), Catalogue(), RenderOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Render on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestRenderMOH(t *testing.T) {
	requireAudio(t, "sox")
	path := filepath.Join(t.TempDir(), "moh", "hotline-hold.wav")
	if err := RenderMOH(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	checkAsteriskWAV(t, path, 18, 22)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("music-on-hold dir holds %d entries, want only the WAV", len(entries))
	}
}

// TestDefaultVoiceSpeaksMandarin guards the choice of DefaultVoice: the plain
// "cmn" voice of espeak-ng 1.51 switches to English ("(en)" in its phoneme
// output) for most of the catalogue, reading 一 as "yi one".
func TestDefaultVoiceSpeaksMandarin(t *testing.T) {
	requireAudio(t, "espeak-ng")
	for _, p := range Catalogue() {
		cmd := exec.CommandContext(t.Context(), "espeak-ng", "-v", DefaultVoice, "-q", "-x", "-b", "1")
		cmd.Stdin = strings.NewReader(p.Chinese)
		cmd.Env = append(os.Environ(), "LANG=C", "LC_ALL=C")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: espeak-ng: %v: %s", p.ID, err, out)
		}
		if strings.Contains(string(out), "(en)") {
			t.Errorf("%s: %s speaks part of %q as English: %s", p.ID, DefaultVoice, p.Chinese, strings.TrimSpace(string(out)))
		}
	}
}
