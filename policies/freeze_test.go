package policies

import (
	"strings"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
}

func TestFreezeWindows(t *testing.T) {
	type probe struct {
		at     time.Time
		frozen bool
	}
	tests := []struct {
		name   string
		freeze Freeze
		probes []probe
	}{
		{"weekend in Amsterdam (CET, UTC+1)",
			Freeze{Schedule: "0 18 * * 5", Duration: Duration(64 * time.Hour), TimeZone: "Europe/Amsterdam"},
			[]probe{
				{utc(2026, 1, 9, 16, 59), false}, // Fri 17:59 CET
				{utc(2026, 1, 9, 17, 0), true},   // Fri 18:00 CET: the start is inside
				{utc(2026, 1, 11, 12, 0), true},  // Sunday
				{utc(2026, 1, 12, 8, 59), true},  // Mon 09:59 CET
				{utc(2026, 1, 12, 9, 0), false},  // Mon 10:00 CET: the end is outside
				{utc(2026, 1, 14, 12, 0), false}, // Wednesday
			}},
		{"the same schedule in New York (EST, UTC−5)",
			Freeze{Schedule: "0 18 * * 5", Duration: Duration(64 * time.Hour), TimeZone: "America/New_York"},
			[]probe{
				{utc(2026, 1, 9, 17, 0), false}, // Fri 12:00 EST
				{utc(2026, 1, 9, 22, 59), false},
				{utc(2026, 1, 9, 23, 0), true}, // Fri 18:00 EST
				{utc(2026, 1, 12, 14, 59), true},
				{utc(2026, 1, 12, 15, 0), false}, // Mon 10:00 EST
			}},
		{"half-hour offset (Kolkata, UTC+5:30)",
			Freeze{Schedule: "0 9 * * *", Duration: Duration(time.Hour), TimeZone: "Asia/Kolkata"},
			[]probe{
				{utc(2026, 6, 1, 3, 29), false},
				{utc(2026, 6, 1, 3, 30), true},
				{utc(2026, 6, 1, 4, 29), true},
				{utc(2026, 6, 1, 4, 30), false},
			}},
		{"a window that ends in the next year, UTC by default",
			Freeze{Schedule: "0 22 31 12 *", Duration: Duration(4 * time.Hour)},
			[]probe{
				{utc(2026, 12, 31, 21, 59), false},
				{utc(2027, 1, 1, 1, 0), true},
				{utc(2027, 1, 1, 2, 0), false},
			}},
		{"duration is elapsed time across spring forward (Amsterdam, 29 March 2026)",
			// Sunday 00:00 CET = Saturday 23:00 UTC; 24h later is Sunday
			// 23:00 UTC, which is Monday 01:00 CEST on the wall clock.
			Freeze{Schedule: "0 0 * * 0", Duration: Duration(24 * time.Hour), TimeZone: "Europe/Amsterdam"},
			[]probe{
				{utc(2026, 3, 28, 22, 59), false},
				{utc(2026, 3, 28, 23, 0), true},
				{utc(2026, 3, 29, 22, 30), true}, // Mon 00:30 CEST
				{utc(2026, 3, 29, 23, 0), false}, // Mon 01:00 CEST
			}},
		{"a start in the hour spring forward skips is moved forward by the gap",
			// 02:30 does not exist on 29 March in Amsterdam: the clock
			// jumps from 02:00 CET (01:00 UTC) to 03:00 CEST. The window
			// starts at 03:30 CEST (01:30 UTC) instead of being skipped.
			Freeze{Schedule: "30 2 * * *", Duration: Duration(time.Hour), TimeZone: "Europe/Amsterdam"},
			[]probe{
				{utc(2026, 3, 28, 1, 30), true}, // the day before: 02:30 CET
				{utc(2026, 3, 29, 0, 59), false},
				{utc(2026, 3, 29, 1, 29), false},
				{utc(2026, 3, 29, 1, 30), true},
				{utc(2026, 3, 29, 2, 29), true},
				{utc(2026, 3, 29, 2, 30), false},
				{utc(2026, 3, 30, 0, 30), true}, // the day after: 02:30 CEST
			}},
		{"a start in the hour fall back repeats happens once (Amsterdam, 25 October 2026)",
			// 02:30 happens at 00:30 UTC (CEST) and at 01:30 UTC (CET); the
			// window opens once, at the first.
			Freeze{Schedule: "30 2 * * *", Duration: Duration(30 * time.Minute), TimeZone: "Europe/Amsterdam"},
			[]probe{
				{utc(2026, 10, 25, 0, 29), false},
				{utc(2026, 10, 25, 0, 30), true},
				{utc(2026, 10, 25, 0, 59), true},
				{utc(2026, 10, 25, 1, 0), false},
				{utc(2026, 10, 25, 1, 40), false},
			}},
		{"the same in New York (1 November 2026), where time.Date alone picks differently",
			Freeze{Schedule: "30 1 * * *", Duration: Duration(30 * time.Minute), TimeZone: "America/New_York"},
			[]probe{
				{utc(2026, 11, 1, 5, 40), true},  // 01:40 EDT
				{utc(2026, 11, 1, 6, 40), false}, // 01:40 EST
			}},
		{"US spring forward (New York, 8 March 2026)",
			// 02:00 EST does not exist; the window opens at 03:00 EDT
			// (07:00 UTC). A day earlier 02:00 EST is 07:00 UTC too, and a
			// day later 02:00 EDT is 06:00 UTC.
			Freeze{Schedule: "0 2 * * *", Duration: Duration(30 * time.Minute), TimeZone: "America/New_York"},
			[]probe{
				{utc(2026, 3, 7, 7, 10), true},
				{utc(2026, 3, 8, 6, 10), false},
				{utc(2026, 3, 8, 7, 10), true},
				{utc(2026, 3, 9, 6, 10), true},
				{utc(2026, 3, 9, 7, 10), false},
			}},
		{"southern hemisphere DST (Sydney, AEDT UTC+11 in January)",
			Freeze{Schedule: "0 9 * * 1-5", Duration: Duration(8 * time.Hour), TimeZone: "Australia/Sydney"},
			[]probe{
				{utc(2026, 1, 4, 21, 59), false}, // Mon 08:59 AEDT
				{utc(2026, 1, 4, 22, 0), true},   // Mon 09:00 AEDT
				{utc(2026, 1, 5, 5, 59), true},
				{utc(2026, 1, 5, 6, 0), false},
				{utc(2026, 1, 9, 22, 30), false}, // Saturday
			}},
		{"a descriptor",
			Freeze{Schedule: "@daily", Duration: Duration(time.Hour), TimeZone: "UTC"},
			[]probe{
				{utc(2026, 5, 5, 0, 30), true},
				{utc(2026, 5, 5, 1, 0), false},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEngine(Policy{MaxReplicas: 10, Freezes: []Freeze{tc.freeze}})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.probes {
				// The zone now is given in changes nothing.
				for _, at := range []time.Time{p.at, p.at.In(time.FixedZone("elsewhere", -7*3600))} {
					d := e.Decide(scale(3, 4), State{Replicas: 3}, at)
					if frozen := d.Verdict == Deny; frozen != p.frozen {
						t.Errorf("at %s (%s): frozen %v, want %v\n%s", p.at.Format(time.RFC3339), p.at.In(e.freezes[0].loc).Format("Mon 15:04 MST"),
							frozen, p.frozen, describeRules(d))
					}
				}
			}
		})
	}
}

