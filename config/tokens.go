package config

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Roles of API tokens, weakest first.
const (
	RoleAgent      = "agent"      // one agent's own state
	RoleSupervisor = "supervisor" // read everything, act on agents, tickets and callbacks
	RoleAdmin      = "admin"      // everything, including imports, outages and configuration
)

// APIToken is one line of HOTLINE_TOKENS_FILE. Only the token's SHA-256 is
// kept: a leaked file does not give access. The token itself is 256 random
// bits (hotline tokens new), so a plain hash is enough; a slow password
// hash would only slow every request down.
type APIToken struct {
	Hash  [sha256.Size]byte
	Role  string
	Agent string // for RoleAgent: the only agent it may act on
	Name  string // who holds it: for logs and rate limits; default the hash's first 12 hex digits
}

// HashToken returns the form the tokens file stores: sha256:<hex>.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewToken returns a fresh random API token (256 bits, URL-safe).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return "hl_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenLine is the tokens-file line for a token.
func TokenLine(token, role, agent, name string) string {
	var b strings.Builder
	b.WriteString(HashToken(token))
	b.WriteString(" role=" + role)
	if agent != "" {
		b.WriteString(" agent=" + agent)
	}
	if name != "" {
		b.WriteString(" name=" + name)
	}
	return b.String()
}

// LoadTokens reads a tokens file; see ParseTokens.
func LoadTokens(path string, agentIDs []string) ([]APIToken, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	toks, err := ParseTokens(f, agentIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return toks, nil
}

// ParseTokens reads one token per line:
//
//	sha256:<64 hex digits> role=agent|supervisor|admin [agent=<id>] [name=<label>]
//
// Blank lines and lines starting with # are skipped. An agent token must
// name its agent, which must be one of agentIDs when that list is given;
// other roles must not name one. The file must hold at least one token.
func ParseTokens(r io.Reader, agentIDs []string) ([]APIToken, error) {
	var toks []APIToken
	seen := map[[sha256.Size]byte]int{}
	names := map[string]int{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fields := strings.Fields(s)
		hexSum, ok := strings.CutPrefix(fields[0], "sha256:")
		raw, err := hex.DecodeString(hexSum)
		if !ok || err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("line %d: %q is not sha256:<64 hex digits> (make one with: hotline tokens new)", line, fields[0])
		}
		t := APIToken{}
		copy(t.Hash[:], raw)
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			switch {
			case !ok || v == "":
				return nil, fmt.Errorf("line %d: %q is not key=value", line, f)
			case k == "role":
				t.Role = v
			case k == "agent":
				t.Agent = v
			case k == "name":
				t.Name = v
			default:
				return nil, fmt.Errorf("line %d: unknown field %q; use role=, agent= and name=", line, k)
			}
		}
		switch t.Role {
		case RoleAgent:
			if t.Agent == "" {
				return nil, fmt.Errorf("line %d: an agent token needs agent=<id>", line)
			}
			if len(agentIDs) > 0 && !slices.Contains(agentIDs, t.Agent) {
				return nil, fmt.Errorf("line %d: agent %q is not in HOTLINE_SIP_AGENTS", line, t.Agent)
			}
		case RoleSupervisor, RoleAdmin:
			if t.Agent != "" {
				return nil, fmt.Errorf("line %d: agent= belongs on agent tokens only, not on role %s", line, t.Role)
			}
		case "":
			return nil, fmt.Errorf("line %d: role= is missing (agent, supervisor or admin)", line)
		default:
			return nil, fmt.Errorf("line %d: unknown role %q; use agent, supervisor or admin", line, t.Role)
		}
		if t.Name == "" {
			t.Name = hexSum[:12]
		}
		if prev, dup := seen[t.Hash]; dup {
			return nil, fmt.Errorf("line %d: the same token as line %d", line, prev)
		}
		if prev, dup := names[t.Name]; dup {
			return nil, fmt.Errorf("line %d: name %q already used on line %d", line, t.Name, prev)
		}
		seen[t.Hash], names[t.Name] = line, line
		toks = append(toks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("holds no token")
	}
	return toks, nil
}
