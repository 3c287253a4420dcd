package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/policy"
)

const callsUsage = `call records:
  hotline calls export -since 2026-11-22 -until 2026-11-23 [-agent ID] [-queue Q] [-phone P] [-o FILE]
      every call record started in [since, until) as CSV (UTF-8 with BOM, oldest first);
      dates are China time, or RFC 3339; -o - or no -o writes to standard output`

// calls runs a call-records command.
func calls(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return errors.New(callsUsage)
	}
	fs := flag.NewFlagSet("calls export", flag.ContinueOnError)
	since := fs.String("since", "", "first day or moment (YYYY-MM-DD or RFC 3339), required")
	until := fs.String("until", "", "end, exclusive (YYYY-MM-DD or RFC 3339), required")
	agent := fs.String("agent", "", "only this agent's calls")
	queue := fs.String("queue", "", "only calls that waited in this queue")
	phone := fs.String("phone", "", "only this customer's calls")
	out := fs.String("o", "-", "output file (- for standard output)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	f := cdr.Filter{Agent: *agent, Queue: *queue}
	var err error
	if f.Since, err = cliTime(*since); err != nil {
		return fmt.Errorf("-since: %w", err)
	}
	if f.Until, err = cliTime(*until); err != nil {
		return fmt.Errorf("-until: %w", err)
	}
	if !f.Since.Before(f.Until) {
		return errors.New("-since must be before -until")
	}
	if *phone != "" {
		if f.Phone = accounts.NormalizePhone(*phone); !accounts.ValidPhone(f.Phone) {
			return fmt.Errorf("-phone %q is not a phone number", *phone)
		}
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	pol := policy.Default()
	if cfg.PolicyFile != "" {
		if pol, err = policy.Load(cfg.PolicyFile); err != nil {
			return fmt.Errorf("HOTLINE_POLICY_FILE: %w", err)
		}
	}
	rdb, err := cfg.RedisClient(redis.Options{DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer rdb.Close()
	w := stdout
	if *out != "-" {
		file, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	n, err := cdr.New(rdb, cfg.RedisPrefix, pol.Records(), nil).Export(ctx, w, f)
	if err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(os.Stderr, "hotline: %d call records written to %s\n", n, *out)
	}
	return nil
}

// cliTime reads a date (China time, the start of that day) or RFC 3339.
func cliTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("required, e.g. 2026-11-22")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, china.Zone)
	if err != nil {
		return t, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t, nil
}
