package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cluster mode: several Asterisk nodes behind Kamailio, the SIP edge. The
// agents' phones register with Kamailio, so a node reaches an agent by
// sending the call to Kamailio (HOTLINE_AGENT_DIAL), and asks Kamailio's
// JSON-RPC whether the phone is registered and busy (HOTLINE_KAMAILIO_RPC).
// Without HOTLINE_SIP_EDGE the controller runs as before: agents are
// PJSIP endpoints of its own Asterisk.

// AgentPlaceholder is what HOTLINE_AGENT_DIAL's template has where the
// agent's id goes.
const AgentPlaceholder = "{agent}"

// clusterDefaults derives what the cluster settings leave unset: the agent
// dial string goes through the SIP edge when there is one, else it is
// HOTLINE_AGENT_TECH/<agent> as on a single node.
func (c *Config) clusterDefaults() {
	if c.AgentDial != "" {
		return
	}
	if c.SIPEdge != "" {
		c.AgentDial = "PJSIP/" + EdgeEndpoint + "/sip:" + AgentPlaceholder + "@" + c.SIPEdge
		return
	}
	c.AgentDial = c.AgentTech + "/" + AgentPlaceholder
}

// EdgeEndpoint is the PJSIP endpoint of the SIP edge on a cluster node
// (deploy/asterisk/cluster/pjsip.conf): calls to and from agents' phones
// pass through it.
const EdgeEndpoint = "edge"

// AgentEndpoint is the dial string (ARI originate endpoint) of an agent's
// phone: HOTLINE_AGENT_DIAL with the agent's id in place.
func (c Config) AgentEndpoint(agent string) string {
	d := c.AgentDial
	if d == "" {
		d = c.AgentTech + "/" + AgentPlaceholder
	}
	return strings.Replace(d, AgentPlaceholder, agent, 1)
}

func (c Config) validateCluster() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.SIPEdge != "" && !validSIPHost(c.SIPEdge) {
		bad("HOTLINE_SIP_EDGE: %q is not Kamailio's address as host or host:port", c.SIPEdge)
	}
	if c.AgentDial != "" {
		switch {
		case strings.Count(c.AgentDial, AgentPlaceholder) != 1:
			bad("HOTLINE_AGENT_DIAL: %q must hold %s exactly once, e.g. PJSIP/edge/sip:%s@127.0.0.1:5060", c.AgentDial, AgentPlaceholder, AgentPlaceholder)
		case strings.ContainsAny(c.AgentDial, " \t,;&\"'"):
			bad("HOTLINE_AGENT_DIAL: %q must not hold spaces, commas, semicolons, ampersands or quotes", c.AgentDial)
		case !strings.Contains(c.AgentDial, "/"):
			bad("HOTLINE_AGENT_DIAL: %q is not a dial string TECH/RESOURCE", c.AgentDial)
		}
	}
	if c.KamailioRPC != "" {
		u, err := url.Parse(c.KamailioRPC)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("HOTLINE_KAMAILIO_RPC: %q is not an http(s) URL such as http://127.0.0.1:5071/RPC", c.KamailioRPC)
		}
	}
	if c.KamailioTimeout < 50*time.Millisecond || c.KamailioTimeout > 10*time.Second {
		bad("HOTLINE_KAMAILIO_TIMEOUT: %s is outside 50ms..10s", c.KamailioTimeout)
	}
	return errors.Join(errs...)
}

// validSIPHost accepts host or host:port (an IPv6 address in brackets).
func validSIPHost(s string) bool {
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return false
		}
		host = h
	} else if strings.Contains(s, ":") && !strings.HasPrefix(s, "[") {
		return false
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}
