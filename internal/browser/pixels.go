package browser

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// Region tells what a part of a screenshot looks like, to check that a
// page drew something there (a blank or missing panel draws one colour).
type Region struct {
	Pixels  int     // pixels looked at
	Colours int     // distinct colours among them
	Ink     float64 // share of pixels that differ clearly from the region's commonest colour (its background)
}

// Inspect looks at the part r of a PNG screenshot.
func Inspect(shot []byte, r Rect) (Region, error) {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return Region{}, fmt.Errorf("screenshot: %w", err)
	}
	box := image.Rect(int(r.X), int(r.Y), int(r.X+r.Width), int(r.Y+r.Height)).Intersect(img.Bounds())
	if box.Empty() {
		return Region{}, fmt.Errorf("region %+v is outside the %v screenshot", r, img.Bounds())
	}
	counts := map[color.RGBA]int{}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8), 255}]++
		}
	}
	var bg color.RGBA
	for c, n := range counts {
		if n > counts[bg] {
			bg = c
		}
	}
	far := 0
	for c, n := range counts {
		if dist(c, bg) > 60 {
			far += n
		}
	}
	total := box.Dx() * box.Dy()
	return Region{Pixels: total, Colours: len(counts), Ink: float64(far) / float64(total)}, nil
}

// dist is the sum of the channels' differences.
func dist(a, b color.RGBA) int {
	abs := func(x int) int {
		if x < 0 {
			return -x
		}
		return x
	}
	return abs(int(a.R)-int(b.R)) + abs(int(a.G)-int(b.G)) + abs(int(a.B)-int(b.B))
}
