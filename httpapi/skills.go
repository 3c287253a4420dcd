package httpapi

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/policy"
)

// SkillSetter sets an agent's skills; the agents registry is one.
type SkillSetter interface {
	SetSkills(ctx context.Context, id string, skills map[string]int) error
}

type skillsBody struct {
	// Skills maps a queue to the agent's level in it, 1 the best. An empty
	// map makes the agent a generalist: every queue at level 1.
	Skills map[string]int `json:"skills"`
}

func (d Deps) skillRoutes(rt *Router) {
	rt.Handle("PUT /api/v1/agents/{id}/skills", Supervisor, d.putSkills)
}

// putSkills replaces an agent's skills: which queues they serve and how
// well. Supervisors set them; an agent may not grade themselves.
func (d Deps) putSkills(w http.ResponseWriter, r *http.Request) {
	setter, ok := d.Agents.(SkillSetter)
	if !ok {
		writeError(w, http.StatusNotImplemented, "skills are not supported here")
		return
	}
	var body skillsBody
	if !readJSON(w, r, &body) {
		return
	}
	known := map[string]bool{}
	for _, q := range policy.QueueNames {
		known[q] = true
	}
	var unknown []string
	for q, l := range body.Skills {
		if !known[q] {
			unknown = append(unknown, q)
		}
		if l < 1 || l > agents.MaxLevel {
			writeError(w, http.StatusBadRequest, "skill "+q+": level must be 1 (best) to 9")
			return
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		writeError(w, http.StatusBadRequest, "unknown queue "+strings.Join(unknown, ", ")+"; queues are "+strings.Join(policy.QueueNames, ", "))
		return
	}
	id := r.PathValue("id")
	if err := setter.SetSkills(r.Context(), id, body.Skills); err != nil {
		d.storeError(w, r, err)
		return
	}
	a, err := d.Agents.Get(r.Context(), id)
	d.reply(w, r, http.StatusOK, a, err)
}
