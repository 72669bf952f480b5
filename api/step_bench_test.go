package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// BenchmarkWorkNote: what the API adds to an agent's step, over a real
// loopback connection. A callback's call takes its notes straight to the
// record, so no process is involved: "http" is POST notes, "store" the
// record's own write that it makes, and "reads+store" that write after the
// one read of the token and the record that the API makes first. http minus
// reads+store is HTTP, Echo's middleware and the JSON.
func BenchmarkWorkNote(b *testing.B) {
	token := issue(b, auth.RoleAgent, "agent-bench-note")
	// Each sub-benchmark notes an interaction of its own, which starts
	// with no notes.
	var n int
	fresh := func() store.Interaction {
		n++
		return openInteraction(b, "agent-bench-note", workflows.CallbackWorkflowID(fmt.Sprintf("CB%07d", 100+n)))
	}
	srv := httptest.NewServer(api.NewServer(api.Deps{Store: st, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()
	i := 0
	b.Run("http", func(b *testing.B) {
		it := fresh()
		for b.Loop() {
			i++
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/interactions/"+it.Number+"/notes",
				bytes.NewReader(fmt.Appendf(nil, `{"body":"bench note %d"}`, i)))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("POST notes answered %d: %s", resp.StatusCode, body.String())
			}
		}
	})
	b.Run("reads+store", func(b *testing.B) {
		it := fresh()
		for b.Loop() {
			i++
			if _, _, err := st.GetTokenAndInteraction(ctx, auth.TokenID(token), it.Number); err != nil {
				b.Fatal(err)
			}
			if _, err := st.AddWorkNote(ctx, it.Number, "agent-bench-note", fmt.Sprintf("bench note %d", i), fmt.Sprintf("bench-%d", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		it := fresh()
		for b.Loop() {
			i++
			if _, err := st.AddWorkNote(ctx, it.Number, "agent-bench-note", fmt.Sprintf("bench note %d", i), fmt.Sprintf("bench-%d", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
