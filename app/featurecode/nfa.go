package featurecode

import (
	"regexp/syntax"
)

// codeAlphabet is every DTMF character that can be part of a code. '#' is
// excluded: it terminates a sequence (or is the binding key) and is never
// collected.
const codeAlphabet = "0123456789*ABCD"

// nfa simulates a compiled regexp/syntax program over DTMF runes, anchored at
// both ends (the whole code must match). It answers the two questions the
// collector needs for a collected prefix: does the prefix match as a whole,
// and could a longer code that starts with the prefix still match.
type nfa struct {
	prog *syntax.Prog
}

// nfaState is the set of program counters that are alive after consuming
// some input, plus the last consumed rune (-1 at the beginning), which
// zero-width assertions such as \b need.
type nfaState struct {
	pcs  []uint32
	prev rune
}

func newNFA(src string) (*nfa, error) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	return &nfa{prog: prog}, nil
}

func (a *nfa) start() nfaState {
	return nfaState{pcs: []uint32{uint32(a.prog.Start)}, prev: -1}
}

// alive reports whether any thread survives.
func (s nfaState) alive() bool { return len(s.pcs) > 0 }

// closure follows the empty transitions (alternations, captures, no-ops and
// the zero-width assertions satisfied by flags) from pcs and calls visit for
// every instruction reached that consumes a rune or matches.
func (a *nfa) closure(pcs []uint32, flags syntax.EmptyOp, visit func(*syntax.Inst)) {
	seen := make([]bool, len(a.prog.Inst))
	stack := append([]uint32(nil), pcs...)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &a.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Arg, in.Out)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^flags == 0 {
				stack = append(stack, in.Out)
			}
		case syntax.InstFail:
		default: // InstMatch, InstRune, InstRune1, InstRuneAny, InstRuneAnyNotNL
			visit(in)
		}
	}
}

func consumes(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRune:
		return in.MatchRune(r)
	case syntax.InstRune1:
		return r == in.Rune[0]
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return false
}

// step consumes r and returns the surviving threads.
func (a *nfa) step(s nfaState, r rune) nfaState {
	next := nfaState{prev: r}
	if !s.alive() {
		return next
	}
	added := make(map[uint32]bool)
	a.closure(s.pcs, syntax.EmptyOpContext(s.prev, r), func(in *syntax.Inst) {
		if consumes(in, r) && !added[in.Out] {
			added[in.Out] = true
			next.pcs = append(next.pcs, in.Out)
		}
	})
	return next
}

// run consumes every rune of input from the start state.
func (a *nfa) run(input string) nfaState {
	s := a.start()
	for _, r := range input {
		s = a.step(s, r)
		if !s.alive() {
			break
		}
	}
	return s
}

// matchesHere reports whether the input consumed so far matches as a whole,
// that is whether a match instruction is reachable if the input ends now.
func (a *nfa) matchesHere(s nfaState) bool {
	found := false
	if s.alive() {
		a.closure(s.pcs, syntax.EmptyOpContext(s.prev, -1), func(in *syntax.Inst) {
			if in.Op == syntax.InstMatch {
				found = true
			}
		})
	}
	return found
}

// canExtend reports whether some string of 1..budget more runes from the
// code alphabet leads from s to a whole match. The first rune is taken from
// first (normally codeAlphabet). It is a breadth-first search over
// (program counter, previous rune) pairs: the first visit of a pair is at
// the smallest depth, so it dominates later visits and the search is exact.
func (a *nfa) canExtend(s nfaState, budget int, first string) bool {
	if budget <= 0 || !s.alive() {
		return false
	}
	type key struct {
		pc   uint32
		prev rune
	}
	seen := make(map[key]bool)
	var frontier []nfaState
	expand := func(from nfaState, alphabet string) {
		for _, r := range alphabet {
			for _, pc := range a.step(from, r).pcs {
				k := key{pc, r}
				if !seen[k] {
					seen[k] = true
					frontier = append(frontier, nfaState{pcs: []uint32{pc}, prev: r})
				}
			}
		}
	}
	expand(s, first)
	for depth := 1; len(frontier) > 0; depth++ {
		for _, t := range frontier {
			if a.matchesHere(t) {
				return true
			}
		}
		if depth == budget {
			return false
		}
		cur := frontier
		frontier = nil
		for _, t := range cur {
			expand(t, codeAlphabet)
		}
	}
	return false
}
