package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/hotline95598/hotline/config"
)

// Role is what a token may do; a stronger role may do all a weaker may.
type Role int

// Roles, weakest first.
const (
	RoleAgent      Role = iota + 1 // one agent's own state
	RoleSupervisor                 // read everything; agents, tickets, callbacks
	RoleAdmin                      // everything: outages, imports, configuration
)

func (r Role) String() string {
	switch r {
	case RoleAgent:
		return config.RoleAgent
	case RoleSupervisor:
		return config.RoleSupervisor
	case RoleAdmin:
		return config.RoleAdmin
	}
	return "none"
}

func roleOf(name string) Role {
	switch name {
	case config.RoleAgent:
		return RoleAgent
	case config.RoleSupervisor:
		return RoleSupervisor
	case config.RoleAdmin:
		return RoleAdmin
	}
	return 0
}

// Principal is who a request's token belongs to.
type Principal struct {
	Name  string // the token's name= in the tokens file; "api" for HOTLINE_API_TOKEN
	Role  Role
	Agent string // for RoleAgent: the one agent it may act on
}

type principalKey struct{}

// PrincipalFrom returns the caller of an /api/ request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Access says who may call a route. Use one of the values below.
type Access struct {
	min  Role
	self bool // an agent token may call it for its own {id}
	work bool // an agent token may call it if the route's gate lets it (HandleWork)
}

// The accesses a route can have.
var (
	// AgentSelf: supervisors and admins on any agent, and an agent token on
	// the agent it is bound to (the route's {id}). For per-agent routes
	// such as /api/v1/agents/{id}/login or /api/v1/agents/{id}/events.
	AgentSelf = Access{min: RoleSupervisor, self: true}
	// AnyToken: every valid token (only the catch-all 404 uses it).
	AnyToken = Access{min: RoleAgent}
	// Supervisor: supervisors and admins (reading, ticket and callback
	// actions, monitoring).
	Supervisor = Access{min: RoleSupervisor}
	// Admin: admins only (outages, imports, configuration, reloads).
	Admin = Access{min: RoleAdmin}
	// agentWork: supervisors and admins, and an agent token when the
	// route's gate says the request is about its own work (its calls,
	// their work orders, its caller's). Only HandleWork registers it.
	agentWork = Access{min: RoleSupervisor, work: true}
)

// Router registers /api/ routes together with who may call them, so the
// access table can never drift from the routes. To add routes, write a
// method in a new file and call it from New next to orderRoutes:
//
//	func (d Deps) monitorRoutes(rt *Router) {
//		rt.Handle("POST /api/v1/agents/{id}/monitor", Supervisor, d.monitor)
//	}
//
// A route put on the ServeMux directly, without Handle, is admin-only: the
// access check denies by default.
type Router struct {
	mux    *http.ServeMux
	access map[string]Access // by pattern, exactly as registered
}

func newRouter() *Router { return &Router{mux: http.NewServeMux(), access: map[string]Access{}} }

// Handle registers h for pattern (a net/http ServeMux pattern such as
// "GET /api/v1/agents/{id}") and allows it to callers with access a.
func (rt *Router) Handle(pattern string, a Access, h http.HandlerFunc) {
	if a.min == 0 {
		panic("httpapi: route " + pattern + " registered without an access")
	}
	if a.work {
		panic("httpapi: route " + pattern + ": agents' work routes need a gate: use HandleWork")
	}
	rt.handle(pattern, a, h)
}

// Gate decides whether an agent token's request is about the agent's own
// work. It writes the refusal (403 with the reason, or the error) itself
// and returns false; it may replace the request (e.g. its body, once read).
type Gate func(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool)

