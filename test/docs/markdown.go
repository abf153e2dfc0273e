// Package docs tests the documentation: its links and anchors resolve, the troubleshooting guide
// covers every reason the operator can give, and the shell blocks users are told to run work.
package docs

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"unicode"
)

// Block is a fenced code block and the test marker in the HTML comment just before it.
type Block struct {
	File     string
	Line     int
	Language string
	Body     string
	// Marker is the text of a preceding "<!-- test: ... -->" comment, without the prefix:
	// "run PHASE", "file NAME", "skip REASON"; empty when the block has none.
	Marker string
}

var markerPattern = regexp.MustCompile(`^<!--\s*test:\s*(.*?)\s*-->$`)

// Blocks reads the fenced code blocks of a Markdown file.
func Blocks(path string) ([]Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a read error surfaces from the scanner
	var blocks []Block
	var current *Block
	var body strings.Builder
	marker, lastMarkerLine := "", -1
	scanner := bufio.NewScanner(f)
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case current != nil && strings.HasPrefix(trimmed, "```"):
			current.Body = body.String()
			blocks = append(blocks, *current)
			current = nil
		case current != nil:
			body.WriteString(line + "\n")
		case strings.HasPrefix(trimmed, "```"):
			current = &Block{File: path, Line: n, Language: strings.TrimPrefix(trimmed, "```")}
			if lastMarkerLine == n-1 {
				current.Marker = marker
			}
			body.Reset()
		default:
			if m := markerPattern.FindStringSubmatch(trimmed); m != nil {
				marker, lastMarkerLine = m[1], n
			}
		}
	}
	return blocks, scanner.Err()
}

var (
	headingPattern = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*$`)
	linkPattern    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// Anchors returns the anchors GitHub makes for a Markdown file's headings.
func Anchors(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	anchors := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		m := headingPattern.FindStringSubmatch(line)
		if inFence || m == nil {
			continue
		}
		slug := Slug(m[2])
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors, nil
}

// Slug is GitHub's anchor for a heading: lower case, spaces as '-', punctuation dropped.
func Slug(heading string) string {
	heading = regexp.MustCompile("`([^`]*)`").ReplaceAllString(heading, "$1")
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// Links returns the link targets of a Markdown file, outside code blocks and code spans.
func Links(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var links []string
	inFence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		line = regexp.MustCompile("`[^`]*`").ReplaceAllString(line, "")
		for _, m := range linkPattern.FindAllStringSubmatch(line, -1) {
			links = append(links, m[1])
		}
	}
	return links, nil
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
