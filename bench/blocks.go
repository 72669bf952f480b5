package bench

import (
	"context"
	"fmt"
	"time"
)

// blocks runs the A/B comparisons in alternating blocks: in each, casehub's
// throughput arm then the bare one, casehub's agent steps then the bare
// updates. Ratios are taken per block; the table shows their median and
// range.
func (b *bencher) blocks(ctx context.Context) error {
	o := b.s.opts
	var tpRatios, refRatios, stepP50, stepP99, localP50, localP99, directP50, apiShare []float64
	var chRates, bareRates, refRates, chP50, chP99, bareP50, bareP99, bareLocalP50, bareLocalP99, straightP50, apiAdds []float64
	for n := 1; n <= o.Blocks; n++ {
		blk := Block{N: n}
		tag := func(what string) string { return fmt.Sprintf("bench-%s-%s%d", b.s.runID, what, n) }
		b.s.log.Info("block", "n", n, "of", o.Blocks)

		var ch, bare throughputResult
		if err := b.arm(tag("tp-casehub"), func() (err error) {
			ch, err = b.throughputCasehub(ctx, tag("tp-casehub"), o.Calls, o.Concurrency)
			return err
		}); err != nil {
			return err
		}
		if err := b.arm(tag("tp-bare"), func() (err error) {
			bare, err = b.throughputBare(ctx, tag("tp-bare"), o.Calls, o.Concurrency)
			return err
		}); err != nil {
			return err
		}
		var ref throughputResult
		if err := b.arm(tag("tp-ref"), func() (err error) {
			ref, err = b.throughputReference(ctx, tag("tp-ref"), o.Calls, o.Concurrency)
			return err
		}); err != nil {
			return err
		}
		blk.CasehubRate, blk.BareRate, blk.CasehubCallLat, blk.BareProcessLat = ch.rate, bare.rate, ch.latency, bare.latency
		blk.ReferenceRate = ref.rate
		keepRatio(ch.rate, bare.rate, &blk.ThroughputRatio, &tpRatios)
		keepRatio(ch.rate, ref.rate, &blk.ReferenceRatio, &refRatios)
		chRates, bareRates, refRates = append(chRates, ch.rate), append(bareRates, bare.rate), append(refRates, ref.rate)

		// The local-activity updates are taken in turn with the POSTs and
		// the straight notes, in the casehub arm: their ratios are the
		// strict ones. The activity updates have an arm of their own.
		var cs, straight, bl, bs Latency
		if err := b.arm(tag("step-casehub"), func() (err error) {
			cs, straight, bl, err = b.stepCasehub(ctx, tag("step-casehub"), tag("step-bare-local"), o.StepSamples, true)
			return err
		}); err != nil {
			return err
		}
		if err := b.arm(tag("step-bare"), func() (err error) {
			bs, err = b.stepBare(ctx, tag("step-bare"), bareStepType, o.StepSamples, true)
			return err
		}); err != nil {
			return err
		}
		blk.CasehubStep, blk.CasehubStepStraight, blk.BareUpdate, blk.BareLocalUpdate = cs, straight, bs, bl
		keepRatio(cs.P50ms, bl.P50ms, &blk.StepLocalRatioP50, &localP50)
		keepRatio(straight.P50ms, bl.P50ms, &blk.StraightLocalRatioP50, &directP50)
		keepRatio(cs.P50ms-straight.P50ms, cs.P50ms, &blk.APIShareP50, &apiShare)
		straightP50, apiAdds = append(straightP50, straight.P50ms), append(apiAdds, cs.P50ms-straight.P50ms)
		keepRatio(cs.P99ms, bl.P99ms, &blk.StepLocalRatioP99, &localP99)
		bareLocalP50, bareLocalP99 = append(bareLocalP50, bl.P50ms), append(bareLocalP99, bl.P99ms)
		keepRatio(cs.P50ms, bs.P50ms, &blk.StepRatioP50, &stepP50)
		keepRatio(cs.P99ms, bs.P99ms, &blk.StepRatioP99, &stepP99)
		chP50, chP99 = append(chP50, cs.P50ms), append(chP99, cs.P99ms)
		bareP50, bareP99 = append(bareP50, bs.P50ms), append(bareP99, bs.P99ms)
		b.res.Blocks = append(b.res.Blocks, blk)
		b.s.log.Info("block done", "n", n, "casehub_calls_per_s", round2(ch.rate), "bare_per_s", round2(bare.rate),
			"step_p50_ms", cs.P50ms, "bare_update_p50_ms", bs.P50ms)
	}
	med := func(xs []float64) *float64 {
		sp, ok := medianRange(xs)
		if !ok {
			return nil
		}
		return f(sp.Median)
	}
	spread := func(xs []float64) *Spread {
		sp, ok := medianRange(xs)
		if !ok {
			return nil
		}
		return &sp
	}
	b.res.Metrics = append(b.res.Metrics,
		Metric{Key: "throughput", Name: fmt.Sprintf("process throughput, %d in flight (calls end to end vs bare processes of the same shape: as many activities, local activities, timers, signals (each in a workflow task of its own), updates, upserts and version markers, and the agent's signals)", o.Concurrency),
			Unit: "/s", Casehub: med(chRates), Bare: med(bareRates), Ratio: spread(tpRatios), Available: true,
			Target: &Target{OnRatio: true, Op: ">=", Value: 0.5}},
		Metric{Key: "throughput_reference", Name: fmt.Sprintf("process throughput, %d in flight (calls end to end vs the fixed reference: bare one-activity workflows)", o.Concurrency),
			Unit: "/s", Casehub: med(chRates), Bare: med(refRates), Ratio: spread(refRatios), Available: true},
		Metric{Key: "call_history_events", Name: "history events per inbound call (warm-up call; bare: its twin)", Unit: "events", Count: true,
			Casehub: f(float64(b.res.Shape.Events)), Bare: f(float64(b.res.TwinShape.Events)), Available: b.res.Shape.Events > 0},
		Metric{Key: "call_workflow_tasks", Name: "workflow tasks per inbound call (warm-up call; bare: its twin)", Unit: "tasks", Count: true,
			Casehub: f(float64(b.res.Shape.WorkflowTasks)), Bare: f(float64(b.res.TwinShape.WorkflowTasks)), Available: b.res.Shape.WorkflowTasks > 0},
		Metric{Key: "call_agent_signals", Name: "signals per inbound call to its agent's process (warm-up calls; bare: the twin's bare agent)", Unit: "signals",
			Casehub: f(b.res.Shape.AgentSignals), Bare: f(b.res.TwinShape.AgentSignals), Available: true},
		Metric{Key: "call_agent_upserts", Name: "search-attribute upserts per inbound call in its agent's process (warm-up calls; bare: the twin's bare agent)", Unit: "upserts",
			Casehub: f(b.res.Shape.AgentUpserts), Bare: f(b.res.TwinShape.AgentUpserts), Available: true},
		Metric{Key: "call_activities", Name: "activities per inbound call (warm-up call)", Unit: "activities", Count: true,
			Casehub: f(float64(b.res.Shape.Activities)), Available: b.res.Shape.Activities > 0},
		Metric{Key: "call_local_activities", Name: "local activities per inbound call (warm-up call)", Unit: "local activities", Count: true,
			Casehub: f(float64(b.res.Shape.LocalActivities)), Available: true},
		Metric{Key: "step_p50", Name: "agent step p50 (POST notes vs SDK update running an activity)", Unit: "ms", Casehub: med(chP50), Bare: med(bareP50),
			Ratio: spread(stepP50), Available: true, Target: &Target{OnRatio: true, Op: "<=", Value: 1.3}},
		Metric{Key: "step_p99", Name: "agent step p99", Unit: "ms", Casehub: med(chP99), Bare: med(bareP99),
			Ratio: spread(stepP99), Available: true, Target: &Target{OnRatio: true, Op: "<=", Value: 1.3}},
		Metric{Key: "step_local_p50", Name: "agent step p50 (POST notes vs SDK update writing its row as a local activity, the note's shape)", Unit: "ms",
			Casehub: med(chP50), Bare: med(bareLocalP50), Ratio: spread(localP50), Available: true,
			Target: &Target{OnRatio: true, Op: "<=", Value: 1.1}},
		Metric{Key: "step_local_p99", Name: "agent step p99 (vs the same local-activity update)", Unit: "ms",
			Casehub: med(chP99), Bare: med(bareLocalP99), Ratio: spread(localP99), Available: true},
		Metric{Key: "step_straight_p50", Name: "the process's part of the step p50 (the same note sent straight to the process as an SDK Update, no HTTP, token or record read) vs the local-activity update", Unit: "ms",
			Casehub: med(straightP50), Bare: med(bareLocalP50), Ratio: spread(directP50), Available: true},
		Metric{Key: "step_api_p50", Name: "the API's part of the step p50 (POST notes p50 minus the process's part; ratio: its share of the step)", Unit: "ms",
			Casehub: med(apiAdds), Ratio: spread(apiShare), Available: true},
	)
	return nil
}

// keepRatio sets *field to a/b and adds it to *all, when b is not zero.
func keepRatio(a, b float64, field *float64, all *[]float64) {
	if r, ok := ratio(a, b); ok {
		*field = r
		*all = append(*all, r)
	}
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// sinceMs is the time from t0 to t1 in milliseconds.
func sinceMs(t0, t1 time.Time) float64 { return ms(t1.Sub(t0)) }
