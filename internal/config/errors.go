package config

import (
	"errors"
	"strconv"
	"strings"
)

// Errors of this package.
var (
	// ErrInvalid is returned (wrapped by *Error) when a configuration has
	// one or more problems: a TOML syntax error, an unknown key, a value of
	// the wrong type or one that fails validation. It is permanent: the
	// file must be fixed.
	ErrInvalid = errors.New("config: invalid configuration")
	// ErrDuration is returned (wrapped) by ParseDuration and
	// Duration.UnmarshalText for text that is not a duration.
	ErrDuration = errors.New("config: invalid duration")
	// ErrSize is returned (wrapped) by ParseSize and Size.UnmarshalText for
	// text that is not a size.
	ErrSize = errors.New("config: invalid size")
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	File string // the file's name as given to Parse or Load; "" for a Config built in code
	Line int    // 1-based line in File; 0 when the key is not in the file
	Key  string // the key path, e.g. "store.retention" or "meter[1].interval" (meter index 0-based); "" for a syntax error outside any key
	Msg  string // what is wrong and, where it helps, how to fix it
}

// String formats the problem as "FILE:LINE: KEY: MSG". The parts that are
// not known (no file, line 0, no key) are left out.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
		if p.Line > 0 {
			b.WriteString(strconv.Itoa(p.Line))
			b.WriteByte(':')
		}
		b.WriteByte(' ')
	} else if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in one configuration. errors.Is(err,
// ErrInvalid) reports true for it.
type Error struct {
	Problems []Problem // in file order; problems without a line come last
}

// Error returns one line per problem, as Problem.String formats it.
func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return ErrInvalid.Error()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }
