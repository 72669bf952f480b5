package store_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func newCaseContact(t *testing.T, companyID *uuid.UUID) store.Contact {
	t.Helper()
	c, err := st.CreateContact(context.Background(), store.NewContact{Name: "Case Owner " + uuid.NewString()[:8], CompanyID: companyID})
	require.NoError(t, err)
	return c
}

func TestCasesAreNumberedInOrder(t *testing.T) {
	ctx := context.Background()
	ct := newCaseContact(t, nil)
	first, err := st.CreateCase(ctx, store.NewCase{Subject: "Router is down", ContactID: ct.ID})
	require.NoError(t, err)
	second, err := st.CreateCase(ctx, store.NewCase{Subject: "Router is still down", ContactID: ct.ID})
	require.NoError(t, err)

	format := regexp.MustCompile(`^CS-[0-9]{6}$`)
	require.Regexp(t, format, first.Number)
	require.Regexp(t, format, second.Number)
	n1, err := strconv.Atoi(first.Number[3:])
	require.NoError(t, err)
	n2, err := strconv.Atoi(second.Number[3:])
	require.NoError(t, err)
	require.Greater(t, n2, n1, "numbers come from a sequence")

	require.Equal(t, store.CaseNew, first.Status)
	require.Equal(t, store.PriorityMedium, first.Priority, "medium when not given")
	require.Equal(t, ct.Name, first.ContactName)
}

func TestCreateCaseIsIdempotentByRequestID(t *testing.T) {
	ctx := context.Background()
	co, err := st.CreateCompany(ctx, "Umbrella "+uuid.NewString()[:8])
	require.NoError(t, err)
	ct := newCaseContact(t, &co.ID)
	req := store.NewCase{RequestID: "wf-" + uuid.NewString(), Subject: "Invoice wrong", Category: "billing",
		Priority: store.PriorityHigh, ContactID: ct.ID, InteractionID: "call-" + uuid.NewString()}

	made, err := st.CreateCase(ctx, req)
	require.NoError(t, err)
	require.Equal(t, &co.ID, made.CompanyID, "the contact's company by default")
	require.Equal(t, co.Name, *made.CompanyName)

	again, err := st.CreateCase(ctx, req)
	require.NoError(t, err)
	require.Equal(t, made.ID, again.ID)
	require.Equal(t, made.Number, again.Number)

	list, err := st.ListCases(ctx, store.CaseQuery{ContactID: &ct.ID})
	require.NoError(t, err)
	require.Len(t, list, 1, "a retried create makes no second case")

	d, err := st.GetCase(ctx, made.Number)
	require.NoError(t, err)
	require.Len(t, d.Interactions, 1, "the interaction is linked once")
	require.Equal(t, req.InteractionID, d.Interactions[0].InteractionID)
	require.Equal(t, store.RelationCreatedFrom, d.Interactions[0].Relation)
	require.Empty(t, d.Consultations)
}

func TestCreateCaseNamesAMissingContact(t *testing.T) {
	_, err := st.CreateCase(context.Background(), store.NewCase{Subject: "x", ContactID: uuid.New()})
	require.ErrorIs(t, err, store.ErrNotFound)
	var fe *store.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "contact_id", fe.Field)

	_, err = st.GetCase(context.Background(), "CS-999999999")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestCaseStatusTransitions(t *testing.T) {
	ctx := context.Background()
	ct := newCaseContact(t, nil)
	newCase := func() store.Case {
		c, err := st.CreateCase(ctx, store.NewCase{Subject: "Status " + uuid.NewString()[:8], ContactID: ct.ID})
		require.NoError(t, err)
		return c
	}

	tests := []struct {
		name  string
		path  []string // statuses to move through, all allowed
		to    string
		allow bool
	}{
		{"new to in progress", nil, store.CaseInProgress, true},
		{"new to resolved", nil, store.CaseResolved, true},
		{"new to closed", nil, store.CaseClosed, true},
		{"new to new", nil, store.CaseNew, false},
		{"in progress to resolved", []string{store.CaseInProgress}, store.CaseResolved, true},
		{"in progress back to new", []string{store.CaseInProgress}, store.CaseNew, false},
		{"resolved reopened", []string{store.CaseResolved}, store.CaseInProgress, true},
		{"resolved to closed", []string{store.CaseResolved}, store.CaseClosed, true},
		{"closed is final", []string{store.CaseClosed}, store.CaseInProgress, false},
		{"closed cannot resolve", []string{store.CaseClosed}, store.CaseResolved, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCase()
			from := store.CaseNew
			for _, s := range tt.path {
				_, err := st.ChangeCaseStatus(ctx, c.Number, s, "")
				require.NoError(t, err)
				from = s
			}
			require.Equal(t, tt.allow, store.CanTransition(from, tt.to), "the table and the store agree")
			got, err := st.ChangeCaseStatus(ctx, c.Number, tt.to, "customer called back")
			if tt.allow {
				require.NoError(t, err)
				require.Equal(t, tt.to, got.Status)
				require.Equal(t, "customer called back", got.StatusReason)
				return
			}
			require.ErrorIs(t, err, store.ErrConflict)
			var fe *store.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, "status", fe.Field)
			d, err := st.GetCase(ctx, c.Number)
			require.NoError(t, err)
			require.Equal(t, from, d.Status, "a refused change changes nothing")
		})
	}

	_, err := st.ChangeCaseStatus(ctx, "CS-999999998", store.CaseClosed, "")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestContactHistoryIsNewestFirst(t *testing.T) {
	ctx := context.Background()
	ct := newCaseContact(t, nil)
	other := newCaseContact(t, nil)
	var numbers []string
	for i := range 3 {
		c, err := st.CreateCase(ctx, store.NewCase{Subject: "History " + strconv.Itoa(i), ContactID: ct.ID})
		require.NoError(t, err)
		numbers = append(numbers, c.Number)
	}
	_, err := st.CreateCase(ctx, store.NewCase{Subject: "Someone else's", ContactID: other.ID})
	require.NoError(t, err)
	_, err = st.ChangeCaseStatus(ctx, numbers[0], store.CaseResolved, "")
	require.NoError(t, err)

	got, err := st.ListCases(ctx, store.CaseQuery{ContactID: &ct.ID})
	require.NoError(t, err)
	require.Equal(t, []string{numbers[2], numbers[1], numbers[0]}, caseNumbers(got))
	require.Equal(t, store.CaseResolved, got[2].Status)

	got, err = st.ListCases(ctx, store.CaseQuery{ContactID: &ct.ID, Status: store.CaseNew})
	require.NoError(t, err)
	require.Equal(t, []string{numbers[2], numbers[1]}, caseNumbers(got))

	got, err = st.ListCases(ctx, store.CaseQuery{ContactID: &ct.ID, Limit: 1, Offset: 1})
	require.NoError(t, err)
	require.Equal(t, []string{numbers[1]}, caseNumbers(got))
}

