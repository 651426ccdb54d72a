"""CI check of nbdev's doc processing, without Quarto.

Runs the processing step of `nbdev_docs` (`proc_nbs`: directives, show_doc for every exported symbol,
executed show_doc cells) into `_proc/`, then checks that every exported function and class of the
package has its API section (a `### name` heading from show_doc) in the notebook that exports it.
"""
import importlib, inspect, json, sys
from pathlib import Path
from nbdev.config import get_config
from nbdev.serve import proc_nbs
import nbdev.doclinks

def exported_symbols(lib:str) -> dict:
    "Map of module name -> exported functions and classes, from the package's nbdev index."
    idx = importlib.import_module(f'{lib}._modidx').d['syms']
    out = {}
    for mod, syms in idx.items():
        m = importlib.import_module(mod)
        out[mod] = [n for n in getattr(m, '__all__', []) if inspect.isfunction(getattr(m, n)) or inspect.isclass(getattr(m, n))]
    return out

def api_headings(nb:Path) -> set:
    "The `### name` headings that show_doc produced in a processed notebook."
    heads = set()
    for c in json.loads(nb.read_text())['cells']:
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown', '')
            md = ''.join(md) if isinstance(md, list) else md
            heads |= {l[4:].strip() for l in md.splitlines() if l.startswith('### ')}
    return heads

def main():
    cfg = get_config()
    nbdev.doclinks._build_modidx()
    cache = Path(proc_nbs(n_workers=0))
    nbs = sorted(cache.glob('*.ipynb'))
    print(f"nbdev doc processing: {len(nbs)} notebooks into {cache}")
    missing, n = [], 0
    for mod, names in exported_symbols(cfg.lib_name).items():
        src = next(nb for nb in (cfg.nbs_path).glob('*.ipynb') if f'default_exp {mod.split(".", 1)[1]}' in nb.read_text())
        heads = api_headings(cache/src.name)
        n += len(names)
        missing += [f"{mod}.{s} (in {src.name})" for s in names if s not in heads]
    if missing: sys.exit("exported symbols without an API section:\n  " + "\n  ".join(missing))
    print(f"API docs: all {n} exported functions and classes have their section")

if __name__ == '__main__': main()
