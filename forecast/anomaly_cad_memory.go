package forecast

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// cadMemory is the context memory of the Contextual Anomaly Detector
// (CAD OSE), after the design by Smirnov and Fedorov as published in NAB.
//
// The input at each step is a set of facts (small integers). A context is
// a pair of fact sets, a left and a right semi-context: "when the left
// facts were present, the right ones followed". Semi-contexts are shared
// between contexts and indexed by fact, so that crossing a new fact set
// with the memory touches only the semi-contexts that share a fact with
// it. Each step
//
//  1. stores the zero-level context (previous left facts, current sensor
//     facts) if it is new;
//  2. crosses the current sensor facts with the right semi-contexts and
//     reviews every context whose left semi-context matched the previous
//     left facts: counts how much of its right side came true, activates
//     the fully confirmed ones, and, from partial matches of zero-level
//     contexts, proposes new (narrower) contexts;
//  3. takes the most often confirmed active contexts as "neurons": their
//     ids become facts too, so the next left fact set is the sensor facts
//     plus the active neurons — a sequence of contexts;
//  4. stores the proposed contexts, crosses the new left facts with the
//     left semi-contexts and predicts the right facts of the fully matched
//     contexts with the best hit rate.
//
// The anomaly of a step is high when few of the contexts expected to fire
// did, and when much of what came was new to the memory.
type cadMemory struct {
	maxLeft int // longest left semi-context that may seed a new context

	semis    [2][]cadSemi          // by side: 0 left, 1 right; id = index
	semiID   [2]map[string]int32   // fact-set key → semi-context id
	byFact   [2]map[uint32][]int32 // fact → ids of the semi-contexts holding it
	crossed  [2][]int32            // semi-contexts sharing a fact with the last crossing
	ctxOf    map[[2]int32]int32    // (left id, right id) → context id
	contexts []cadContext          // id = index
	newCtx   int32                 // id of the zero-level context stored this step; 0 when none

	left []uint32 // the current left facts: sensor facts and active neurons

	key   []byte    // scratch for fact-set keys
	ids   []int32   // scratch: ids of the contexts proposed this step
	pot   []cadPair // scratch: proposed contexts
	act   []int32   // scratch: active context ids
	preds []int32   // scratch: predicting context ids
}

// cadSemi is a semi-context: a set of facts, and what the last crossing
// matched of it.
type cadSemi struct {
	size    int      // number of facts
	matched []uint32 // facts of the last crossing it holds, in the crossing's order
	links   []cadLink
}

// cadLink ties a left semi-context to a right one through a context.
type cadLink struct {
	right, ctx int32
	zeroLevel  bool // a copy of the context's flag, for a faster review
}

// cadContext is a (left, right) pair of semi-contexts.
type cadContext struct {
	tried     int // right facts expected, summed over the reviews
	hit       int // of which came true
	fired     int // reviews in which the whole right side came true
	zeroLevel bool
	right     []uint32 // the right facts
	// rank breaks ties between contexts confirmed equally often when
	// choosing the active neurons: the hashes of the left and right fact
	// sets, as the original orders them.
	rank [2]int64
}

// cadPair is a proposed context: its left and right fact sets.
type cadPair struct {
	lid         int32 // the left semi-context it comes from
	left, right []uint32
}

// cadNeuron is the fact offset of a context id used as a fact.
const cadNeuron = 1 << 31

func newCADMemory(maxLeft int) *cadMemory {
	m := &cadMemory{maxLeft: maxLeft}
	for s := range 2 {
		m.semiID[s] = map[string]int32{}
		m.byFact[s] = map[uint32][]int32{}
	}
	m.ctxOf = map[[2]int32]int32{}
	return m
}

func (m *cadMemory) factKey(facts []uint32) []byte {
	m.key = m.key[:0]
	for _, f := range facts {
		m.key = binary.LittleEndian.AppendUint32(m.key, f)
	}
	return m.key
}

