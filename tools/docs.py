"""Build and check the mnist_s5 docs site and README from the notebooks.

    python tools/docs.py build    # README.md, then the site into _docs/: `nbdev_docs` where Quarto is
                                  # on PATH, else nbdev's processing + nbconvert (no Quarto needed)
    python tools/docs.py readme   # README.md from nbs/index.ipynb only
    python tools/docs.py check    # CI, no browser: README up to date, one page per notebook, every
                                  # link and image resolves, every exported symbol has its API section

Both builders start from nbdev's own processed notebooks (`proc_nbs`: directives applied, a `show_doc`
section for every exported symbol, executed). The nbconvert builder renders them with the saved outputs
(plots embedded), a sidebar in `nbs/sidebar.yml` order, links between pages made relative, and writes a
self-contained site that any static server, or the file system, can show.
"""
import argparse, base64, html, importlib, inspect, json, re, shutil, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_NOTE = '<!-- generated from nbs/index.ipynb by `python tools/docs.py readme`: edit the notebook, not this file -->'

def config():
    from nbdev.config import get_config
    return get_config(path=ROOT)

def processed_notebooks() -> Path:
    "Run nbdev's doc processing of every notebook into `_proc/`; return that folder."
    import os, nbdev.doclinks
    from nbdev.serve import proc_nbs
    os.chdir(ROOT)
    nbdev.doclinks._build_modidx()
    return Path(proc_nbs(n_workers=0))

def frontmatter(nb:dict) -> dict:
    import yaml
    c = nb['cells'][0]
    return yaml.safe_load(''.join(c['source']).strip().strip('-')) if c['cell_type'] == 'raw' else {}

def page_order(cfg) -> list:
    "Notebook names in sidebar order (nbs/sidebar.yml)."
    import yaml
    return yaml.safe_load((cfg.nbs_path/'sidebar.yml').read_text())['website']['sidebar']['contents']

def src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

def directives(cell) -> dict:
    return dict(re.findall(r'^#\|\s*([\w-]+):?\s*(.*)$', src(cell), flags=re.M))

def strip_directives(code:str) -> str: return re.sub(r'^#\|.*\n?', '', code, flags=re.M).strip('\n')

