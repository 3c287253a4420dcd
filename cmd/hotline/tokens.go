package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hotline95598/hotline/config"
)

const tokensUsage = `tokens:
  hotline tokens new -role agent -agent 1001 -name zhang.wei
  hotline tokens new -role supervisor|admin [-name NAME]
      prints a fresh random token (give it to its holder, once) and the line
      to append to HOTLINE_TOKENS_FILE, which stores only the token's hash
  hotline tokens hash [-role ...]   the same for a token read from standard input`

// tokens makes API tokens. It never reads the configuration: tokens can be
// made on any machine and only the printed line travels to the server.
func tokens(args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "new" && args[0] != "hash") {
		return errors.New(tokensUsage)
	}
	fs := flag.NewFlagSet("tokens "+args[0], flag.ContinueOnError)
	role := fs.String("role", "", "agent, supervisor or admin")
	agent := fs.String("agent", "", "for -role agent: the agent id the token may act on")
	name := fs.String("name", "", "who holds the token (logs, audit trail, rate limits)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var tok string
	if args[0] == "new" {
		var err error
		if tok, err = config.NewToken(); err != nil {
			return err
		}
	} else {
		raw, err := io.ReadAll(io.LimitReader(os.Stdin, 4096))
		if err != nil {
			return err
		}
		tok = strings.TrimRight(string(raw), "\r\n")
		if len(tok) < 24 {
			return errors.New("tokens hash: the token on standard input must be at least 24 characters")
		}
	}
	line := config.TokenLine(tok, *role, *agent, *name)
	// Parse what we print, so a bad role or name is caught here and not at
	// the server's next start.
	if _, err := config.ParseTokens(strings.NewReader(line), nil); err != nil {
		return fmt.Errorf("tokens %s: %w", args[0], err)
	}
	if args[0] == "new" {
		fmt.Fprintf(out, "token: %s\n", tok)
	}
	fmt.Fprintf(out, "line for HOTLINE_TOKENS_FILE:\n%s\n", line)
	return nil
}
