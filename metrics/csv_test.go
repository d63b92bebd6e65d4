package metrics

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadCSVFormats(t *testing.T) {
	ny := time.FixedZone("", -4*3600)
	tests := []struct {
		name, in  string
		wantStart time.Time
		wantStep  time.Duration
		want      []float64 // NaN compared as NaN
	}{
		{"rfc3339", "timestamp,value\n1995-07-01T00:00:00-04:00,42\n1995-07-01T00:01:00-04:00,61\n",
			time.Date(1995, 7, 1, 0, 0, 0, 0, ny), time.Minute, []float64{42, 61}},
		{"nab", "timestamp,value\n2014-04-01 00:00:00,1.5\n2014-04-01 00:05:00,2\n2014-04-01 00:15:00,0\n",
			time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC), 5 * time.Minute, []float64{1.5, 2, math.NaN(), 0}},
		{"unix", "time,value\n1000,1\n1060,2\n1120,3\n",
			time.Unix(1000, 0), time.Minute, []float64{1, 2, 3}},
		{"offsets", "offset_seconds,value\n0,2786\n60,2711\n180,5\n",
			time.Unix(0, 0), time.Minute, []float64{2786, 2711, math.NaN(), 5}},
		{"unsorted rows are sorted", "timestamp,value\n2014-04-01 00:02:00,3\n2014-04-01 00:00:00,1\n2014-04-01 00:01:00,2\n",
			time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC), time.Minute, []float64{1, 2, 3}},
		{"explicit gaps", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:01:00,\n2014-04-01 00:02:00,NaN\n2014-04-01 00:03:00,4\n",
			time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC), time.Minute, []float64{1, math.NaN(), math.NaN(), 4}},
		{"value column picked by name", "value,timestamp,other\n7,2014-04-01 00:00:00,x\n8,2014-04-01 00:01:00,y\n",
			time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC), time.Minute, []float64{7, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadCSV(strings.NewReader(tc.in), "in.csv", CSVOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !s.Start.Equal(tc.wantStart) || s.Step != tc.wantStep {
				t.Fatalf("start, step = %v, %v; want %v, %v", s.Start, s.Step, tc.wantStart, tc.wantStep)
			}
			if len(s.Values) != len(tc.want) {
				t.Fatalf("values = %v, want %v", s.Values, tc.want)
			}
			for i, w := range tc.want {
				g := s.Values[i]
				if (math.IsNaN(w) != math.IsNaN(g)) || (!math.IsNaN(w) && g != w) {
					t.Fatalf("values = %v, want %v", s.Values, tc.want)
				}
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		column   string
		contains string
	}{
		{"empty", "", 1, "", "empty file"},
		{"no time column", "when,value\n1,2\n", 1, "", "no time column"},
		{"bad value", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:01:00,abc\n", 3, "value", `"abc" is not a number`},
		{"bad time", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01T25:01:00,2\n", 3, "timestamp", "not RFC 3339"},
		{"duplicate", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:01:00,2\n2014-04-01 00:01:00,3\n", 4, "timestamp", "also on line 3"},
		{"off grid", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:01:00,2\n2014-04-01 00:02:00,2\n2014-04-01 00:02:30,2\n", 5, "timestamp", "off the 1m0s grid"},
		{"ragged row", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:01:00\n", 3, "", "row has 1 fields"},
		{"infinite", "timestamp,value\n2014-04-01 00:00:00,+Inf\n", 2, "value", "infinite"},
		{"header only", "timestamp,value\n", 2, "", "no data rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), "bad.csv", CSVOptions{})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.File != "bad.csv" || pe.Line != tc.line || pe.Column != tc.column {
				t.Errorf("located at %s:%d column %q, want bad.csv:%d column %q", pe.File, pe.Line, pe.Column, tc.line, tc.column)
			}
			if !strings.Contains(err.Error(), tc.contains) || !strings.HasPrefix(err.Error(), "bad.csv:") {
				t.Errorf("error %q does not start with the file or lacks %q", err, tc.contains)
			}
		})
	}
}

func TestReadCSVFileNASAGap(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "traces", "nasa_http_1995_per_minute.csv")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join("..", "examples", "nasa_http_1995_per_minute_3w.csv")
	}
	s, err := ReadCSVFile(path, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != time.Minute {
		t.Fatalf("step = %v, want 1m", s.Step)
	}
	// 1995-07-28 13:33 to 07-31 23:59 has no rows: it must be NaN, not 0.
	ny := time.FixedZone("", -4*3600)
	if i := s.Index(time.Date(1995, 7, 29, 12, 0, 0, 0, ny)); i < s.Len() && !math.IsNaN(s.Values[i]) {
		t.Errorf("missing period reads %v, want NaN", s.Values[i])
	}
}

func TestSeriesUntilIsCausal(t *testing.T) {
	s := Series{Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{1, 2, 3, 4}}
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{-time.Minute, 0}, {0, 0}, {59 * time.Second, 0}, {time.Minute, 1}, {150 * time.Second, 2}, {10 * time.Minute, 4}} {
		if got := s.Until(s.Start.Add(tc.at)).Len(); got != tc.want {
			t.Errorf("Until(start+%v) has %d samples, want %d", tc.at, got, tc.want)
		}
	}
}
