// Package chart draws the benchmark report's picture: a histogram of time-to-Ready.
//
// It deliberately depends only on the standard library's image packages plus
// golang.org/x/image for a bitmap font, so the benchmark tooling stays light.
package chart

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Series is one set of latencies to plot, e.g. "operator" and "baseline".
type Series struct {
	Name    string
	Samples []time.Duration
}

const (
	// maxSide bounds the image so a typo in a flag cannot allocate gigabytes.
	maxSide = 1 << 14
	// targetBuckets is roughly how many linear buckets share the x range.
	targetBuckets = 30
	// rangeQuantile caps the linear range so one pathological outlier does not
	// squash every other bar into the first bucket; the rest go to overflow.
	rangeQuantile = 0.995
	// minPlot is the smallest plot area (pixels) worth drawing bars into.
	minPlot = 16
	pad     = 6
)

var (
	face       = basicfont.Face7x13
	white      = color.NRGBA{255, 255, 255, 255}
	black      = color.NRGBA{0, 0, 0, 255}
	gridGray   = color.NRGBA{228, 228, 228, 255}
	bandGray   = color.NRGBA{244, 244, 244, 255}
	legendEdge = color.NRGBA{170, 170, 170, 255}
	textGray   = color.NRGBA{60, 60, 60, 255}

	// palette is Tableau 10: distinct hues that stay distinguishable when the
	// translucent fills of two series overlap.
	palette = []color.NRGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
		{214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255},
		{227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255},
		{23, 190, 207, 255},
	}
)

// seriesColor returns the solid colour of series i (cycling for many series).
func seriesColor(i int) color.NRGBA { return palette[i%len(palette)] }

// Histogram writes a PNG (width x height pixels) to w: for each series, the distribution of its
// samples over shared logarithmic or linear buckets (choose sensibly: linear from 0 to the p99.5 of
// all samples, ~30 buckets, with an overflow bucket), as bars or step lines in a distinct colour per
// series, with a title, an x axis labelled in milliseconds (a few tick labels), a y axis with counts,
// a legend naming the series with their p50/p90/p99, and vertical dashed lines at each series' p50
// and p99.
//
// Buckets are linear (a reader compares milliseconds, not orders of
// magnitude): about 30 of a round width from 0 to just past the pooled p99.5,
// with everything beyond counted in a separate overflow slot at the right.
// Each series is drawn as a translucent filled histogram with a solid step
// outline, so overlapping series remain readable. When there are no samples
// at all the image says so instead of drawing empty axes. The only errors are
// an image size outside 1..16384 and a failing writer.
func Histogram(w io.Writer, title string, series []Series, width, height int) error {
	if width <= 0 || height <= 0 || width > maxSide || height > maxSide {
		return fmt.Errorf("chart: image size %dx%d out of range 1..%d", width, height, maxSide)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fillRect(img, img.Bounds(), white)

	top := drawTitle(img, title)
	stats := summarize(series)
	if total(stats) == 0 {
		msg := "no samples"
		drawText(img, msg, (width-textWidth(msg))/2, top+(height-top-face.Height)/2, textGray)
	} else {
		drawChart(img, top, stats)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("chart: encode png: %w", err)
	}
	return nil
}

// stat is a series prepared for plotting.
type stat struct {
	name          string
	color         color.NRGBA
	sorted        []time.Duration
	p50, p90, p99 time.Duration
}

// summarize sorts copies of the samples (the caller's slices are left alone)
// and precomputes the percentiles shown in the legend and as marker lines.
func summarize(series []Series) []stat {
	out := make([]stat, len(series))
	for i, s := range series {
		sorted := slices.Clone(s.Samples)
		slices.Sort(sorted)
		name := s.Name
		if name == "" {
			name = "series " + strconv.Itoa(i+1)
		}
		out[i] = stat{
			name:   name,
			color:  seriesColor(i),
			sorted: sorted,
			p50:    percentile(sorted, 0.50),
			p90:    percentile(sorted, 0.90),
			p99:    percentile(sorted, 0.99),
		}
	}
	return out
}

// percentile uses the nearest-rank method: it always returns a real sample,
// which is what a reader expects when comparing against raw benchmark logs.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func total(stats []stat) int {
	n := 0
	for _, s := range stats {
		n += len(s.sorted)
	}
	return n
}