// semi returns the id of the semi-context of side s holding exactly facts,
// storing it if it is new. facts must be sorted and free of duplicates.
func (m *cadMemory) semi(s int, facts []uint32) int32 {
	k := m.factKey(facts)
	if id, ok := m.semiID[s][string(k)]; ok {
		return id
	}
	id := int32(len(m.semis[s]))
	m.semiID[s][string(k)] = id
	m.semis[s] = append(m.semis[s], cadSemi{size: len(facts)})
	for _, f := range facts {
		m.byFact[s][f] = append(m.byFact[s][f], id)
	}
	return id
}

// store stores the context (left, right) unless it exists. It reports
// whether it was new, and the context's id.
func (m *cadMemory) store(left, right []uint32, zeroLevel bool) (int32, bool) {
	l, r := m.semi(0, left), m.semi(1, right)
	if id, ok := m.ctxOf[[2]int32{l, r}]; ok {
		if zeroLevel && !m.contexts[id].zeroLevel {
			m.contexts[id].zeroLevel = true
			links := m.semis[0][l].links
			for i := range links {
				if links[i].ctx == id {
					links[i].zeroLevel = true
				}
			}
		}
		return id, false
	}
	id := int32(len(m.contexts))
	m.ctxOf[[2]int32{l, r}] = id
	m.semis[0][l].links = append(m.semis[0][l].links, cadLink{right: r, ctx: id, zeroLevel: zeroLevel})
	m.contexts = append(m.contexts, cadContext{zeroLevel: zeroLevel, right: slices.Clone(right),
		rank: [2]int64{tupleHash(left), tupleHash(right)}})
	return id, true
}

// cross records, in every semi-context of side s, which of facts it holds,
// and remembers the semi-contexts that hold any (in no particular order).
func (m *cadMemory) cross(s int, facts []uint32) {
	crossed := m.crossed[s]
	for _, id := range crossed {
		m.semis[s][id].matched = m.semis[s][id].matched[:0]
	}
	crossed = crossed[:0]
	for _, f := range facts {
		for _, id := range m.byFact[s][f] {
			sc := &m.semis[s][id]
			if len(sc.matched) == 0 {
				crossed = append(crossed, id)
			}
			sc.matched = append(sc.matched, f)
		}
	}
	m.crossed[s] = crossed
}

// review goes through the contexts whose left semi-context shared a fact
// with the previous left facts, after the right side has been crossed
// with the current sensor facts (steps 2 and 3 above). For every context
// whose left side fully matched, it counts the right facts expected and
// those that came; it returns the number of such contexts, and leaves in
// m.act the ids of those whose right side came whole. When a new
// zero-level context was stored this step (grow), partial matches of
// zero-level contexts are proposed as new contexts in m.pot.
func (m *cadMemory) review(grow bool) (selected int) {
	m.act = m.act[:0]
	m.pot = m.pot[:0]
	for _, lid := range m.crossed[0] {
		ls := &m.semis[0][lid]
		full := len(ls.matched) == ls.size
		seeds := grow && len(ls.matched) <= m.maxLeft
		if !full {
			if !seeds {
				continue // neither reviewed nor a seed
			}
			for _, ln := range ls.links {
				if ln.zeroLevel && ln.ctx != m.newCtx && len(m.semis[1][ln.right].matched) > 0 {
					m.pot = append(m.pot, cadPair{lid: lid, left: ls.matched, right: m.semis[1][ln.right].matched})
				}
			}
			continue
		}
		for _, ln := range ls.links {
			// As in the original, the context stored this step is
			// skipped, and so is context 0 when none was (its "no new
			// context" marker is also a valid id).
			if ln.ctx == m.newCtx {
				continue
			}
			c := &m.contexts[ln.ctx]
			rs := &m.semis[1][ln.right]
			got := len(rs.matched)
			selected++
			c.tried += rs.size
			if got == 0 {
				continue
			}
			c.hit += got
			if got == rs.size {
				c.fired++
				m.act = append(m.act, ln.ctx)
				continue
			}
			if seeds && ln.zeroLevel {
				m.pot = append(m.pot, cadPair{lid: lid, left: ls.matched, right: rs.matched})
			}
		}
	}
	// The original proposes in the order the left semi-contexts were
	// stored; the order decides the new contexts' ids.
	byLeft := func(a, b cadPair) int { return cmp.Compare(a.lid, b.lid) }
	if !slices.IsSortedFunc(m.pot, byLeft) {
		slices.SortStableFunc(m.pot, byLeft)
	}
	m.newCtx = 0
	return selected
}

