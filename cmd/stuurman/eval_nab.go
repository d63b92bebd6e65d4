package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stuurman/stuurman/evals/nab"
	"github.com/stuurman/stuurman/forecast"
)

// nabDetector is the name stuurman's results carry in a NAB results folder.
const nabDetector = "stuurman"

func newEvalNABCommand() *cobra.Command {
	var dataDir, outDir, resultsDir string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "nab",
		Short: "Score anomaly detection on the Numenta Anomaly Benchmark",
		Long: `Run stuurman's online anomaly detector over every CSV under DIR/data (any
category folder), write NAB results files to OUT/stuurman/<category>/stuurman_<file>.csv,
score them with NAB's scorer (DIR/labels/combined_windows.json, DIR/profiles.json),
print the scores and write OUT/scores.json.

With --results, score an existing results folder (<category>/<detector>_<file>.csv)
instead of running the detector; --out is then optional and only receives scores.json.`,
		Example: `  stuurman eval nab --data ../shared/data/nab --out out/nab
  stuurman eval nab --data ../shared/data/nab --results ../shared/data/nab/reference/numenta`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outDir == "" && resultsDir == "" {
				return errors.New("eval nab: give --out (run the detector) or --results (score a results folder)")
			}
			return runEvalNAB(cmd.OutOrStdout(), dataDir, outDir, resultsDir, verbose)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "NAB folder holding data/, labels/combined_windows.json and profiles.json")
	f.StringVar(&outDir, "out", "", "folder for the results files and scores.json")
	f.StringVar(&resultsDir, "results", "", "score this results folder instead of running the detector")
	f.BoolVarP(&verbose, "verbose", "v", false, "print each file's score under the standard profile")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

func runEvalNAB(w io.Writer, dataDir, outDir, resultsDir string, verbose bool) error {
	start := time.Now()
	windows, err := nab.ReadWindows(filepath.Join(dataDir, "labels", "combined_windows.json"))
	if err != nil {
		return fmt.Errorf("eval nab: labels: %w", err)
	}
	profiles, err := nab.ReadProfiles(filepath.Join(dataDir, "profiles.json"))
	if err != nil {
		return fmt.Errorf("eval nab: profiles: %w", err)
	}
	dataRoot := filepath.Join(dataDir, "data")
	names, err := nab.DataFiles(dataRoot)
	if err != nil {
		return fmt.Errorf("eval nab: %w", err)
	}
	for _, n := range names {
		if _, ok := windows[n]; !ok {
			return fmt.Errorf("eval nab: %s: no entry in %s", filepath.Join(dataRoot, filepath.FromSlash(n)),
				filepath.Join(dataDir, "labels", "combined_windows.json"))
		}
	}
	files := make([]nab.File, len(names))
	for i, n := range names {
		if files[i], err = nab.ReadFile(filepath.Join(dataRoot, filepath.FromSlash(n)), n, false); err != nil {
			return fmt.Errorf("eval nab: %w", err)
		}
	}

	detector := nabDetector
	if resultsDir != "" {
		if detector, err = nab.DetectorName(resultsDir, names); err != nil {
			return fmt.Errorf("eval nab: %w", err)
		}
		for i, n := range names {
			p := nab.ResultsPath(resultsDir, detector, n)
			r, err := nab.ReadFile(p, n, true)
			if err != nil {
				return fmt.Errorf("eval nab: %w", err)
			}
			if r.Len() != files[i].Len() {
				return fmt.Errorf("eval nab: %s: %d rows, the data file has %d", p, r.Len(), files[i].Len())
			}
			files[i].Scores = r.Scores
		}
	} else {
		err := nab.Detect(files, func() (forecast.Detector, error) {
			return forecast.NewAnomalyDetector(forecast.AnomalyConfig{})
		})
		if err != nil {
			return fmt.Errorf("eval nab: %w", err)
		}
		for _, f := range files {
			if err := nab.WriteResults(nab.ResultsPath(filepath.Join(outDir, detector), detector, f.Name), f); err != nil {
				return fmt.Errorf("eval nab: %w", err)
			}
		}
	}

	c, err := nab.NewCorpus(files, windows, nab.Options{})
	if err != nil {
		return fmt.Errorf("eval nab: %w", err)
	}
	all, _ := c.Windows()
	fmt.Fprintf(w, "NAB: detector %s, %d files, %d windows (%v)\n\n", detector, len(files), all, time.Since(start).Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "profile\tthreshold\traw score\tnull\tperfect\tnormalised\tdetected\tFP rows\t")
	scores := map[string]float64{}
	var results []nab.Result
	for _, p := range profiles {
		r := c.Best(p)
		results = append(results, r)
		scores[p.Name] = r.Normalized
		det, fp := 0, 0
		for _, f := range r.Files {
			det += f.Detected
			fp += f.FP
		}
		fmt.Fprintf(tw, "%s\t%.6g\t%.4f\t%g\t%g\t%.2f\t%d/%d\t%d\t\n", p.Name, r.Threshold, r.Score, r.Null, r.Perfect, r.Normalized, det, all, fp)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if verbose && len(results) > 0 {
		r := results[0]
		fmt.Fprintf(w, "\nper file, %s profile (threshold %.6g):\n", r.Profile, r.Threshold)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "file\tscore\twindows\tdetected\tFP rows")
		for _, f := range r.Files {
			fmt.Fprintf(tw, "%s\t%.3f\t%d\t%d\t%d\n", f.Name, f.Score, f.Windows, f.Detected, f.FP)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if outDir != "" {
		b, err := json.MarshalIndent(scores, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return fmt.Errorf("eval nab: %w", err)
		}
		p := filepath.Join(outDir, "scores.json")
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("eval nab: %w", err)
		}
		fmt.Fprintf(w, "\nscores: %s\n", p)
		if resultsDir == "" {
			fmt.Fprintf(w, "results: %s\n", filepath.Join(outDir, detector)+string(filepath.Separator))
		}
	}
	return nil
}