// buckets is the shared binning: n linear buckets of width ns starting at 0,
// plus counts[n] holding everything at or beyond n*width.
type buckets struct {
	width    float64 // nanoseconds
	n        int
	overflow bool    // whether any series has samples in counts[n]
	counts   [][]int // per series, len n+1
	maxCount int     // over all series and buckets, including overflow
}

// bucketize picks a "nice" bucket width so bucket edges land on round
// milliseconds, then counts every series over the same buckets so their
// shapes are directly comparable.
func bucketize(stats []stat) buckets {
	var all []time.Duration
	for _, s := range stats {
		all = append(all, s.sorted...)
	}
	slices.Sort(all)
	hi := float64(percentile(all, rangeQuantile))
	if hi <= 0 {
		// Nearly everything is zero: fall back to the true max so the few
		// non-zero samples are still placed, or to 1ms if all are zero.
		hi = max(float64(all[len(all)-1]), float64(time.Millisecond))
	}
	b := buckets{width: max(bucketWidth(hi/targetBuckets), 1)}
	// +1 so the p99.5 sample itself falls inside the linear range, +1 more
	// so the tallest values do not sit flush against the right edge (which
	// matters most when all samples are equal).
	b.n = int(hi/b.width) + 2
	b.counts = make([][]int, len(stats))
	for i, s := range stats {
		c := make([]int, b.n+1)
		for _, d := range s.sorted {
			c[b.index(d)]++
		}
		b.counts[i] = c
		b.overflow = b.overflow || c[b.n] > 0
		b.maxCount = max(b.maxCount, slices.Max(c))
	}
	return b
}

// index maps a duration to its bucket; negative durations (clock skew) go to
// the first bucket rather than being dropped.
func (b buckets) index(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return min(int(float64(d)/b.width), b.n)
}

// span is the end of the linear range in nanoseconds.
func (b buckets) span() float64 { return b.width * float64(b.n) }

// frame is the pixel geometry of the plot area.
type frame struct {
	plot     image.Rectangle
	bucketPx float64 // pixel width of one bucket
	yMax     int
	yStep    int
}

// x maps a bucket edge (0..n, n+1 is the overflow end) to a pixel column. The
// overflow slot sits half a bucket to the right of the linear range so it
// reads as "something else", not as the next bucket.
func (f frame) x(b buckets, edge int) int {
	v := float64(edge)
	if edge > b.n {
		v += 0.5
	}
	return f.plot.Min.X + int(math.Round(v*f.bucketPx))
}

// overflowRange returns the pixel columns of the overflow slot.
func (f frame) overflowRange(b buckets) (int, int) {
	x0 := f.plot.Min.X + int(math.Round((float64(b.n)+0.5)*f.bucketPx))
	return x0, f.x(b, b.n+1)
}

// xOf maps a duration to a pixel column; values past the linear range are
// drawn in the middle of the overflow slot, where they were counted.
func (f frame) xOf(b buckets, d time.Duration) int {
	v := max(float64(d), 0)
	if v >= b.span() {
		x0, x1 := f.overflowRange(b)
		return (x0 + x1) / 2
	}
	return f.plot.Min.X + int(math.Round(v/b.width*f.bucketPx))
}

// y maps a count to a pixel row.
func (f frame) y(c int) int {
	return f.plot.Max.Y - int(math.Round(float64(c)/float64(f.yMax)*float64(f.plot.Dy())))
}

// drawChart lays out and draws axes, bars, percentile lines and legend.
func drawChart(img *image.RGBA, top int, stats []stat) {
	b := bucketize(stats)
	f, ok := layout(img.Bounds(), top, b)
	if !ok {
		return // too small for a plot; the title (if it fit) is all we can show
	}
	leg := newLegend(stats, f.plot.Dx()-2*pad)
	legRect := placeLegend(&f, b, leg)

	drawGrid(img, f)
	if b.overflow {
		x0, x1 := f.overflowRange(b)
		fillRect(img, image.Rect(x0, f.plot.Min.Y, x1, f.plot.Max.Y), bandGray)
	}
	for i := range stats {
		drawFill(img, f, b, b.counts[i], stats[i].color)
	}
	for i := range stats {
		drawOutline(img, f, b, b.counts[i], stats[i].color)
	}
	for i, s := range stats {
		drawPercentileLines(img, f, b, s, i)
	}
	drawAxes(img, f, b)
	leg.draw(img, legRect)
}

