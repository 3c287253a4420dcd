package legs

import "testing"

func TestOwner(t *testing.T) {
	for _, tc := range []struct{ channel, want string }{
		{"1795345960.0", "1795345960.0"},
		{Agent("1795345960.0", 3), "1795345960.0"},
		{Supervisor("1795345960.0", 2), "1795345960.0"},
		{Snoop("1795345960.0", 2, 1), "1795345960.0"},
		{Callback("CB1", 2), "cb-CB1-2"},
		{Agent(Callback("CB1", 2), 1), "cb-CB1-2"},
	} {
		if got := Owner(tc.channel); got != tc.want {
			t.Errorf("Owner(%q) = %q, want %q", tc.channel, got, tc.want)
		}
	}
}

func TestAgentAttempt(t *testing.T) {
	for _, tc := range []struct {
		channel string
		n       int
		ok      bool
	}{
		{Agent("c1", 4), 4, true},
		{Supervisor("c1", 4), 0, false},
		{Snoop("c1", 4, 1), 0, false},
		{Agent("c2", 4), 0, false},
		{"c1", 0, false},
	} {
		n, ok := AgentAttempt(tc.channel, "c1")
		if n != tc.n || ok != tc.ok {
			t.Errorf("AgentAttempt(%q) = %d, %v; want %d, %v", tc.channel, n, ok, tc.n, tc.ok)
		}
	}
}

func TestIsCallback(t *testing.T) {
	if !IsCallback(Callback("X", 1)) || IsCallback("1795345960.0") {
		t.Fatal("IsCallback")
	}
}
