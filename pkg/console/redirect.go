package console

import (
	"net/url"
	"strings"
)

// localPath returns next when it is a path on this server, else "/": the sign-in page's
// next= must never send the browser to another site (no open redirect).
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/" // //evil.example is another host
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}
