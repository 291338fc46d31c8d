package transfer

import (
	"fmt"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
)

// progress reports a running count on a terminal's standard error and a final summary.
type progress struct {
	ios   *iostreams.IOStreams
	verb  string
	now   func() time.Time
	start time.Time
	last  time.Time
	count int
	shown bool
}

func newProgress(ios *iostreams.IOStreams, verb string, now func() time.Time) *progress {
	t := now()
	return &progress{ios: ios, verb: verb, now: now, start: t, last: t}
}

func (p *progress) add(n int) {
	p.count += n
	if !p.ios.IsStderrTTY() {
		return
	}
	if t := p.now(); t.Sub(p.last) >= 200*time.Millisecond {
		p.last = t
		p.shown = true
		fmt.Fprintf(p.ios.ErrOut, "\r%s %d relationships (%s)", p.verb, p.count, p.rate())
	}
}

func (p *progress) elapsed() time.Duration { return p.now().Sub(p.start).Round(time.Millisecond) }

func (p *progress) rate() string {
	secs := p.now().Sub(p.start).Seconds()
	if secs <= 0 {
		return "- /s"
	}
	return fmt.Sprintf("%.0f/s", float64(p.count)/secs)
}

// clear removes the progress line.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.ios.ErrOut, "\r\033[K")
		p.shown = false
	}
}

// done prints the summary line (always) after clearing the progress line.
func (p *progress) done(ok bool) {
	p.clear()
	if ok {
		fmt.Fprintf(p.ios.ErrOut, "%s %d relationships in %s (%s)\n", p.verb, p.count, p.elapsed(), p.rate())
	} else {
		fmt.Fprintf(p.ios.ErrOut, "stopped after %d relationships\n", p.count)
	}
}
