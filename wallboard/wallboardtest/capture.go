// Package wallboardtest renders the wallboard in headless Chromium for tests:
// it waits until the page shows live numbers, then takes a screenshot and
// the rendered DOM. It drives Chromium with internal/browser.
package wallboardtest

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hotline95598/hotline/internal/browser"
)

// Ready is a JavaScript condition: the wallboard is connected to its stream
// and shows a number of callers waiting in queue.
func Ready(queue string) string {
	q, _ := json.Marshal(queue)
	return `(function(){var c=document.getElementById('conn');` +
		`var w=document.querySelector('[data-queue=' + JSON.stringify(` + string(q) + `) + '] [data-field="waiting"]');` +
		`return !!c && c.getAttribute('data-state')==='connected' && !!w && /^[0-9]+$/.test(w.textContent);})()`
}

// Shot is what the page looked like.
type Shot struct {
	PNG []byte
	DOM string
}

// Flags are the Chromium flags used (see internal/browser).
var Flags = browser.Flags

// Capture opens url in headless Chromium at width×height, waits until the
// JavaScript expression ready is true, and captures the page. If ctx ends
// first it still returns what the page looked like, with an error.
func Capture(ctx context.Context, chromium, url string, width, height int, ready string) (Shot, error) {
	b, err := browser.Launch(ctx, chromium, width, height)
	if err != nil {
		return Shot{}, err
	}
	defer b.Close()
	if dl, ok := ctx.Deadline(); ok {
		b.Deadline(dl.Add(10 * time.Second)) // room to capture after a timeout
	}
	if err := b.Navigate(url); err != nil {
		return Shot{}, err
	}
	waitErr := b.WaitFor(ctx, ready)
	if waitErr != nil && ctx.Err() == nil {
		return Shot{}, waitErr // the page broke, not the clock
	}
	// Let the page paint what it just rendered.
	if waitErr == nil {
		time.Sleep(300 * time.Millisecond)
	}
	var shot Shot
	if shot.PNG, err = b.Screenshot(); err != nil {
		return shot, errors.Join(waitErr, err)
	}
	if shot.DOM, err = b.DOM(); err != nil {
		return shot, errors.Join(waitErr, err)
	}
	return shot, waitErr
}
