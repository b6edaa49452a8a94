package realnode

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Histogram is one Prometheus histogram series as a node exposes it:
// cumulative counts at each upper bound, +Inf last.
type Histogram struct {
	Count      uint64
	Sum        float64
	Bounds     []float64
	Cumulative []uint64
}

// Histograms reads the histogram family name from a Prometheus text
// endpoint, one Histogram per label set ("k=v,k=v", sorted; "" without
// labels).
func Histograms(ctx context.Context, url, name string) (map[string]Histogram, error) {
	body, err := get(ctx, url)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("realnode: parse %s: %w", url, err)
	}
	out := map[string]Histogram{}
	f, ok := families[name]
	if !ok {
		return out, nil
	}
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			return nil, fmt.Errorf("realnode: %s is not a histogram", name)
		}
		var hist Histogram
		hist.Count, hist.Sum = h.GetSampleCount(), h.GetSampleSum()
		for _, b := range h.GetBucket() {
			hist.Bounds = append(hist.Bounds, b.GetUpperBound())
			hist.Cumulative = append(hist.Cumulative, b.GetCumulativeCount())
		}
		if len(hist.Bounds) == 0 || !math.IsInf(hist.Bounds[len(hist.Bounds)-1], 1) {
			hist.Bounds = append(hist.Bounds, math.Inf(1))
			hist.Cumulative = append(hist.Cumulative, hist.Count)
		}
		out[labels(m.GetLabel())] = hist
	}
	return out, nil
}

func labels(ls []*dto.LabelPair) string {
	var kv []string
	for _, l := range ls {
		kv = append(kv, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Sub is what h observed since before, a scrape of the same series.
func (h Histogram) Sub(before Histogram) Histogram {
	out := Histogram{Count: h.Count - before.Count, Sum: h.Sum - before.Sum, Bounds: h.Bounds,
		Cumulative: make([]uint64, len(h.Cumulative))}
	for i, c := range h.Cumulative {
		out.Cumulative[i] = c
		if i < len(before.Cumulative) {
			out.Cumulative[i] -= before.Cumulative[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: linear within the bucket it falls in. NaN when h is empty.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	rank := q * float64(h.Count)
	i := sort.Search(len(h.Cumulative), func(i int) bool { return float64(h.Cumulative[i]) >= rank })
	if i == len(h.Bounds)-1 { // +Inf: the highest finite bound is all one can say
		return h.Bounds[max(0, len(h.Bounds)-2)]
	}
	lo, below := 0.0, uint64(0)
	if i > 0 {
		lo, below = h.Bounds[i-1], h.Cumulative[i-1]
	}
	in := h.Cumulative[i] - below
	if in == 0 {
		return h.Bounds[i]
	}
	return lo + (h.Bounds[i]-lo)*(rank-float64(below))/float64(in)
}

// AtMost is the fraction of observations at or below bound, one of the
// histogram's bounds. NaN when h is empty or bound is not a bound.
func (h Histogram) AtMost(bound float64) float64 {
	for i, b := range h.Bounds {
		if b == bound && h.Count > 0 {
			return float64(h.Cumulative[i]) / float64(h.Count)
		}
	}
	return math.NaN()
}

// Merge sums series with the same bounds: a family over all its label
// sets.
func Merge(series map[string]Histogram) Histogram {
	var out Histogram
	for _, h := range series {
		if out.Bounds == nil {
			out = Histogram{Bounds: h.Bounds, Cumulative: make([]uint64, len(h.Cumulative))}
		}
		out.Count += h.Count
		out.Sum += h.Sum
		for i := range min(len(out.Cumulative), len(h.Cumulative)) {
			out.Cumulative[i] += h.Cumulative[i]
		}
	}
	return out
}
