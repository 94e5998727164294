package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// A ceremony knows its hierarchy's key states from the chain it continues (--previous). So
// that these are the newest states, the pre-flight refuses to continue a ceremony that another
// sealed ceremony already continues — a fork of the hierarchy, which would not see a key
// declared compromised or deactivated after the ceremony it continues — and refuses when a
// sealed ceremony of the same hierarchy (one sharing an ancestor with --previous) recorded a
// key state the continued chain does not hold.
//
// Where it looks: inside an evidence root (the output's parent holds a ceremony log), every
// ceremony of the root. Without one, the sealed ceremonies one level below the folder that
// holds --previous and below the output's parent; a ceremony kept anywhere else is not seen,
// which is why a production ceremony belongs in an evidence root (the pre-flight says so).
// An unsealed or aborted ceremony continues nothing; the ceremony's own folder (a resume) is
// not a fork of itself.

// sibling is a sealed ceremony found beside the one being prepared.
type sibling struct {
	dir string
	res *transcript.Result
}

// forks refuses a --previous that is not a head of its hierarchy, naming the newer
// ceremonies and what to continue instead.
func (p *preflighter) forks() {
	r := p.r
	if r.previous == nil {
		return
	}
	root := EvidenceRoot(r.Dir)
	found, where, err := siblings(root, r.Dir, r.previous.dir)
	if err != nil {
		p.errorf("the ceremonies beside this one cannot be read, so a fork of the hierarchy cannot be ruled out: %v; verify them (keyrite verify %s)", err, where)
		return
	}
	n := len(p.errs)
	prev := r.previous.result
	g := newLineage(found)
	later, heads := g.after(prev.Seal.Text)
	if typeOf(r.Script.Type).previous == previousBackup {
		// It must continue the backup, so later ceremonies are no fork unless they changed a
		// key state this one would not see.
		for _, s := range later {
			if setsKeyState(s.res) {
				p.errorf("ceremony %s (%s, folder %s) changed a key state of this hierarchy after the backup %s was made, which a %s continuing the backup would not see; nothing was done (a backup made before a key-state change is not used: see the README's known limitations)",
					s.res.Opening.CeremonyID, s.res.Opening.Type, s.dir, r.previous.dir, r.Script.Type)
			}
		}
	} else if len(heads) > 0 {
		var names []string
		for _, h := range heads {
			names = append(names, fmt.Sprintf("%s (%s, folder %s)", h.res.Opening.CeremonyID, h.res.Opening.Type, h.dir))
		}
		p.errorf("--previous %s (ceremony %s) is not the newest ceremony of its hierarchy: %s already continue(s) it, so its key states may be out of date (a key may since be compromised or deactivated); nothing was done; continue the newest: --previous %s",
			r.previous.dir, prev.Opening.CeremonyID, strings.Join(names, "; "), heads[0].dir)
	}
	if len(p.errs) > n {
		return // the later ceremonies named are where the states are
	}
	chain := g.chain(prev)
	known := map[string]bool{} // the ceremonies whose key states the continued chain carries
	for _, k := range hierarchyStateOf(prev).keys {
		known[k.Ceremony] = true
	}
	family := g.origin(prev)
	for _, s := range found {
		if chain[s.res.Seal.Text] || known[s.res.Opening.CeremonyID] || g.origin(s.res) != family || !setsKeyState(s.res) {
			continue
		}
		p.errorf("ceremony %s (folder %s) recorded a key state of this hierarchy that --previous %s does not carry: the hierarchy was forked; continue the ceremony that holds every state, or reconcile the branches first",
			s.res.Opening.CeremonyID, s.dir, r.previous.dir)
	}
	if len(p.errs) == n {
		p.passed("no newer ceremony of the hierarchy beside the one continued (" + where + ")")
	}
}

// noEvidenceRoot warns, in the pre-flight's record and to the room, when a ceremony on a real
// HSM (not a rehearsal) writes outside an evidence root: it is not logged, and a newer
// ceremony of its hierarchy kept elsewhere cannot be found.
func (p *preflighter) noEvidenceRoot() {
	if p.r.binding.Rehearsal || EvidenceRoot(p.r.Dir) != "" {
		return
	}
	msg := "WARNING: this production ceremony's folder is not inside an evidence root: it is not logged, and only the ceremonies beside --previous and the output are checked for a newer one on the hierarchy; keep production ceremonies in an evidence root (keyrite log init ROOT NAME, then a folder inside it)"
	p.passed(msg)
	p.r.UI.Note(msg)
}