func TestConsultationsAreRecordedOnceAndLinkTheInteraction(t *testing.T) {
	ctx := context.Background()
	ct := newCaseContact(t, nil)
	c, err := st.CreateCase(ctx, store.NewCase{Subject: "Refund", ContactID: ct.ID, InteractionID: "call-1-" + ct.ID.String()})
	require.NoError(t, err)

	nc := store.NewConsultation{ID: uuid.New(), CaseNumber: c.Number, ContactID: &ct.ID,
		InteractionID: "call-2-" + ct.ID.String(), AgentID: "agent-1", Note: "Told the customer the refund is on its way."}
	for range 2 {
		got, err := st.RecordConsultation(ctx, nc)
		require.NoError(t, err)
		require.Equal(t, nc.ID, got.ID)
		require.Equal(t, c.Number, got.CaseNumber)
		require.Equal(t, nc.Note, got.Note)
	}
	d, err := st.GetCase(ctx, c.Number)
	require.NoError(t, err)
	require.Len(t, d.Consultations, 1, "recording the same consultation twice keeps one")
	require.Equal(t, "agent-1", d.Consultations[0].AgentID)
	require.Equal(t, []store.CaseInteraction{
		{InteractionID: "call-1-" + ct.ID.String(), Relation: store.RelationCreatedFrom},
		{InteractionID: "call-2-" + ct.ID.String(), Relation: store.RelationConsulted},
	}, withoutTimes(d.Interactions))

	other := newCaseContact(t, nil)
	_, err = st.RecordConsultation(ctx, store.NewConsultation{ID: uuid.New(), CaseNumber: c.Number, ContactID: &other.ID,
		InteractionID: "call-3", AgentID: "agent-1", Note: "x"})
	require.ErrorIs(t, err, store.ErrConflict, "the case must belong to the contact")

	_, err = st.RecordConsultation(ctx, store.NewConsultation{ID: uuid.New(), CaseNumber: "CS-999999997",
		InteractionID: "call-3", AgentID: "agent-1", Note: "x"})
	require.ErrorIs(t, err, store.ErrNotFound)
	var fe *store.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "case_number", fe.Field)
}

func TestCreateContactOnceIsIdempotent(t *testing.T) {
	ctx := context.Background()
	id := uuid.New()
	nc := store.NewContact{Name: "Once " + id.String()[:8],
		CommunicationOptions: []store.CommunicationOption{{Kind: store.OptionPhone, Value: "+12025550177"}}}
	for range 2 {
		c, err := st.CreateContactOnce(ctx, id, nc)
		require.NoError(t, err)
		require.Equal(t, id, c.ID)
		require.Len(t, c.CommunicationOptions, 1)
	}
	found, err := st.SearchContacts(ctx, store.ContactQuery{Name: nc.Name})
	require.NoError(t, err)
	require.Len(t, found, 1)

	missing := uuid.New()
	_, err = st.CreateContactOnce(ctx, uuid.New(), store.NewContact{Name: "Nobody", CompanyID: &missing})
	var fe *store.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "company_id", fe.Field)
}

func caseNumbers(cs []store.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Number
	}
	return out
}

func withoutTimes(in []store.CaseInteraction) []store.CaseInteraction {
	out := make([]store.CaseInteraction, len(in))
	for i, ci := range in {
		out[i] = store.CaseInteraction{InteractionID: ci.InteractionID, Relation: ci.Relation}
	}
	return out
}
