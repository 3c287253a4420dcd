package workorders

import (
	"context"

	"github.com/hotline95598/hotline/callbacks"
)

// CallbackGaveUp hears of every callback that ended unanswered (the
// callback worker's OnGiveUp): a follow-up call (回访) nobody answered is
// noted on its work order.
func (s *Service) CallbackGaveUp(ctx context.Context, cb callbacks.Callback) {
	if cb.Kind != callbacks.KindFollowUp || cb.TicketID == "" {
		return
	}
	if err := s.FollowUpUnreached(ctx, cb.TicketID); err != nil {
		s.log.Warn().Err(err).Str("ticket_id", cb.TicketID).Msg("note unanswered follow-up")
	}
}
