// Package chart draws the benchmark report's picture: time-to-Ready as
// empirical CDFs, one panel per workload, on a log time axis.
//
// CDFs rather than histograms because a reader compares two runs of the same
// workload ("how many tenants were Ready by 2 s?", "where is p90?"), and a log
// axis because bursts of 100 and of 10,000 differ by two orders of magnitude.
package chart

import (
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one run's latencies, e.g. the operator's or the baseline's.
type Series struct {
	Name    string
	Samples []time.Duration
}

// Panel is one workload: its series share the panel's axes.
type Panel struct {
	Title  string
	Series []Series
}

const (
	// minSide is where text, scaled down with the picture, stops being
	// readable even as a thumbnail.
	minSide = 200
	// maxSide keeps a mistyped size from allocating gigabytes (4096² RGBA is 64 MiB).
	maxSide = 4096
	// floor (seconds) is where durations below it, 0 and negative ones
	// included, are drawn, since a log axis has no 0. None is expected from a
	// monotonic clock, but one should bend the picture, not break it. It is
	// far below anything a round trip through the API server can take, so a
	// clamped point cannot pass for a real one; the legend counts them.
	floor = 1e-6
	// maxPoints bounds the vertices per curve: a panel is a few hundred pixels
	// tall, so ranks beyond this many only cost render time.
	maxPoints = 2000
)

var (
	// palette is from Tableau 10; the dash patterns keep operator and
	// baseline apart in greyscale and for colour-blind readers.
	palette = []color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
		{214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255},
	}
	dashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}}
)

// CDFs writes a width x height PNG to w: one panel per entry of panels, laid
// out in a grid, each showing every series' empirical CDF (fraction of
// samples at or below t) against t on a log axis. A series keeps its colour
// across panels, by name, so "operator" reads the same everywhere. Panels
// without samples still appear, saying so. The errors are a size outside
// 200..4096, a failing writer, and anything gonum/plot refuses to draw.
func CDFs(w io.Writer, panels []Panel, width, height int) (err error) {
	if width < minSide || height < minSide || width > maxSide || height > maxSide {
		return fmt.Errorf("chart: size %dx%d outside %d..%d", width, height, minSide, maxSide)
	}
	if len(panels) == 0 {
		panels = []Panel{{}}
	}
	// gonum/plot reports what it cannot draw by panicking; the caller has a
	// finished benchmark to report and should get an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("chart: %v", r)
		}
	}()

	styles := map[string]int{}
	plots := make([]*plot.Plot, len(panels))
	for i, p := range panels {
		plots[i] = newPanel(p, styles)
	}

	cols, rows := grid(len(panels), width, height)
	cells := make([][]*plot.Plot, rows)
	for r := range cells {
		cells[r] = make([]*plot.Plot, cols)
		for c := range cells[r] {
			if i := r*cols + c; i < len(plots) {
				cells[r][c] = plots[i]
			}
		}
	}
	// Lengths below are in points; taking the resolution from the cell size
	// scales text along with the picture, so a small one shrinks like a
	// thumbnail instead of its labels spilling over the curves.
	cellW, cellH := float64(width)/float64(cols), float64(height)/float64(rows)
	dpi := max(8, int(96*min(cellW/480, cellH/320, 3)))
	inches := func(px int) vg.Length { return vg.Length(px) / vg.Length(dpi) * vg.Inch }
	canvas := vgimg.NewWith(vgimg.UseWH(inches(width), inches(height)), vgimg.UseDPI(dpi))
	pad := vg.Points(8)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: 2 * pad, PadY: 2 * pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: 2 * pad}
	at := plot.Align(cells, tiles, draw.New(canvas))
	for r, row := range cells {
		for c, p := range row {
			if p != nil {
				makeRoomForLegend(p, at[r][c], len(panels[r*cols+c].Series))
				p.Draw(at[r][c])
			}
		}
	}
	return png.Encode(w, canvas.Image())
}

