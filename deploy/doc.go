// Package deploy holds stuurman's deployment artefacts — the Helm chart in
// deploy/helm/stuurman — and the tests that render the chart and apply it
// to a real API server. It has no Go code of its own.
package deploy
