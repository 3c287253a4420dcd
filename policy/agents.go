package policy

import (
	"fmt"
	"strings"
)

// Choice is one entry of a list agents pick from on their desk: a pause
// reason or a wrap-up code. ID is what the API and the records store; Name
// (Chinese) and En are what people read.
type Choice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	En   string `json:"en"`
}

// SystemPauseReasons are set by the hotline itself, never chosen by an
// agent: a call let ring out, a softphone not registered when offered a
// call, a pause dialled on the softphone (*23). A policy may not list them.
var SystemPauseReasons = []string{"no_answer", "unregistered", "softphone"}

// AgentDesk is what agents choose from on their desk.
type AgentDesk struct {
	// PauseReasons are the reasons an agent or supervisor may give for a
	// pause; the first is used when none is given.
	PauseReasons []Choice
	// WrapUpCodes classify how a call ended (话后小结), one per call.
	WrapUpCodes []Choice
}

// defaultAgentDesk applies when the file has no agents section. Our choice:
// the reasons and codes a 95598 centre's shift report counts.
var defaultAgentDesk = AgentDesk{
	PauseReasons: []Choice{
		{"break", "小休", "Break"},
		{"lunch", "用餐", "Meal"},
		{"meeting", "班前会", "Team meeting"},
		{"training", "培训", "Training"},
		{"coaching", "质检辅导", "Quality coaching"},
		{"after_call", "工单处理", "Work-order follow-up"},
	},
	WrapUpCodes: []Choice{
		{"answered", "咨询已解答", "Question answered"},
		{"order_taken", "已受理工单", "Work order taken"},
		{"order_progress", "工单进度告知", "Work-order progress given"},
		{"urged", "已催办", "Order urged"},
		{"transferred", "已转办", "Transferred"},
		{"callback_agreed", "已约定回电", "Callback agreed"},
		{"silent", "无声/掉线", "Silent or dropped"},
		{"nuisance", "无效来电", "Nuisance call"},
		{"other", "其他", "Other"},
	},
}

// AgentDesk returns the pause reasons and wrap-up codes.
func (p *Policy) AgentDesk() AgentDesk {
	d := p.desk
	if len(d.PauseReasons) == 0 && len(d.WrapUpCodes) == 0 {
		d = defaultAgentDesk
	}
	return AgentDesk{PauseReasons: append([]Choice(nil), d.PauseReasons...), WrapUpCodes: append([]Choice(nil), d.WrapUpCodes...)}
}

// PauseReason reports whether id is a pause reason of the policy.
func (d AgentDesk) PauseReason(id string) bool { return hasChoice(d.PauseReasons, id) }

// WrapUpCode reports whether id is a wrap-up code of the policy.
func (d AgentDesk) WrapUpCode(id string) bool { return hasChoice(d.WrapUpCodes, id) }

// IDs lists the ids of cs, for error messages.
func IDs(cs []Choice) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return strings.Join(ids, ", ")
}

func hasChoice(cs []Choice, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

type rawAgentDesk struct {
	PauseReasons []rawChoice `yaml:"pause_reasons"`
	WrapUpCodes  []rawChoice `yaml:"wrap_up_codes"`
}

type rawChoice struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	En   string `yaml:"en"`
}

// parseAgentDesk validates the agents section. Left out, the defaults
// apply; given, both lists must be there: half a section is a mistake.
func parseAgentDesk(c checker, raw *rawAgentDesk) AgentDesk {
	if raw == nil {
		return defaultAgentDesk
	}
	system := map[string]bool{}
	for _, r := range SystemPauseReasons {
		system[r] = true
	}
	list := func(field string, in []rawChoice) []Choice {
		fp := "agents." + field
		if len(in) == 0 {
			c.errf(fp, "at least one is required")
			return nil
		}
		seen := map[string]bool{}
		out := make([]Choice, 0, len(in))
		for i, rc := range in {
			ep := fmt.Sprintf("%s[%d]", fp, i)
			checkNamed(c, ep, rc.ID, rc.Name, seen)
			if field == "pause_reasons" && system[rc.ID] {
				c.errf(ep+".id", "%q is a reason the hotline sets by itself (%s); agents cannot choose it", rc.ID, strings.Join(SystemPauseReasons, ", "))
			}
			if len(rc.ID) > 32 {
				c.errf(ep+".id", "%q is longer than 32 characters", rc.ID)
			}
			en := strings.TrimSpace(rc.En)
			if en == "" {
				en = rc.ID // the English desk shows the id rather than nothing
			}
			out = append(out, Choice{ID: rc.ID, Name: strings.TrimSpace(rc.Name), En: en})
		}
		return out
	}
	return AgentDesk{PauseReasons: list("pause_reasons", raw.PauseReasons), WrapUpCodes: list("wrap_up_codes", raw.WrapUpCodes)}
}