func TestFreezeReportsLatestOverlappingWindow(t *testing.T) {
	// Hourly windows of 90 minutes overlap: at 12:45 those started at
	// 11:00 and 12:00 both contain now; the freeze lasts until 13:30.
	w, err := newFreezeWindow(0, Freeze{Name: "hourly", Schedule: "0 * * * *", Duration: Duration(90 * time.Minute), TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	start, end, ok, err := w.active(utc(2026, 2, 2, 12, 45))
	if err != nil || !ok || !start.Equal(utc(2026, 2, 2, 12, 0)) || !end.Equal(utc(2026, 2, 2, 13, 30)) {
		t.Fatalf("active = %v %v %v %v", start, end, ok, err)
	}
}

func TestFreezeWithTooManyStartsFailsClosed(t *testing.T) {
	// Every minute for a year: more starts than the engine examines. Such
	// a freeze is in force all the time anyway; the engine says so.
	e, err := NewEngine(Policy{MaxReplicas: 10, Freezes: []Freeze{{Schedule: "* * * * *", Duration: Duration(366 * 24 * time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Decide(scale(3, 4), State{Replicas: 3}, t0)
	if d.Verdict != Deny || !strings.Contains(describeRules(d), "freeze") {
		t.Fatalf("verdict %s %s", d.Verdict, describeRules(d))
	}
}

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct {
		spec, err string
	}{
		{"0 18 * * 5", ""},
		{"*/15 9-17 * * MON-FRI", ""},
		{"@weekly", ""},
		{"", "required"},
		{"0 18 * *", "expected exactly 5 fields"},
		{"0 18 * * 8", "above maximum"},
		{"0 0 30 2 *", "never matches"},
		{"@every 1h", "@every"},
		{"TZ=Europe/Amsterdam 0 18 * * 5", "timeZone"},
		{"CRON_TZ=UTC", "timeZone"},
	} {
		_, err := parseSchedule(tc.spec)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("parseSchedule(%q) = %v, want %q", tc.spec, err, tc.err)
		}
	}
}
