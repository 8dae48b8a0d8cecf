// Bundles the studio's viewers into web/static/studio with content-hashed names and a manifest.
//
// Deterministic on purpose: CI rebuilds and fails when the committed output differs. So no source
// maps with absolute paths, no timestamps (gzip headers carry mtime 0), and every name carries the
// first 12 hex digits of the SHA-256 of the file's own bytes (tests recompute them).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'web', 'static', 'studio');
// One script per kind of page: a BPMN page does not load dmn-js (about three quarters of the code).
const ENTRIES = { 'bpmn-viewer': 'src/bpmn-viewer.js', 'dmn-viewer': 'src/dmn-viewer.js', 'studio': 'src/studio.css' };
ENTRIES['bpmn-diff'] = 'src/bpmn-diff.js';  // the diff page: two viewers, bpmn-js-differ and its colours
ENTRIES['case-diagram'] = 'src/case-diagram.js';  // a case on its diagram (+ case-diagram.css)
ENTRIES['process-heatmap'] = 'src/process-heatmap.js';  // step analytics on the diagram (+ process-heatmap.css)
ENTRIES['bpmn-modeler'] = 'src/bpmn-modeler.js';  // the editor: Modeler, properties panel, autosave (+ bpmn-modeler.css)
ENTRIES['dmn-modeler'] = 'src/dmn-modeler.js';  // the DMN editor: Modeler, autosave, live check (+ dmn-modeler.css)
const FONT_LOADERS = { '.eot': 'file', '.svg': 'file', '.ttf': 'file', '.woff': 'file', '.woff2': 'file' };
const ALREADY_COMPRESSED = new Set(['.woff', '.woff2']);

const hashed = (name, bytes) => {
  const ext = extname(name);
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  return `${basename(name, ext)}-${digest}${ext}`;
};

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ENTRIES,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  loader: FONT_LOADERS,
  entryNames: '[name]',
  assetNames: 'assets/[name]',
  legalComments: 'eof',
  charset: 'utf8',
  outdir: 'out',
  write: false,
  logLevel: 'warning',
});

// Fonts first: the style sheet names them, so its bytes (and hash) depend on theirs.
const files = new Map();  // logical name -> bytes
const renames = new Map();  // esbuild's asset path -> hashed name
for (const file of result.outputFiles) {
  const rel = file.path.slice(join(here, 'out').length + 1);
  if (rel.startsWith('assets/')) {
    renames.set(rel, hashed(basename(rel), file.contents));
    files.set(rel, file.contents);
  }
}
const manifest = { entries: {}, files: {} };
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const emit = (name, bytes) => {
  writeFileSync(join(outDir, name), bytes);
  const entry = { bytes: bytes.length };
  if (!ALREADY_COMPRESSED.has(extname(name))) {
    const gz = gzipSync(bytes, { level: 9 });
    writeFileSync(join(outDir, `${name}.gz`), gz);
    entry.gzip_bytes = gz.length;
  }
  manifest.files[name] = entry;
};

for (const [rel, name] of renames) {
  emit(name, files.get(rel));
}
for (const file of result.outputFiles) {
  const rel = file.path.slice(join(here, 'out').length + 1);
  if (rel.startsWith('assets/')) {
    continue;
  }
  let text = file.text;
  for (const [asset, name] of renames) {
    text = text.split(`./${asset}`).join(`./${name}`);
  }
  const bytes = Buffer.from(text, 'utf8');
  const name = hashed(rel, bytes);
  manifest.entries[rel] = name;
  emit(name, bytes);
}

const sorted = (obj) => Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
writeFileSync(join(outDir, 'manifest.json'),
  JSON.stringify({ entries: sorted(manifest.entries), files: sorted(manifest.files) }, null, 2) + '\n');
for (const name of readdirSync(outDir).sort()) {
  console.log(name);
}
