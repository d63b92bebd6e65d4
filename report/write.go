package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The names of the files Write creates in its directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JSONFile     = "report.json"
)

// Files are the paths of a written report.
type Files struct {
	Markdown string
	HTML     string
	JSON     string
}

// Write renders r and writes report.md, report.html and report.json into
// dir, creating dir (and its parents) if needed.
//
// It renders all three in memory first and writes each to a temporary file
// in dir, so nothing is replaced unless all three were rendered and
// written; each file is then moved into place by a rename, which replaces
// an earlier report's file atomically. On error no temporary file is left
// behind and the error names the path that failed.
func Write(dir string, r Report) (Files, error) {
	md := Markdown(r)
	doc, err := HTML(r)
	if err != nil {
		return Files{}, err
	}
	js, err := JSON(r)
	if err != nil {
		return Files{}, err
	}
	return writeFiles(dir, md, doc, js)
}

// writeFiles writes md, doc and js as report.md, report.html and
// report.json into dir, creating dir if needed: each to a temporary file
// in dir, flushed to disk, then all renamed into place, as Write
// describes. On error it removes the temporary files it wrote and names
// the path that failed. Write and WriteWorkloads share it.
func writeFiles(dir string, md, doc, js []byte) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("report: create directory %s: %w", dir, err)
	}
	files := Files{
		Markdown: filepath.Join(dir, MarkdownFile),
		HTML:     filepath.Join(dir, HTMLFile),
		JSON:     filepath.Join(dir, JSONFile),
	}
	outputs := []struct {
		path string
		data []byte
		tmp  string
	}{{path: files.Markdown, data: md}, {path: files.HTML, data: doc}, {path: files.JSON, data: js}}
	cleanup := func() {
		for _, o := range outputs {
			if o.tmp != "" {
				os.Remove(o.tmp)
			}
		}
	}
	for i := range outputs {
		tmp, err := writeTemp(outputs[i].path, outputs[i].data)
		if err != nil {
			cleanup()
			return Files{}, err
		}
		outputs[i].tmp = tmp
	}
	for i, o := range outputs {
		if err := os.Rename(o.tmp, o.path); err != nil {
			cleanup()
			return Files{}, fmt.Errorf("report: write %s: %w", o.path, err)
		}
		outputs[i].tmp = ""
	}
	return files, nil
}

// writeTemp writes data to a new temporary file beside path, flushed to
// disk, and returns the temporary file's name.
func writeTemp(path string, data []byte) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("report: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
			err = fmt.Errorf("report: write %s: %w", path, err)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", errors.Join(err, f.Close())
	}
	if err := f.Chmod(0o644); err != nil {
		return "", errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return "", errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}