// layout reserves margins for labels and sizes the plot area. It reports
// false when the image is too small to hold a meaningful plot.
func layout(bounds image.Rectangle, top int, b buckets) (frame, bool) {
	// The y axis can grow up to ~5x maxCount (legend headroom + rounding);
	// size the margin for that so the plot never needs a second layout pass.
	left := pad + textWidth(strconv.Itoa(5*b.maxCount)) + pad
	bottom := pad + face.Height + pad + face.Height + pad // tick labels + axis title
	// A literal, not image.Rect: Rect would swap inverted corners on tiny
	// images and make a negative-size plot look valid.
	f := frame{plot: image.Rectangle{
		Min: image.Pt(left, top+face.Height+2*pad), // room for the "count" label
		Max: image.Pt(bounds.Dx()-2*pad, bounds.Dy()-bottom),
	}}
	if f.plot.Dx() < minPlot || f.plot.Dy() < minPlot {
		return f, false
	}
	units := float64(b.n)
	if b.overflow {
		units += 1.5 // gap + overflow slot
	}
	f.bucketPx = float64(f.plot.Dx()) / units
	return f, true
}

// placeLegend puts the legend in whichever top corner is emptier and raises
// the y maximum so no bar reaches up into it. Headroom is capped so a tall
// legend cannot flatten the bars; in that case overlap is the lesser evil.
func placeLegend(f *frame, b buckets, leg legend) image.Rectangle {
	w, h := leg.size()
	avail := max(float64(f.plot.Dy()-h-2*pad), 0.4*float64(f.plot.Dy()))
	best := image.Rectangle{}
	bestMax := math.MaxInt
	left := image.Rect(f.plot.Min.X+pad, f.plot.Min.Y+pad, f.plot.Min.X+pad+w, f.plot.Min.Y+pad+h)
	// Never start left of the plot: if the legend is too wide to fit, let
	// its end be clipped rather than the series names at its start.
	right := left.Add(image.Pt(max(f.plot.Dx()-2*pad-w, 0), 0))
	for _, r := range []image.Rectangle{right, left} {
		under := maxUnder(*f, b, r.Min.X, r.Max.X)
		need := max(b.maxCount, int(math.Ceil(float64(under)*float64(f.plot.Dy())/avail)))
		if need < bestMax {
			best, bestMax = r, need
		}
	}
	f.yStep = niceInt(float64(bestMax) / 5)
	f.yMax = (bestMax + f.yStep - 1) / f.yStep * f.yStep
	return best
}

// maxUnder is the tallest bucket (any series) overlapping columns [x0, x1).
func maxUnder(f frame, b buckets, x0, x1 int) int {
	m := 0
	for i := 0; i <= b.n; i++ {
		bx0, bx1 := f.x(b, i), f.x(b, i+1)
		if i == b.n {
			if !b.overflow {
				break
			}
			bx0, bx1 = f.overflowRange(b)
		}
		if bx1 <= x0 || bx0 >= x1 {
			continue
		}
		for _, c := range b.counts {
			m = max(m, c[i])
		}
	}
	return m
}

// barRect is bucket i's bar for count c; i == n is the overflow slot.
func barRect(f frame, b buckets, i, c int) image.Rectangle {
	x0, x1 := f.x(b, i), f.x(b, i+1)
	if i == b.n {
		x0, x1 = f.overflowRange(b)
	}
	return image.Rect(x0, f.y(c), x1, f.plot.Max.Y)
}

// drawFill paints translucent bars so a second series stays visible through
// the first.
func drawFill(img *image.RGBA, f frame, b buckets, counts []int, c color.NRGBA) {
	c.A = 70
	for i, n := range counts {
		if n > 0 {
			fillRect(img, barRect(f, b, i, n), c)
		}
	}
}

