package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestIVRValidate(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "default.yaml")
	var out bytes.Buffer
	if err := ivrCommand([]string{"default"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	text := strings.Replace(out.String(), "prompts: goodbye\n", "prompts: good_bye\n", 1)
	text = strings.Replace(text, `"0": agent`, `"A": agent`, 1)
	if err := os.WriteFile(broken, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Lines of the two defects, so the test follows edits of default.yaml.
	lineOf := func(needle string) string {
		i := strings.Index(text, needle)
		return strconv.Itoa(strings.Count(text[:i], "\n") + 1)
	}
	cases := []struct {
		name    string
		args    []string
		wantOut string
		wantErr []string
	}{
		{"valid file", []string{"validate", def}, "ok: " + def, nil},
		{"every problem with its line", []string{"validate", broken}, "",
			[]string{"2 problem(s)", broken + ":" + lineOf(`"A": agent`) + ": node main: key \"A\" is out of range", broken + ":" + lineOf("good_bye") + ": node goodbye: prompts: unknown prompt id \"good_bye\""}},
		{"missing file", []string{"validate", filepath.Join(dir, "nope.yaml")}, "", []string{"no such file"}},
		{"no file", []string{"validate"}, "", []string{"hotline ivr validate FILE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ivrCommand(tc.args, &out)
			if !strings.HasPrefix(out.String(), tc.wantOut) {
				t.Errorf("stdout %q, want %q…", out.String(), tc.wantOut)
			}
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err %v", err)
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
