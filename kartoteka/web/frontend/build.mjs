// Bundle the UI's JavaScript modules and CSS with esbuild into fingerprinted files under
// kartoteka/web/static/dist/, plus manifest.json (logical name -> file) that the pages read.
// Run by `npm run build` (scripts/setup.sh and the wheel build call it); never committed.
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "dist");
// One entry per page widget; shared code (htmx, the API client) lands in common chunks.
// amounts.js is no page's entry: it is built as one so that its exports keep their names,
// and tests/web/test_browser_amounts.py can import the module the pages ship and hold it
// to the same table of cases as kartoteka/web/amounts.py.
const entries = ["app.js", "grid.js", "board.js", "apidoc.js", "webhooks.js", "imports.js", "people.js", "designer.js", "scenarios.js", "amounts.js", "app.css"];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: entries.map((name) => join(here, name)),
  outdir: out,
  bundle: true,
  format: "esm",
  splitting: true,
  minify: true,
  sourcemap: false,
  target: ["es2020"],
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".svg": "file", ".woff2": "file" },
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const manifest = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!info.entryPoint || !entries.includes(basename(info.entryPoint))) continue;
  const name = basename(info.entryPoint);
  const ext = file.endsWith(".css") ? ".css" : ".js";
  manifest[name.replace(/\.(js|css)$/, ext)] = relative(out, file);
  if (ext === ".js") {
    // The chunks an entry imports, so pages can preload them instead of discovering
    // them one round trip later.
    manifest[`${name}:imports`] = info.imports
      .filter((i) => i.kind === "import-statement")
      .map((i) => relative(out, i.path));
  }
  if (info.cssBundle) manifest[name.replace(/\.js$/, ".css")] = relative(out, info.cssBundle);
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`built ${Object.keys(manifest).length} assets into ${relative(process.cwd(), out)}`);
