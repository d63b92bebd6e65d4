package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newEvalForecastCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "forecast",
		Short:  "not built yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("eval forecast: not built yet") },
	}
}
