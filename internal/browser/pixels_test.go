package browser

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// A flat panel reads as blank; one with text-like strokes does not.
func TestInspect(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			img.Set(x, y, color.White)
			if x >= 100 && y%10 < 3 && x%7 < 4 { // "text" on the right half
				img.Set(x, y, color.RGBA{20, 30, 60, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	blank, err := Inspect(b.Bytes(), Rect{0, 0, 100, 100})
	if err != nil || blank.Colours != 1 || blank.Ink != 0 || blank.Pixels != 10000 {
		t.Fatalf("left half %+v %v", blank, err)
	}
	drawn, err := Inspect(b.Bytes(), Rect{100, 0, 100, 100})
	if err != nil || drawn.Colours != 2 || drawn.Ink < 0.1 || drawn.Ink > 0.2 {
		t.Fatalf("right half %+v %v", drawn, err)
	}
	if _, err := Inspect(b.Bytes(), Rect{300, 300, 10, 10}); err == nil {
		t.Fatal("a region outside the screenshot is an error")
	}
	if _, err := Inspect([]byte("not a png"), Rect{0, 0, 1, 1}); err == nil {
		t.Fatal("not a PNG is an error")
	}
}
