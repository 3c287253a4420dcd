// Package logx holds the logging conventions: zerolog JSON, phone numbers masked.
package logx

import (
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// New returns the process logger writing JSON to w (stderr when nil).
func New(w io.Writer, level string) zerolog.Logger {
	if w == nil {
		w = os.Stderr
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// MaskPhone keeps the first three and last four digits of a number so logs
// can be correlated without exposing the customer: 13812345678 -> 138****5678.
// Short numbers (extensions, 95598) are kept as they are.
func MaskPhone(n string) string {
	if len(n) <= 7 {
		return n
	}
	masked := []byte(n)
	for i := 3; i < len(n)-4; i++ {
		masked[i] = '*'
	}
	return string(masked)
}
