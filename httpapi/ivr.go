package httpapi

import (
	"errors"
	"net/http"

	"github.com/hotline95598/hotline/menus"
)

// MenuHolder is the IVR menu new calls run; menus.Holder is one.
type MenuHolder interface {
	Load() *menus.Menu
	Path() string
	Reload(path string) (*menus.Menu, error)
}

type menuInfo struct {
	Version string `json:"version"`
	File    string `json:"file"` // "" for the built-in menu
	Nodes   int    `json:"nodes"`
	Prompts int    `json:"prompts"`
}

type reloadRefused struct {
	Error    string          `json:"error"`
	Problems []menus.Problem `json:"problems"`
	Running  menuInfo        `json:"running"` // the menu that stays
}

func (d Deps) ivrRoutes(rt *Router) {
	if d.IVR == nil {
		return
	}
	rt.Handle("GET /api/v1/ivr", Supervisor, d.getMenu)
	rt.Handle("POST /api/v1/ivr/reload", Admin, d.reloadMenu)
}

func (d Deps) info(m *menus.Menu) menuInfo {
	return menuInfo{Version: m.Version, File: d.IVR.Path(), Nodes: len(m.Nodes), Prompts: len(m.PromptIDs())}
}

// getMenu says which menu new calls run.
func (d Deps) getMenu(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.info(d.IVR.Load()))
}

// reloadMenu re-reads the configured menu file (HOTLINE_IVR_FILE), as
// SIGHUP does. The file cannot be named in the request: the API must not
// read arbitrary files of the server. A file that does not validate is
// refused with every problem (422) and the running menu stays; calls in
// progress keep the menu they started with either way.
func (d Deps) reloadMenu(w http.ResponseWriter, r *http.Request) {
	m, err := d.IVR.Reload("")
	if err != nil {
		out := reloadRefused{Error: "menu refused; the running menu stays", Running: d.info(d.IVR.Load())}
		var me *menus.Error
		if errors.As(err, &me) {
			out.Problems = me.Problems
		} else {
			out.Problems = []menus.Problem{{File: d.IVR.Path(), Msg: err.Error()}}
		}
		d.Log.Warn().Err(err).Msg("menu reload refused")
		writeJSON(w, http.StatusUnprocessableEntity, out)
		return
	}
	d.Log.Info().Str("menu", m.Version).Str("file", d.IVR.Path()).Msg("menu reloaded through the API")
	writeJSON(w, http.StatusOK, d.info(m))
}
