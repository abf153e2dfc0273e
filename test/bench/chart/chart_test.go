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
// from a fixed seed so the picture is identical on every run.
func lognormal(seed uint64, n int, median time.Duration, sigma float64) []time.Duration {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
	}
	return out
}

// reportPanels resembles a real run: an idle panel, then bursts whose
// latencies grow with their size, the operator a little behind the baseline.
func reportPanels() []Panel {
	panels := []Panel{{Title: "one at a time, idle", Series: []Series{
		{Name: "operator", Samples: lognormal(1, 50, 34*time.Millisecond, 0.2)},
	}}}
	for i, n := range []int{100, 1000, 10000} {
		median := time.Duration(n) * 10 * time.Millisecond
		panels = append(panels, Panel{Title: "burst of " + map[int]string{100: "100", 1000: "1,000", 10000: "10,000"}[n], Series: []Series{
			{Name: "operator", Samples: lognormal(uint64(2*i+2), n, median*6/5, 0.6)},
			{Name: "baseline", Samples: lognormal(uint64(2*i+3), n, median, 0.6)},
		}})
	}
	return panels
}

func render(t *testing.T, panels []Panel, w, h int) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := CDFs(&buf, panels, w, h); err != nil {
		t.Fatalf("CDFs: %v", err)
	}
	if out := os.Getenv("CHART_OUT"); out != "" && t.Name() == "TestCDFs/report" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(w, h) {
		t.Fatalf("size = %v, want %dx%d", got, w, h)
	}
	return img
}

// inked counts the non-white pixels in r.
func inked(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA); c.R < 250 || c.G < 250 || c.B < 250 {
				n++
			}
		}
	}
	return n
}

// hasColour reports whether some pixel is close to c, allowing for
// anti-aliasing at the edges of a line.
func hasColour(img image.Image, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if absDiff(p.R, c.R)+absDiff(p.G, c.G)+absDiff(p.B, c.B) < 12 {
				return true
			}
		}
	}
	return false
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestCDFs(t *testing.T) {
	ms := time.Millisecond
	one := func(s ...time.Duration) []Panel {
		return []Panel{{Title: "p", Series: []Series{{Name: "a", Samples: s}}}}
	}
	cases := []struct {
		name   string
		panels []Panel
		w, h   int
		// cells is the grid the panels should land in; each cell must have ink.
		cols, rows int
		// colours are palette entries that must appear: a curve was drawn.
		colours int
	}{
		{"report", reportPanels(), 1200, 800, 2, 2, 2},
		{"no panels", nil, 400, 300, 1, 1, 0},
		{"empty panel", []Panel{{Title: "burst of 100"}}, 400, 300, 1, 1, 0},
		{"empty series", []Panel{{Title: "p", Series: []Series{{Name: "a"}, {Name: "b", Samples: []time.Duration{}}}}}, 400, 300, 1, 1, 0},
		{"one empty one full", []Panel{{Series: []Series{{Name: "a"}, {Name: "b", Samples: lognormal(3, 100, 50*ms, 0.2)}}}}, 400, 300, 1, 1, 2},
		{"single sample", one(42 * ms), 400, 300, 1, 1, 1},
		{"all equal", one(7*ms, 7*ms, 7*ms), 400, 300, 1, 1, 1},
		{"zeros", one(0, 0, 0), 400, 300, 1, 1, 1},
		{"negative", one(-ms, 0, ms), 400, 300, 1, 1, 1},
		{"nanoseconds", one(1, 2, 3), 400, 300, 1, 1, 1},
		{"hours", one(time.Hour, 3*time.Hour), 400, 300, 1, 1, 1},
		{"extremes", one(math.MinInt64, 0, math.MaxInt64), 400, 300, 1, 1, 1},
		{"huge", one(lognormal(4, 200000, time.Second, 1)...), 600, 400, 1, 1, 1},
		{"unnamed", []Panel{{Series: []Series{{Samples: []time.Duration{ms}}}}}, 400, 300, 1, 1, 1},
		{"three panels in a row", reportPanels()[1:], 1500, 500, 3, 1, 2},
		{"smallest", reportPanels(), minSide, minSide, 2, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := render(t, tc.panels, tc.w, tc.h)
			for r := range tc.rows {
				for c := range tc.cols {
					cell := image.Rect(c*tc.w/tc.cols, r*tc.h/tc.rows, (c+1)*tc.w/tc.cols, (r+1)*tc.h/tc.rows)
					if got := inked(img, cell); got < cell.Dx()*cell.Dy()/100 {
						t.Errorf("cell (%d,%d) has %d inked pixels; looks blank", c, r, got)
					}
				}
			}
			for i := range tc.colours {
				if !hasColour(img, palette[i]) {
					t.Errorf("no curve in colour %d (%v)", i, palette[i])
				}
			}
		})
	}
}