def quarto_to_md(md:str, link) -> str:
    "Markdown from show_doc/Quarto syntax: no {attribute} blocks, plain names in code blocks, links via `link`."
    md = re.sub(r'\)\{[^}]*\}', ')', md) # [source](url){target=...}
    md = re.sub(r'```.*?```', lambda m: re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', m.group(0)), md, flags=re.S)
    return re.sub(r'\]\(([^)\s]+)\)', lambda m: f']({link(m.group(1))})', md)

def slug(text:str) -> str:
    "Quarto's heading ids: lower case, spaces to dashes, only letters, digits, '-' and '_' kept."
    return re.sub(r'[^\w-]', '', re.sub(r'\s+', '-', html.unescape(re.sub(r'<[^>]+>', '', text)).strip().lower()))

# ---------------------------------------------------------------- README
def readme_text(cfg, proc:Path) -> str:
    "README.md from the processed index notebook: markdown as is, code and its text output as fenced blocks."
    nb = json.loads((proc/'index.ipynb').read_text())
    fm = frontmatter(nb)
    def link(u): return f"nbs/{u}" if re.fullmatch(r'[\w-]+\.ipynb(#.*)?', u) else u
    parts = [README_NOTE, f"# {fm['title']}", f"> {fm['description']}"]
    for c in nb['cells'][1:]:
        if c['cell_type'] == 'markdown':
            if not src(c).startswith('<!--'): parts.append(quarto_to_md(src(c), link))
        elif c['cell_type'] == 'code' and directives(c).get('echo') != 'false':
            parts.append(f"```python\n{strip_directives(src(c))}\n```")
            for o in c.get('outputs', []):
                text = o.get('text') or o.get('data', {}).get('text/plain')
                if text: parts.append("```\n" + (''.join(text) if isinstance(text, list) else text).rstrip('\n') + "\n```")
    return '\n\n'.join(parts) + '\n'

def write_readme(cfg, proc) -> Path:
    (ROOT/'README.md').write_text(readme_text(cfg, proc))
    return ROOT/'README.md'

# ---------------------------------------------------------------- the nbconvert site
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="site.css"><link rel="stylesheet" href="styles.css"></head>
<body><nav class="sidebar"><a class="site" href="index.html">{site}</a><ul>{nav}</ul></nav>
<main><header><h1 class="title" id="title">{title}</h1><p class="description">{description}</p></header>
{body}
<footer>Built from the notebooks by <code>tools/docs.py</code> with nbconvert {nbconvert} (Quarto not found); {builder_note}</footer>
</main></body></html>
"""
SITE_CSS = """
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.55; color: #222; display: flex; }
nav.sidebar { position: sticky; top: 0; height: 100vh; overflow-y: auto; flex: 0 0 14rem; padding: 1.5rem 1rem; background: #f5f7fa; border-right: 1px solid #dde3ea; box-sizing: border-box; }
nav.sidebar a.site { font-weight: 700; font-size: 1.2rem; color: #1f4e8c; text-decoration: none; }
nav.sidebar ul { list-style: none; padding: 0; margin-top: 1rem; }
nav.sidebar li a { display: block; padding: .25rem .5rem; color: #333; text-decoration: none; border-radius: 4px; }
nav.sidebar li a.active { background: #dce8f7; font-weight: 600; }
main { flex: 1; max-width: 60rem; padding: 1.5rem 2.5rem 4rem; min-width: 0; }
p.description { font-style: italic; opacity: .75; font-size: 1.15rem; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; font-size: .85rem; }
code { font-size: .9em; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #dde3ea; padding: .25rem .6rem; }
.jp-OutputArea-output pre { background: none; border-left: 2px solid #7aa6d8; border-radius: 0; }
.jp-InputPrompt, .jp-OutputPrompt, .prompt { display: none; }
img { max-width: 100%; height: auto; }
a.anchor-link { display: none; }
footer { margin-top: 3rem; font-size: .8rem; opacity: .6; }
"""

def page_html(cfg, nb:dict, pages:dict, name:str, nav:str) -> str:
    "One page: the processed notebook through nbconvert's basic template, wrapped in the site layout."
    import nbformat, nbconvert
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    docs = f"{cfg.doc_host}{cfg.doc_baseurl}/"
    def link(u):
        if u.startswith(docs): u = u[len(docs):]
        f, _, anchor = u.partition('#')
        f = pages.get(f, f)
        return f + (f'#{anchor}' if anchor else '')
    fm = frontmatter(nb)
    cells = []
    for c in nb['cells'][1:]:
        c = dict(c, metadata=dict(c.get('metadata', {})))
        if c['cell_type'] == 'markdown': c['source'] = quarto_to_md(src(c), link)
        elif c['cell_type'] == 'code':
            if directives(c).get('echo') == 'false': c['metadata']['tags'] = ['remove_input']
            c['source'] = strip_directives(src(c))
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md is not None: o['data'] = {'text/markdown': quarto_to_md(''.join(md) if isinstance(md, list) else md, link)}
        cells.append(c)
    nb = nbformat.reads(json.dumps(dict(nb, cells=cells)), as_version=4) # joins multi-line strings
    c = Config(); c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}; c.TagRemovePreprocessor.enabled = True
    c.CoalesceStreamsPreprocessor.enabled = True # progress bars: one block, last state of each line, as Jupyter shows them
    body, _ = HTMLExporter(config=c, template_name='basic').from_notebook_node(nb)
    ids = {i: slug(i.replace('-', ' ')) for i in re.findall(r'<h[1-6] id="([^"]*)"', body)}
    body = re.sub(r'<(h[1-6]) id="([^"]*)"', lambda m: f'<{m.group(1)} id="{ids[m.group(2)]}"', body)
    body = re.sub(r'href="#([^"]*)"', lambda m: f'href="#{ids.get(m.group(1), m.group(1))}"', body)
    return PAGE.format(title=html.escape(str(fm.get('title', name))), site=html.escape(cfg.title), nav=nav,
                       description=html.escape(str(fm.get('description', ''))), body=body,
                       nbconvert=nbconvert.__version__, builder_note=f"page {name}")

def build_nbconvert(cfg, proc:Path) -> Path:
    "The static site in `_docs/`: one page per notebook, in sidebar order."
    out = ROOT/cfg.doc_path.name
    shutil.rmtree(out, ignore_errors=True); out.mkdir()
    order = page_order(cfg)
    nbs = {n: json.loads((proc/n).read_text()) for n in order}
    pages = {n: frontmatter(nb).get('output-file', Path(n).with_suffix('.html').name) for n, nb in nbs.items()}
    for n, nb in nbs.items():
        nav = ''.join(f'<li><a href="{pages[m]}"{" class=active" if m == n else ""}>{html.escape(str(frontmatter(nbs[m]).get("title", m)))}</a></li>' for m in order)
        (out/pages[n]).write_text(page_html(cfg, nb, pages, n, nav))
    from pygments.formatters import HtmlFormatter
    (out/'site.css').write_text(SITE_CSS + HtmlFormatter().get_style_defs('.highlight'))
    shutil.copy(cfg.nbs_path/'styles.css', out/'styles.css')
    print(f"builder: nbconvert; {len(pages)} pages in {out}: {', '.join(pages.values())}")
    return out

def build(cfg) -> str:
    proc = processed_notebooks()
    print(f"README: {write_readme(cfg, proc)}")
    if shutil.which('quarto'):
        subprocess.run([str(Path(sys.executable).parent/'nbdev_docs')], check=True, cwd=ROOT)
        print(f"builder: quarto (nbdev_docs) into {ROOT/cfg.doc_path.name}")
        return 'quarto'
    build_nbconvert(cfg, proc)
    return 'nbconvert'

# ---------------------------------------------------------------- checks (no browser)
class _Page(HTMLParser):
    def __init__(self):
        super().__init__(); self.ids, self.links, self.images = set(), [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag == 'img': self.images.append(a.get('src', ''))

def exported_symbols(lib:str) -> dict:
    "module -> its exported functions and classes, from the package's nbdev index."
    sys.path.insert(0, str(ROOT))
    out = {}
    for mod in importlib.import_module(f'{lib}._modidx').d['syms']:
        m = importlib.import_module(mod)
        out[mod] = [n for n in getattr(m, '__all__', []) if inspect.isfunction(getattr(m, n)) or inspect.isclass(getattr(m, n))]
    return out

def check_site(cfg, out:Path) -> list:
    "Problems of the built site: missing pages, dangling links or anchors, broken images, missing API sections."
    problems, parsed = [], {}
    order = page_order(cfg)
    for n in order:
        nb = json.loads((ROOT/'_proc'/n).read_text())
        f = out/frontmatter(nb).get('output-file', Path(n).with_suffix('.html').name)
        if not f.exists(): problems.append(f"no page for {n} ({f.name})"); continue
        p = _Page(); p.feed(f.read_text()); parsed[f.name] = p
    n_links = n_imgs = 0
    for name, p in parsed.items():
        for href in p.links:
            if re.match(r'(https?|mailto):', href): continue
            n_links += 1
            f, _, anchor = href.partition('#'); f = f or name
            if f not in parsed and not (out/f).exists(): problems.append(f"{name}: link to missing {href}")
            elif anchor and f in parsed and anchor not in parsed[f].ids: problems.append(f"{name}: link to missing anchor {href}")
        for s in p.images:
            n_imgs += 1
            if s.startswith('data:'):
                try: assert len(base64.b64decode(s.split(',', 1)[1])) > 100
                except Exception: problems.append(f"{name}: broken embedded image")
            elif not (out/s).exists(): problems.append(f"{name}: missing image {s}")
    n_syms = 0
    for mod, names in exported_symbols(cfg.lib_name).items():
        page = mod.split('.', 1)[1] + '.html'
        for s in names:
            n_syms += 1
            if page not in parsed or slug(s) not in parsed[page].ids: problems.append(f"{page}: no API section for {mod}.{s}")
    print(f"site: {len(parsed)} pages, {n_links} internal links, {n_imgs} images, {n_syms} exported symbols checked")
    return problems

def check(cfg) -> int:
    proc = processed_notebooks()
    problems = []
    if (ROOT/'README.md').read_text() != readme_text(cfg, proc):
        problems.append("README.md differs from what nbs/index.ipynb produces: run `python tools/docs.py readme` and commit it")
    problems += check_site(cfg, build_nbconvert(cfg, proc))
    for p in problems: print("PROBLEM:", p)
    print("docs check: " + ("OK" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('command', choices=['build', 'readme', 'check'])
    cmd = ap.parse_args(argv).command
    cfg = config()
    if cmd == 'readme': print(f"README: {write_readme(cfg, processed_notebooks())}")
    elif cmd == 'build': build(cfg)
    else: sys.exit(check(cfg))

if __name__ == '__main__': main()
