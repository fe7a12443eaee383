package main

import (
	"fmt"
	"sync"
)

// ledger is the client's record of what the transfers did, per mode and
// account: the net effect of the committed ones, and for those whose
// outcome is unknown the most they could have taken from or added to each
// account. A final balance outside [initial + committed + lowest,
// initial + committed + highest] means a transfer was applied twice, applied
// although rolled back, or lost although committed. It is safe for
// concurrent use.
type ledger struct {
	mu   sync.Mutex
	acct map[string][]entry // by mode, indexed by account id
}

// entry is one account's line.
type entry struct {
	committed int64 // net effect of committed transfers
	maybeDown int64 // sum of the debits of unknown transfers
	maybeUp   int64 // sum of the credits of unknown transfers
}

func newLedger(modes []string, accounts int) *ledger {
	l := &ledger{acct: make(map[string][]entry)}
	for _, m := range modes {
		l.acct[m] = make([]entry, accounts)
	}
	return l
}

// record books t with its outcome.
func (l *ledger) record(t transfer, o outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.acct[t.mode]
	switch o {
	case committed:
		e[t.from].committed -= t.amount
		e[t.to].committed += t.amount
	case unknown:
		e[t.from].maybeDown += t.amount
		e[t.to].maybeUp += t.amount
	}
}

// check compares the final balances of mode with the ledger and returns
// one line per account that is off (at most limit lines) and how many are.
func (l *ledger) check(mode string, initial int64, balances map[int64]int64, limit int) (off int, lines []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, e := range l.acct[mode] {
		got, ok := balances[int64(id)]
		lo := initial + e.committed - e.maybeDown
		hi := initial + e.committed + e.maybeUp
		if ok && got >= lo && got <= hi {
			continue
		}
		off++
		if len(lines) < limit {
			if !ok {
				lines = append(lines, fmt.Sprintf("%s account %d: missing", mode, id))
			} else {
				lines = append(lines, fmt.Sprintf("%s account %d: balance %d, want %d..%d (committed net %+d)", mode, id, got, lo, hi, e.committed))
			}
		}
	}
	return off, lines
}