func TestCDFsInvalidSize(t *testing.T) {
	for _, sz := range []image.Point{{0, 300}, {300, 0}, {-1, 300}, {minSide - 1, 300}, {maxSide + 1, 300}, {300, maxSide + 1}} {
		if err := CDFs(&bytes.Buffer{}, reportPanels(), sz.X, sz.Y); err == nil {
			t.Errorf("size %v: want error, got nil", sz)
		}
	}
}

func TestCDFsLeavesInputUnsorted(t *testing.T) {
	in := []time.Duration{3 * time.Second, time.Second, 2 * time.Second}
	if err := CDFs(&bytes.Buffer{}, []Panel{{Series: []Series{{Samples: in}}}}, 300, 200); err != nil {
		t.Fatal(err)
	}
	if in[0] != 3*time.Second || in[1] != time.Second || in[2] != 2*time.Second {
		t.Errorf("caller's samples were reordered: %v", in)
	}
}

func TestSteps(t *testing.T) {
	got := steps([]float64{1, 2, 2, 4}, 0.5, 8)
	want := []float64{0, 0.25, 0.5, 0.75, 1, 1}
	if len(got) != len(want) {
		t.Fatalf("len = %d, want %d", len(got), len(want))
	}
	for i, p := range got {
		if p.Y != want[i] {
			t.Errorf("point %d: y = %v, want %v", i, p.Y, want[i])
		}
	}
	if got[0].X != 0.5 || got[len(got)-1].X != 8 {
		t.Errorf("curve spans %v..%v, want the panel's 0.5..8", got[0].X, got[len(got)-1].X)
	}

	big := make([]float64, 10*maxPoints)
	for i := range big {
		big[i] = float64(i + 1)
	}
	thin := steps(big, 0.5, 1e6)
	if len(thin) > maxPoints+2 {
		t.Errorf("%d points, want at most %d", len(thin), maxPoints+2)
	}
	if last := thin[len(thin)-2]; last.X != big[len(big)-1] || last.Y != 1 {
		t.Errorf("thinned curve ends at %v, want the largest sample at 1", last)
	}
}

func TestLogTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   []string
	}{
		{0.02, 3, []string{"20ms", "50ms", "100ms", "200ms", "500ms", "1s", "2s"}},
		{0.01, 400, []string{"10ms", "100ms", "1s", "10s", "100s"}},
		{1e-6, 1e10, []string{"1µs", "1ms", "1s", "1000s", "1e+06s", "1e+09s"}},
	}
	for _, tc := range cases {
		var got []string
		for _, tk := range logTicks(tc.lo, tc.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%v..%v: labels %q, want %q", tc.lo, tc.hi, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%v..%v: labels %q, want %q", tc.lo, tc.hi, got, tc.want)
				break
			}
		}
	}
}

func TestFormatSeconds(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want string
	}{{0.01, "10ms"}, {1.0414, "1.04s"}, {10.338, "10.3s"}, {151.5, "152s"}, {0.0337, "33.7ms"}, {1e-6, "1µs"}, {3e-9, "3ns"}, {0.9999, "1s"}, {1000, "1000s"}, {9223372036.85, "9.22e+09s"}} {
		if got := formatSeconds(tc.s); got != tc.want {
			t.Errorf("formatSeconds(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