// drawOutline traces the histogram as a 2px step line, which is what makes
// each series' shape readable where the fills overlap.
func drawOutline(img *image.RGBA, f frame, b buckets, counts []int, c color.NRGBA) {
	prevY := f.plot.Max.Y
	for i := 0; i < b.n; i++ {
		x0, x1, y := f.x(b, i), f.x(b, i+1), f.y(counts[i])
		vline(img, x0, min(prevY, y), max(prevY, y), c)
		if counts[i] > 0 {
			hline(img, x0, x1+1, y, c)
		}
		prevY = y
	}
	vline(img, f.x(b, b.n), prevY, f.plot.Max.Y, c)
	if n := counts[b.n]; n > 0 {
		r := barRect(f, b, b.n, n)
		hline(img, r.Min.X, r.Max.X+1, r.Min.Y, c)
		vline(img, r.Min.X, r.Min.Y, r.Max.Y, c)
		vline(img, r.Max.X, r.Min.Y, r.Max.Y, c)
	}
}

// drawPercentileLines marks p50 (dashed) and p99 (dotted). Each series starts
// its dash pattern at a different phase so coincident lines of two series
// interleave instead of hiding each other.
func drawPercentileLines(img *image.RGBA, f frame, b buckets, s stat, i int) {
	if len(s.sorted) == 0 {
		return
	}
	phase := i * 4
	dashedVLine(img, f.xOf(b, s.p50), f.plot.Min.Y, f.plot.Max.Y, 8, 5, phase, s.color)
	dashedVLine(img, f.xOf(b, s.p99), f.plot.Min.Y, f.plot.Max.Y, 2, 3, phase, s.color)
}

// drawGrid draws light horizontal lines at the y ticks, behind the bars.
func drawGrid(img *image.RGBA, f frame) {
	for v := f.yStep; v <= f.yMax; v += f.yStep {
		fillRect(img, image.Rect(f.plot.Min.X, f.y(v), f.plot.Max.X, f.y(v)+1), gridGray)
	}
}

// drawAxes draws both axes with tick labels, the overflow label and the axis titles.
func drawAxes(img *image.RGBA, f frame, b buckets) {
	p := f.plot
	fillRect(img, image.Rect(p.Min.X-1, p.Min.Y, p.Min.X, p.Max.Y+1), black)
	fillRect(img, image.Rect(p.Min.X-1, p.Max.Y, p.Max.X, p.Max.Y+1), black)
	drawText(img, "count", pad, p.Min.Y-face.Height-2*pad, textGray)
	for v := 0; v <= f.yMax; v += f.yStep {
		y := f.y(v)
		fillRect(img, image.Rect(p.Min.X-5, y, p.Min.X-1, y+1), black)
		s := strconv.Itoa(v)
		drawText(img, s, p.Min.X-pad-textWidth(s), y-face.Height/2, textGray)
	}
	labelY := p.Max.Y + pad
	limit := p.Max.X
	if b.overflow {
		x0, x1 := f.overflowRange(b)
		s := ">" + formatMs(b.span(), decimals(b.span()))
		lx := min((x0+x1-textWidth(s))/2, p.Max.X-textWidth(s))
		drawText(img, s, lx, labelY, textGray)
		limit = lx - pad
	}
	drawXTicks(img, f, b, labelY, limit)
	title := "latency (ms)"
	drawText(img, title, p.Min.X+(p.Dx()-textWidth(title))/2, labelY+face.Height+pad, textGray)
}

// drawXTicks labels the linear range in milliseconds, widening the tick step
// until labels have room, and skipping any label that would run past limit
// (where the overflow label starts).
func drawXTicks(img *image.RGBA, f frame, b buckets, labelY, limit int) {
	span := b.span()
	pxPerNs := f.bucketPx / b.width
	step := niceCeil(span / 6)
	for range 20 {
		widest := textWidth(formatMs(span, decimals(step)))
		if step*pxPerNs >= float64(widest+3*pad) {
			break
		}
		step = niceCeil(step * 1.01) // next nice value up
	}
	dec := decimals(step)
	for k := 0; float64(k)*step <= span*(1+1e-9); k++ {
		v := float64(k) * step
		x := f.plot.Min.X + int(math.Round(v*pxPerNs))
		fillRect(img, image.Rect(x, f.plot.Max.Y+1, x+1, f.plot.Max.Y+5), black)
		s := formatMs(v, dec)
		lx := max(x-textWidth(s)/2, 0)
		if lx+textWidth(s) <= limit {
			drawText(img, s, lx, labelY, textGray)
		}
	}
}