// makeRoomForLegend stretches the y axis above 1 by the legend's height, so
// the legend sits in a band no CDF can reach and never hides a curve or
// gets crossed by one, whatever the distribution's shape.
func makeRoomForLegend(p *plot.Plot, c draw.Canvas, entries int) {
	if entries == 0 {
		return
	}
	sty := p.Legend.TextStyle
	band := vg.Length(entries)*sty.Rectangle("Mg").Max.Y + sty.FontExtents().Descent + vg.Points(4)
	if h := p.DataCanvas(c).Size().Y; h > 2*band {
		p.Y.Max = float64(h / (h - band))
	}
}

// grid picks the columns (and so rows) whose panels come closest to 3:2,
// a shape where both a steep and a shallow CDF stay legible.
func grid(n, width, height int) (cols, rows int) {
	best := math.Inf(1)
	for c := 1; c <= n; c++ {
		r := (n + c - 1) / c
		aspect := (float64(width) / float64(c)) / (float64(height) / float64(r))
		if d := math.Abs(math.Log(aspect / 1.5)); d < best {
			best, cols, rows = d, c, r
		}
	}
	return cols, rows
}

func newPanel(p Panel, styles map[string]int) *plot.Plot {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font.Size = vg.Points(13)
	pl.Title.Padding = vg.Points(4)
	pl.X.Label.Text = "time from create to Ready (log scale)"
	pl.Y.Label.Text = "fraction of tenants Ready"
	pl.X.Scale = plot.LogScale{}
	pl.X.Tick.Marker = plot.TickerFunc(logTicks)
	pl.Y.Min, pl.Y.Max = 0, 1
	pl.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"},
		{Value: 0.5, Label: "0.5"}, {Value: 0.75, Label: "0.75"}, {Value: 0.9, Label: "0.9"}, {Value: 1, Label: "1"}}
	pl.Legend.Top, pl.Legend.Left = true, true
	pl.Legend.XOffs = vg.Points(6)
	pl.Legend.TextStyle.Font.Size = vg.Points(10)
	// Sans serif stays legible at the small sizes of tick labels and legends.
	for _, sty := range []*text.Style{&pl.Title.TextStyle, &pl.X.Label.TextStyle, &pl.Y.Label.TextStyle,
		&pl.X.Tick.Label, &pl.Y.Tick.Label, &pl.Legend.TextStyle} {
		sty.Font.Variant = "Sans"
	}
	pl.Add(plotter.NewGrid())

	type curve struct {
		name    string
		sorted  []float64 // seconds, clamped to floor
		clamped int
	}
	var curves []curve
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		c := curve{name: s.Name, sorted: make([]float64, len(s.Samples))}
		for i, d := range s.Samples {
			c.sorted[i] = d.Seconds()
			if c.sorted[i] < floor {
				c.sorted[i] = floor
				c.clamped++
			}
		}
		slices.Sort(c.sorted)
		if n := len(c.sorted); n > 0 {
			lo, hi = min(lo, c.sorted[0]), max(hi, c.sorted[n-1])
		}
		curves = append(curves, c)
	}
	if math.IsInf(lo, 1) {
		pl.Title.Text = "no samples"
		if p.Title != "" {
			pl.Title.Text = p.Title + " (no samples)"
		}
		lo, hi = 0.01, 10
	}
	pl.X.Min, pl.X.Max = xRange(lo, hi)

	for _, c := range curves {
		i, ok := styles[c.name]
		if !ok {
			i = len(styles)
			styles[c.name] = i
		}
		line := &plotter.Line{XYs: steps(c.sorted, pl.X.Min, pl.X.Max), StepStyle: plotter.PostStep}
		line.LineStyle = draw.LineStyle{Color: palette[i%len(palette)], Width: vg.Points(1.75), Dashes: dashes[i%len(dashes)]}
		pl.Add(line)
		pl.Legend.Add(label(c.name, c.sorted, c.clamped), line)
	}
	return pl
}

