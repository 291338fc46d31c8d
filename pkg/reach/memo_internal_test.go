package reach

import (
	"testing"
	"time"
)

// TestAnswerMemo: an answer is reused for the same user and question only, for at most
// answerTTL, and not after clear (the revision it was read at moved).
func TestAnswerMemo(t *testing.T) {
	var m answerMemo
	admin := anchorAsk{anchor: viewAllCases, id: "a"}
	other := anchorAsk{anchor: viewAllCases, id: "b"}
	if _, known := m.get("u", admin); known {
		t.Fatal("an empty memo knows an answer")
	}
	m.put("u", admin, true)
	m.put("u", other, false)
	for _, tt := range []struct {
		user           string
		ask            anchorAsk
		allowed, known bool
	}{
		{"u", admin, true, true},
		{"u", other, false, true},
		{"v", admin, false, false},
		{"u", anchorAsk{anchor: partnerAny, id: "a"}, false, false},
	} {
		allowed, known := m.get(tt.user, tt.ask)
		if allowed != tt.allowed || known != tt.known {
			t.Errorf("get(%s, %v) = %v, %v; want %v, %v", tt.user, tt.ask, allowed, known, tt.allowed, tt.known)
		}
	}
	// An answer older than answerTTL is not reused.
	m.mu.Lock()
	m.m[memoKey{admin, "u"}] = memoAnswer{allowed: true, at: time.Now().Add(-answerTTL)}
	m.mu.Unlock()
	if _, known := m.get("u", admin); known {
		t.Error("an answer older than answerTTL is reused")
	}
	m.clear()
	if _, known := m.get("u", other); known {
		t.Error("an answer is reused after clear")
	}
	// Full: emptied, then the new answer held.
	for i := range answerMemoCap {
		m.put("u", anchorAsk{anchor: soldProductReader, id: string(rune('a'+i%26)) + time.Duration(i).String()}, true)
	}
	m.put("u", admin, true)
	if n := len(m.m); n != 1 {
		t.Errorf("a full memo holds %d answers after one more, want 1", n)
	}
}
