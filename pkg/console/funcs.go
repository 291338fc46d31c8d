package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

func pathEscape(s string) string { return url.PathEscape(s) }

// expiring reports a path through a grant with an end date: the auditor's words for such a
// grant say "until" its expiry.
func expiring(pathText string) bool { return strings.Contains(pathText, " until ") }

// kindNames are the kinds of path in the console's words, where audit's names are terse.
var kindNames = map[audit.PathKind]string{
	audit.KindPartnerOrg:        "partner organisation grant",
	audit.KindPartnerIndividual: "individual grant",
	audit.KindGroupRead:         "super customer (group read access)",
	audit.KindFunctionalRole:    "related party (functional role)",
}

// kindLabel names a kind of path for people.
func kindLabel[K ~string](k K) string {
	if n, ok := kindNames[audit.PathKind(k)]; ok {
		return n
	}
	return string(k)
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"link": link,
	"whyURL": func(subject, permission, object, at string) string {
		v := url.Values{"subject": {subject}, "permission": {permission}, "object": {object}}
		if at != "" {
			v.Set("at", at)
		}
		return "/why?" + v.Encode()
	},
	"expiring":  expiring,
	"asOfEntry": asOfEntry,
	"kindLabel": func(k any) string { return kindLabel(fmt.Sprint(k)) },
	// linkAt is an object's page, as of at when at is set.
	"linkAt": func(object, at string) string {
		o, err := ref.Parse(object)
		if err != nil {
			return "/"
		}
		if at == "" {
			return link(o)
		}
		return link(o) + "?" + url.Values{"at": {at}}.Encode()
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"withQuery": func(path string, kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	},
}

// decisionForm is what one approve/deny form needs.
type decisionForm struct {
	CSRF, As, Account, Field, Value string
}

func init() {
	funcs["decision"] = func(pd pageData, account, field, value string) decisionForm {
		as := ""
		if d, ok := pd.Data.(approvalsData); ok {
			as = d.As
		}
		return decisionForm{CSRF: pd.CSRF, As: as, Account: account, Field: field, Value: value}
	}
}
