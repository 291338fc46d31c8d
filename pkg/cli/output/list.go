package output

import (
	"bytes"
	"encoding/json"
	"iter"
)

// Column is one column of a list of T: its header on a terminal, its key in an item's JSON
// object and the item's cell. JSONValue, when set, is the item's JSON value under the key
// (a time as null when unset, a flag as a boolean); without it the JSON value is the cell.
// A column without a JSON key is left out of the JSON.
type Column[T any] struct {
	Header    string
	JSON      string
	Value     func(T) string
	JSONValue func(T) any
}

// List declares how a list of T prints, once for every format: Columns give the table
// (aligned under the headers on a terminal, tab-separated lines when piped) and the JSON,
// an array of one object per item whose keys follow the columns. Item, when set, is an
// item's JSON instead, for a list whose JSON is not one object of its columns (a bare
// string, a record with more than the table shows).
type List[T any] struct {
	Columns []Column[T]
	Item    func(T) any
}

// Print prints items with p: an empty list is a header alone on a terminal, nothing when
// piped and [] in JSON.
func (l List[T]) Print(p *Printer, items []T) error {
	return l.PrintSeq(p, func(yield func(T, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	})
}

// PrintSeq prints the items of seq as they come (see RowWriter): a list of any length needs
// memory for RowWindow items only. An error within the first RowWindow items stops the list
// before anything is printed; a later one ends it where it is.
func (l List[T]) PrintSeq(p *Printer, seq iter.Seq2[T, error]) error {
	header := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		header[i] = c.Header
	}
	w := p.Rows(header)
	for it, err := range seq {
		if err != nil {
			return err
		}
		var row []string
		if !p.JSON() {
			row = make([]string, len(l.Columns))
			for i, c := range l.Columns {
				row[i] = c.Value(it)
			}
		}
		var value any
		if p.JSON() {
			value = l.jsonValue(it)
		}
		if err := w.Write(row, value); err != nil {
			return err
		}
	}
	return w.Close()
}

func (l List[T]) jsonValue(it T) any {
	if l.Item != nil {
		return l.Item(it)
	}
	obj := make(object, 0, len(l.Columns))
	for _, c := range l.Columns {
		if c.JSON == "" {
			continue
		}
		var v any
		if c.JSONValue == nil {
			v = c.Value(it)
		}
		if c.JSONValue != nil {
			v = c.JSONValue(it)
		}
		obj = append(obj, member{c.JSON, v})
	}
	return obj
}

// object is a JSON object whose keys keep their order, as a struct's fields do.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes the members in order, escaping as the printer does (no HTML escapes).
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(m.key); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode ends each value with a newline
		b.WriteByte(':')
		if err := enc.Encode(m.value); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// StringList is a list of one column whose JSON is an array of its cells, strings rather
// than objects: a list of cases, of objects found, of names.
func StringList[T any](header string, value func(T) string) List[T] {
	return List[T]{
		Columns: []Column[T]{{Header: header, Value: value}},
		Item:    func(it T) any { return value(it) },
	}
}
