"""Load every page of the built docs site in a real browser (headless Chromium) and check it.

    python tools/browser_check.py            # builds the site first (tools/docs.py build)
    python tools/browser_check.py --no-build # checks the _docs/ that is there

Installs Debian's `chromium` (apt-get) and the `playwright` Python driver if they are missing, serves
`_docs/` on 127.0.0.1, and loads each page. A page fails on a console error or uncaught exception, a
request that fails or returns >= 400, an image that does not load, an internal link to a missing page
or anchor, or (for the API pages) an exported symbol without its section. A full-page screenshot of
every page goes to `_docs_screens/`. Slow (it installs a browser), so CI runs `tools/docs.py check`,
the same checks without a browser, instead.
"""
import argparse, functools, http.server, importlib.util, shutil, subprocess, sys, tempfile, threading
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import docs

CHROMIUM = '/usr/bin/chromium'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']

def ensure_tools():
    if not Path(CHROMIUM).exists():
        print("installing Debian's chromium ...", flush=True)
        subprocess.run(['apt-get', 'update', '-qq'], check=True)
        subprocess.run(['apt-get', 'install', '-y', '-qq', 'chromium'], check=True, stdout=subprocess.DEVNULL)
    if importlib.util.find_spec('playwright') is None:
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'playwright'], check=True)

def serve(folder:Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(folder))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--no-build', action='store_true', help="check the existing _docs/ without rebuilding")
    args = ap.parse_args(argv)
    cfg = docs.config()
    if not args.no_build: docs.build(cfg)
    site, shots = docs.ROOT/cfg.doc_path.name, docs.ROOT/'_docs_screens'
    ensure_tools()
    from playwright.sync_api import sync_playwright
    shutil.rmtree(shots, ignore_errors=True); shots.mkdir()
    pages = [p.name for p in sorted(site.glob('*.html'))]
    api_pages = {m.split('.', 1)[1] + '.html': names for m, names in docs.exported_symbols(cfg.lib_name).items()}
    srv, base = serve(site)
    problems, ids, links = [], {}, []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                     viewport={'width': 1280, 'height': 900})
        page = ctx.new_page()
        errors = []
        page.on('console', lambda m: m.type == 'error' and errors.append(f"console error: {m.text}"))
        page.on('pageerror', lambda e: errors.append(f"uncaught exception: {e}"))
        page.on('requestfailed', lambda r: errors.append(f"request failed: {r.url}"))
        page.on('response', lambda r: r.status >= 400 and errors.append(f"HTTP {r.status}: {r.url}"))
        for name in pages:
            errors.clear()
            page.goto(base + name, wait_until='load')
            broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length")
            n_imgs = page.evaluate("document.images.length")
            ids[name] = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
            links += [(name, h) for h in page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")]
            page.screenshot(path=str(shots/(Path(name).stem + '.png')), full_page=True)
            problems += [f"{name}: {e}" for e in errors] + ([f"{name}: {broken} images did not load"] if broken else [])
            missing = [s for s in api_pages.get(name, []) if docs.slug(s) not in ids[name]]
            if missing: problems.append(f"{name}: no API section for {', '.join(missing)}")
            print(f"{name:>18}: {n_imgs} images, {len(ids[name])} ids, {len(api_pages.get(name, []))} API sections, "
                  f"{len(errors)} errors; screenshot {shots.name}/{Path(name).stem}.png", flush=True)
        ctx.close()
    srv.shutdown()
    internal = [(p, h) for p, h in links if not h.startswith(('http:', 'https:', 'mailto:'))]
    for p, h in internal:
        f, _, anchor = h.partition('#'); f = f or p
        if f not in ids: problems.append(f"{p}: link to missing page {h}")
        elif anchor and anchor not in ids[f]: problems.append(f"{p}: link to missing anchor {h}")
    for pr in problems: print("PROBLEM:", pr)
    print(f"browser check: {len(pages)} pages, {len(internal)} internal links checked "
          f"({len(links) - len(internal)} external links not followed: offline), "
          f"screenshots in {shots}: " + ("OK" if not problems else f"{len(problems)} problems"))
    sys.exit(1 if problems else 0)

if __name__ == '__main__': main()
