// Package prompts is the hotline's catalogue of recorded prompts and the
// Mandarin composition rules that turn numbers, money and dates into
// sequences of those prompts.
//
// The catalogue is data (catalogue.tsv, embedded at build time) so that the
// wording can be reviewed and changed without touching code. Asterisk plays
// a prompt as "sound:hotline/<id>"; Render produces the matching WAV files.
package prompts

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Prompt is one entry of the catalogue.
type Prompt struct {
	ID      string // short snake_case id, also the sound file name
	Chinese string // what the caller hears
	English string // for operators, logs and review; never played
}

// mediaPrefix is where the rendered files are installed under Asterisk's
// sounds directory (/var/lib/asterisk/sounds/hotline/<id>.wav).
const mediaPrefix = "sound:hotline/"

//go:embed catalogue.tsv
var catalogueTSV []byte

// The embedded catalogue is parsed when the package is initialised, so a
// malformed catalogue stops the binary at start-up (and fails every test)
// instead of surfacing as a panic in the middle of a call.
var (
	catalogue = mustLoad(catalogueTSV)
	byID      = index(catalogue)
)

// Catalogue returns the prompts of the embedded catalogue in file order.
// The slice is a copy: callers may modify it freely.
func Catalogue() []Prompt {
	return append([]Prompt(nil), catalogue...)
}

// Media returns the Asterisk media URI that plays prompt id.
// It does not check that id exists; use Has for that.
func Media(id string) string {
	return mediaPrefix + id
}

// Voices: the parallel sets of recordings, each in its own directory under
// sound:hotline/. The Mandarin prompts are the default set ("").
const (
	VoiceEnglish = "en"   // English, rendered from the catalogue's English column
	VoiceSlow    = "slow" // Mandarin, slower and louder, for elderly callers
)

// Voices lists the parallel voices.
var Voices = []string{VoiceEnglish, VoiceSlow}

// MediaIn returns the media of prompt id in a voice ("" is Mandarin). In
// English the telephone 幺 (d1_yao) is plain "one".
func MediaIn(voice, id string) string {
	if voice == "" {
		return Media(id)
	}
	if voice == VoiceEnglish && id == idYao {
		id = digitIDs[1]
	}
	return mediaPrefix + voice + "/" + id
}

// MediaList returns the media of prompt ids in a voice, in order: what a
// playback of several prompts is given.
func MediaList(voice string, ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = MediaIn(voice, id)
	}
	return out
}

// Has reports whether id is in the embedded catalogue.
func Has(id string) bool {
	_, ok := byID[id]
	return ok
}

// Text joins the Mandarin text of ids, for logs, tests and call transcripts.
// An unknown id appears as "[id]" so that a mistake is visible rather than
// silently dropped.
func Text(ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			b.WriteString(p.Chinese)
		} else {
			b.WriteString("[" + id + "]")
		}
	}
	return b.String()
}

// Parse reads a catalogue in the catalogue.tsv format: one prompt per line
// as id<TAB>Mandarin<TAB>English; blank lines and lines starting with '#'
// are ignored. It rejects malformed lines, invalid or duplicate ids and
// empty texts, naming the offending line.
func Parse(r io.Reader) ([]Prompt, error) {
	var (
		out   []Prompt
		first = map[string]int{} // id -> line it was first defined on
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // editors on Windows add a BOM
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("prompts: catalogue line %d: want 3 tab-separated fields (id, Mandarin, English), got %d", line, len(fields))
		}
		p := Prompt{
			ID:      strings.TrimSpace(fields[0]),
			Chinese: strings.TrimSpace(fields[1]),
			English: strings.TrimSpace(fields[2]),
		}
		if err := validID(p.ID); err != nil {
			return nil, fmt.Errorf("prompts: catalogue line %d: %w", line, err)
		}
		if prev, dup := first[p.ID]; dup {
			return nil, fmt.Errorf("prompts: catalogue line %d: duplicate id %q (first defined on line %d)", line, p.ID, prev)
		}
		if p.Chinese == "" {
			return nil, fmt.Errorf("prompts: catalogue line %d: id %q has empty Mandarin text", line, p.ID)
		}
		if p.English == "" {
			return nil, fmt.Errorf("prompts: catalogue line %d: id %q has empty English text", line, p.ID)
		}
		first[p.ID] = line
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("prompts: catalogue after line %d: %w", line, err)
	}
	if len(out) == 0 {
		return nil, errors.New("prompts: catalogue has no prompts")
	}
	return out, nil
}

// validID accepts short snake_case ids: they become file names and media
// URIs, so anything that could escape the sounds directory or need quoting
// is refused.
func validID(id string) error {
	const maxLen = 64
	switch {
	case id == "":
		return errors.New("empty id")
	case len(id) > maxLen:
		return fmt.Errorf("id %q longer than %d bytes", id, maxLen)
	case id[0] < 'a' || id[0] > 'z':
		return fmt.Errorf("id %q must start with a lower-case letter", id)
	case strings.HasSuffix(id, "_") || strings.Contains(id, "__"):
		return fmt.Errorf("id %q is not snake_case", id)
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return fmt.Errorf("id %q is not snake_case (only a-z, 0-9 and _)", id)
		}
	}
	return nil
}

func mustLoad(tsv []byte) []Prompt {
	ps, err := Parse(bytes.NewReader(tsv))
	if err == nil {
		err = checkRequired(ps)
	}
	if err != nil {
		panic("embedded " + err.Error())
	}
	return ps
}

// checkRequired makes sure every id the composition functions can emit is
// in the catalogue: a missing number piece would otherwise only show up as
// a failed playback on a live call.
func checkRequired(ps []Prompt) error {
	have := index(ps)
	var missing []string
	for _, id := range composedIDs() {
		if _, ok := have[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("prompts: catalogue lacks number pieces %s", strings.Join(missing, ", "))
	}
	return nil
}

func index(ps []Prompt) map[string]Prompt {
	m := make(map[string]Prompt, len(ps))
	for _, p := range ps {
		m[p.ID] = p
	}
	return m
}
