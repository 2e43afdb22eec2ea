package redact

import "bytes"

// spans returns where b holds a secret in one of its forms. atStart and atEnd say whether b
// begins and ends at a line's start and end.
func (m *matcher) spans(b []byte, atStart, atEnd bool) [][2]int {
	var spans [][2]int
	add := func(from, to int) { spans = append(spans, [2]int{from, to}) }

	// Raw, or URL-encoded in any way: starting with the secret's first byte, "%" or, for a space,
	// "+".
	var escapes []int
	for i, c := range b {
		if c == '%' || c == '+' {
			escapes = append(escapes, i)
		}
	}
	for _, s := range m.plain {
		for off := 0; off < len(b); {
			i := bytes.IndexByte(b[off:], s[0])
			if i < 0 {
				break
			}
			if end := urlMatch(b, off+i, s); end >= 0 {
				add(off+i, end)
			}
			off += i + 1
		}
		for _, i := range escapes {
			if b[i] == s[0] {
				continue // tried above
			}
			if end := urlMatch(b, i, s); end >= 0 {
				add(i, end)
			}
		}
	}

	// Base64, read in the standard alphabet.
	std := b
	if bytes.ContainsAny(b, "-_") {
		std = bytes.Map(func(r rune) rune {
			switch r {
			case '-':
				return '+'
			case '_':
				return '/'
			}
			return r
		}, b)
	}
	for _, f := range m.b64 {
		for off := 0; off < len(std); {
			i := bytes.Index(std[off:], f)
			if i < 0 {
				break
			}
			add(off+i, off+i+len(f))
			off += i + 1
		}
	}

	// Base64 wrapped over lines: the pieces of a core at the ends of lines.
	if len(m.pieces) == 0 {
		return spans
	}
	for ls := 0; ls <= len(std); {
		le := len(std)
		if i := bytes.IndexAny(std[ls:], "\r\n"); i >= 0 {
			le = ls + i
		}
		startOK, endOK := ls > 0 || atStart, le < len(std) || atEnd
		cs, ce := ls, le
		for cs < ce && (std[cs] == ' ' || std[cs] == '\t') {
			cs++
		}
		for ce > cs && (std[ce-1] == ' ' || std[ce-1] == '\t') {
			ce--
		}
		if line := std[cs:ce]; len(line) >= minForm {
			for _, p := range m.pieces {
				if endOK {
					if k := prefixAtEnd(line, p); k > 0 {
						add(ce-k, ce)
					}
				}
				if startOK {
					if k := suffixAtStart(line, p); k > 0 {
						add(cs, cs+k)
					}
				}
				if startOK && endOK && len(line) >= p.min && bytes.Contains(p.core, line) {
					add(cs, ce)
				}
			}
		}
		if le == len(std) {
			break
		}
		ls = le + 1
	}
	return spans
}

// prefixAtEnd returns the length of the longest piece that begins p's core (at least p.min long,
// shorter than the core) and ends line, or 0.
func prefixAtEnd(line []byte, p piece) int {
	last := line[len(line)-1]
	// Candidates are the lengths k whose piece ends with the line's last byte, longest first.
	for k := min(len(p.core)-1, len(line)); k >= p.min; k-- {
		i := bytes.LastIndexByte(p.core[p.min-1:k], last)
		if i < 0 {
			break
		}
		k = p.min + i
		if bytes.Equal(line[len(line)-k:], p.core[:k]) {
			return k
		}
	}
	return 0
}

// suffixAtStart returns the length of the longest piece that ends p's core (at least p.min long,
// shorter than the core) and begins line, with the tail that follows it when the data ends there,
// or 0.
func suffixAtStart(line []byte, p piece) int {
	n := len(p.core)
	// Candidates are the starts j whose piece begins with the line's first byte, longest first.
	for j := max(1, n-len(line)); j <= n-p.min; j++ {
		i := bytes.IndexByte(p.core[j:n-p.min+1], line[0])
		if i < 0 {
			break
		}
		j += i
		if k := n - j; bytes.Equal(line[:k], p.core[j:]) {
			for _, t := range p.tails {
				if bytes.HasPrefix(line[k:], t) {
					return k + len(t)
				}
			}
			return k
		}
	}
	return 0
}

// urlMatch returns where the secret s ends when b holds it from i, its bytes as they are or
// URL-encoded (%XX in either case, a space also as "+"), or -1.
func urlMatch(b []byte, i int, s []byte) int {
	for k, c := range s {
		switch {
		case i >= len(b):
			return -1
		case b[i] == '%' && i+2 < len(b) && unhex(b[i+1], b[i+2]) == int(c):
			if c == '%' { // "%25" may also be a "%" followed by "25"
				if end := urlMatch(b, i+1, s[k+1:]); end >= 0 {
					return end
				}
			}
			i += 3
		case b[i] == c, c == ' ' && b[i] == '+':
			i++
		default:
			return -1
		}
	}
	return i
}

// unhex returns the byte the hex digits h and l write, or -1.
func unhex(h, l byte) int {
	d := func(c byte) int {
		switch {
		case '0' <= c && c <= '9':
			return int(c - '0')
		case 'a' <= c && c <= 'f':
			return int(c-'a') + 10
		case 'A' <= c && c <= 'F':
			return int(c-'A') + 10
		}
		return -1
	}
	hi, lo := d(h), d(l)
	if hi < 0 || lo < 0 {
		return -1
	}
	return hi<<4 | lo
}
