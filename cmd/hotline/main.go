// Command hotline is the 95598 hotline controller and its tools.
//
//	hotline serve                      run the controller
//	hotline accounts import FILE.csv   load customer accounts into Redis
//	hotline prompts render -dir D      render the prompt catalogue to 8 kHz WAV
//	hotline ivr validate FILE          check an IVR menu file, naming the line of each problem
//	hotline tokens new -role R         a fresh API token and its tokens-file line
//	hotline calls export -since D ...  call records as CSV
//
// Configuration comes from HOTLINE_* environment variables; HOTLINE_ENV_FILE
// names a KEY=VALUE file read first (the environment wins over it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/service"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

const usage = `usage:
  hotline serve                              run the controller
  hotline accounts import FILE.csv           load customer accounts into Redis
  hotline prompts render -dir DIR [-moh FILE] [-force]
                                             render prompt audio for Asterisk
  hotline ivr validate FILE                  check an IVR menu file (hotline ivr default prints the built-in one)
  hotline tickets|outages|report ...         the back office (hotline help)
  hotline tokens new -role ROLE [-agent ID] [-name NAME]
                                             a fresh API token and its HOTLINE_TOKENS_FILE line
  hotline calls export -since D -until D [-o FILE]
                                             call records as CSV (hotline help)`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hotline:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	switch args[0] {
	case "serve":
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		log := logx.New(os.Stderr, cfg.LogLevel)
		svc, err := service.New(cfg, log, prometheus.NewRegistry(), nil)
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	case "accounts":
		if len(args) != 3 || args[1] != "import" {
			return errors.New(usage)
		}
		return importAccounts(ctx, args[2])
	case "prompts":
		if len(args) < 2 || args[1] != "render" {
			return errors.New(usage)
		}
		return renderPrompts(ctx, args[2:])
	case "tickets", "outages", "report":
		return backoffice(ctx, args)
	case "tokens":
		return tokens(args[1:], os.Stdout)
	case "ivr":
		return ivrCommand(args[1:], os.Stdout)
	case "calls":
		return calls(ctx, args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Println(usage + "\n" + backofficeUsage + "\n" + tokensUsage + "\n" + callsUsage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func loadConfig() (config.Config, error) {
	lookup := os.LookupEnv
	if path := os.Getenv("HOTLINE_ENV_FILE"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return config.Config{}, fmt.Errorf("HOTLINE_ENV_FILE: %w", err)
		}
		defer f.Close()
		if lookup, err = config.ReadEnvFile(f, os.LookupEnv); err != nil {
			return config.Config{}, fmt.Errorf("HOTLINE_ENV_FILE %s: %w", path, err)
		}
	}
	return config.Load(lookup)
}

func importAccounts(ctx context.Context, path string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rdb, err := cfg.RedisClient(redis.Options{DialTimeout: 2 * time.Second}) // plain or through Sentinel
	if err != nil {
		return err
	}
	defer rdb.Close()
	n, err := accounts.New(rdb, cfg.RedisPrefix).Import(ctx, f)
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	fmt.Printf("imported %d accounts from %s\n", n, path)
	return nil
}

func renderPrompts(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("prompts render", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory for the prompt WAV files (Asterisk's sounds/hotline)")
	moh := fs.String("moh", "", "also write music on hold to this WAV file")
	force := fs.Bool("force", false, "render every prompt again")
	speed := fs.Int("speed", prompts.DefaultSpeed, "words per minute: slower is kinder to elderly callers")
	voices := fs.String("voices", "en,slow", "also render these voices into DIR/<voice> (en: English, slow: the elderly service); \"\" for none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("prompts render: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	n, err := prompts.Render(ctx, *dir, prompts.Catalogue(), prompts.RenderOptions{Speed: *speed, Force: *force})
	if err != nil {
		return err
	}
	fmt.Printf("rendered %d of %d prompts into %s\n", n, len(prompts.Catalogue()), *dir)
	if err := renderVoices(ctx, *dir, *voices, *force); err != nil {
		return err
	}
	if *moh != "" {
		if _, err := os.Stat(*moh); err != nil || *force {
			if err := prompts.RenderMOH(ctx, *moh); err != nil {
				return err
			}
			fmt.Printf("rendered music on hold into %s\n", *moh)
		}
	}
	return nil
}
