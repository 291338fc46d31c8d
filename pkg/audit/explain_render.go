package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteExplanationText writes an explanation for a terminal:
//
//	allowed: user:pam view case:102
//	  1. [partner organisation] pam is a member of partner:integrator, ...
//
// or, when denied, each way with its status and reasons.
func WriteExplanationText(w io.Writer, e Explanation) error {
	var b strings.Builder
	verdict := "denied"
	if e.Allowed {
		verdict = "allowed"
	}
	fmt.Fprintf(&b, "%s: %s %s %s\n", verdict, e.Subject, e.Permission, e.Resource)
	if e.Allowed {
		for i, p := range e.Paths {
			fmt.Fprintf(&b, "  %d. [%s] %s\n", i+1, p.Kind, p.Text)
			if err := WriteOriginsText(&b, "       ", p); err != nil {
				return err
			}
		}
	} else {
		fmt.Fprintf(&b, "  ways to hold it (%s):\n", combineWords(e.Combine))
		for _, w := range e.Ways {
			fmt.Fprintf(&b, "  - %s: %s\n", w.Description, w.Status)
			for _, d := range w.Details {
				fmt.Fprintf(&b, "      %s\n", d)
			}
		}
	}
	if e.Truncated {
		b.WriteString("  (explanation cut short: raise the auditor's node bound to see everything)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func combineWords(c string) string {
	switch c {
	case "all":
		return "every one is needed"
	case "but not":
		return "the first, unless the second applies"
	}
	return "any one is enough"
}

// explanationJSON is the stable JSON form of an Explanation.
type explanationJSON struct {
	Subject    string    `json:"subject"`
	Permission string    `json:"permission"`
	Resource   string    `json:"resource"`
	Allowed    bool      `json:"allowed"`
	CheckedAt  string    `json:"checked_at"`
	Paths      []Path    `json:"paths,omitempty"`
	Combine    string    `json:"combine,omitempty"`
	Ways       []wayJSON `json:"ways,omitempty"`
	Truncated  bool      `json:"truncated,omitempty"`
}

type wayJSON struct {
	Expression  string   `json:"expression"`
	Description string   `json:"description"`
	Status      string   `json:"status"`
	Details     []string `json:"details,omitempty"`
}

// MarshalJSON renders references in SpiceDB notation ("user:pam", "case:102").
func (e Explanation) MarshalJSON() ([]byte, error) {
	out := explanationJSON{
		Subject: e.Subject.String(), Permission: e.Permission, Resource: e.Resource.String(),
		Allowed: e.Allowed, CheckedAt: string(e.CheckedAt), Paths: e.Paths, Combine: e.Combine, Truncated: e.Truncated,
	}
	for _, w := range e.Ways {
		out.Ways = append(out.Ways, wayJSON{Expression: w.Expression, Description: w.Description, Status: string(w.Status), Details: w.Details})
	}
	return marshalJSON(out)
}

// WriteExplanationJSON writes an explanation as indented JSON.
func WriteExplanationJSON(w io.Writer, e Explanation) error { return writeJSON(w, e) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// marshalJSON is json.Marshal without HTML escaping, so that "->" stays readable.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
