package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotline95598/hotline/prompts"
)

// renderVoices renders the parallel voices (a comma-separated list of
// prompts.Voices) into dir/<voice>, where Asterisk plays them as
// sound:hotline/<voice>/<id>: English from the catalogue's English column,
// and the elderly service's slower Mandarin.
func renderVoices(ctx context.Context, dir, list string, force bool) error {
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !slices.Contains(prompts.Voices, v) {
			return fmt.Errorf("prompts render: unknown voice %q (one of %s)", v, strings.Join(prompts.Voices, ", "))
		}
		opts := prompts.RenderOptions{Force: force}
		switch v {
		case prompts.VoiceEnglish:
			opts.English = true
		case prompts.VoiceSlow:
			opts.Speed = prompts.SlowSpeed
		}
		sub := filepath.Join(dir, v)
		n, err := prompts.Render(ctx, sub, prompts.Catalogue(), opts)
		if err != nil {
			return err
		}
		fmt.Printf("rendered %d of %d %s prompts into %s\n", n, len(prompts.Catalogue()), v, sub)
	}
	return nil
}
