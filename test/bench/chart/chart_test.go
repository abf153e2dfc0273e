package chart

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// lognormal draws n samples around median with spread sigma (in log space),
// from a fixed PCG seed so the picture is identical on every run.
func lognormal(seed uint64, n int, median time.Duration, sigma float64) []time.Duration {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
	}
	return out
}

func reportSeries() []Series {
	return []Series{
		{Name: "operator", Samples: lognormal(1, 1000, 900*time.Millisecond, 0.25)},
		{Name: "baseline", Samples: lognormal(2, 1000, 1600*time.Millisecond, 0.45)},
	}
}

// render runs Histogram and decodes the result, failing the test on any error.
func render(t *testing.T, title string, series []Series, w, h int) (image.Image, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Histogram(&buf, title, series, w, h); err != nil {
		t.Fatalf("Histogram: %v", err)
	}
	raw := bytes.Clone(buf.Bytes())
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(w, h) {
		t.Fatalf("size = %v, want %dx%d", got, w, h)
	}
	return img, raw
}

// colours returns the set of distinct colours in img.
func colours(img image.Image) map[color.RGBA]bool {
	set := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			set[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	return set
}

func TestHistogramTwoSeries(t *testing.T) {
	img, raw := render(t, "time to Ready: operator vs baseline", reportSeries(), 900, 500)
	if out := os.Getenv("CHART_OUT"); out != "" {
		if err := os.WriteFile(out, raw, 0o644); err != nil {
			t.Fatalf("write %s: %v", out, err)
		}
	}
	set := colours(img)
	if len(set) < 6 {
		t.Errorf("only %d distinct colours; image looks blank", len(set))
	}
	// The step outlines and legend swatches use each series' solid colour.
	for i := range 2 {
		c := seriesColor(i)
		if !set[color.RGBA{c.R, c.G, c.B, 255}] {
			t.Errorf("series %d colour %v not found in image", i, c)
		}
	}
}

func TestHistogramEdgeCases(t *testing.T) {
	ms := time.Millisecond
	many := make([]Series, 12)
	for i := range many {
		many[i] = Series{Samples: lognormal(uint64(i), 50, time.Duration(i+1)*100*ms, 0.3)}
	}
	cases := []struct {
		name   string
		series []Series
		w, h   int
	}{
		{"nil series", nil, 400, 300},
		{"empty series", []Series{{Name: "a"}, {Name: "b", Samples: []time.Duration{}}}, 400, 300},
		{"one empty one full", []Series{{Name: "a"}, {Name: "b", Samples: lognormal(3, 100, 50*ms, 0.2)}}, 400, 300},
		{"all equal", []Series{{Name: "a", Samples: []time.Duration{7 * ms, 7 * ms, 7 * ms}}}, 400, 300},
		{"single sample", []Series{{Name: "a", Samples: []time.Duration{42 * ms}}}, 400, 300},
		{"zeros", []Series{{Name: "a", Samples: []time.Duration{0, 0, 0}}}, 400, 300},
		{"mostly zeros", []Series{{Name: "a", Samples: append(make([]time.Duration, 999), time.Second)}}, 400, 300},
		{"negative", []Series{{Name: "a", Samples: []time.Duration{-ms, 0, ms}}}, 400, 300},
		{"nanoseconds", []Series{{Name: "a", Samples: []time.Duration{1, 2, 3}}}, 400, 300},
		{"hours", []Series{{Name: "a", Samples: []time.Duration{time.Hour, 3 * time.Hour}}}, 400, 300},
		{"extreme", []Series{{Name: "a", Samples: []time.Duration{math.MinInt64, 0, math.MaxInt64}}}, 400, 300},
		{"many series", many, 400, 300},
		{"tiny", reportSeries(), 1, 1},
		{"small", reportSeries(), 40, 30},
		{"narrow", reportSeries(), 120, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, _ := render(t, "edge: "+tc.name, tc.series, tc.w, tc.h)
			if tc.w*tc.h > 100 && len(colours(img)) < 2 {
				t.Error("image is blank; expected at least a title or message")
			}
		})
	}
}

func TestHistogramInvalidSize(t *testing.T) {
	for _, sz := range []image.Point{{0, 100}, {100, 0}, {-1, 5}, {maxSide + 1, 10}} {
		var buf bytes.Buffer
		if err := Histogram(&buf, "x", reportSeries(), sz.X, sz.Y); err == nil {
			t.Errorf("size %v: want error, got nil", sz)
		}
	}
}

func TestHistogramLeavesInputUnsorted(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	var buf bytes.Buffer
	if err := Histogram(&buf, "", []Series{{Samples: in}}, 200, 150); err != nil {
		t.Fatal(err)
	}
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("caller's samples were reordered: %v", in)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {0, 1}, {1, 10}} {
		if got := percentile(s, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
