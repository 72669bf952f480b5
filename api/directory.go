package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/phone"
	"github.com/casehub/casehub/store"
)

type companyRequest struct {
	Name string `json:"name" validate:"required,notblank,max=200"`
}

type communicationOption struct {
	Kind  string `json:"kind" validate:"required,oneof=phone email"`
	Value string `json:"value" validate:"required,max=254"`
	Label string `json:"label" validate:"max=50"`
}

type contactRequest struct {
	Name                 string                `json:"name" validate:"required,notblank,max=200"`
	CompanyID            *string               `json:"company_id" validate:"omitnil,uuid"`
	CommunicationOptions []communicationOption `json:"communication_options" validate:"max=20,dive"`
}

type contactPatch struct {
	Name                 *string                `json:"name" validate:"omitnil,notblank,max=200"`
	CompanyID            optionalUUID           `json:"company_id"`
	CommunicationOptions *[]communicationOption `json:"communication_options" validate:"omitnil,max=20,dive"`
}

// optionalUUID tells an absent field from an explicit null.
type optionalUUID struct {
	Set   bool
	Value *uuid.UUID
}

func (o *optionalUUID) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(b, []byte("null")) {
		o.Value = nil
		return nil
	}
	var id uuid.UUID
	if err := json.Unmarshal(b, &id); err != nil {
		return invalidField("company_id", "must be a UUID string or null")
	}
	o.Value = &id
	return nil
}

type list[T any] struct {
	Items      []T  `json:"items"`
	NextOffset *int `json:"next_offset"`
}

func (s *Server) createCompany(c echo.Context) error {
	var req companyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	co, err := s.deps.Store.CreateCompany(c.Request().Context(), req.Name)
	if err != nil {
		return err
	}
	return created(c, "/v1/companies/"+co.ID.String(), co)
}

