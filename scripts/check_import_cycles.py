"""Fails when two files of one crate import each other, directly or around a circle.

An edge A -> B when file A names `crate::b` (or `super::b` from a child of the root). Comments and
`#[cfg(test)] mod tests` are ignored; the crate root (lib.rs/main.rs) is left out: it only declares
modules and re-exports. Run by .ci/run; the README's layout section says why it matters (a reader
sees the pipeline's direction in the imports).

    python3 scripts/check_import_cycles.py [CRATE_DIR ...]   # default: every workspace crate
"""
import os, re, sys
from itertools import chain

def modules(src):
    files = {}
    for dp, _, fs in os.walk(src):
        for f in fs:
            if f.endswith('.rs'):
                p = os.path.join(dp, f)
                rel = os.path.relpath(p, src)[:-3]
                parts = rel.split(os.sep)
                if parts[-1] == 'mod':
                    parts = parts[:-1]
                if parts in (['lib'], ['main']):
                    continue
                files['::'.join(parts)] = p
    return files

def strip(text):
    text = re.sub(r'#\[cfg\(test\)\]\s*mod tests \{.*', '', text, flags=re.S)
    return '\n'.join(l for l in text.split('\n') if not l.strip().startswith('//'))

def graph(src):
    mods = modules(src)
    g = {m: set() for m in mods}
    for m, p in mods.items():
        t = strip(open(p).read())
        names = set()
        for path in re.findall(r'crate::((?:[a-z_0-9]+::)*[a-z_0-9]+)', t):
            names.add(path)
        parent = m.rsplit('::', 1)[0] if '::' in m else ''
        for path in re.findall(r'super::((?:[a-z_0-9]+::)*[a-z_0-9]+)', t):
            names.add((parent + '::' if parent else '') + path)
        # use crate::{a, b::c}
        for grp in re.findall(r'use crate::\{([^}]*)\}', t):
            for n in grp.split(','):
                n = n.strip().split('::')[0]
                if n:
                    names.add(n)
        for n in names:
            segs = n.split('::')
            for k in range(len(segs), 0, -1):
                cand = '::'.join(segs[:k])
                if cand in mods and cand != m:
                    g[m].add(cand)
                    break
    return g

def sccs(g):
    index = {}; low = {}; st = []; on = set(); out = []; i = [0]
    def visit(v):
        index[v] = low[v] = i[0]; i[0] += 1; st.append(v); on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in g:
        if v not in index: visit(v)
    return out

def workspace_members(root):
    """The workspace's crates, as Cargo.toml lists them (a hand-kept list had left one out)."""
    import tomllib
    with open(os.path.join(root, 'Cargo.toml'), 'rb') as f:
        return tomllib.load(f)['workspace']['members']

if __name__ == '__main__':
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = 0
    for crate in sys.argv[1:] or workspace_members(root):
        src = os.path.join(root, crate, 'src')
        for c in sccs(graph(src)):
            print(f'{crate}: files import each other in a circle: {", ".join(c)}')
            found += 1
    if found:
        sys.exit(1)
    print('no import circles between files')
