package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hot lookups have indexes that serve them: with sequential scans
// discouraged, PostgreSQL's plan for each names its index (an empty table
// would otherwise be scanned whatever the indexes).
func TestHotQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, query, index string
	}{
		{"contact by part of the name", `SELECT id FROM contacts c WHERE lower(c.name) LIKE '%' || lower('nne') || '%'`, "contacts_name_trgm_idx"},
		{"company by part of the name", `SELECT id FROM companies WHERE lower(name) LIKE '%' || lower('cme') || '%'`, "companies_name_trgm_idx"},
		{"an agent's last finished item", `SELECT id FROM work_items WHERE agent_id = 'a-1' AND state = 'done' ORDER BY updated_at DESC, id LIMIT 1`, "work_items_agent_done_idx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := st.DB().BeginTxx(ctx, nil)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback() }()
			_, err = tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`)
			require.NoError(t, err)
			var plan []string
			require.NoError(t, tx.SelectContext(ctx, &plan, `EXPLAIN `+tc.query))
			require.Contains(t, strings.Join(plan, "\n"), tc.index)
		})
	}
}
