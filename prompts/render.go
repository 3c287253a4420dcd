package prompts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// RenderOptions tunes Render. The zero value is usable.
type RenderOptions struct {
	// Speed is the speaking rate in words per minute (espeak-ng -s).
	// 0 means DefaultSpeed.
	Speed int
	// Voice is the espeak-ng voice. "" means DefaultVoice.
	Voice string
	// Force re-renders every prompt even if its audio is up to date.
	Force bool
	// English renders the catalogue's English column (for VoiceEnglish)
	// instead of the Mandarin one; Voice "" then means EnglishVoice.
	English bool
}

const (
	// DefaultSpeed is deliberately slower than espeak-ng's 175 wpm: many
	// 95598 callers are elderly and on poor lines.
	DefaultSpeed = 140

	// DefaultVoice is espeak-ng's Mandarin voice that reads Latin text as
	// pinyin. The plain "cmn" voice of espeak-ng 1.51 (Debian 12) turns
	// many characters into pinyin with a tone digit and then reads that
	// as English ("一" comes out as "yi one"); "cmn-latn-pinyin" uses the
	// same dictionary but speaks the pinyin as Mandarin.
	DefaultVoice = "cmn-latn-pinyin"

	// EnglishVoice is espeak-ng's English voice, for the English prompts.
	EnglishVoice = "en"

	// SlowSpeed is the rate of the elderly service's prompts (VoiceSlow).
	SlowSpeed = 105

	// renderConcurrency bounds the synthesiser processes Render runs at
	// once: the production host has two cores.
	renderConcurrency = 2

	// pipelineVersion is part of every prompt's hash. Bump it when the
	// commands below change so that existing audio is re-rendered.
	pipelineVersion = "hotline-prompt-v1 espeak-ng|sox 8000/1/16 trim pad 0 0.1 norm -3"

	// maxStderr bounds how much of a failing command's stderr goes into an
	// error message.
	maxStderr = 2000
)