// xRange pads the samples' span so the first and last steps are visible,
// and widens it to at least a decade so a single sample, or many equal
// ones, still gets labelled ticks on both sides.
func xRange(lo, hi float64) (float64, float64) {
	lo, hi = lo/1.25, hi*1.25
	if hi/lo < 10 {
		mid := math.Sqrt(lo * hi)
		lo, hi = mid/math.Sqrt(10), mid*math.Sqrt(10)
	}
	return lo, hi
}

// steps turns sorted samples into the corners of a post-step CDF: flat at 0
// from the left edge, a rise of 1/n at each sample, flat at 1 to the right
// edge. Beyond maxPoints samples it keeps evenly spaced ranks, which moves
// the curve by less than 1/maxPoints: under a pixel.
func steps(sorted []float64, left, right float64) plotter.XYs {
	n := len(sorted)
	if n == 0 {
		return nil
	}
	m := min(n, maxPoints)
	xys := make(plotter.XYs, 0, m+2)
	xys = append(xys, plotter.XY{X: left, Y: 0})
	for j := range m {
		k := j
		if m < n {
			k = int(math.Round(float64(j) * float64(n-1) / float64(m-1)))
		}
		xys = append(xys, plotter.XY{X: sorted[k], Y: float64(k+1) / float64(n)})
	}
	return append(xys, plotter.XY{X: right, Y: 1})
}

func label(name string, sorted []float64, clamped int) string {
	if name == "" {
		name = "(unnamed)"
	}
	n := len(sorted)
	if n == 0 {
		return name + "  no samples"
	}
	s := fmt.Sprintf("%s  n=%d  p50 %s  p99 %s", name, n,
		formatSeconds(percentile(sorted, 0.5)), formatSeconds(percentile(sorted, 0.99)))
	if clamped > 0 {
		s += fmt.Sprintf("  (%d clamped to %s)", clamped, formatSeconds(floor))
	}
	return s
}

// percentile is nearest-rank, so it always names a measured sample.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// logTicks marks every 1..9 × 10^k; it labels 1, 2 and 5 × 10^k across
// spans of up to three decades and thins to powers of ten beyond that, and
// past six decades to every few powers without the unlabelled marks, so ticks
// never crowd however wide the span.
func logTicks(lo, hi float64) []plot.Tick {
	decades := math.Log10(hi / lo)
	labelled := []int{1, 2, 5}
	if decades > 3 {
		labelled = []int{1}
	}
	every := max(1, int(math.Ceil(decades/6)))
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(lo))); e <= int(math.Ceil(math.Log10(hi))); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(e)
			if v < lo || v > hi {
				continue
			}
			if slices.Contains(labelled, m) && ((e%every)+every)%every == 0 {
				ticks = append(ticks, plot.Tick{Value: v, Label: formatSeconds(v)})
			} else if every == 1 {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// formatSeconds writes s in the largest unit that keeps it ≥ 1, with three
// significant digits at most: 10ms, 1.04s, 152s, 1000s.
func formatSeconds(s float64) string {
	units := []struct {
		name  string
		scale float64
	}{{"s", 1}, {"ms", 1e-3}, {"µs", 1e-6}, {"ns", 1e-9}}
	u := units[len(units)-1]
	for _, c := range units {
		if s >= c.scale*0.9995 {
			u = c
			break
		}
	}
	v := s / u.scale
	if v >= 1e4 {
		// Hours and beyond: an exponent keeps the label from running
		// over its neighbours.
		return strconv.FormatFloat(v, 'g', 3, 64) + u.name
	}
	dec := 2
	switch {
	case v >= 99.95:
		dec = 0
	case v >= 9.995:
		dec = 1
	}
	txt := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(txt, ".") {
		txt = strings.TrimRight(strings.TrimRight(txt, "0"), ".")
	}
	return txt + u.name
}
