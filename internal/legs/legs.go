// Package legs names the channels and bridges the controller creates in
// Asterisk. We choose every id of a channel we originate, so that we can
// subscribe to its events before it exists; the names also carry which call
// a leg belongs to, which the restart recovery relies on: a channel of a
// call that still has a live owner must never be taken for an orphan.
//
//	<call>                        a customer's call: Asterisk's own id (inbound) or Callback()
//	<call>-agent-<n>              the n-th agent rung for the call
//	<call>-agent-sup<n>           a supervisor's phone, monitoring the call
//	<call>-agent-snoop<n>x<m>     a snoop channel on the agent's leg
//	cb-<callback>-<attempt>       our callback to a customer
//	br-<call>                     the bridge of caller and agent
//	cs-<call>-<n>                 an agent consulting the n-th agent rung (attended transfer)
//	mon-<call>-<n>                a supervisor's listen/whisper bridge
package legs

import (
	"strconv"
	"strings"
)

const (
	agentSep       = "-agent-"
	callbackPrefix = "cb-"
)

// Agent names the leg of the attempt-th agent rung for a call.
func Agent(call string, attempt int) string { return call + agentSep + strconv.Itoa(attempt) }

// AgentAttempt tells whether channel is an agent leg of call, and which
// attempt (a supervisor's or a snoop channel is not an agent leg).
func AgentAttempt(channel, call string) (int, bool) {
	rest, ok := strings.CutPrefix(channel, call+agentSep)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// Supervisor names the leg of a supervisor who monitors a call.
func Supervisor(call string, n int64) string {
	return call + agentSep + "sup" + strconv.FormatInt(n, 10)
}

// Snoop names the m-th snoop channel of the n-th monitor of a call.
func Snoop(call string, n int64, m int) string {
	return call + agentSep + "snoop" + strconv.FormatInt(n, 10) + "x" + strconv.Itoa(m)
}

// Callback names the attempt-th call we place for a callback.
func Callback(id string, attempt int) string {
	return callbackPrefix + id + "-" + strconv.Itoa(attempt)
}

// IsCallback tells whether a channel is a callback we placed (its caller
// ID is ours, never the customer's).
func IsCallback(channel string) bool { return strings.HasPrefix(channel, callbackPrefix) }

// Owner returns the call a channel belongs to: itself for a customer's
// call, the customer's call for an agent's, supervisor's or snoop leg.
func Owner(channel string) string {
	if i := strings.Index(channel, agentSep); i > 0 {
		return channel[:i]
	}
	return channel
}

// CallBridge names the bridge of a call's caller and agent.
func CallBridge(call string) string { return "br-" + call }

// ConsultBridge names the bridge of an agent and the colleague it
// consults, the n-th agent rung for the call, while the caller holds.
func ConsultBridge(call string, n int) string { return "cs-" + call + "-" + strconv.Itoa(n) }

// MonitorBridge names the bridge of a call's n-th listen/whisper monitor.
func MonitorBridge(call string, n int64) string {
	return "mon-" + call + "-" + strconv.FormatInt(n, 10)
}

// Playback names the n-th playback on a channel.
func Playback(channel string, n int) string { return channel + "-pb-" + strconv.Itoa(n) }
