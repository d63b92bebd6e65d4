package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newEvalAgentsCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "agents",
		Short:  "not built yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("eval agents: not built yet") },
	}
}
