package policies

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// The IANA time zone database, embedded so that a freeze window
	// means the same instant on every host, including images without
	// /usr/share/zoneinfo. The host's database is still preferred.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// cronParser reads the five-field cron syntax of Kubernetes CronJobs
// (minute hour day-of-month month day-of-week) and the descriptors @yearly,
// @monthly, @weekly, @daily and @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// freezeWindow is a Freeze ready to evaluate.
type freezeWindow struct {
	name  string
	sched cron.Schedule // evaluated on wall-clock times written as UTC
	loc   *time.Location
	dur   time.Duration
}

// parseSchedule parses a freeze's cron schedule. The time zone belongs in
// Freeze.TimeZone, not in the schedule, and "@every" has no fixed start
// times, so both are refused.
func parseSchedule(spec string) (s cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return nil, errors.New("required (a cron schedule such as \"0 18 * * 5\")")
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return nil, fmt.Errorf("%q: set the time zone in timeZone, not in the schedule", spec)
	case strings.HasPrefix(spec, "@every"):
		return nil, fmt.Errorf("%q: @every has no fixed start times; use a cron schedule", spec)
	}
	defer func() {
		// The parser has panicked on malformed input before; a policy
		// must not take the controller down.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%q: invalid cron schedule", spec)
		}
	}()
	s, err = cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	// A schedule such as "0 0 30 2 *" never starts.
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%q never matches a date", spec)
	}
	return s, nil
}

// loadZone loads an IANA time zone. "Local" is refused: a policy must mean
// the same instant on every host.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q: want an IANA time zone such as \"Europe/Amsterdam\" or \"UTC\"", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q: unknown time zone", name)
	}
	return loc, nil
}

// newFreezeWindow builds the window of f, the i-th freeze of a policy.
func newFreezeWindow(i int, f Freeze) (freezeWindow, error) {
	s, err := parseSchedule(f.Schedule)
	if err != nil {
		return freezeWindow{}, err
	}
	loc, err := loadZone(f.TimeZone)
	if err != nil {
		return freezeWindow{}, err
	}
	name := f.Name
	if name == "" {
		name = fmt.Sprintf("freezes[%d]", i)
	}
	return freezeWindow{name: name, sched: s, loc: loc, dur: f.Duration.D()}, nil
}

// maxFreezeSteps bounds the schedule times examined for one freeze and one
// instant; a schedule that needs more (every minute for a month) is
// treated as active, failing closed.
const maxFreezeSteps = 1 << 16

// active reports whether now lies in a window of w, and if so the latest
// start of a window that contains now and when the last such window ends.
//
// A window is [start, start+duration). The schedule names wall-clock
// times, so its start times are found on the wall clock of w's zone —
// written as UTC times, where cron's Next has no DST to trip over — and
// each is converted to an instant with instantOf.
// cron's Next returns the first time strictly after its argument, so the
// search starts a little before the earliest wall-clock time whose window
// could still contain now (now − duration, shifted by the zone's offsets
// around then) and runs to now's wall-clock time.
func (w freezeWindow) active(now time.Time) (start, end time.Time, ok bool, err error) {
	lo, hi := offsetRange(w.loc, now.Add(-w.dur), now)
	from := wallUTC(now.Add(-w.dur), w.loc).Add(time.Duration(lo-hi)*time.Second - time.Second)
	until := wallUTC(now, w.loc).Add(time.Duration(hi-lo) * time.Second)
	t := from
	for range maxFreezeSteps {
		t = w.sched.Next(t)
		if t.IsZero() || t.After(until) {
			return start, end, ok, nil
		}
		s := instantOf(t, w.loc)
		if !s.After(now) && now.Before(s.Add(w.dur)) {
			if !ok || s.After(start) {
				start = s
			}
			if e := s.Add(w.dur); !ok || e.After(end) {
				end = e
			}
			ok = true
		}
	}
	if ok {
		return start, end, true, nil
	}
	return time.Time{}, time.Time{}, false, fmt.Errorf("freeze %q: more than %d schedule times to examine", w.name, maxFreezeSteps)
}

// instantOf returns the instant at which loc's wall clock reads w (a
// wall-clock time written as UTC). A time the clock reads twice (fall
// back) is the first; a time it skips (spring forward) is moved forward
// by the gap, as the clock itself is. time.Date alone leaves both
// unspecified (and does differ by zone).
func instantOf(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	start, end := t.ZoneBounds()
	offsets := []int{offsetAt(t)}
	if !start.IsZero() {
		offsets = append(offsets, offsetAt(start.Add(-time.Second)))
	}
	if !end.IsZero() {
		offsets = append(offsets, offsetAt(end))
	}
	var first time.Time
	for _, off := range offsets {
		c := w.Add(-time.Duration(off) * time.Second).In(loc)
		if wallUTC(c, loc).Equal(w) && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	if !first.IsZero() {
		return first
	}
	// In a gap: apply the offset in force before it. time.Date moved w
	// either past the gap (then that offset is the previous period's) or
	// before it (then it is t's own).
	before := offsetAt(t)
	if wallUTC(t, loc).After(w) && !start.IsZero() {
		before = offsetAt(start.Add(-time.Second))
	}
	return w.Add(-time.Duration(before) * time.Second).In(loc)
}

func offsetAt(t time.Time) int {
	_, off := t.Zone()
	return off
}

// wallUTC returns t's wall-clock time in loc, written as a UTC time.
func wallUTC(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	y, mo, d := l.Date()
	h, mi, s := l.Clock()
	return time.Date(y, mo, d, h, mi, s, l.Nanosecond(), time.UTC)
}

// offsetRange returns the least and greatest UTC offset (seconds) of loc
// from a day before from to a day after to, walking its zone transitions.
func offsetRange(loc *time.Location, from, to time.Time) (lo, hi int) {
	t := from.Add(-24 * time.Hour).In(loc)
	stop := to.Add(24 * time.Hour)
	_, lo = t.Zone()
	hi = lo
	for range 1 << 12 { // zones change a few times a year
		_, off := t.Zone()
		lo, hi = min(lo, off), max(hi, off)
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(stop) {
			break
		}
		t = end.In(loc)
	}
	return lo, hi
}
