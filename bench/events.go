package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/casehub/casehub/events"
	"github.com/casehub/casehub/workflows"
)

// heard is an offer event as a desk's stream delivered it.
type heard struct {
	agent benchAgent
	kind  string
	data  offerEvent
	at    time.Time
}

type offerEvent struct {
	OfferID     string `json:"offer_id"`
	Interaction string `json:"interaction"`
	// At is when the booking transaction wrote the offer (PostgreSQL's clock
	// on this machine): the decision.
	At time.Time `json:"at"`
}

// liveEvents measures how soon a desk hears of its offer: from the booking
// transaction writing it (the event's "at", PostgreSQL's clock on this
// machine) to the offer.booked event read off the agent's open stream, with
// EventAgents agents' streams open at once. Each call is accepted the instant its
// offer.presented arrives, and ended.
func (b *bencher) liveEvents(ctx context.Context) error {
	s := b.s
	tag := fmt.Sprintf("bench-%s-events", s.runID)
	var lat []time.Duration
	var handled int
	err := b.arm(tag, func() error {
		agents, err := s.setupQueue(ctx, tag, map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, s.opts.EventAgents, true)
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		defer wg.Wait() // after cancel: the streams end with it
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		got := make(chan heard, 4*len(agents))
		ready := make(chan error, len(agents))
		streams := &http.Client{Transport: s.http.Transport} // no overall timeout: streams stay open
		for _, a := range agents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.listen(sctx, streams, a, got, func(err error) { ready <- err })
			}()
		}
		for range agents {
			if err := <-ready; err != nil {
				return err
			}
		}

		for range s.opts.EventSamples {
			if _, err := s.ring(ctx, tag); err != nil {
				return err
			}
			booked, err := awaitHeard(ctx, got, "offer.booked", "")
			if err != nil {
				return err
			}
			lat = append(lat, booked.at.Sub(booked.data.At))
			presented, err := awaitHeard(ctx, got, "offer.presented", booked.data.OfferID)
			if err != nil {
				return err
			}
			ok, err := s.work(ctx, presented.agent, offerSeen{WorkflowID: workflows.InteractionWorkflowID(presented.data.Interaction)})
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("offer %s shown on the stream was refused", booked.data.OfferID)
			}
			handled++
		}
		return nil
	})
	if handled < s.opts.EventSamples && err == nil {
		err = errors.New("not every sample ran")
	}
	l := summarize(lat)
	b.res.Metrics = append(b.res.Metrics,
		Metric{Key: "event_offer_p50", Name: fmt.Sprintf("live event p50: offer booked → offer.booked at the agent's stream (%d streams open)", s.opts.EventAgents),
			Unit: "ms", Casehub: f(l.P50ms), Available: l.N > 0},
		Metric{Key: "event_offer_p99", Name: fmt.Sprintf("live event p99: offer booked → offer.booked at the agent's stream (%d streams open)", s.opts.EventAgents),
			Unit: "ms", Casehub: f(l.P99ms), Available: l.N > 0, Target: &Target{Op: "<", Value: 100}},
	)
	return err
}

// listen opens a's stream, calls ready once it is live (or with why not),
// and hands on its offer events until ctx ends.
func (s *system) listen(ctx context.Context, c *http.Client, a benchAgent, got chan<- heard, ready func(error)) {
	live := false
	fail := func(err error) {
		if !live {
			live = true
			ready(err)
		}
	}
	defer fail(fmt.Errorf("%s's stream ended before it was live", a.id))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.apiURL+"/v1/agents/"+a.id+"/events", nil)
	if err != nil {
		fail(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := c.Do(req)
	if err != nil {
		fail(fmt.Errorf("open %s's stream: %w", a.id, err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("open %s's stream: status %d", a.id, resp.StatusCode))
		return
	}
	sc := events.NewScanner(resp.Body)
	for {
		m, err := sc.Next()
		if err != nil {
			fail(fmt.Errorf("%s's stream: %w", a.id, err))
			return
		}
		at := time.Now()
		switch m.Event {
		case "ready":
			fail(nil)
		case "offer.booked", "offer.presented":
			var d offerEvent
			if json.Unmarshal([]byte(m.Data), &d) != nil {
				continue
			}
			select {
			case got <- heard{agent: a, kind: m.Event, data: d, at: at}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// awaitHeard waits for an event of kind (for offer, when given), dropping
// others.
func awaitHeard(ctx context.Context, got <-chan heard, kind, offer string) (heard, error) {
	timeout := time.After(callTimeout)
	for {
		select {
		case h := <-got:
			if h.kind == kind && (offer == "" || h.data.OfferID == offer) {
				return h, nil
			}
		case <-timeout:
			return heard{}, fmt.Errorf("no %s event in %s", kind, callTimeout)
		case <-ctx.Done():
			return heard{}, ctx.Err()
		}
	}
}
