package callflow

import (
	"context"

	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/notices"
)

// Notices finds the timed notices to play before the menu: those for
// every caller and those for the caller's area ("" = unknown: every
// caller's only), in the order to play them.
type Notices interface {
	Active(ctx context.Context, area string) ([]notices.Notice, error)
}

// SetNotices gives the flow the timed notices to play (the menu's notices
// step); without them that step does nothing. Call it before the first call.
func (f *Flow) SetNotices(n Notices) { f.notices = n }

// playNotices plays the notices placed for this caller, before the outage
// notice and the menu. A key cuts them short and counts as the menu choice.
// A Redis failure only costs the notices: the call goes on to the menu.
func (f *Flow) playNotices(ctx context.Context, c *call, st *menus.State) error {
	src := f.notices
	if src == nil {
		return nil
	}
	area := ""
	if c.account != nil {
		area = c.account.Area
	}
	list, err := src.Active(ctx, area)
	if err != nil {
		f.m.RedisErrors.WithLabelValues("notice_lookup").Inc()
		c.log.Error().Err(err).Msg("look up notices")
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	ids := make([]string, len(list))
	for i, n := range list {
		ids[i] = n.ID
	}
	c.log.Info().Strs("notice_ids", ids).Msg("playing notices")
	// One playback per notice: a key ends the notices, not just the one
	// playing, and each notice counted was started.
	for _, n := range list {
		if c.sess.HasTypeahead() {
			break // a key cut the notices short: it is the caller's menu choice
		}
		f.m.NoticesPlayed.WithLabelValues(string(n.Kind)).Inc()
		// In the caller's voice: an English caller hears the English
		// rendition; an operator's own recording plays as recorded.
		if err := c.sess.Announce(ctx, n.Media(st.Voice)); err != nil {
			return err
		}
	}
	return nil
}
