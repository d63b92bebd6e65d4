package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newEvalNABCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "nab",
		Short:  "not built yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("eval nab: not built yet") },
	}
}
