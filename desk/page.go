package desk

import (
	"embed"
	"net/http"
)

// static is the desk page: plain HTML, CSS and JavaScript, no build step
// and no library. It signs in with the agent's own API token (kept in the
// tab's sessionStorage only) and calls the API with it; the page itself
// holds nothing secret and is served without a token.
//
//go:embed static/index.html static/desk.css static/desk.js static/i18n.js static/transfer.js
var static embed.FS

// pageCSP: the page's own files only, and the API on the same origin.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var types = map[string]string{
	"/":         "text/html; charset=utf-8",
	"/desk.css": "text/css; charset=utf-8",
	"/desk.js":  "text/javascript; charset=utf-8",
	"/i18n.js":  "text/javascript; charset=utf-8",
	// transfer.js: blind and attended transfers on the desk.
	"/transfer.js": "text/javascript; charset=utf-8",
}

// Handler serves the desk relative to where it is mounted (the API mounts
// it at /desk/): GET / the page, /desk.css, /desk.js, /i18n.js,
// /transfer.js.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype, ok := types[r.URL.Path]
		if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		name := "static" + r.URL.Path
		if r.URL.Path == "/" {
			name = "static/index.html"
		}
		data, err := static.ReadFile(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		_, _ = w.Write(data)
	})
}
