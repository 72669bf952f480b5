package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/go-playground/validator/v10/non-standard/validators"
	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/cti"
)

// validate checks request structs by their `validate` tags, naming fields by
// their JSON names.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// notblank: a name of only spaces is no name (the schema refuses it too).
	_ = v.RegisterValidation("notblank", validators.NotBlank)
	// e164: the library's rule lets the "+" go; a number to dial from must
	// carry it, as the CTI contract and the database require.
	_ = v.RegisterValidation("e164", func(fl validator.FieldLevel) bool { return cti.IsE164(fl.Field().String()) })
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}()

// bindJSON decodes the body into dst strictly (unknown fields refused, one
// JSON value only) and validates it. Errors are problems naming the field.
// requireJSON refuses a body sent as something other than JSON (a 415);
// a body without a Content-Type is read as JSON.
func requireJSON(c echo.Context) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == echo.MIMEApplicationJSON || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return problem(http.StatusUnsupportedMediaType, "the body must be JSON: send Content-Type: application/json (it was "+ct+")")
}

func bindJSON(c echo.Context, dst any) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *echo.HTTPError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return malformed("could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok && json.Valid(body) {
			// The decoder names the member, not where it sits (an empty name
			// is left to decodeProblem, which says so of the body).
			if name, err := strconv.Unquote(name); err == nil && name != "" {
				if path, found := unknownPath(body, reflect.TypeOf(dst), "", name); found {
					return invalidField(path, "is not a known field")
				}
			}
		}
		p := decodeProblem(err)
		if p.Type == typeMalformed && json.Valid(body) {
			// Valid JSON that dst refused without naming the field: a
			// field's own UnmarshalJSON failed (a time.Time, for one).
			if field, t := blame(body, dst); field != "" {
				return invalidField(field, "must be "+jsonType(t))
			}
		}
		return p
	}
	if dec.More() {
		return malformed("the request body holds more than one JSON value")
	}
	if field, ok := findNUL(reflect.ValueOf(dst), ""); ok {
		if field == "" {
			field = "body"
		}
		return invalidField(field, "must not contain the character U+0000")
	}
	return validateStruct(dst)
}

// unknownPath finds the member called name that type t has no field for in
// the JSON value raw, and names it as a problem names fields
// ("communication_options[0].label"), under path.
func unknownPath(raw json.RawMessage, t reflect.Type, path, name string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return "", false // it reads itself: no member is unknown to it
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &members) != nil {
			return "", false
		}
		for _, key := range slices.Sorted(maps.Keys(members)) {
			at := key
			if path != "" {
				at = path + "." + key
			}
			ft, known := memberType(t, key)
			if !known {
				if key == name {
					return at, true
				}
				continue
			}
			if p, ok := unknownPath(members[key], ft, at, name); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return "", false
		}
		for i, item := range items {
			if p, ok := unknownPath(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), name); ok {
				return p, true
			}
		}
	}
	return "", false
}

// memberType is the type a JSON object's member key fills in t, a map (any
// key) or a struct (its fields).
func memberType(t reflect.Type, key string) (reflect.Type, bool) {
	if t.Kind() == reflect.Map {
		return t.Elem(), true
	}
	return jsonField(t, key)
}

// jsonField is the type of struct t's field that the JSON member key fills,
// as encoding/json matches them (embedded structs' fields too, and without
// regard to case).
func jsonField(t reflect.Type, key string) (reflect.Type, bool) {
	var folded reflect.Type
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == key {
			return f.Type, true
		}
		if folded == nil && strings.EqualFold(tag, key) {
			folded = f.Type
		}
	}
	return folded, folded != nil
}

// blame finds the member of a JSON object body whose value dst's type
// refuses on its own, and the Go type of the field it would fill.
func blame(body []byte, dst any) (string, reflect.Type) {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return "", nil
	}
	t := reflect.TypeOf(dst).Elem()
	for _, name := range slices.Sorted(maps.Keys(members)) {
		one, _ := json.Marshal(map[string]json.RawMessage{name: members[name]})
		if json.Unmarshal(one, reflect.New(t).Interface()) == nil {
			continue
		}
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag == name {
					return name, t.Field(i).Type
				}
			}
		}
		return name, reflect.TypeFor[any]()
	}
	return "", nil
}

// findNUL finds a string holding U+0000 in v and returns its JSON path.
// PostgreSQL cannot store that character in text or jsonb, so such a value
// would otherwise fail only when it is written.
func findNUL(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findNUL(v.Elem(), path)
	case reflect.String:
		return path, strings.ContainsRune(v.String(), 0)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if p, ok := findNUL(v.Field(i), name); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if raw, ok := v.Interface().(json.RawMessage); ok {
			var doc any
			if json.Unmarshal(raw, &doc) != nil {
				return "", false
			}
			return findNUL(reflect.ValueOf(&doc), path)
		}
		for i := range v.Len() {
			if p, ok := findNUL(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key().Interface())
			if strings.ContainsRune(key, 0) {
				return path, true
			}
			if p, ok := findNUL(iter.Value(), path+"."+key); ok {
				return p, true
			}
		}
	}
	return "", false
}

func decodeProblem(err error) *Problem {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return malformed(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("malformed JSON: the body ends early")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return malformed("the request body must be a JSON object")
		}
		return invalidField(field, "must be "+jsonType(typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if field == "" {
			return invalidField("body", "has a member with an empty name, which is not a known field")
		}
		return invalidField(field, "is not a known field")
	}
	var fp *Problem
	if errors.As(err, &fp) {
		return fp
	}
	return malformed("malformed JSON")
}

func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		if t.String() == "uuid.UUID" {
			return "a UUID string"
		}
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 date-time string"
		}
		return "an object"
	}
	return "of another type"
}

// validateStruct runs the validate tags and, if dst has one, its Check method
// for rules that span fields.
func validateStruct(dst any) error {
	if err := validate.Struct(dst); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return malformed("the request could not be validated")
		}
		fields := make([]FieldProblem, 0, len(verrs))
		for _, fe := range verrs {
			fields = append(fields, FieldProblem{Field: fieldPath(fe), Detail: describe(fe)})
		}
		return invalid(fields...)
	}
	if c, ok := dst.(interface{ Check() error }); ok {
		return c.Check()
	}
	return nil
}

// fieldPath is the JSON path of a field, without the root struct's name.
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return fe.Field()
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters"
		}
		return "must be at most " + fe.Param()
	case "min":
		if fe.Kind() == reflect.String {
			return "must be at least " + fe.Param() + " characters"
		}
		return "must be at least " + fe.Param()
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "email":
		return "must be an email address"
	case "uuid":
		return "must be a UUID"
	case "e164":
		return "must be a phone number in E.164 form, like +12025550143"
	case "notblank":
		return "must not be blank"
	case "dive":
		return "has an invalid element"
	}
	return "is invalid (" + fe.Tag() + ")"
}
