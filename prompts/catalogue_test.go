package prompts

import (
	"strings"
	"testing"
)

// briefIDs are the prompts the call flows were specified against.
var briefIDs = []string{
	"welcome", "main_menu", "invalid_input", "no_input", "transfer_agent",
	"fault_accepted", "ticket_repeat_or_agent", "billing_enter_account",
	"billing_unknown_account", "billing_balance", "billing_last_bill",
	"billing_bill_date", "complaint_accepted", "queue_wait", "callback_intro",
	"callback_connecting", "goodbye", "outage_notice", "error_try_later",
	"agent_whisper",
	"d0", "d1", "d1_yao", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9",
	"shi", "bai", "qian", "wan", "yi", "liang", "yuan", "jiao", "fen",
	"zheng", "dian", "fu", "nian", "yue", "ri", "hao", "shi_hour", "fen_minute",
	// Outages, open work orders and follow-up calls.
	"outage_planned", "outage_unknown_restore", "outage_still_report", "fault_merged",
	"outage_late", "outage_planned_late", "outage_suspected",
	"open_ticket_intro", "open_ticket_deadline", "open_ticket_urge", "urge_recorded",
	"status_accepted", "status_registered", "status_assigned", "status_in_progress",
	"status_resolved", "status_follow_up",
	"followup_intro", "followup_result", "result_power_restored", "result_repaired",
	"result_explained", "result_refunded", "result_other", "followup_ask",
	"followup_thanks", "followup_sorry",
	"callback_intro_cut_off", "callback_intro_scheduled", "callback_intro_virtual_hold", "callback_intro_first_contact",
	"callback_intro_leadership",
	"agent_logged_in", "agent_logged_out", "agent_paused", "agent_ready", "agent_feature_failed",
	// Ordinals and durations (Ordinal, Duration).
	"di", "wei", "xiaoshi", "fenzhong", "miao",
	// Waiting in the queue: position, estimate, the kept-place offer, overflow, senior desk.
	"queue_position_ahead", "queue_position_callers", "queue_position_next", "queue_wait_about",
	"queue_wait_minutes", "queue_wait_under_minute", "queue_vhold_offer", "queue_vhold_confirm",
	"queue_overflow_callback", "senior_transfer", "transfer_queue", "transfer_consult",
	// Timed notices before the menu: each kind's default prompt.
	"notice_storm", "notice_planned", "notice_holiday", "notice_general",
	// The post-call survey (callflow/survey.go).
	"survey_ask", "survey_sorry",
}

func TestCatalogueHasBriefPrompts(t *testing.T) {
	// The English number words are listed once, in english.go.
	briefIDs := append(briefIDs[:len(briefIDs):len(briefIDs)], englishIDs()...)
	for _, id := range briefIDs {
		if !Has(id) {
			t.Errorf("catalogue lacks %q", id)
		}
	}
	if got, want := len(Catalogue()), len(briefIDs); got != want {
		t.Errorf("catalogue has %d prompts, brief lists %d: update briefIDs when adding prompts", got, want)
	}
}

func TestCatalogueWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Catalogue() {
		if seen[p.ID] {
			t.Errorf("duplicate id %q", p.ID)
		}
		seen[p.ID] = true
		if err := validID(p.ID); err != nil {
			t.Error(err)
		}
		if p.Chinese == "" || p.English == "" {
			t.Errorf("%q: empty text", p.ID)
		}
		// The synthesiser would read "95598" as 九万五千五百九十八 and
		// "1" in a menu is ambiguous (yī or yāo): write numbers in
		// characters.
		if strings.ContainsAny(p.Chinese, "0123456789") {
			t.Errorf("%q: Mandarin text %q contains ASCII digits", p.ID, p.Chinese)
		}
	}
}

