package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/clvstream/clvstream/internal/backfill"
	"github.com/clvstream/clvstream/internal/batch"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/connect"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// inputFlags are the flags that describe a model input file.
type inputFlags struct {
	input, format, unit, asOf, kind string
	fromRedis, force                bool
	tx                              backfill.Options
	penalizer                       float64
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.input, "input", "", "summary CSV (lifetimes or BTYD columns) or transactions file")
	fs.StringVar(&f.format, "format", "summary", "summary or transactions")
	fs.StringVar(&f.unit, "time-unit", "week", "day or week")
	fs.StringVar(&f.asOf, "as-of", "", "YYYY-MM-DD: end of the calibration period (transactions, --from-redis); default the last day")
	fs.StringVar(&f.kind, "model", "", "purchase model: mbgnbd, bgnbd, paretonbd or auto (holdout only); default model.purchase of the config (mbgnbd)")
	fs.BoolVar(&f.force, "force", false, "fit even below model.min_customers / model.min_repeat_buyers and keep a degenerate or unconverged fit")
	fs.Float64Var(&f.penalizer, "penalizer", 0, "L2 penalty coefficient (lifetimes' penalizer_coef)")
	fs.BoolVar(&f.fromRedis, "from-redis", false, "fit the live state in Redis instead of a file")
	fs.StringVar(&f.tx.CustomerCol, "customer-col", "1", "transactions: customer id column (number or header name)")
	fs.StringVar(&f.tx.DateCol, "date-col", "2", "transactions: date column")
	fs.StringVar(&f.tx.AmountCol, "amount-col", "3", "transactions: amount column")
	fs.StringVar(&f.tx.DateFormat, "date-format", "2006-01-02", "transactions: Go time layout of the dates")
}

func (f *inputFlags) unitDays() (float64, error) {
	d, err := model.UnitDays(f.unit)
	if err != nil {
		return 0, fmt.Errorf("--time-unit: %w", err)
	}
	return d, nil
}

// fitOptions are the batch fit options of the flags and the config.
func (f *inputFlags) fitOptions(cfg config.Config, unitDays float64, asOf time.Time) batch.FitOptions {
	kind := f.kind
	if kind == "" {
		kind = cfg.Model.Kind
	}
	return batch.FitOptions{Kind: kind, UnitDays: unitDays, Penalizer: f.penalizer, AsOf: asOf, Force: f.force,
		MinCustomers: cfg.Model.MinCustomers, MinRepeatBuyers: cfg.Model.MinRepeatBuyers, ChurnHorizon: cfg.Scoring.ChurnHorizon}
}

func (f *inputFlags) parseAsOf() (time.Time, error) {
	if f.asOf == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", f.asOf)
	if err != nil {
		return t, fmt.Errorf("--as-of %q: want YYYY-MM-DD", f.asOf)
	}
	return t, nil
}

// rows reads the model input: a file, or the live state. For a
// transactions file it also returns the churn model's time split as of the
// end of calibration for churnHorizon (a summary file has none).
func (f *inputFlags) rows(ctx context.Context, cfg config.Config, holdoutEnd time.Time, churnHorizon time.Duration) ([]batch.Row, time.Time, model.ChurnSplit, error) {
	var none model.ChurnSplit
	unitDays, err := f.unitDays()
	if err != nil {
		return nil, time.Time{}, none, err
	}
	asOf, err := f.parseAsOf()
	if err != nil {
		return nil, asOf, none, err
	}
	if f.fromRedis {
		if asOf.IsZero() {
			asOf = time.Now().UTC().Truncate(24 * time.Hour)
		}
		rdb, err := connect.Redis(cfg.Redis)
		if err != nil {
			return nil, asOf, none, err
		}
		defer rdb.Close()
		exp, _ := event.CurrencyExponent(cfg.Input.BaseCurrency)
		rows, split, err := batch.FromStates(ctx, state.New(rdb, cfg.Redis.KeyPrefix, cfg.Kafka.OwnerLease), asOf, unitDays, math.Pow10(exp), churnHorizon)
		return rows, asOf, split, err
	}
	if f.input == "" {
		return nil, asOf, none, errors.New("--input FILE (or --from-redis) is required")
	}
	switch f.format {
	case "summary":
		file, err := os.Open(f.input)
		if err != nil {
			return nil, asOf, none, err
		}
		defer file.Close()
		sf, err := batch.ReadSummaryFile(ctxReader{ctx, file}, unitDays)
		if err != nil {
			return nil, asOf, none, fmt.Errorf("%s: %w", f.input, err)
		}
		for _, w := range sf.Warnings {
			fmt.Fprintf(os.Stderr, "clvstream: warning: %s: %s\n", f.input, w)
		}
		return sf.Rows, asOf, none, nil
	case "transactions":
		h, err := batch.ReadHistory(f.input, f.tx)
		if err != nil {
			return nil, asOf, none, err
		}
		if asOf.IsZero() {
			asOf = h.LastDay()
		}
		split, err := h.ChurnSplit(ctx, asOf, churnHorizon, unitDays)
		return h.Rows(asOf, holdoutEnd, unitDays), asOf, split, err
	}
	return nil, asOf, none, fmt.Errorf("--format %q: must be summary or transactions", f.format)
}

func fitCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fit", flag.ExitOnError)
	var in inputFlags
	in.register(fs)
	asJSON := fs.Bool("json", false, "print the fit as JSON")
	out := fs.String("output", "", "also write the full model record (JSON, usable by score --model-file) to this file")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	rows, asOf, split, err := in.rows(ctx, cfg, time.Time{}, cfg.Scoring.ChurnHorizon)
	if err != nil {
		return err
	}
	unitDays, _ := in.unitDays()
	fo := in.fitOptions(cfg, unitDays, asOf)
	fo.Churn = split
	rec, err := batch.Fit(ctx, rows, fo)
	if err != nil {
		return err
	}
	if *out != "" {
		b, _ := json.MarshalIndent(rec, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
	}
	return batch.WriteReport(os.Stdout, batch.Report(rec), *asJSON)
}

func scoreCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("score", flag.ExitOnError)
	var in inputFlags
	in.register(fs)
	modelFile := fs.String("model-file", "", "model record from `clvstream fit --output` (default: fit the input first)")
	horizon := fs.Float64("horizon", 52, "expected_purchases window, in time units")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	rows, asOf, split, err := in.rows(ctx, cfg, time.Time{}, cfg.Scoring.ChurnHorizon)
	if err != nil {
		return err
	}
	unitDays, _ := in.unitDays()
	fo := in.fitOptions(cfg, unitDays, asOf)
	fo.Churn = split
	var rec model.Record
	if *modelFile != "" {
		b, err := os.ReadFile(*modelFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("--model-file %s: %w", *modelFile, err)
		}
		if !rec.Fitted() {
			return fmt.Errorf("--model-file %s: kind %q is not a fitted purchase model (valid: mbgnbd, bgnbd, paretonbd)", *modelFile, rec.Kind)
		}
	} else if rec, err = batch.Fit(ctx, rows, fo); err != nil {
		return err
	}
	rs, err := cfg.SegmentRules()
	if err != nil {
		return err
	}
	engine, err := segment.Compile(rs)
	if err != nil {
		return err
	}
	return batch.Score(os.Stdout, rows, rec, batch.ScoreOptions{HorizonUnits: *horizon, Levels: cfg.Scoring.Churn, Rules: engine, AsOf: asOf,
		ChurnHorizonUnits: cfg.Scoring.ChurnHorizon.Hours() / 24 / unitDays})
}

func holdoutCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("holdout", flag.ExitOnError)
	var in inputFlags
	in.register(fs)
	length := fs.Float64("holdout-length", 39, "length of the holdout period, in time units")
	end := fs.String("holdout-end", "", "transactions: last day of the holdout period (YYYY-MM-DD); default --as-of plus --holdout-length")
	maxBin := fs.Int("max-bin", 7, "calibration frequencies from this on share one line")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	unitDays, err := in.unitDays()
	if err != nil {
		return err
	}
	asOf, err := in.parseAsOf()
	if err != nil {
		return err
	}
	holdoutEnd := asOf.Add(time.Duration(*length * unitDays * float64(24*time.Hour)))
	if *end != "" {
		if holdoutEnd, err = time.Parse("2006-01-02", *end); err != nil {
			return fmt.Errorf("--holdout-end %q: want YYYY-MM-DD", *end)
		}
	}
	if in.format == "transactions" && asOf.IsZero() {
		return errors.New("--as-of (end of calibration) is required with transactions")
	}
	// The churn model predicts "no purchase in the holdout window": its
	// time split is taken from the calibration period for that horizon.
	rows, _, split, err := in.rows(ctx, cfg, holdoutEnd, time.Duration(*length*unitDays*float64(24*time.Hour)))
	if err != nil {
		return err
	}
	fo := in.fitOptions(cfg, unitDays, asOf)
	fo.Churn = split
	bins, churnRep, rec, err := batch.Holdout(ctx, rows, fo, *length, *maxBin)
	if err != nil {
		return err
	}
	if rec.Selection != nil {
		for _, c := range rec.Selection.Candidates {
			if c.Holdout != nil {
				fmt.Printf("candidate %-9s holdout predicted %.1f, actual %.0f, error %.4f\n", c.Kind, c.Holdout.Predicted, c.Holdout.Actual, c.Holdout.Error)
			} else {
				fmt.Printf("candidate %-9s %s\n", c.Kind, c.Error)
			}
		}
		fmt.Printf("model.purchase auto chose %s\n", rec.Selection.Chosen)
	}
	an, bn := "a", "b"
	if rec.Kind == model.KindParetoNBD {
		an, bn = "s", "beta"
	}
	fmt.Printf("%s fitted on the calibration period: r=%.4f alpha=%.4f %s=%.4f %s=%.4f; holdout %.0f %ss\n\n",
		rec.Kind, rec.Params.R, rec.Params.Alpha, an, rec.Params.A, bn, rec.Params.B, *length, in.unit)
	batch.WriteHoldout(os.Stdout, bins)
	fmt.Println()
	if cm := rec.Churn; cm != nil {
		fmt.Printf("churn model: %d time-split examples; %s\n\n", cm.Examples, cm.Note)
	}
	batch.WriteChurn(os.Stdout, churnRep)
	return nil
}

func modelCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "refit") {
		return errors.New("usage: clvstream model show|refit [--config FILE] [--set ...]")
	}
	fs := flag.NewFlagSet("model "+args[0], flag.ExitOnError)
	cfg, err := loadConfig(fs, args[1:])
	if err != nil {
		return err
	}
	rdb, err := connect.Redis(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := refit.NewStore(rdb, cfg.Redis.KeyPrefix)
	if args[0] == "refit" {
		if err := store.RequestRefit(ctx); err != nil {
			return err
		}
		fmt.Println("refit requested: the instance holding the refit lock fits within a few seconds")
		return nil
	}
	rec, err := store.Current(ctx)
	if err != nil {
		return err
	}
	if rec == nil {
		return errors.New("no model published yet")
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rec)
}

// ctxReader stops reading when ctx ends, so a signal interrupts the
// reading of a large input file too.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
