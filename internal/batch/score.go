package batch

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/segment"
)

// ScoreOptions parameterise Score.
type ScoreOptions struct {
	// HorizonUnits is the window of expected_purchases in model time units.
	HorizonUnits float64
	// ChurnHorizonUnits is the churn horizon in model time units, used
	// when the record's churn model has none (default: 90 days).
	ChurnHorizonUnits float64
	Levels            churn.Levels
	Rules             *segment.Engine
	AsOf              time.Time
}

// Score writes one CSV line per row: the summary, P(alive), expected
// purchases over the horizon, predicted CLV (the record's horizon and
// discount; margin 1 since files carry revenue only), churn risk (the
// record's churn model on P(no purchase in the churn horizon); a file has
// no email or support signals), its level and the segment of the rules
// (first decision, no dwell). A record without a usable purchase model is
// an error.
func Score(w io.Writer, rows []Row, rec model.Record, o ScoreOptions) error {
	pm := rec.PurchaseModel()
	if pm == nil {
		return fmt.Errorf("model record of kind %q has no purchase model (valid: %v)", rec.Kind, clv.PurchaseModelNames)
	}
	cm := rec.ChurnModel()
	h := o.ChurnHorizonUnits
	if cm.HorizonDays > 0 {
		h = cm.HorizonDays / rec.TimeUnitDays
	}
	if !(h > 0) {
		h = 90 / rec.TimeUnitDays
	}
	levels := o.Levels
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"customer_id", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
		"predicted_clv", "churn_risk", "churn_level", "segment"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	for _, r := range rows {
		pAlive := pm.PAlive(r.X, r.TX, r.T)
		exp := pm.ConditionalExpectedPurchases(o.HorizonUnits, r.X, r.TX, r.T)
		value := rec.PredictedCLV(pm, r.Summary, 1)
		risk, _ := cm.Risk(r.ChurnSignals(pm.ProbNoPurchase(h, r.X, r.TX, r.T), rec.TimeUnitDays))
		level := levels.Level(risk)
		c := segment.Customer{
			CLV: value, CLVPercentile: rec.CLVPercentile(value), HistoricCLV: 0, NetRevenue: r.AOV * (r.X + 1),
			ChurnProbability: risk, ChurnLevel: level, Tier: "none",
			RecencyDays: r.RecencyDays, TenureDays: r.T * rec.TimeUnitDays, Frequency: int(r.X), PurchaseDays: int(r.X) + 1,
		}
		cuts := segment.CutPoints{Recency: rec.RFM.Recency, Frequency: rec.RFM.Frequency, Monetary: rec.RFM.Monetary}
		c.R, c.F, c.M = cuts.Score(c.RecencyDays, c.Frequency, r.AOV)
		c.RFM = c.R + c.F + c.M
		seg, _, _ := o.Rules.Decide(c, "", time.Time{}, o.AsOf)
		if err := cw.Write([]string{r.ID, strconv.FormatFloat(r.X, 'f', -1, 64), f(r.TX), f(r.T), f(r.M), f(pAlive), f(exp),
			f(value), f(risk), level, seg}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