// siblings reads the sealed, not aborted ceremonies the fork check looks at (see above),
// apart from self, and says where it looked.
func siblings(root, self, previous string) ([]sibling, string, error) {
	var dirs []string
	var where string
	if root != "" {
		where = root
		err := ledger.CeremonyFolders(root, func(rel string) error {
			dirs = append(dirs, filepath.Join(root, filepath.FromSlash(rel)))
			return nil
		})
		if err != nil {
			return nil, where, err
		}
	} else {
		parents := uniq(filepath.Dir(filepath.Clean(previous)), filepath.Dir(filepath.Clean(self)))
		where = strings.Join(parents, ", ")
		for _, parent := range parents {
			ents, err := os.ReadDir(parent)
			if err != nil {
				continue // the output's parent may not exist yet
			}
			for _, e := range ents {
				if e.IsDir() {
					dirs = append(dirs, filepath.Join(parent, e.Name()))
				}
			}
		}
	}
	var out []sibling
	for _, d := range uniq(dirs...) {
		if same(d, self) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(d, transcript.SealFileName)); err != nil {
			continue // not sealed: it continues nothing yet
		}
		res, err := transcript.Verify(d, transcript.Options{})
		if err != nil {
			return nil, d, fmt.Errorf("%s: %w", d, err)
		}
		if _, aborted := res.Aborted(); !aborted {
			out = append(out, sibling{d, res})
		}
	}
	return out, where, nil
}

// lineage links sealed ceremonies by the seal each one's opening quotes.
type lineage struct {
	bySeal   map[string]*transcript.Result
	children map[string][]sibling // previous seal -> the ceremonies continuing it
}

func newLineage(found []sibling) *lineage {
	g := &lineage{bySeal: map[string]*transcript.Result{}, children: map[string][]sibling{}}
	for _, s := range found {
		g.bySeal[s.res.Seal.Text] = s.res
		if pv := s.res.Opening.Previous; pv != nil {
			g.children[pv.Checkpoint] = append(g.children[pv.Checkpoint], s)
		}
	}
	return g
}

// after is every found ceremony descending from the one sealed with seal, and the newest of
// them: those nothing found continues. None if nothing continues it.
func (g *lineage) after(seal string) (all, heads []sibling) {
	seen := map[string]bool{seal: true}
	queue := g.children[seal]
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.res.Seal.Text] {
			continue
		}
		seen[s.res.Seal.Text] = true
		all = append(all, s)
		if kids := g.children[s.res.Seal.Text]; len(kids) > 0 {
			queue = append(queue, kids...)
		} else {
			heads = append(heads, s)
		}
	}
	sort.Slice(heads, func(i, j int) bool { return heads[i].dir < heads[j].dir })
	return all, heads
}

// chain is the seals of res and of every found ceremony it descends from (seals, not IDs: a
// script run twice gives two ceremonies one ID).
func (g *lineage) chain(res *transcript.Result) map[string]bool {
	seals := map[string]bool{}
	for c := res; c != nil && !seals[c.Seal.Text]; c = g.parent(c) {
		seals[c.Seal.Text] = true
	}
	return seals
}

// origin is the seal of the oldest found ceremony res descends from (its own if none).
func (g *lineage) origin(res *transcript.Result) string {
	seen := map[string]bool{}
	c := res
	for !seen[c.Seal.Text] {
		seen[c.Seal.Text] = true
		p := g.parent(c)
		if p == nil {
			if pv := c.Opening.Previous; pv != nil {
				return pv.Checkpoint // an ancestor outside what was found
			}
			break
		}
		c = p
	}
	return c.Seal.Text
}

func (g *lineage) parent(res *transcript.Result) *transcript.Result {
	if pv := res.Opening.Previous; pv != nil {
		return g.bySeal[pv.Checkpoint]
	}
	return nil
}

// setsKeyState reports whether a sealed ceremony recorded a key state or a destruction.
func setsKeyState(res *transcript.Result) bool {
	for i := range res.Entries {
		switch res.Entries[i].Record.Event {
		case transcript.EventKeyState, transcript.EventKeyDestroyed:
			return true
		}
	}
	return false
}

// same reports whether two paths name the same folder.
func same(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	aa, _ := filepath.Abs(a)
	ab, _ := filepath.Abs(b)
	return aa == ab
}

func uniq(s ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