// Render writes dir/<id>.wav for each prompt: 8 kHz, mono, 16-bit signed PCM
// WAV, the format Asterisk's format_wav plays without transcoding. Speech
// comes from espeak-ng and is converted by sox, which also trims the
// synthesiser's leading and trailing silence, normalises the level to
// -3 dBFS and appends 100 ms of silence so that concatenated prompts
// (number pieces) are evenly spaced.
//
// Render is incremental: next to each WAV it keeps dir/<id>.txt holding the
// SHA-256 of the voice, speed and text, and skips a prompt whose WAV exists
// and whose hash is unchanged, unless opts.Force is set. Files are replaced
// atomically, so Asterisk never plays a half-written prompt and an
// interrupted run is simply resumed by the next one.
//
// It returns how many prompts were rendered. On the first failure it stops
// starting new work and returns an error naming the prompt and including the
// command's stderr.
func Render(ctx context.Context, dir string, prompts []Prompt, opts RenderOptions) (rendered int, err error) {
	if opts.Speed == 0 {
		opts.Speed = DefaultSpeed
	}
	if opts.Speed < 0 {
		return 0, fmt.Errorf("prompts: render: negative speed %d", opts.Speed)
	}
	if opts.Voice == "" {
		opts.Voice = DefaultVoice
		if opts.English {
			opts.Voice = EnglishVoice
		}
	}
	if err := checkRenderable(prompts, opts.English); err != nil {
		return 0, err
	}
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 0, fmt.Errorf("prompts: render: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("prompts: render: %w", err)
	}
	// Intermediate files live inside dir so that the final rename is on
	// the same file system and therefore atomic.
	work, err := os.MkdirTemp(dir, ".render-")
	if err != nil {
		return 0, fmt.Errorf("prompts: render: %w", err)
	}
	defer os.RemoveAll(work)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		jobs     = make(chan Prompt)
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel() // the others' errors would only be "killed"
		}
	}
	for range renderConcurrency {
		wg.Go(func() {
			for p := range jobs {
				if ctx.Err() != nil {
					continue // drain: we are failing or cancelled
				}
				did, err := renderPrompt(ctx, work, dir, p, opts)
				if err != nil {
					fail(err)
					continue
				}
				if did {
					mu.Lock()
					rendered++
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, p := range prompts {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()

	if firstErr != nil {
		return rendered, firstErr
	}
	// Our own cancel has not run yet, so this is the caller's.
	if err := ctx.Err(); err != nil {
		return rendered, fmt.Errorf("prompts: render: %w", err)
	}
	return rendered, nil
}

// checkRenderable refuses prompts that would clash or escape dir before any
// process is started.
func checkRenderable(prompts []Prompt, english bool) error {
	seen := make(map[string]bool, len(prompts))
	for i, p := range prompts {
		if err := validID(p.ID); err != nil {
			return fmt.Errorf("prompts: render: prompt %d: %w", i, err)
		}
		if seen[p.ID] {
			return fmt.Errorf("prompts: render: duplicate id %q", p.ID)
		}
		seen[p.ID] = true
		if english && SpokenEnglish(p.English) == "" {
			return fmt.Errorf("prompts: render: prompt %q has no English text", p.ID)
		}
		if !english && strings.TrimSpace(p.Chinese) == "" {
			return fmt.Errorf("prompts: render: prompt %q has no Mandarin text", p.ID)
		}
	}
	return nil
}

// promptHash identifies the audio a prompt should have. Fields are
// NUL-separated so that no two different inputs hash alike.
func promptHash(voice string, speed int, text string) string {
	sum := sha256.Sum256([]byte(pipelineVersion + "\x00" + voice + "\x00" + strconv.Itoa(speed) + "\x00" + text))
	return hex.EncodeToString(sum[:])
}

// upToDate reports whether dir already holds the audio for hash.
func upToDate(dir, id, hash string) bool {
	stored, err := os.ReadFile(filepath.Join(dir, id+".txt"))
	if err != nil || strings.TrimSpace(string(stored)) != hash {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, id+".wav"))
	return err == nil && fi.Mode().IsRegular() && fi.Size() > wavHeaderSize
}

const wavHeaderSize = 44

// renderPrompt renders one prompt unless it is up to date; did reports
// whether it did.
func renderPrompt(ctx context.Context, work, dir string, p Prompt, opts RenderOptions) (did bool, err error) {
	text := p.Chinese
	if opts.English {
		text = SpokenEnglish(p.English)
	}
	hash := promptHash(opts.Voice, opts.Speed, text)
	if !opts.Force && upToDate(dir, p.ID, hash) {
		return false, nil
	}
	speech := filepath.Join(work, p.ID+".speech.wav")
	out := filepath.Join(work, p.ID+".wav")
	defer os.Remove(speech)

	// The text goes through stdin, not argv, so that a text starting
	// with '-' cannot be taken for an option. -b 1: the input is UTF-8
	// whatever the locale of the service that runs us.
	err = run(ctx, strings.NewReader(text), "espeak-ng",
		"-v", opts.Voice, "-s", strconv.Itoa(opts.Speed), "-b", "1", "-w", speech)
	if err != nil {
		return false, fmt.Errorf("prompts: render %q: %w", p.ID, err)
	}
	// espeak-ng surrounds speech with about 0.35 s of digital silence;
	// trimming it (silence … reverse silence … reverse strips both ends)
	// halves the length of a number piece, so that 一百二十三元 played
	// piece by piece sounds like one number rather than a slow count.
	// The 100 ms pad then gives every prompt the same short gap.
	err = run(ctx, nil, "sox", speech,
		"-t", "wav", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", out,
		"silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse",
		"pad", "0", "0.1", "norm", "-3")
	if err != nil {
		return false, fmt.Errorf("prompts: render %q: %w", p.ID, err)
	}
	// WAV first, hash second: a crash in between leaves a stale or missing
	// hash, which only costs a re-render.
	if err := os.Rename(out, filepath.Join(dir, p.ID+".wav")); err != nil {
		return false, fmt.Errorf("prompts: render %q: %w", p.ID, err)
	}
	if err := writeFileAtomic(work, filepath.Join(dir, p.ID+".txt"), []byte(hash+"\n")); err != nil {
		return false, fmt.Errorf("prompts: render %q: %w", p.ID, err)
	}
	return true, nil
}

// SpokenEnglish is the English column as it is spoken: notes for the
// reviewer in parentheses ("one (yao, as read in phone numbers)") are
// dropped.
func SpokenEnglish(s string) string {
	for {
		i := strings.Index(s, "(")
		j := strings.Index(s, ")")
		if i < 0 || j < i {
			break
		}
		s = s[:i] + s[j+1:]
	}
	return strings.Join(strings.Fields(s), " ")
}

// writeFileAtomic writes data to a temporary file in work and renames it
// over path.
func writeFileAtomic(work, path string, data []byte) error {
	f, err := os.CreateTemp(work, filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// run runs a command, returning an error that carries its stderr: espeak-ng
// and sox explain themselves there, and exit status 1 alone says nothing.
func run(ctx context.Context, stdin io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin // nil: the null device
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > maxStderr {
			msg = msg[:maxStderr] + "…"
		}
		if msg == "" {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return nil
}

// mohChords is a slow I–vi–IV–V–I progression. Every note lies between 300
// and 800 Hz: telephone codecs and handsets pass roughly 300–3400 Hz, so
// lower notes would be lost and higher ones sound shrill on a handset.
var mohChords = [][3]float64{
	{523.25, 659.25, 783.99}, // C5 E5 G5
	{440.00, 523.25, 659.25}, // A4 C5 E5
	{349.23, 440.00, 523.25}, // F4 A4 C5
	{392.00, 493.88, 587.33}, // G4 B4 D5
	{523.25, 659.25, 783.99}, // C5 E5 G5
}

const mohChordSeconds = 4 // five chords: about 20 s, then Asterisk loops it

// RenderMOH writes path as an 8 kHz, mono, 16-bit PCM WAV of about 20 s of
// quiet music on hold: soft sine chords that swell in and fade out, made
// with sox's synth effect alone so that no third-party audio (and no
// licence question) is involved. The level is kept well below the prompts
// (-12 dBFS) because callers may listen to it for minutes.
func RenderMOH(ctx context.Context, path string) error {
	if _, err := exec.LookPath("sox"); err != nil {
		return fmt.Errorf("prompts: render music on hold: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("prompts: render music on hold: %w", err)
	}
	work, err := os.MkdirTemp(dir, ".moh-")
	if err != nil {
		return fmt.Errorf("prompts: render music on hold: %w", err)
	}
	defer os.RemoveAll(work)

	format := []string{"-t", "wav", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"}
	dur := strconv.Itoa(mohChordSeconds)
	var segments []string
	for i, chord := range mohChords {
		seg := filepath.Join(work, fmt.Sprintf("chord%d.wav", i))
		args := append([]string{"-n"}, format...)
		args = append(args, seg, "synth", dur)
		for _, f := range chord {
			args = append(args, "sine", strconv.FormatFloat(f, 'f', 2, 64))
		}
		// remix - mixes the three tones (one per channel) into one;
		// the quarter-sine fade in 1 s, out 1.5 s gives a gentle swell.
		args = append(args, "remix", "-", "fade", "q", "1", dur, "1.5")
		if err := run(ctx, nil, "sox", args...); err != nil {
			return fmt.Errorf("prompts: render music on hold: chord %d: %w", i, err)
		}
		segments = append(segments, seg)
	}
	tmp := filepath.Join(work, "moh.wav")
	args := append(append([]string(nil), segments...), format...)
	args = append(args, tmp, "norm", "-12")
	if err := run(ctx, nil, "sox", args...); err != nil {
		return fmt.Errorf("prompts: render music on hold: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("prompts: render music on hold: %w", err)
	}
	return nil
}