func TestCatalogueNumberPieces(t *testing.T) {
	want := map[string]string{
		"d0": "零", "d1": "一", "d1_yao": "幺", "d2": "二", "d3": "三", "d4": "四",
		"d5": "五", "d6": "六", "d7": "七", "d8": "八", "d9": "九",
		"shi": "十", "bai": "百", "qian": "千", "wan": "万", "yi": "亿",
		"liang": "两", "yuan": "元", "jiao": "角", "fen": "分", "zheng": "整",
		"dian": "点", "fu": "负", "nian": "年", "yue": "月", "ri": "日",
		"hao": "号", "shi_hour": "时", "fen_minute": "分",
	}
	for id, zh := range want {
		if got := Text([]string{id}); got != zh {
			t.Errorf("Text(%q) = %q, want %q", id, got, zh)
		}
	}
}

func TestCatalogueReturnsCopy(t *testing.T) {
	c := Catalogue()
	c[0].Chinese = "changed"
	if Catalogue()[0].Chinese == "changed" {
		t.Fatal("Catalogue exposes its backing array")
	}
}

func TestMediaAndHas(t *testing.T) {
	if got := Media("welcome"); got != "sound:hotline/welcome" {
		t.Errorf("Media = %q", got)
	}
	if Has("no_such_prompt") || Has("") {
		t.Error("Has reports unknown ids")
	}
}

func TestTextMarksUnknownIDs(t *testing.T) {
	if got, want := Text([]string{"d9", "nope", "d5"}), "九[nope]五"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got := Text(nil); got != "" {
		t.Errorf("Text(nil) = %q", got)
	}
}

func TestParseAccepts(t *testing.T) {
	in := "\ufeff# comment\r\n\r\nhello\t你好\tHello\r\n  \n# another\nbye_now\t 再见 \tGoodbye\n"
	ps, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Prompt{{"hello", "你好", "Hello"}, {"bye_now", "再见", "Goodbye"}}
	if len(ps) != len(want) {
		t.Fatalf("got %v, want %v", ps, want)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("prompt %d = %+v, want %+v", i, ps[i], want[i])
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"two fields", "a\t你好\tHi\nb\t再见\n", "line 2: want 3 tab-separated fields"},
		{"four fields", "a\t你好\tHi\textra\n", "line 1: want 3 tab-separated fields"},
		{"spaces not tabs", "a 你好 Hi\n", "line 1: want 3"},
		{"duplicate", "# c\na\t你好\tHi\nb\t好\tOK\na\t再见\tBye\n", `line 4: duplicate id "a" (first defined on line 2)`},
		{"empty mandarin", "a\t \tHi\n", `line 1: id "a" has empty Mandarin`},
		{"empty english", "a\t你好\t\n", `line 1: id "a" has empty English`},
		{"empty id", "\t你好\tHi\n", "line 1: empty id"},
		{"upper case", "Welcome\t你好\tHi\n", `line 1: id "Welcome" must start with a lower-case letter`},
		{"leading digit", "1st\t你好\tHi\n", "line 1: id \"1st\" must start"},
		{"hyphen", "main-menu\t你好\tHi\n", "line 1: id \"main-menu\" is not snake_case"},
		{"path", "../etc\t你好\tHi\n", "line 1"},
		{"slash", "a/b\t你好\tHi\n", "not snake_case"},
		{"double underscore", "a__b\t你好\tHi\n", "not snake_case"},
		{"trailing underscore", "a_\t你好\tHi\n", "not snake_case"},
		{"too long", strings.Repeat("a", 65) + "\t你好\tHi\n", "longer than 64"},
		{"empty", "# only comments\n\n", "no prompts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Parse accepted %q", tt.in)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckRequired(t *testing.T) {
	ps := []Prompt{{"welcome", "您好", "Hello"}}
	err := checkRequired(ps)
	if err == nil || !strings.Contains(err.Error(), "d0") || !strings.Contains(err.Error(), "fen_minute") {
		t.Fatalf("checkRequired = %v, want the missing number pieces listed", err)
	}
}
