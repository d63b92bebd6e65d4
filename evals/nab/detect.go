package nab

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/stuurman/stuurman/forecast"
)

// Detect runs a fresh detector from newDetector over each file, row by row
// in file order, and sets the file's Scores to the detector's score values.
// Files are processed concurrently on up to GOMAXPROCS goroutines; each
// detector sees one file only.
func Detect(files []File, newDetector func() (forecast.Detector, error)) error {
	errs := make([]error, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(files))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d, err := newDetector()
				if err != nil {
					errs[i] = fmt.Errorf("%s: %w", files[i].Name, err)
					continue
				}
				f := &files[i]
				f.Scores = make([]float64, f.Len())
				for j, t := range f.Times {
					f.Scores[j] = d.Observe(t, f.Values[j]).Value
				}
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
