package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/store"
)

// deliverOffers tells each offer's item process about it. Offers for this
// very workflow go to local instead of a signal. An item whose process is
// gone is finished, which frees its agent, and the offers that follow are
// delivered in turn.
func deliverOffers(ctx workflow.Context, offers []store.Offer, local func(OfferSignal)) {
	self := workflow.GetInfo(ctx).WorkflowExecution.ID
	for round := 0; len(offers) > 0 && round < 5; round++ {
		type sent struct {
			offer  store.Offer
			future workflow.Future
		}
		var pending []sent
		for _, o := range offers {
			sig := OfferSignal{OfferID: o.ID, ItemID: o.ItemID, AgentID: o.AgentID, Queue: o.Queue, Channel: o.Channel}
			if o.WorkflowID == self && local != nil {
				local(sig)
				continue
			}
			pending = append(pending, sent{o, workflow.SignalExternalWorkflow(ctx, o.WorkflowID, "", SignalOffer, sig)})
		}
		offers = nil
		for _, p := range pending {
			if err := p.future.Get(ctx, nil); err == nil {
				continue
			}
			workflow.GetLogger(ctx).Warn("item process gone; finishing its work item", "item_id", p.offer.ItemID, "workflow_id", p.offer.WorkflowID)
			var res activities.FinishWorkItemResult
			err := workflow.ExecuteActivity(storageOptions(ctx), a.FinishWorkItem,
				activities.FinishWorkItemRequest{ItemID: p.offer.ItemID, Queue: p.offer.Queue}).Get(ctx, &res)
			if err != nil {
				workflow.GetLogger(ctx).Error("finish orphaned work item", "item_id", p.offer.ItemID, "error", err)
				continue
			}
			offers = append(offers, res.Offers...)
		}
	}
}
