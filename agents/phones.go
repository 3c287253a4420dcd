package agents

import (
	"context"

	"github.com/hotline95598/hotline/ivr"
)

// Phones is how the controller reaches agents' (and supervisors')
// softphones: the dial string of a phone, and whether it can take a call
// now. On a single Asterisk the phones register there and are its PJSIP
// endpoints; behind a SIP edge they register once at the edge and every
// Asterisk node reaches them through it, so both answers come from there.
type Phones interface {
	// Endpoint is the dial string of a phone, e.g. "PJSIP/1001".
	Endpoint(id string) string
	// Status tells whether the phone is registered and whether it is
	// already on a call we did not place (an agent dialled out, or is on
	// the echo test).
	Status(ctx context.Context, id string) (online, busy bool, err error)
}

// SwitchPhones are phones registered at the Asterisk the switch drives.
type SwitchPhones struct {
	Switch ivr.Switch
	Tech   string // "PJSIP": phones are dialled at Tech/ID
}

// Endpoint implements Phones.
func (p SwitchPhones) Endpoint(id string) string { return p.tech() + "/" + id }

func (p SwitchPhones) tech() string {
	if p.Tech == "" {
		return "PJSIP"
	}
	return p.Tech
}

// statusSwitch is a switch that tells registration and busy in one request
// (the ARI edge: the endpoint's state and its channels).
type statusSwitch interface {
	EndpointStatus(ctx context.Context, tech, resource string) (online, busy bool, err error)
}

// Status implements Phones.
func (p SwitchPhones) Status(ctx context.Context, id string) (online, busy bool, err error) {
	if s, ok := p.Switch.(statusSwitch); ok {
		return s.EndpointStatus(ctx, p.tech(), id)
	}
	online, err = p.Switch.EndpointOnline(ctx, p.tech(), id)
	return online, false, err
}