// legend lists each series with its sample count and percentiles, plus a key
// explaining the two line styles.
type legend struct {
	colors []color.NRGBA
	rows   [][]string // per series: first row next to the swatch, the rest indented
	key    [2]string
}

const swatch = 14 // width of the colour sample / line sample in the legend

// newLegend builds one row per series, or two shorter ones (name, then
// percentiles) when one row would be wider than maxW, so narrow images keep a
// readable legend.
func newLegend(stats []stat, maxW int) legend {
	l := legend{key: [2]string{"p50", "p99"}}
	heads, tails := make([]string, len(stats)), make([]string, len(stats))
	for i, s := range stats {
		heads[i] = fmt.Sprintf("%s (n=%d)", s.name, len(s.sorted))
		tails[i] = "no samples"
		if len(s.sorted) > 0 {
			tails[i] = fmt.Sprintf("p50 %sms  p90 %sms  p99 %sms",
				formatMsAuto(s.p50), formatMsAuto(s.p90), formatMsAuto(s.p99))
		}
		l.colors = append(l.colors, s.color)
		l.rows = append(l.rows, []string{heads[i] + "  " + tails[i]})
	}
	if w, _ := l.size(); w > maxW {
		for i, s := range stats {
			if len(s.sorted) > 0 {
				tails[i] = fmt.Sprintf("p50/90/99 %s/%s/%sms",
					formatMsAuto(s.p50), formatMsAuto(s.p90), formatMsAuto(s.p99))
			}
			l.rows[i] = []string{heads[i], tails[i]}
		}
	}
	return l
}

// keyWidth is the width of the "-- p50 ... p99" line.
func (l legend) keyWidth() int {
	return swatch + pad + textWidth(l.key[0]) + 3*pad + swatch + pad + textWidth(l.key[1])
}

func (l legend) size() (int, int) {
	w, rows := l.keyWidth(), 1
	for _, r := range l.rows {
		for _, s := range r {
			w = max(w, swatch+pad+textWidth(s))
		}
		rows += len(r)
	}
	return w + 2*pad, rows*face.Height + 2*pad
}

func (l legend) draw(img *image.RGBA, r image.Rectangle) {
	fillRect(img, r, white)
	strokeRect(img, r, legendEdge)
	x, y := r.Min.X+pad, r.Min.Y+pad
	for i, rows := range l.rows {
		fillRect(img, image.Rect(x, y+2, x+swatch, y+face.Height-2), l.colors[i])
		for _, s := range rows {
			drawText(img, s, x+swatch+pad, y, black)
			y += face.Height
		}
	}
	mid := y + face.Height/2
	dashedHLine(img, x, x+swatch, mid, 5, 3, textGray)
	x += swatch + pad
	drawText(img, l.key[0], x, y, textGray)
	x += textWidth(l.key[0]) + 3*pad
	dashedHLine(img, x, x+swatch, mid, 2, 3, textGray)
	drawText(img, l.key[1], x+swatch+pad, y, textGray)
}

// drawTitle draws the title centred at the top, doubled in size when it fits
// because the 7x13 bitmap font alone is too small to read as a heading. It
// returns the first free row below the title.
func drawTitle(img *image.RGBA, title string) int {
	if title == "" {
		return pad
	}
	scale := 2
	if textWidth(title)*scale > img.Bounds().Dx()-2*pad {
		scale = 1
	}
	x := (img.Bounds().Dx() - textWidth(title)*scale) / 2
	drawTextScaled(img, title, max(x, pad), pad, scale, black)
	return pad + face.Height*scale + pad
}

// --- drawing primitives -----------------------------------------------------

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Over)
}

// hline and vline draw 2px-wide axis-aligned lines; the histogram only ever
// needs horizontal and vertical strokes, so no general line algorithm.
func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	fillRect(img, image.Rect(x0, y-1, x1, y+1), c)
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	fillRect(img, image.Rect(x-1, y0, x+1, y1), c)
}

func strokeRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	fillRect(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), c)
	fillRect(img, image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y), c)
	fillRect(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), c)
	fillRect(img, image.Rect(r.Max.X-1, r.Min.Y, r.Max.X, r.Max.Y), c)
}

func dashedVLine(img *image.RGBA, x, y0, y1, on, off, phase int, c color.Color) {
	for y := y0 - phase%(on+off); y < y1; y += on + off {
		fillRect(img, image.Rect(x-1, max(y, y0), x+1, min(y+on, y1)), c)
	}
}

func dashedHLine(img *image.RGBA, x0, x1, y, on, off int, c color.Color) {
	for x := x0; x < x1; x += on + off {
		fillRect(img, image.Rect(x, y-1, min(x+on, x1), y+1), c)
	}
}

// textWidth is the advance of s in the bitmap font, in pixels.
func textWidth(s string) int { return font.MeasureString(face, s).Ceil() }

// drawText draws s with its top-left corner at (x, y).
func drawText(img draw.Image, s string, x, y int, c color.Color) {
	d := font.Drawer{
		Dst:  img,
		Src:  image.NewUniform(c),
		Face: face,
		Dot:  fixed.P(x, y+face.Ascent),
	}
	d.DrawString(s)
}

// drawTextScaled renders s into a mask and blows it up by an integer factor;
// nearest-neighbour scaling keeps the bitmap font crisp.
func drawTextScaled(img *image.RGBA, s string, x, y, scale int, c color.Color) {
	w := textWidth(s)
	small := image.NewAlpha(image.Rect(0, 0, w, face.Height))
	drawText(small, s, 0, 0, color.Opaque)
	big := image.NewAlpha(image.Rect(0, 0, w*scale, face.Height*scale))
	for py := 0; py < face.Height; py++ {
		for px := 0; px < w; px++ {
			a := small.AlphaAt(px, py)
			if a.A == 0 {
				continue
			}
			draw.Draw(big, image.Rect(px*scale, py*scale, (px+1)*scale, (py+1)*scale),
				image.NewUniform(a), image.Point{}, draw.Src)
		}
	}
	dst := image.Rect(x, y, x+w*scale, y+face.Height*scale)
	draw.DrawMask(img, dst, image.NewUniform(c), image.Point{}, big, image.Point{}, draw.Over)
}

// --- numbers ----------------------------------------------------------------

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so bucket
// edges and ticks fall on values a reader can add up in their head.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= v*(1-1e-12) {
			return m * mag
		}
	}
	return 10 * mag
}

// bucketWidth rounds v to the nearest (in log terms) of a finer ladder of
// round numbers than niceCeil: rounding up to 1-2-5 alone can leave only ~15
// buckets, too coarse to show a distribution's shape.
func bucketWidth(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	best := mag
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if math.Abs(math.Log(m*mag/v)) < math.Abs(math.Log(best/v)) {
			best = m * mag
		}
	}
	return best
}

// niceInt is niceCeil for integer counts, skipping 2.5 and never below 1.
func niceInt(v float64) int {
	n := niceCeil(v)
	if r := n / math.Pow(10, math.Floor(math.Log10(n))); r == 2.5 {
		n *= 2
	}
	return max(1, int(math.Round(n)))
}

// decimals is how many fraction digits a tick step of stepNs needs in ms.
func decimals(stepNs float64) int {
	ms := stepNs / float64(time.Millisecond)
	for d := 0; d < 6; d++ {
		if math.Abs(ms-math.Round(ms)) < 1e-9*math.Max(1, ms) {
			return d
		}
		ms *= 10
	}
	return 6
}

// formatMs formats nanoseconds as milliseconds with a fixed number of decimals.
func formatMs(ns float64, dec int) string {
	return strconv.FormatFloat(ns/float64(time.Millisecond), 'f', dec, 64)
}

// formatMsAuto shows about three significant digits, enough to compare
// percentiles without drowning the legend in noise.
func formatMsAuto(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch a := math.Abs(ms); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	default:
		// Sub-millisecond: keep three significant digits, down to 1ns.
		dec := min(2-int(math.Floor(math.Log10(a))), 6)
		return strconv.FormatFloat(ms, 'f', dec, 64)
	}
}