// predict crosses left with the left semi-contexts and appends to dst the
// right facts of the fully matched contexts with the highest hit rate.
func (m *cadMemory) predict(dst []uint32, left []uint32) []uint32 {
	m.cross(0, left)
	best := 0.0
	m.preds = m.preds[:0]
	for _, lid := range m.crossed[0] {
		ls := &m.semis[0][lid]
		if len(ls.matched) != ls.size {
			continue
		}
		for _, ln := range ls.links {
			c := &m.contexts[ln.ctx]
			w := 0.0
			if c.tried > 0 {
				w = float64(c.hit) / float64(c.tried)
			}
			switch {
			case w > best:
				best = w
				m.preds = append(m.preds[:0], ln.ctx)
			case w == best:
				m.preds = append(m.preds, ln.ctx)
			}
		}
	}
	for _, id := range m.preds {
		for _, f := range m.contexts[id].right {
			if !slices.Contains(dst, f) {
				dst = append(dst, f)
			}
		}
	}
	return dst
}

// step feeds the sensor facts of one sample (sorted, no duplicates) to the
// memory. It returns the facts predicted for the next sample (appended to
// dst), the share of the contexts reviewed that came true, and the share
// of the new contexts among those proposed (0 when the zero-level context
// was not new).
func (m *cadMemory) step(dst, sens []uint32, maxActive int) (pred []uint32, active, added float64) {
	grow := false
	m.ids = m.ids[:0]
	if len(m.left) > 0 && len(sens) > 0 {
		id, isNew := m.store(m.left, sens, true)
		m.ids = append(m.ids, id)
		if isNew {
			grow, m.newCtx = true, id
		}
	}
	m.cross(1, sens)
	if selected := m.review(grow); selected > 0 {
		active = float64(len(m.act)) / float64(selected)
	}

	// The most often confirmed active contexts become facts of the next
	// left side.
	m.left = append(m.left[:0], sens...)
	n := len(m.left)
	for _, id := range m.topActive(maxActive) {
		m.left = append(m.left, cadNeuron+uint32(id))
	}
	slices.Sort(m.left[n:])

	newCount := 0
	if grow {
		newCount++
	}
	for _, p := range m.pot {
		id, isNew := m.store(p.left, p.right, false)
		m.ids = append(m.ids, id)
		if isNew {
			newCount++
		}
	}
	if grow {
		slices.Sort(m.ids)
		added = float64(newCount) / float64(len(slices.Compact(m.ids)))
	}
	return m.predict(dst, m.left), active, added
}

// tupleHash is the hash the original implementation ranks contexts by
// (that of a tuple of integers in its reference runtime): a deterministic
// pseudo-random tie-break, kept so that the port reproduces its choices.
func tupleHash(facts []uint32) int64 {
	x, mult := int64(0x345678), int64(1000003)
	for i, f := range facts {
		x = (x ^ int64(f)) * mult
		mult += 82520 + 2*int64(len(facts)-1-i)
	}
	x += 97531
	if x == -1 {
		x = -2
	}
	return x
}

// before reports whether context a ranks before b as an active neuron:
// confirmed more often, then (as the original breaks ties) by the larger
// hashes of its left and right fact sets.
func (m *cadMemory) before(a, b int32) bool {
	ca, cb := &m.contexts[a], &m.contexts[b]
	if ca.fired != cb.fired {
		return ca.fired > cb.fired
	}
	if ca.rank[0] != cb.rank[0] {
		return ca.rank[0] > cb.rank[0]
	}
	return ca.rank[1] > cb.rank[1]
}

// topActive moves the k best-ranked active contexts to the front of m.act,
// best first, and returns them: a partial insertion sort, O(len·k).
func (m *cadMemory) topActive(k int) []int32 {
	a := m.act
	k = min(k, len(a))
	for i := range a {
		if i >= k {
			if !m.before(a[i], a[k-1]) {
				continue
			}
			a[i], a[k-1] = a[k-1], a[i]
			i = k - 1
		}
		for j := i; j > 0 && m.before(a[j], a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a[:k]
}
