package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

func TestCompanyNamesAreUniqueIgnoringCase(t *testing.T) {
	ctx := context.Background()
	name := "Globex " + uuid.NewString()[:8]
	co, err := st.CreateCompany(ctx, name)
	require.NoError(t, err)
	require.Equal(t, name, co.Name)

	_, err = st.CreateCompany(ctx, "  "+uppercase(name)+" ")
	require.ErrorIs(t, err, store.ErrDuplicate)
	var fe *store.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "name", fe.Field)

	got, err := st.GetCompany(ctx, co.ID)
	require.NoError(t, err)
	require.Equal(t, co.ID, got.ID)

	_, err = st.GetCompany(ctx, uuid.New())
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestContactRoundTripAndSearch(t *testing.T) {
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	co, err := st.CreateCompany(ctx, "Initech "+tag)
	require.NoError(t, err)

	shared := "+1202555" + "0199"
	ann, err := st.CreateContact(ctx, store.NewContact{
		Name: "Ann " + tag, CompanyID: &co.ID,
		CommunicationOptions: []store.CommunicationOption{
			{Kind: store.OptionPhone, Value: shared, Label: "work"},
			{Kind: store.OptionEmail, Value: "ann." + tag + "@example.com"},
		},
	})
	require.NoError(t, err)
	require.Equal(t, "Initech "+tag, *ann.CompanyName)
	require.Equal(t, shared, ann.Phone())
	require.Equal(t, "ann."+tag+"@example.com", ann.Email())

	bob, err := st.CreateContact(ctx, store.NewContact{
		Name:                 "Bob " + tag,
		CommunicationOptions: []store.CommunicationOption{{Kind: store.OptionPhone, Value: shared}},
	})
	require.NoError(t, err)
	require.Nil(t, bob.CompanyID)

	tests := []struct {
		name string
		q    store.ContactQuery
		want []uuid.UUID
	}{
		{"shared phone matches both, ordered by name", store.ContactQuery{Phone: shared}, []uuid.UUID{ann.ID, bob.ID}},
		{"name substring, any case", store.ContactQuery{Name: "ANN " + tag}, []uuid.UUID{ann.ID}},
		{"email exact", store.ContactQuery{Email: "ann." + tag + "@example.com"}, []uuid.UUID{ann.ID}},
		{"company id", store.ContactQuery{CompanyID: &co.ID}, []uuid.UUID{ann.ID}},
		{"company name", store.ContactQuery{Company: "initech " + tag}, []uuid.UUID{ann.ID}},
		{"filters combine", store.ContactQuery{Phone: shared, Name: "bob " + tag}, []uuid.UUID{bob.ID}},
		{"no match", store.ContactQuery{Phone: "+12025550000"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.SearchContacts(ctx, tt.q)
			require.NoError(t, err)
			var ids []uuid.UUID
			for _, c := range got {
				ids = append(ids, c.ID)
				require.NotNil(t, c.CommunicationOptions)
			}
			require.Equal(t, tt.want, ids)
		})
	}
}

func TestAddCommunicationOptionIsIdempotent(t *testing.T) {
	ctx := context.Background()
	c, err := st.CreateContact(ctx, store.NewContact{Name: "Cleo " + uuid.NewString()[:8]})
	require.NoError(t, err)
	require.Empty(t, c.CommunicationOptions)

	opt := store.CommunicationOption{Kind: store.OptionPhone, Value: "+442079460958"}
	for range 2 {
		c, err = st.AddCommunicationOption(ctx, c.ID, opt)
		require.NoError(t, err)
	}
	require.Len(t, c.CommunicationOptions, 1)
	require.Equal(t, "+442079460958", c.Phone())

	_, err = st.AddCommunicationOption(ctx, uuid.New(), opt)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestUpdateContact(t *testing.T) {
	ctx := context.Background()
	co, err := st.CreateCompany(ctx, "Hooli "+uuid.NewString()[:8])
	require.NoError(t, err)
	c, err := st.CreateContact(ctx, store.NewContact{Name: "Dee", CompanyID: &co.ID,
		CommunicationOptions: []store.CommunicationOption{{Kind: store.OptionPhone, Value: "+12025550101"}}})
	require.NoError(t, err)

	name := "Dee Dee"
	var none *uuid.UUID
	opts := []store.CommunicationOption{{Kind: store.OptionEmail, Value: "dee@example.com"}}
	got, err := st.UpdateContact(ctx, c.ID, store.ContactUpdate{Name: &name, CompanyID: &none, CommunicationOptions: &opts})
	require.NoError(t, err)
	require.Equal(t, "Dee Dee", got.Name)
	require.Nil(t, got.CompanyID)
	require.Equal(t, opts, got.CommunicationOptions)
	require.True(t, got.UpdatedAt.After(c.UpdatedAt) || got.UpdatedAt.Equal(c.UpdatedAt))

	missing := uuid.New()
	ref := &missing
	_, err = st.UpdateContact(ctx, c.ID, store.ContactUpdate{CompanyID: &ref})
	var fe *store.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "company_id", fe.Field)

	// The failed update changed nothing.
	again, err := st.GetContact(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, got.Name, again.Name)
	require.Nil(t, again.CompanyID)

	_, err = st.UpdateContact(ctx, uuid.New(), store.ContactUpdate{Name: &name})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestCreateContactIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	name := "Eve " + uuid.NewString()[:8]
	_, err := st.CreateContact(ctx, store.NewContact{Name: name,
		CommunicationOptions: []store.CommunicationOption{{Kind: "fax", Value: "+12025550101"}}})
	require.Error(t, err)
	found, err := st.SearchContacts(ctx, store.ContactQuery{Name: name})
	require.NoError(t, err)
	require.Empty(t, found, "a contact whose options failed must not be half-written")
}

func uppercase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