// HandleWork registers a route supervisors and admins may call and an
// agent token may call when gate lets it through.
func (rt *Router) HandleWork(pattern string, gate Gate, h http.HandlerFunc) {
	if gate == nil {
		panic("httpapi: route " + pattern + " registered without a gate")
	}
	inner := h
	rt.handle(pattern, agentWork, func(w http.ResponseWriter, r *http.Request) {
		if p, _ := PrincipalFrom(r.Context()); p.Role == RoleAgent {
			var ok bool
			if r, ok = gate(w, r, p); !ok {
				return
			}
		}
		inner(w, r)
	})
}

func (rt *Router) handle(pattern string, a Access, h http.HandlerFunc) {
	rt.access[pattern] = a
	if a.self {
		// The {id} is known only once the mux has matched the route.
		inner := h
		h = func(w http.ResponseWriter, r *http.Request) {
			if p, _ := PrincipalFrom(r.Context()); p.Role == RoleAgent && r.PathValue("id") != p.Agent {
				writeError(w, http.StatusForbidden, fmt.Sprintf("token %q may act only on agent %s, not on %q", p.Name, p.Agent, r.PathValue("id")))
				return
			}
			inner(w, r)
		}
	}
	rt.mux.HandleFunc(pattern, h)
}

// credential is a token known by its SHA-256 only.
type credential struct {
	sum [sha256.Size]byte
	who Principal
}

// Keys are the tokens the API accepts: HOTLINE_API_TOKEN, fixed for the
// process's life, and the tokens file, which Replace swaps whole (on
// SIGHUP) so that a token is revoked or added without a restart and no
// request ever sees half a file.
type Keys struct {
	single string
	cs     atomic.Pointer[[]credential]
}

// NewKeys returns the keys of the single admin token and a tokens file.
func NewKeys(single string, file []config.APIToken) *Keys {
	k := &Keys{single: single}
	k.Replace(file)
	return k
}

// Replace swaps in a freshly read tokens file.
func (k *Keys) Replace(file []config.APIToken) {
	cs := credentials(k.single, file)
	k.cs.Store(&cs)
}

func (k *Keys) lookup(token string) (Principal, bool) { return lookup(*k.cs.Load(), token) }

func credentials(single string, file []config.APIToken) []credential {
	var cs []credential
	if single != "" {
		// HOTLINE_API_TOKEN: one admin token, as before there were roles.
		cs = append(cs, credential{sha256.Sum256([]byte(single)), Principal{Name: "api", Role: RoleAdmin}})
	}
	for _, t := range file {
		cs = append(cs, credential{t.Hash, Principal{Name: t.Name, Role: roleOf(t.Role), Agent: t.Agent}})
	}
	return cs
}

// lookup finds the token's owner. Hashes are compared, every one of them
// and in constant time, so neither the token's length nor how many leading
// bytes matched shows in the time taken.
func lookup(cs []credential, token string) (Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range cs {
		if subtle.ConstantTimeCompare(sum[:], cs[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 || token == "" {
		return Principal{}, false
	}
	return cs[found].who, true
}

// guard authenticates every /api/ request, applies the rate limit (per
// token, or per client address without a valid token), and checks the
// route's access before rt serves it.
func guard(keys *Keys, lim *limiter, rt *Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, ok := Principal{}, false
		if hasBearer {
			p, ok = keys.lookup(strings.TrimSpace(got))
		}
		key := "token:" + p.Name
		if !ok {
			key = "addr:" + clientAddr(r)
		}
		if wait, allowed := lim.allow(key); !allowed {
			w.Header().Set("Retry-After", fmt.Sprint(wait))
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("rate limit: retry in %d s", wait))
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		_, pattern := rt.mux.Handler(r)
		a, known := rt.access[pattern]
		if !known {
			a = Admin // deny by default: a route registered without Handle
		}
		if p.Role < a.min && !((a.self || a.work) && p.Role == RoleAgent) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("token %q has role %s; %s %s needs role %s", p.Name, p.Role, r.Method, r.URL.Path, a.min))
			return
		}
		rt.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// clientAddr is the peer's IP. X-Forwarded-For is not trusted: the API is
// not meant to sit behind a proxy that would set it honestly.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
