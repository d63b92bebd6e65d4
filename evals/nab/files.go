package nab

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// File is one data file of the corpus, and optionally a detector's scores
// for it, row for row.
type File struct {
	// Name is the file's path relative to the corpus's data folder, with
	// forward slashes, e.g. "realKnownCause/nyc_taxi.csv"; it is the file's
	// key in the labels.
	Name string
	// Stamps holds each row's timestamp as written, Times the parsed time.
	Stamps []string
	Times  []time.Time
	// ValueText holds each row's value as written, Values the parsed
	// number (NaN for an empty field or "nan").
	ValueText []string
	Values    []float64
	// Scores holds each row's anomaly score; nil for a data file.
	Scores []float64
}

// Len returns the number of rows.
func (f File) Len() int { return len(f.Times) }

// ParseTime parses a NAB timestamp: "2006-01-02 15:04:05" with optional
// fractional seconds (the labels write "2014-04-10 07:15:00.000000"), or
// RFC 3339. Times without a zone are UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02 15:04:05.999999999", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not \"YYYY-MM-DD HH:MM:SS\" or RFC 3339", s)
}

// ReadFile reads a NAB CSV at path: a header with "timestamp" and "value"
// columns and, when wantScores is true, "anomaly_score" (a results file).
// Other columns are ignored. name becomes File.Name. Rows are kept in
// file order, which is the order NAB scores them in, even where time
// repeats or steps back (NAB's own files do both). Errors name the path and the line.
func ReadFile(path, name string, wantScores bool) (File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	f, err := readFile(fh, path, wantScores)
	f.Name = name
	return f, err
}

func readFile(r io.Reader, path string, wantScores bool) (File, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return File{}, fmt.Errorf("%s:1: empty file, want a header \"timestamp,value\"", path)
	}
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	col := func(want string) int {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), want) {
				return i
			}
		}
		return -1
	}
	ti, vi, si := col("timestamp"), col("value"), col("anomaly_score")
	switch {
	case ti < 0:
		return File{}, fmt.Errorf("%s:1: header %q has no timestamp column", path, strings.Join(header, ","))
	case vi < 0:
		return File{}, fmt.Errorf("%s:1: header %q has no value column", path, strings.Join(header, ","))
	case wantScores && si < 0:
		return File{}, fmt.Errorf("%s:1: header %q has no anomaly_score column", path, strings.Join(header, ","))
	}
	need := max(ti, vi, si) + 1
	var f File
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return File{}, fmt.Errorf("%s:%d: %w", path, pe.Line, pe.Err)
			}
			return File{}, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < need {
			return File{}, fmt.Errorf("%s:%d: row has %d fields, want at least %d", path, line, len(rec), need)
		}
		stamp := strings.TrimSpace(rec[ti])
		t, err := ParseTime(stamp)
		if err != nil {
			return File{}, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		vt := strings.TrimSpace(rec[vi])
		v := math.NaN()
		if vt != "" && !strings.EqualFold(vt, "nan") {
			if v, err = strconv.ParseFloat(vt, 64); err != nil || math.IsInf(v, 0) {
				return File{}, fmt.Errorf("%s:%d: value %q is not a finite number", path, line, vt)
			}
		}
		if wantScores {
			st := strings.TrimSpace(rec[si])
			s, err := strconv.ParseFloat(st, 64)
			if err != nil || math.IsNaN(s) || math.IsInf(s, 0) {
				return File{}, fmt.Errorf("%s:%d: anomaly_score %q is not a finite number", path, line, st)
			}
			f.Scores = append(f.Scores, s)
		}
		f.Stamps = append(f.Stamps, stamp)
		f.Times = append(f.Times, t)
		f.ValueText = append(f.ValueText, vt)
		f.Values = append(f.Values, v)
	}
	if len(f.Times) == 0 {
		return File{}, fmt.Errorf("%s:2: no data rows after the header", path)
	}
	return f, nil
}

// WriteResults writes f as a NAB results file at path, creating its folder:
// the columns timestamp,value,anomaly_score, one row per row of f with the
// timestamp and value as they were read. It panics if f.Scores does not
// have one score per row.
func WriteResults(path string, f File) error {
	if len(f.Scores) != f.Len() {
		panic(fmt.Sprintf("nab: WriteResults: %d scores for %d rows", len(f.Scores), f.Len()))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.Grow(f.Len() * 48)
	b.WriteString("timestamp,value,anomaly_score\n")
	for i := range f.Times {
		b.WriteString(f.Stamps[i])
		b.WriteByte(',')
		if f.ValueText != nil {
			b.WriteString(f.ValueText[i])
		} else {
			b.WriteString(strconv.FormatFloat(f.Values[i], 'g', -1, 64))
		}
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(f.Scores[i], 'g', -1, 64))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// DataFiles lists the CSV files under dir (a corpus's data folder, in any
// category folder, at any depth) by their names relative to dir, with
// forward slashes, sorted.
func DataFiles(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".csv") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list data files: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("list data files: no CSV file under %s", dir)
	}
	slices.Sort(names)
	return names, nil
}

// ResultsPath returns where a detector's results for the data file name
// ("category/file.csv") live under a results folder:
// dir/category/<detector>_file.csv, as NAB lays them out.
func ResultsPath(dir, detector, name string) string {
	cat, file := splitName(name)
	return filepath.Join(dir, filepath.FromSlash(cat), detector+"_"+file)
}

// DetectorName finds the detector that wrote the results folder dir for
// the data files names: the prefix D such that dir/category/D_file.csv
// exists for the most data files. It fails when no file matches, or when
// two detectors match equally many.
func DetectorName(dir string, names []string) (string, error) {
	count := map[string]int{}
	for _, name := range names {
		cat, file := splitName(name)
		entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(cat)))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if d, ok := strings.CutSuffix(e.Name(), "_"+file); ok && d != "" && !e.IsDir() {
				count[d]++
			}
		}
	}
	if len(count) == 0 {
		return "", fmt.Errorf("results folder %s holds no <detector>_<file>.csv for the %d data files", dir, len(names))
	}
	var best []string
	for d, c := range count {
		switch {
		case len(best) == 0 || c > count[best[0]]:
			best = []string{d}
		case c == count[best[0]]:
			best = append(best, d)
		}
	}
	if len(best) > 1 {
		slices.Sort(best)
		return "", fmt.Errorf("results folder %s holds results of several detectors (%s); point at one", dir, strings.Join(best, ", "))
	}
	return best[0], nil
}

func splitName(name string) (cat, file string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}
