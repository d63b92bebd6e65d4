package metrics

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CSVOptions tune ReadCSV. The zero value reads the common layouts.
type CSVOptions struct {
	// TimeColumn names the time column. Default: the first of
	// "timestamp", "time", "date", "offset_seconds" present in the header.
	TimeColumn string
	// ValueColumn names the value column. Default: "value", or else the
	// only column besides the time column.
	ValueColumn string
	// Origin is the time that offset_seconds counts from. Default: the Unix
	// epoch (1970-01-01T00:00:00Z), since such traces have no known start.
	Origin time.Time
	// Step forces the sample spacing. Default: inferred as the most common
	// difference between consecutive timestamps.
	Step time.Duration
	// Location interprets timestamps written without a zone
	// ("2006-01-02 15:04:05"). Default: UTC.
	Location *time.Location
}

// ParseError is malformed CSV input, located by file, line and column.
type ParseError struct {
	File   string
	Line   int    // 1-based line number
	Column string // the column's header name, or "" when the row is at fault
	Err    error
}

func (e *ParseError) Error() string {
	loc := fmt.Sprintf("%s:%d", e.File, e.Line)
	if e.Column != "" {
		loc += fmt.Sprintf(": column %q", e.Column)
	}
	return loc + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// ReadCSVFile reads the CSV trace at path; see ReadCSV. The Series is named
// after the file (without its extension).
func ReadCSVFile(path string, opt CSVOptions) (Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return Series{}, err
	}
	defer f.Close()
	s, err := ReadCSV(f, path, opt)
	if err != nil {
		return Series{}, err
	}
	s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return s, nil
}

// ReadCSV reads a trace with a header row, a time column and a value column
// into a Series. name is used in errors (usually the file's path).
//
// Timestamps may be RFC 3339 ("1995-07-01T00:00:00-04:00"), Unix seconds
// ("804571200", decimals allowed), NAB's "2006-01-02 15:04:05", or, in a
// column named offset_seconds, seconds since Origin. The rules:
//
//   - Lines starting with '#' are comments (e.g. a provenance line).
//   - Rows may come in any order; they are sorted by time.
//   - Two rows with the same timestamp are an error naming both lines.
//   - The step is the most common spacing (or Options.Step); a timestamp
//     off that grid is an error naming its line.
//   - Timestamps missing from the grid become NaN gaps, never zeros; an
//     empty value or "NaN" is a gap too. A "0" stays a zero.
//   - Any other unparsable field is an error naming file, line and column.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comment = '#'
	header, err := cr.Read()
	if err == io.EOF {
		return Series{}, &ParseError{File: name, Line: 1, Err: errors.New("empty file: want a header such as \"timestamp,value\"")}
	}
	if err != nil {
		return Series{}, csvErr(name, err)
	}
	header = append([]string(nil), header...)
	ti, vi, err := pickColumns(header, opt)
	if err != nil {
		return Series{}, &ParseError{File: name, Line: 1, Err: err}
	}
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	origin := opt.Origin
	if origin.IsZero() {
		origin = time.Unix(0, 0).UTC()
	}
	offsets := strings.EqualFold(header[ti], "offset_seconds")

	type row struct {
		t    time.Time
		v    float64
		line int
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Series{}, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			return Series{}, &ParseError{File: name, Line: line,
				Err: fmt.Errorf("row has %d fields, header has %d", len(rec), len(header))}
		}
		t, err := parseTime(strings.TrimSpace(rec[ti]), offsets, origin, loc)
		if err != nil {
			return Series{}, &ParseError{File: name, Line: line, Column: header[ti], Err: err}
		}
		v, err := parseValue(strings.TrimSpace(rec[vi]))
		if err != nil {
			return Series{}, &ParseError{File: name, Line: line, Column: header[vi], Err: err}
		}
		rows = append(rows, row{t, v, line})
	}
	if len(rows) == 0 {
		return Series{}, &ParseError{File: name, Line: 2, Err: errors.New("no data rows after the header")}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].t.Before(rows[j].t) })
	for i := 1; i < len(rows); i++ {
		if rows[i].t.Equal(rows[i-1].t) {
			return Series{}, &ParseError{File: name, Line: rows[i].line, Column: header[ti],
				Err: fmt.Errorf("duplicate timestamp %s (also on line %d)", rows[i].t.Format(time.RFC3339), rows[i-1].line)}
		}
	}

	step := opt.Step
	if step < 0 {
		return Series{}, fmt.Errorf("%s: step must be positive, got %v", name, step)
	}
	if step == 0 {
		if len(rows) < 2 {
			return Series{}, &ParseError{File: name, Line: rows[0].line,
				Err: errors.New("cannot infer the step from a single row; give the step explicitly")}
		}
		counts := map[time.Duration]int{}
		for i := 1; i < len(rows); i++ {
			counts[rows[i].t.Sub(rows[i-1].t)]++
		}
		for d, c := range counts {
			if c > counts[step] || (c == counts[step] && d < step) {
				step = d
			}
		}
	}

	start := rows[0].t
	n := int(rows[len(rows)-1].t.Sub(start)/step) + 1
	values := make([]float64, n)
	for i := range values {
		values[i] = math.NaN()
	}
	for _, r := range rows {
		off := r.t.Sub(start)
		if off%step != 0 {
			return Series{}, &ParseError{File: name, Line: r.line, Column: header[ti],
				Err: fmt.Errorf("timestamp %s is off the %v grid that starts at %s", r.t.Format(time.RFC3339), step, start.Format(time.RFC3339))}
		}
		values[off/step] = r.v
	}
	return Series{Name: header[vi], Labels: map[string]string{"source": name, "column": header[vi]}, Start: start, Step: step, Values: values}, nil
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: name, Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("%s: %w", name, err)
}

func pickColumns(header []string, opt CSVOptions) (ti, vi int, err error) {
	find := func(want string) int {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), want) {
				return i
			}
		}
		return -1
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	ti = -1
	if opt.TimeColumn != "" {
		if ti = find(opt.TimeColumn); ti < 0 {
			return 0, 0, fmt.Errorf("header %q has no time column %q", strings.Join(header, ","), opt.TimeColumn)
		}
	} else {
		for _, c := range []string{"timestamp", "time", "date", "offset_seconds"} {
			if ti = find(c); ti >= 0 {
				break
			}
		}
		if ti < 0 {
			return 0, 0, fmt.Errorf("header %q has no time column (want one of timestamp, time, date, offset_seconds)", strings.Join(header, ","))
		}
	}
	if opt.ValueColumn != "" {
		if vi = find(opt.ValueColumn); vi < 0 {
			return 0, 0, fmt.Errorf("header %q has no value column %q", strings.Join(header, ","), opt.ValueColumn)
		}
		return ti, vi, nil
	}
	if vi = find("value"); vi >= 0 {
		return ti, vi, nil
	}
	if len(header) == 2 {
		return ti, 1 - ti, nil
	}
	return 0, 0, fmt.Errorf("header %q has no column named value; name the value column explicitly", strings.Join(header, ","))
}

func parseTime(s string, offsets bool, origin time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty timestamp")
	}
	if offsets {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, fmt.Errorf("offset %q is not a number of seconds", s)
		}
		return origin.Add(time.Duration(math.Round(f * float64(time.Second)))), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateTime, s, loc); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339, Unix seconds or \"YYYY-MM-DD HH:MM:SS\"", s)
}

func parseValue(s string) (float64, error) {
	if s == "" || strings.EqualFold(s, "nan") {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is infinite", s)
	}
	return v, nil
}
