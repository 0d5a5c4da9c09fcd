package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/transferd/transferd/app"
)

// command is what transferd and `transferd proxy` share: a flag set whose
// help starts with the command's usage text, --config, and flags that set a
// configuration key over the file and the environment.
type command struct {
	fs        *flag.FlagSet
	config    *string
	overrides []override
}

// override is a string flag for one configuration key.
type override struct {
	key   string // the key's path, whose file line an error then no longer names
	value *string
	field func(*app.Config) *string
}

func newCommand(name, usage, configHelp string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return &command{fs: fs, config: fs.String("config", os.Getenv("TRANSFERD_CONFIG"), configHelp)}
}

// set adds flag name ("" leaves the key alone) for the configuration key.
func (c *command) set(name, key, help string, field func(*app.Config) *string) {
	c.overrides = append(c.overrides, override{key: key, value: c.fs.String(name, "", help), field: field})
}

// parse reads args; done is true when the command ends here, with code (0
// after --help, 2 after a bad flag, which the flag package has reported).
func (c *command) parse(args []string) (code int, done bool) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	return 0, false
}

// load applies the defaults, the file (when given), the environment and
// then the flags, in that order. Problems of the file's keys and values
// (*app.FileProblems) come back with the configuration, so the caller can
// report them together with its own checks; a file that cannot be read or
// is not YAML comes back alone.
func (c *command) load() (app.Config, error) {
	cfg := app.DefaultConfig()
	var err error
	if *c.config != "" {
		cfg, err = app.LoadConfig(*c.config)
		var fileProblems *app.FileProblems
		if err != nil && !errors.As(err, &fileProblems) {
			return cfg, err
		}
	}
	cfg.ApplyEnv(os.Getenv)
	for _, o := range c.overrides {
		if *o.value != "" {
			*o.field(&cfg) = *o.value
			cfg.ForgetLine(o.key)
		}
	}
	return cfg, err
}
