package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hotline95598/hotline/callflow"
	"github.com/hotline95598/hotline/menus"
)

const ivrUsage = `usage:
  hotline ivr validate FILE    check a menu file; prints "ok" or every problem with its line
  hotline ivr default          print the built-in menu, a starting point for your own`

// ivrCommand runs "hotline ivr ...". Problems in a menu file come back as
// the error, one per line, so the command exits 1 and names every line.
func ivrCommand(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 2 && args[0] == "validate":
		m, err := menus.Load(args[1], callflow.MenuNames())
		if err != nil {
			var me *menus.Error
			if errors.As(err, &me) {
				return fmt.Errorf("ivr validate: %d problem(s):\n%s", len(me.Problems), err)
			}
			return fmt.Errorf("ivr validate: %w", err)
		}
		fmt.Fprintf(stdout, "ok: %s: menu %s, %d nodes, %d prompts\n", args[1], m.Version, len(m.Nodes), len(m.PromptIDs()))
		return nil
	case len(args) == 1 && args[0] == "default":
		_, err := stdout.Write(menus.DefaultYAML())
		return err
	}
	return errors.New(strings.TrimSpace(ivrUsage))
}
