package backupcmd

import (
	"fmt"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// progress prints a backup's or restore's stages on standard error: a header, then one
// line per finished stage; on a terminal the current stage's line is updated in place.
type progress struct {
	ios     *iostreams.IOStreams
	header  string
	started bool
	current *localstore.Progress
	// first and last are when the current stage's first and latest events arrived.
	first, last time.Time
}

func newProgress(ios *iostreams.IOStreams, header string) *progress {
	return &progress{ios: ios, header: header}
}

func (p *progress) start() {
	if !p.started {
		p.started = true
		fmt.Fprintln(p.ios.ErrOut, p.header)
	}
}

// report takes one progress event.
func (p *progress) report(ev localstore.Progress) {
	p.start()
	if p.current != nil && p.current.Stage != ev.Stage {
		p.endStage()
	}
	now := time.Now()
	if p.current == nil {
		p.first = now
	}
	p.last = now
	p.current = &ev
	if p.ios.IsStderrTTY() {
		fmt.Fprintf(p.ios.ErrOut, "\r\033[K  %s", stageText(ev, true))
	}
}

func (p *progress) endStage() {
	if p.current == nil {
		return
	}
	if p.ios.IsStderrTTY() {
		fmt.Fprintf(p.ios.ErrOut, "\r\033[K")
	}
	text := stageText(*p.current, false)
	if p.current.Stage == "checkpoint" {
		// The checkpoint is the only step writers wait for.
		text += fmt.Sprintf(" (writes waited %s)", p.last.Sub(p.first).Round(time.Millisecond))
	}
	fmt.Fprintf(p.ios.ErrOut, "  %s\n", text)
	p.current = nil
}

// finish ends the last stage's line.
func (p *progress) finish() {
	p.start()
	p.endStage()
}

func (p *progress) status(format string, args ...any) {
	fmt.Fprintf(p.ios.ErrOut, format+"\n", args...)
}

// stageText describes a stage, running (with how far it got) or finished.
func stageText(ev localstore.Progress, running bool) string {
	amount := func(n int64) string {
		if ev.Unit == "bytes" {
			return humanBytes(n)
		}
		return fmt.Sprintf("%d %s", n, ev.Unit)
	}
	done := amount(ev.Done)
	if running && ev.Total > 0 {
		done = fmt.Sprintf("%s of %s", done, amount(ev.Total))
	}
	switch ev.Stage {
	case "checkpoint":
		if running {
			return "taking the checkpoint"
		}
		return "checkpoint taken"
	case "check":
		if running {
			return "checking files: " + done
		}
		return "files checked: " + done
	case "copy":
		if running {
			return "copying: " + done
		}
		return "copied: " + done
	case "verify":
		if running {
			return "reading back: " + done
		}
		return "read back: " + done
	}
	return ev.Stage + ": " + done
}
