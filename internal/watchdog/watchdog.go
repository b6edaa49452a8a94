// Package watchdog cuts an operation that stops making progress: an idle
// timeout, fed on every sign of progress, rather than a total deadline
// (large transfers are legitimate as long as they keep moving).
package watchdog

import "time"

// Watchdog calls fire once when it was not fed for d. The zero Watchdog,
// and one made with d <= 0, never fires.
type Watchdog struct {
	t *time.Timer
	d time.Duration
}

// New starts a watchdog.
func New(d time.Duration, fire func()) Watchdog {
	if d <= 0 {
		return Watchdog{}
	}
	return Watchdog{t: time.AfterFunc(d, fire), d: d}
}

// Feed restarts the wait: there was progress.
func (w Watchdog) Feed() {
	if w.t != nil {
		w.t.Reset(w.d)
	}
}

// Stop ends the watch.
func (w Watchdog) Stop() {
	if w.t != nil {
		w.t.Stop()
	}
}