func (s *Server) getCompany(c echo.Context) error {
	id, err := pathUUID(c, "company")
	if err != nil {
		return err
	}
	co, err := s.deps.Store.GetCompany(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("company")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

func (s *Server) updateCompany(c echo.Context) error {
	id, err := pathUUID(c, "company")
	if err != nil {
		return err
	}
	var req companyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	co, err := s.deps.Store.RenameCompany(c.Request().Context(), id, req.Name)
	if errors.Is(err, store.ErrNotFound) && !isFieldError(err) {
		return notFound("company")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

func (s *Server) listCompanies(c echo.Context) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	items, err := s.deps.Store.SearchCompanies(c.Request().Context(), c.QueryParam("name"), limit+1, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(items, limit, offset))
}

func (s *Server) createContact(c echo.Context) error {
	var req contactRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	opts, err := s.normalizeOptions("communication_options", req.CommunicationOptions)
	if err != nil {
		return err
	}
	nc := store.NewContact{Name: req.Name, CommunicationOptions: opts}
	if req.CompanyID != nil {
		id, err := uuid.Parse(*req.CompanyID)
		if err != nil {
			return invalidField("company_id", "must be a UUID")
		}
		nc.CompanyID = &id
	}
	ct, err := s.deps.Store.CreateContact(c.Request().Context(), nc)
	if err != nil {
		return err
	}
	return created(c, "/v1/contacts/"+ct.ID.String(), ct)
}

func (s *Server) getContact(c echo.Context) error {
	id, err := pathUUID(c, "contact")
	if err != nil {
		return err
	}
	ct, err := s.deps.Store.GetContact(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("contact")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (s *Server) updateContact(c echo.Context) error {
	id, err := pathUUID(c, "contact")
	if err != nil {
		return err
	}
	var req contactPatch
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u := store.ContactUpdate{Name: req.Name}
	if req.CompanyID.Set {
		u.CompanyID = &req.CompanyID.Value
	}
	if req.CommunicationOptions != nil {
		opts, err := s.normalizeOptions("communication_options", *req.CommunicationOptions)
		if err != nil {
			return err
		}
		u.CommunicationOptions = &opts
	}
	ct, err := s.deps.Store.UpdateContact(c.Request().Context(), id, u)
	if errors.Is(err, store.ErrNotFound) && !isFieldError(err) {
		return notFound("contact")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (s *Server) addCommunicationOption(c echo.Context) error {
	id, err := pathUUID(c, "contact")
	if err != nil {
		return err
	}
	var req communicationOption
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	opts, err := s.normalizeOptions("", []communicationOption{req})
	if err != nil {
		return err
	}
	ct, err := s.deps.Store.AddCommunicationOption(c.Request().Context(), id, opts[0])
	if errors.Is(err, store.ErrNotFound) {
		return notFound("contact")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (s *Server) listContacts(c echo.Context) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	q := store.ContactQuery{Name: c.QueryParam("name"), Company: c.QueryParam("company"), Limit: limit + 1, Offset: offset}
	if v := c.QueryParam("phone"); v != "" {
		if q.Phone, err = phone.Normalize(v, s.deps.DefaultRegion); err != nil {
			return invalidField("phone", "must be a telephone number")
		}
	}
	if v := c.QueryParam("email"); v != "" {
		if q.Email, err = normalizeEmail(v); err != nil {
			return invalidField("email", "must be an email address")
		}
	}
	if v := c.QueryParam("company_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return invalidField("company_id", "must be a UUID")
		}
		q.CompanyID = &id
	}
	items, err := s.deps.Store.SearchContacts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(items, limit, offset))
}

// normalizeOptions puts phone numbers in E.164 and emails in lower case,
// naming the offending element on failure.
func (s *Server) normalizeOptions(field string, in []communicationOption) ([]store.CommunicationOption, error) {
	out := make([]store.CommunicationOption, 0, len(in))
	for i, o := range in {
		name := "value"
		if field != "" {
			name = fmt.Sprintf("%s[%d].value", field, i)
		}
		var v string
		var err error
		switch o.Kind {
		case store.OptionPhone:
			if v, err = phone.Normalize(o.Value, s.deps.DefaultRegion); err != nil {
				return nil, invalidField(name, "must be a telephone number (E.164, or national in "+s.deps.DefaultRegion+")")
			}
		case store.OptionEmail:
			if v, err = normalizeEmail(o.Value); err != nil {
				return nil, invalidField(name, "must be an email address")
			}
		}
		out = append(out, store.CommunicationOption{Kind: o.Kind, Value: v, Label: o.Label})
	}
	return out, nil
}

func normalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil || a.Name != "" {
		return "", errors.New("not an email address")
	}
	return strings.ToLower(a.Address), nil
}

func pathUUID(c echo.Context, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.UUID{}, notFound(what)
	}
	return id, nil
}

// paging reads limit (1-200, default 50) and offset (>= 0).
func paging(c echo.Context) (limit, offset int, err error) {
	limit, offset = 50, 0
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 200 {
			return 0, 0, invalidField("limit", "must be an integer from 1 to 200")
		}
	}
	if v := c.QueryParam("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, invalidField("offset", "must be a non-negative integer")
		}
	}
	return limit, offset, nil
}

// page cuts items (fetched with limit+1) to limit and says where the next
// page starts.
func page[T any](items []T, limit, offset int) list[T] {
	out := list[T]{Items: items}
	if len(items) > limit {
		out.Items = items[:limit]
		next := offset + limit
		out.NextOffset = &next
	}
	return out
}

func isFieldError(err error) bool {
	var fe *store.FieldError
	return errors.As(err, &fe)
}

// eraseContact removes a contact's personal data from every record on
// request (README, "Personal data"): the answer counts what changed. A
// contact with open interactions or pending callbacks is a 409.
func (s *Server) eraseContact(c echo.Context) error {
	id, err := pathUUID(c, "contact")
	if err != nil {
		return err
	}
	e, err := s.deps.Store.EraseContact(c.Request().Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("contact")
	case errors.Is(err, store.ErrStillActive):
		return &Problem{Type: typeConflict, Title: "Conflict", Status: http.StatusConflict,
			Detail: "the contact has open interactions or pending callbacks: end or cancel them, then erase it"}
	case err != nil:
		return err
	}
	s.deps.Logger.InfoContext(c.Request().Context(), "contact erased", "contact_id", id, "by", principal(c).TokenID)
	return c.JSON(http.StatusOK, e)
}
